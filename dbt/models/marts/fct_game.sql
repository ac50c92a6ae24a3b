{#- One row per live game: its latest status and score as the game feed (ESPN, the simulator)
    last reported them, with the venue. -#}
with updates as (
    select * from {{ ref('stg_live__games') }}
),

ranked as (
    select
        *,
        row_number() over (partition by game_id order by observed_at desc, update_id desc) as recency
    from updates
)

select
    cast(game_id as varchar) as game_id,
    cast(competition as varchar) as competition,
    cast(home_team as varchar) as home_team,
    cast(away_team as varchar) as away_team,
    cast(home_team_id as varchar) as home_team_id,
    cast(away_team_id as varchar) as away_team_id,
    cast(kickoff_at as timestamp) as kickoff_at,
    cast(status as varchar) as status,
    cast(period as integer) as period,
    cast(clock as varchar) as clock,
    cast(home_score as integer) as home_score,
    cast(away_score as integer) as away_score,
    cast(venue_name as varchar) as venue_name,
    cast(venue_city as varchar) as venue_city,
    cast(venue_country as varchar) as venue_country,
    cast(observed_at as timestamp) as status_observed_at
from ranked
where recency = 1
