-- A bookmaker's mean margin in a league, season, market and phase is positive; only exchanges
-- and best-price composites (market maximum, Betbrain maximum) may price under 100%.
select bookmaker_margin_id, bookmaker_kind, mean_margin
from {{ ref('mart_bookmaker_margin') }}
where mean_margin <= 0
    and bookmaker_kind <> 'exchange'
    and bookmaker not in ('market_max', 'betbrain_max')
