{#- The de-vigged markets in long form: one row per selection of a complete market. -#}
with markets as (
    select * from {{ ref('int_markets_devigged') }}
),

selections as (
    select 'home' as selection
    union all
    select 'draw'
    union all
    select 'away'
    union all
    select 'over'
    union all
    select 'under'
),

unpivoted as (
    select
        markets.*,
        selections.selection,
        case selections.selection
            when 'home' then home_price when 'draw' then draw_price when 'away' then away_price
            when 'over' then over_price when 'under' then under_price
        end as price,
        case selections.selection
            when 'home' then multiplicative_home when 'draw' then multiplicative_draw
            when 'away' then multiplicative_away when 'over' then multiplicative_over
            when 'under' then multiplicative_under
        end as fair_probability_multiplicative,
        case selections.selection
            when 'home' then shin_home when 'draw' then shin_draw when 'away' then shin_away
            when 'over' then shin_over when 'under' then shin_under
        end as fair_probability_shin
    from markets
    cross join selections
)

select
    {{ composite_key(['market_quote_id', 'selection']) }} as market_selection_id,
    market_quote_id,
    price_source,
    match_id,
    league,
    season,
    bookmaker,
    bookmaker_kind,
    market,
    phase,
    line,
    selection,
    price,
    1 / price as implied_probability,
    fair_probability_multiplicative,
    fair_probability_shin,
    overround,
    shin_z
from unpivoted
where price is not null
