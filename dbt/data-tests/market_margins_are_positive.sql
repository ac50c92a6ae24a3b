{{ config(severity='warn') }}
-- The same rule for single markets. A warning, not an error: the history has a handful of real
-- exceptions (Gamebookers 2.90/3.60/2.65 on West Ham v Tottenham 2007-11-25, overround 0.99996;
-- five Betbrain-average Asian handicap markets), which the margin mart counts as markets_under_book.
select market_quote_id, bookmaker, bookmaker_kind, overround
from {{ ref('int_odds_pivoted_to_markets') }}
where is_complete
    and overround < 1
    and bookmaker_kind <> 'exchange'
    and bookmaker not in ('market_max', 'betbrain_max')
