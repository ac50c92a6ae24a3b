-- An arbitrage's stakes add up to 100 and every winning selection returns the same payout,
-- 100 / inverse_sum, which is more than the stake.
with arbitrages as (
    select * from {{ ref('mart_arbitrage_history') }}
),

payouts as (
    select arbitrage_id, inverse_sum, home_stake * home_price as payout from arbitrages
    where home_price is not null
    union all
    select arbitrage_id, inverse_sum, draw_stake * draw_price as payout from arbitrages
    where draw_price is not null
    union all
    select arbitrage_id, inverse_sum, away_stake * away_price as payout from arbitrages
    where away_price is not null
    union all
    select arbitrage_id, inverse_sum, over_stake * over_price as payout from arbitrages
    where over_price is not null
    union all
    select arbitrage_id, inverse_sum, under_stake * under_price as payout from arbitrages
    where under_price is not null
),

stakes as (
    select
        arbitrage_id,
        coalesce(home_stake, 0) + coalesce(draw_stake, 0) + coalesce(away_stake, 0)
        + coalesce(over_stake, 0) + coalesce(under_stake, 0) as total_stake
    from arbitrages
)

select arbitrage_id, 'payout differs from 100 / inverse_sum or is not above 100' as problem
from payouts
where abs(payout - 100 / inverse_sum) > 1e-9 or payout <= 100
union all
select arbitrage_id, 'stakes do not add up to 100' as problem
from stakes
where abs(total_stake - 100) > 1e-9
