{#- Each match twice, once from each team's side, numbered in the order the team played them:
    the shape the Elo sweeps (macros/elo.sql) work on. -#}
with matches as (
    select * from {{ ref('stg_football_data__matches') }}
    where result is not null
),

sides as (
    select
        match_id, match_date, league, season, competition_season_id,
        home_team_id as team_id, away_team_id as opponent_team_id, true as is_home,
        case result when 'H' then 1.0e0 when 'D' then 0.5e0 else 0.0e0 end as actual_score
    from matches
    union all
    select
        match_id, match_date, league, season, competition_season_id,
        away_team_id as team_id, home_team_id as opponent_team_id, false as is_home,
        case result when 'A' then 1.0e0 when 'D' then 0.5e0 else 0.0e0 end as actual_score
    from matches
)

select
    {{ composite_key(['match_id', 'team_id']) }} as team_match_id,
    *,
    row_number() over (partition by team_id order by match_date, match_id) as team_match_number
from sides
