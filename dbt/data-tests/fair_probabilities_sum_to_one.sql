-- Fair probabilities of every complete market sum to 1 within 1e-9, by both methods
-- (the Shin solver converged; the multiplicative scaling used the same overround).
select
    market_quote_id,
    bookmaker,
    market,
    coalesce(shin_home, 0) + coalesce(shin_draw, 0) + coalesce(shin_away, 0)
    + coalesce(shin_over, 0) + coalesce(shin_under, 0) as shin_total,
    coalesce(multiplicative_home, 0) + coalesce(multiplicative_draw, 0) + coalesce(multiplicative_away, 0)
    + coalesce(multiplicative_over, 0) + coalesce(multiplicative_under, 0) as multiplicative_total
from {{ ref('int_markets_devigged') }}
where abs(
        coalesce(shin_home, 0) + coalesce(shin_draw, 0) + coalesce(shin_away, 0)
        + coalesce(shin_over, 0) + coalesce(shin_under, 0) - 1
    ) > 1e-9
    or abs(
        coalesce(multiplicative_home, 0) + coalesce(multiplicative_draw, 0) + coalesce(multiplicative_away, 0)
        + coalesce(multiplicative_over, 0) + coalesce(multiplicative_under, 0) - 1
    ) > 1e-9
