with matches as (
    select * from {{ ref('stg_football_data__matches') }}
)

select
    cast(match_id as varchar) as match_id,
    cast(competition_season_id as varchar) as competition_season_id,
    cast(league as varchar) as league,
    cast(season as varchar) as season,
    cast(match_date as date) as match_date,
    cast(kickoff_at as timestamp) as kickoff_at,
    cast(home_team_id as varchar) as home_team_id,
    cast(away_team_id as varchar) as away_team_id,
    cast(home_team_name as varchar) as home_team_name,
    cast(away_team_name as varchar) as away_team_name,
    cast(home_goals as integer) as home_goals,
    cast(away_goals as integer) as away_goals,
    cast(result as varchar) as result,
    cast(result_selection as varchar) as result_selection,
    cast(ht_home_goals as integer) as ht_home_goals,
    cast(ht_away_goals as integer) as ht_away_goals,
    cast(ht_result as varchar) as ht_result,
    cast(referee as varchar) as referee,
    cast(attendance as integer) as attendance,
    cast(home_shots as integer) as home_shots,
    cast(away_shots as integer) as away_shots,
    cast(home_shots_on_target as integer) as home_shots_on_target,
    cast(away_shots_on_target as integer) as away_shots_on_target,
    cast(home_corners as integer) as home_corners,
    cast(away_corners as integer) as away_corners,
    cast(home_fouls as integer) as home_fouls,
    cast(away_fouls as integer) as away_fouls,
    cast(home_yellow_cards as integer) as home_yellow_cards,
    cast(away_yellow_cards as integer) as away_yellow_cards,
    cast(home_red_cards as integer) as home_red_cards,
    cast(away_red_cards as integer) as away_red_cards,
    cast(source_file as varchar) as source_file,
    cast(source_row as integer) as source_row
from matches
