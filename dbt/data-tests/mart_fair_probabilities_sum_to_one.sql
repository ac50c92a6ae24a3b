-- The published 1X2 fair probabilities sum to 1 within 1e-9 for every match, source and phase.
select
    fair_probability_id, shin_home + shin_draw + shin_away as shin_total,
    multiplicative_home + multiplicative_draw + multiplicative_away as multiplicative_total
from {{ ref('mart_fair_probabilities') }}
where abs(shin_home + shin_draw + shin_away - 1) > 1e-9
    or abs(multiplicative_home + multiplicative_draw + multiplicative_away - 1) > 1e-9
