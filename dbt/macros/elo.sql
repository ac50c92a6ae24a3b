{#-
  Elo ratings through the whole history in plain SQL, identical on DuckDB and Snowflake.

  Elo is sequential (a match's expected score needs both teams' ratings after all their earlier
  matches), which SQL has no loop for. A recursive CTE would need one iteration per match (~9,500
  per league; Snowflake caps recursion depth far below that), so this macro solves the recurrence
  as a fixed point by Picard sweeps over every match at once:

      pre(team, n) = initial + sum over the team's matches m < n of K * (score(m) - expected(m))
      expected(m)  = 1 / (1 + 10 ^ ((pre(opponent, m) - pre(team, m) - side * home_advantage) / 400))

  Sweep 0 rates everyone `initial`; each sweep recomputes every expected score from the previous
  sweep's ratings (the opponent's rating as the match's sum minus the team's own: one window, no
  self-join) and every rating as a running sum (a second window). Because a match depends only on
  earlier ones the sweeps converge to the exact sequential Elo: on the 2000-2025 history they agree
  with a sequential loop to 1e-12 after ~90 sweeps (`elo_iterations`, 100). Each sweep is two
  CTEs rendered by a Jinja loop: no recursion, one statement, only integer keys carried along
  (4 s on DuckDB for the full history on 2 cores).

  Ratings carry over across seasons (a relegated team returns with the rating it left with); a
  team's first match in the data starts at `initial`. The data-test
  elo_ratings_follow_the_update_rule checks the result satisfies the sequential update.

  elo_sweep_ctes(source) expects rows with integer keys match_key and team_key, team_match_number,
  is_home and actual_score (1, 0.5, 0); it renders CTEs ending in `elo_rated` with those columns
  and elo_pre, opponent_elo_pre, expected_score and elo_post.
-#}
{% macro elo_sweep_ctes(source, iterations=none) -%}
    {%- set sweeps = iterations if iterations is not none else var('elo_iterations') -%}
    {%- set initial = var('elo_initial_rating') -%}
    {%- set keys = 'match_key, team_key, team_match_number, is_home, actual_score' -%}
    elo_sweep_0 as (
        select {{ keys }}, cast({{ initial }} as double) as elo_pre
        from {{ source }}
    ),
    {%- for sweep in range(1, sweeps + 1) %}
    elo_delta_{{ sweep }} as (
        select {{ keys }}, {{ _elo_delta('elo_pre', '(sum(elo_pre) over (partition by match_key) - elo_pre)') }} as elo_delta
        from elo_sweep_{{ sweep - 1 }}
    ),
    elo_sweep_{{ sweep }} as {{ materialized_cte() }} (
        select
            {{ keys }},
            {{ initial }} + coalesce(sum(elo_delta) over (
                partition by team_key order by team_match_number rows between unbounded preceding and 1 preceding
            ), 0) as elo_pre
        from elo_delta_{{ sweep }}
    ),
    {%- endfor %}
    elo_opponents as (
        select
            {{ keys }},
            elo_pre,
            sum(elo_pre) over (partition by match_key) - elo_pre as opponent_elo_pre
        from elo_sweep_{{ sweeps }}
    ),
    elo_rated as (
        select
            *,
            {{ elo_expected_score('elo_pre', 'opponent_elo_pre') }} as expected_score,
            elo_pre + {{ _elo_delta('elo_pre', 'opponent_elo_pre') }} as elo_post
        from elo_opponents
    )
{%- endmacro %}

{#- Expected score of the row's team: home advantage added to whichever side is at home. -#}
{% macro elo_expected_score(rating, opponent_rating) -%}
    1 / (1 + power(10, ({{ opponent_rating }} - {{ rating }}
        - case when is_home then {{ var('elo_home_advantage') }} else -{{ var('elo_home_advantage') }} end) / 400.0e0))
{%- endmacro %}

{%- macro _elo_delta(rating, opponent_rating) -%}
    {{ var('elo_k') }} * (actual_score - {{ elo_expected_score(rating, opponent_rating) }})
{%- endmacro -%}

{#-
  `materialized` on each sweep's CTE where the engine is DuckDB. Measured here: DuckDB's
  filter-pushdown optimizer takes time exponential in the depth of a chain of window CTEs (~2x per
  window: 10 sweeps plan in 4 s, 12 in 17 s); a materialized CTE is planned on its own, so 100
  sweeps plan in 0.2 s. Snowflake has no such keyword and needs none.
-#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
{%- endmacro %}

{% macro duckdb__materialized_cte() -%}
    materialized
{%- endmacro %}
