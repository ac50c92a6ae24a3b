with matches as (
    select * from {{ ref('stg_football_data__matches') }}
),

odds as (
    select * from {{ ref('stg_football_data__odds') }}
),

rejects as (
    select * from {{ ref('stg_football_data__rejects') }}
),

seasons as (
    select
        competition_season_id,
        league,
        competition,
        season,
        season_start_year,
        count(*) as matches,
        count(distinct home_team_id) as teams,
        min(match_date) as first_match_date,
        max(match_date) as last_match_date,
        max(source_file) as source_file
    from matches
    group by competition_season_id, league, competition, season, season_start_year
),

priced as (
    select
        league || ':' || season as competition_season_id,
        count(distinct bookmaker) as bookmakers,
        max(case when phase = 'closing' then 1 else 0 end) as has_closing_prices
    from odds
    group by league || ':' || season
),

rejected as (
    select
        competition_season_id,
        sum(case when reject_level in ('file', 'row') then 1 else 0 end) as rejected_rows,
        sum(case when reject_level = 'cell' then 1 else 0 end) as rejected_prices
    from rejects
    group by competition_season_id
),

leagues as (
    select * from {{ ref('stg_reference__leagues') }}
)

select
    cast(seasons.competition_season_id as varchar) as competition_season_id,
    cast(seasons.league as varchar) as league,
    cast(seasons.competition as varchar) as competition,
    cast(leagues.competition_name as varchar) as competition_name,
    cast(leagues.country as varchar) as country,
    cast(seasons.season as varchar) as season,
    cast(seasons.season_start_year as integer) as season_start_year,
    cast(seasons.first_match_date as date) as first_match_date,
    cast(seasons.last_match_date as date) as last_match_date,
    cast(seasons.matches as bigint) as matches,
    cast(seasons.teams as bigint) as teams,
    cast(coalesce(priced.bookmakers, 0) as bigint) as bookmakers,
    cast(coalesce(priced.has_closing_prices, 0) = 1 as boolean) as has_closing_prices,
    cast(seasons.source_file as varchar) as source_file,
    cast(coalesce(rejected.rejected_rows, 0) as bigint) as rejected_rows,
    cast(coalesce(rejected.rejected_prices, 0) as bigint) as rejected_prices
from seasons
left join priced on seasons.competition_season_id = priced.competition_season_id
left join rejected on seasons.competition_season_id = rejected.competition_season_id
left join leagues on seasons.league = leagues.league
