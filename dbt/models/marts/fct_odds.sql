{#- One row per match, bookmaker, market and selection: the opening and the closing price side
    by side, for the history (closing prices exist from 2019/20; Pinnacle's h2h close from
    2012/13) and for live games (`price_source`; a live game's close is its last quote before kick-off,
    int_live_prices_phased). -#}
with odds as (
    select * from {{ ref('int_prices_unioned') }}
),

phases as (
    select
        price_source,
        match_id,
        match_date,
        league,
        season,
        bookmaker,
        bookmaker_kind,
        market,
        selection,
        max(case when phase = 'opening' then price end) as opening_price,
        max(case when phase = 'closing' then price end) as closing_price,
        max(case when phase = 'opening' then line end) as opening_line,
        max(case when phase = 'closing' then line end) as closing_line
    from odds
    group by price_source, match_id, match_date, league, season, bookmaker, bookmaker_kind, market, selection
)

select
    cast({{ composite_key(['price_source', 'match_id', 'bookmaker', 'market', 'selection']) }} as varchar) as odds_id,
    cast(price_source as varchar) as price_source,
    cast(match_id as varchar) as match_id,
    cast(match_date as date) as match_date,
    cast(league as varchar) as league,
    cast(season as varchar) as season,
    cast(bookmaker as varchar) as bookmaker,
    cast(bookmaker_kind as varchar) as bookmaker_kind,
    cast(market as varchar) as market,
    cast(selection as varchar) as selection,
    cast(opening_price as double) as opening_price,
    cast(closing_price as double) as closing_price,
    cast(opening_line as double) as opening_line,
    cast(closing_line as double) as closing_line,
    -- a move is only a move at the same line (spreads re-quote at a new handicap)
    cast(case
        when coalesce(opening_line, -1000) = coalesce(closing_line, -1000)
            then closing_price / opening_price - 1
    end as double) as price_move
from phases
where match_date is not null
