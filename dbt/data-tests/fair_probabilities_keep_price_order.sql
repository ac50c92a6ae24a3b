-- De-vigging never reorders selections: a shorter price keeps a higher fair probability
-- (compared with a 1e-12 slack for equal prices).
select market_quote_id, home_price, away_price, shin_home, shin_away
from {{ ref('int_markets_devigged') }}
where market in ('h2h', 'spreads')
    and (
        (home_price < away_price and not (shin_home > shin_away - 1e-12))
        or (home_price > away_price and not (shin_home < shin_away + 1e-12))
        or (home_price < away_price and not (multiplicative_home > multiplicative_away - 1e-12))
    )
