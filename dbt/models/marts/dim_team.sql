with teams as (
    select * from {{ ref('stg_reference__teams') }}
),

matches as (
    select * from {{ ref('stg_football_data__matches') }}
),

appearances as (
    select home_team_id as team_id, match_date, season from matches
    union all
    select away_team_id as team_id, match_date, season from matches
),

history as (
    select
        team_id,
        count(*) as matches_played,
        count(distinct season) as seasons_played,
        min(match_date) as first_match_date,
        max(match_date) as last_match_date
    from appearances
    group by team_id
)

select
    cast(teams.team_id as varchar) as team_id,
    cast(teams.team_name as varchar) as team_name,
    cast(teams.sport as varchar) as sport,
    cast(teams.competitions as varchar) as competitions,
    cast(teams.country as varchar) as country,
    cast(coalesce(history.matches_played, 0) as bigint) as matches_played,
    cast(coalesce(history.seasons_played, 0) as bigint) as seasons_played,
    cast(history.first_match_date as date) as first_match_date,
    cast(history.last_match_date as date) as last_match_date
from teams
left join history on teams.team_id = history.team_id
