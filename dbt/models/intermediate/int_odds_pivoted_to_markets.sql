{#- One row per quoted market: a bookmaker's prices for every selection of one market of one
    match in one phase, side by side, with the overround when every selection is priced; history
    and live alike (int_prices_unioned). -#}
with odds as (
    select * from {{ ref('int_prices_unioned') }}
),

markets as (
    select
        price_source,
        match_id,
        match_date,
        league,
        season,
        bookmaker,
        bookmaker_kind,
        market,
        phase,
        has_draw,
        -- spreads: the home handicap, read from the home (or over) row whatever the away row says
        max(case when selection in ('home', 'over') then line end) as line,
        count(*) as selection_count,
        max(case when selection = 'home' then price end) as home_price,
        max(case when selection = 'draw' then price end) as draw_price,
        max(case when selection = 'away' then price end) as away_price,
        max(case when selection = 'over' then price end) as over_price,
        max(case when selection = 'under' then price end) as under_price
    from odds
    group by price_source, match_id, match_date, league, season, bookmaker, bookmaker_kind, market, phase, has_draw
),

completed as (
    select
        *,
        case when market = 'h2h' and has_draw then 3 else 2 end as expected_selection_count,
        -- summed in a fixed selection order (not sum()), so the value is the same on every run
        -- and equals lakehouse.odds.overround of the prices in that order
        coalesce(1 / home_price, 0) + coalesce(1 / over_price, 0) + coalesce(1 / draw_price, 0)
        + coalesce(1 / away_price, 0) + coalesce(1 / under_price, 0) as implied_probability_sum
    from markets
)

select
    {{ composite_key(['price_source', 'match_id', 'bookmaker', 'market', 'phase']) }} as market_quote_id,
    price_source,
    match_id,
    match_date,
    league,
    season,
    bookmaker,
    bookmaker_kind,
    market,
    phase,
    line,
    selection_count,
    selection_count = expected_selection_count as is_complete,
    home_price,
    draw_price,
    away_price,
    over_price,
    under_price,
    case when selection_count = expected_selection_count then implied_probability_sum end as overround,
    case when selection_count = expected_selection_count then implied_probability_sum - 1 end as margin
from completed
