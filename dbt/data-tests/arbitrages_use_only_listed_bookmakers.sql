-- Arbitrages combine individual bookmakers only: never a composite (market max/average,
-- Betbrain) or an exchange.
with arbitrages as (
    select * from {{ ref('mart_arbitrage_history') }}
),

named as (
    select arbitrage_id, home_bookmakers as bookmakers from arbitrages
    union all
    select arbitrage_id, draw_bookmakers from arbitrages
    union all
    select arbitrage_id, away_bookmakers from arbitrages
    union all
    select arbitrage_id, over_bookmakers from arbitrages
    union all
    select arbitrage_id, under_bookmakers from arbitrages
)

select named.arbitrage_id, named.bookmakers
from named
inner join {{ ref('dim_bookmaker') }} as bookmakers
    on ',' || named.bookmakers || ',' like '%,' || bookmakers.bookmaker || ',%'
where not bookmakers.is_individual_bookmaker
