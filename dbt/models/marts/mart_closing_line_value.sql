{#- Each bookmaker's opening price against the close: its own closing price (the move) and
    Pinnacle's de-vigged (Shin) closing probability (closing line value, CLV = price * p - 1). -#}
with odds as (
    select * from {{ ref('fct_odds') }}
    where opening_price is not null
),

pinnacle_close as (
    select price_source, match_id, market, line, selection, price, fair_probability_shin
    from {{ ref('int_market_selections_devigged') }}
    where bookmaker = 'pinnacle' and phase = 'closing'
),

valued as (
    select
        odds.*,
        pinnacle_close.price as pinnacle_closing_price,
        pinnacle_close.fair_probability_shin as pinnacle_closing_probability,
        odds.opening_price * pinnacle_close.fair_probability_shin - 1 as closing_line_value
    from odds
    inner join pinnacle_close
        on odds.price_source = pinnacle_close.price_source  -- a live quote against the live close
        and odds.match_id = pinnacle_close.match_id
        and odds.market = pinnacle_close.market
        and odds.selection = pinnacle_close.selection
        -- the close has to be the same bet: same line (a spread re-quoted at another handicap is not)
        and coalesce(odds.opening_line, -1000) = coalesce(pinnacle_close.line, -1000)
)

select
    cast(odds_id as varchar) as closing_line_value_id,
    cast(price_source as varchar) as price_source,
    cast(match_id as varchar) as match_id,
    cast(match_date as date) as match_date,
    cast(league as varchar) as league,
    cast(season as varchar) as season,
    cast(bookmaker as varchar) as bookmaker,
    cast(bookmaker_kind as varchar) as bookmaker_kind,
    cast(market as varchar) as market,
    cast(selection as varchar) as selection,
    cast(opening_line as double) as line,
    cast(opening_price as double) as opening_price,
    cast(closing_price as double) as closing_price,
    cast(price_move as double) as price_move,
    cast(pinnacle_closing_price as double) as pinnacle_closing_price,
    cast(pinnacle_closing_probability as double) as pinnacle_closing_probability,
    cast(closing_line_value as double) as closing_line_value,
    cast(closing_line_value > 0 as boolean) as beat_closing_line
from valued
