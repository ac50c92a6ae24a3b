{#- Pre-match Elo rating of each team in each match through every season (macros/elo.sql:
    K, home advantage and initial rating from the project vars; ratings carry over seasons). -#}
with team_matches as (
    select
        *,
        -- integer keys: the sweeps sort on them 220 times
        dense_rank() over (order by match_id) as match_key,
        dense_rank() over (order by team_id) as team_key
    from {{ ref('int_team_matches_sequenced') }}
),

{{ elo_sweep_ctes('team_matches') }}

select
    cast(team_matches.team_match_id as varchar) as team_match_id,
    cast(team_matches.match_id as varchar) as match_id,
    cast(team_matches.match_date as date) as match_date,
    cast(team_matches.league as varchar) as league,
    cast(team_matches.season as varchar) as season,
    cast(team_matches.competition_season_id as varchar) as competition_season_id,
    cast(team_matches.team_id as varchar) as team_id,
    cast(team_matches.opponent_team_id as varchar) as opponent_team_id,
    cast(team_matches.is_home as boolean) as is_home,
    cast(team_matches.team_match_number as bigint) as team_match_number,
    cast(elo_rated.elo_pre as double) as elo_pre,
    cast(elo_rated.opponent_elo_pre as double) as opponent_elo_pre,
    cast(elo_rated.expected_score as double) as expected_score,
    cast(team_matches.actual_score as double) as actual_score,
    cast(elo_rated.elo_post as double) as elo_post,
    cast(elo_rated.elo_post - elo_rated.elo_pre as double) as elo_change
from team_matches
inner join elo_rated
    on team_matches.match_key = elo_rated.match_key
    and team_matches.team_key = elo_rated.team_key
