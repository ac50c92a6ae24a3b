{#-
  Shin (1993) de-vigging in SQL, matching lakehouse.odds.devig_shin to float precision.

  With implied probabilities pi_i, book B = sum(pi_i) and a_i = pi_i^2 / B, Shin's fair
  probability is p_i(z) = (sqrt(z^2 + 4(1-z)a_i) - z) / (2(1-z)), and z solves sum p_i(z) = 1,
  i.e. f(z) = sum_i sqrt(z^2 + 4(1-z)a_i) - 2 - (n-2)z = 0. f is convex with f(1) = 0, so Newton
  from z = 0 climbs monotonically to the root (book > 1) or overshoots once to its left and then
  climbs (book < 1: exchanges and best-price composites, z < 0). It converges in ~6 steps on every
  market of the history; `shin_iterations` (12) unrolls the steps into a chain of CTEs, no
  recursion, so Snowflake and DuckDB run the same SQL.

  shin_newton_ctes(source, key_columns, a_columns) renders CTEs `shin_step_0 .. shin_step_N`
  ending in a CTE named `shin_solved` with the key columns, the a_i columns and `shin_z`; a null
  a_i (a 2-way market's missing third selection) drops out of the sum.
-#}
{% macro shin_newton_ctes(source, key_columns, a_columns, iterations=none) -%}
    {%- set steps = iterations if iterations is not none else var('shin_iterations') -%}
    {%- set passthrough = (key_columns + a_columns) | join(', ') -%}
    shin_step_0 as (
        select {{ passthrough }}, cast(0 as double) as shin_z
        from {{ source }}
    ),
    {%- for step in range(1, steps + 1) %}
    shin_step_{{ step }} as (
        select
            {{ passthrough }},
            shin_z - ({{ _shin_f(a_columns) }}) / ({{ _shin_df(a_columns) }}) as shin_z
        from shin_step_{{ step - 1 }}
    ),
    {%- endfor %}
    shin_solved as (
        select * from shin_step_{{ steps }}
    )
{%- endmacro %}

{%- macro _shin_root(a) -%}
    sqrt(shin_z * shin_z + 4 * (1 - shin_z) * {{ a }})
{%- endmacro -%}

{%- macro _shin_count(a_columns) -%}
    ({% for a in a_columns %}case when {{ a }} is null then 0 else 1 end{% if not loop.last %} + {% endif %}{% endfor %})
{%- endmacro -%}

{#- f(z) = sum sqrt(z^2 + 4(1-z)a_i) - 2 - (n-2)z -#}
{%- macro _shin_f(a_columns) -%}
    {% for a in a_columns %}coalesce({{ _shin_root(a) }}, 0) + {% endfor %}0 - 2 - ({{ _shin_count(a_columns) }} - 2) * shin_z
{%- endmacro -%}

{#- f'(z) = sum (z - 2a_i) / sqrt(z^2 + 4(1-z)a_i) - (n-2) -#}
{%- macro _shin_df(a_columns) -%}
    {% for a in a_columns %}coalesce((shin_z - 2 * {{ a }}) / {{ _shin_root(a) }}, 0) + {% endfor %}0 - ({{ _shin_count(a_columns) }} - 2)
{%- endmacro -%}

{#- p_i from a_i and z, in the cancellation-free form lakehouse.odds uses for each sign of z. -#}
{% macro shin_probability(a, z='shin_z') -%}
    case
        when {{ a }} is null then null
        when {{ z }} >= 0 then 2 * {{ a }} / (sqrt({{ z }} * {{ z }} + 4 * (1 - {{ z }}) * {{ a }}) + {{ z }})
        else (sqrt({{ z }} * {{ z }} + 4 * (1 - {{ z }}) * {{ a }}) - {{ z }}) / (2 * (1 - {{ z }}))
    end
{%- endmacro %}
