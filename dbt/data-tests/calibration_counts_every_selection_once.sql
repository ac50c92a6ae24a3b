-- Every priced 1X2 selection with a known result falls in exactly one calibration bucket, and
-- a bookmaker's buckets hold three selections per scored market.
with buckets as (
    select
        bookmaker, phase, sum(predictions) as predictions, sum(wins) as wins,
        max(bookmaker_markets_scored) as markets_scored
    from {{ ref('mart_calibration') }}
    group by bookmaker, phase
)

select *
from buckets
where predictions <> 3 * markets_scored
    or wins <> markets_scored
