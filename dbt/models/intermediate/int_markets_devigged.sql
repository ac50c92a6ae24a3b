{#- Fair probabilities of every complete market, by the multiplicative and Shin methods
    (lakehouse.odds.devig_multiplicative / devig_shin). Selections sit in three positions:
    h2h home/draw/away, totals over/-/under, spreads home/-/away.
    A table, unlike the other intermediate models: the Shin solve over every market of the history
    is the one expensive intermediate step, and three marts and their tests read it. -#}
{{ config(materialized='table') }}
with markets as (
    select * from {{ ref('int_odds_pivoted_to_markets') }}
    where is_complete
),

positioned as (
    select
        *,
        1 / coalesce(home_price, over_price) as implied_1,
        1 / draw_price as implied_2,
        1 / coalesce(away_price, under_price) as implied_3
    from markets
),

shin_inputs as (
    select
        *,
        -- a_i = pi_i^2 / book, as pi_i * (pi_i / book) so an extreme long shot cannot underflow
        implied_1 * (implied_1 / overround) as shin_a_1,
        implied_2 * (implied_2 / overround) as shin_a_2,
        implied_3 * (implied_3 / overround) as shin_a_3
    from positioned
),

{{ shin_newton_ctes(
    'shin_inputs',
    ['market_quote_id', 'price_source', 'match_id', 'match_date', 'league', 'season', 'bookmaker',
     'bookmaker_kind', 'market', 'phase',
     'line', 'home_price', 'draw_price', 'away_price', 'over_price', 'under_price', 'overround', 'margin',
     'implied_1', 'implied_2', 'implied_3'],
    ['shin_a_1', 'shin_a_2', 'shin_a_3']
) }},

fair as (
    select
        *,
        implied_1 / overround as multiplicative_1,
        implied_2 / overround as multiplicative_2,
        implied_3 / overround as multiplicative_3,
        {{ shin_probability('shin_a_1') }} as shin_1,
        {{ shin_probability('shin_a_2') }} as shin_2,
        {{ shin_probability('shin_a_3') }} as shin_3
    from shin_solved
)

select
    market_quote_id,
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
    home_price,
    draw_price,
    away_price,
    over_price,
    under_price,
    overround,
    margin,
    shin_z,
    case when market in ('h2h', 'spreads') then shin_1 end as shin_home,
    shin_2 as shin_draw,
    case when market in ('h2h', 'spreads') then shin_3 end as shin_away,
    case when market = 'totals' then shin_1 end as shin_over,
    case when market = 'totals' then shin_3 end as shin_under,
    case when market in ('h2h', 'spreads') then multiplicative_1 end as multiplicative_home,
    multiplicative_2 as multiplicative_draw,
    case when market in ('h2h', 'spreads') then multiplicative_3 end as multiplicative_away,
    case when market = 'totals' then multiplicative_1 end as multiplicative_over,
    case when market = 'totals' then multiplicative_3 end as multiplicative_under
from fair
