{#- One row per live game: the weather at its venue nearest to kick-off (within three hours) and
    the news volume about each team in the 24 hours before kick-off. -#}
with games as (
    select * from {{ ref('fct_game') }}
),

weather as (
    select
        games.game_id,
        weather.valid_at,
        weather.kind,
        weather.temperature_c,
        weather.humidity_pct,
        weather.wind_speed_ms,
        weather.precipitation_mm,
        weather.condition,
        row_number() over (
            partition by games.game_id
            order by abs({{ dbt.datediff('weather.valid_at', 'games.kickoff_at', 'second') }}), weather.observation_id
        ) as nearness
    from games
    inner join {{ ref('stg_live__weather') }} as weather
        on games.game_id = weather.game_id
    where abs({{ dbt.datediff('weather.valid_at', 'games.kickoff_at', 'second') }}) <= 3 * 3600
),

news as (
    select * from {{ ref('stg_live__news') }}
),

-- an article is about a team when the team's id is one of its comma-separated team ids
team_news as (
    select
        games.game_id,
        count(distinct case
            when position(',' || games.home_team_id || ',' in ',' || news.team_ids || ',') > 0
                then news.article_id
        end) as home_team_articles_24h,
        count(distinct case
            when position(',' || games.away_team_id || ',' in ',' || news.team_ids || ',') > 0
                then news.article_id
        end) as away_team_articles_24h
    from games
    inner join news
        on
        news.published_at >= {{ dbt.dateadd('hour', -24, 'games.kickoff_at') }}
        and games.kickoff_at > news.published_at
    group by games.game_id
)

select
    cast(games.game_id as varchar) as game_id,
    cast(games.competition as varchar) as competition,
    cast(games.kickoff_at as timestamp) as kickoff_at,
    cast(games.venue_name as varchar) as venue_name,
    cast(weather.valid_at as timestamp) as weather_valid_at,
    cast(weather.kind as varchar) as weather_kind,
    cast(weather.temperature_c as double) as temperature_c,
    cast(weather.humidity_pct as double) as humidity_pct,
    cast(weather.wind_speed_ms as double) as wind_speed_ms,
    cast(weather.precipitation_mm as double) as precipitation_mm,
    cast(weather.condition as varchar) as weather_condition,
    cast(coalesce(team_news.home_team_articles_24h, 0) as bigint) as home_team_articles_24h,
    cast(coalesce(team_news.away_team_articles_24h, 0) as bigint) as away_team_articles_24h
from games
left join weather on games.game_id = weather.game_id and weather.nearness = 1
left join team_news on games.game_id = team_news.game_id
