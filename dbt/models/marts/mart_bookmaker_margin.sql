{#- Overround per price source (history or live), bookmaker, league, season, market and phase,
    over its complete markets. -#}
with markets as (
    select * from {{ ref('int_odds_pivoted_to_markets') }}
    where is_complete
),

margins as (
    select
        price_source,
        bookmaker,
        bookmaker_kind,
        league,
        season,
        market,
        phase,
        count(*) as markets_priced,
        avg(overround) as mean_overround,
        median(overround) as median_overround,
        min(overround) as min_overround,
        max(overround) as max_overround,
        avg(margin) as mean_margin,
        sum(case when overround < 1 then 1 else 0 end) as markets_under_book
    from markets
    group by price_source, bookmaker, bookmaker_kind, league, season, market, phase
)

select
    cast({{ composite_key(['price_source', 'bookmaker', 'league', 'season', 'market', 'phase']) }} as varchar)
        as bookmaker_margin_id,
    cast(price_source as varchar) as price_source,
    cast(bookmaker as varchar) as bookmaker,
    cast(bookmaker_kind as varchar) as bookmaker_kind,
    cast(league as varchar) as league,
    cast(season as varchar) as season,
    cast(league || ':' || season as varchar) as competition_season_id,
    cast(market as varchar) as market,
    cast(phase as varchar) as phase,
    cast(markets_priced as bigint) as markets_priced,
    cast(mean_overround as double) as mean_overround,
    cast(median_overround as double) as median_overround,
    cast(min_overround as double) as min_overround,
    cast(max_overround as double) as max_overround,
    cast(mean_margin as double) as mean_margin,
    cast(markets_under_book as bigint) as markets_under_book
from margins
