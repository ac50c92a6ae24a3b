-- Favourite-longshot bias across the individual bookmakers' opening 1X2 prices: per bucket of
-- fair probability, how often the selections won. Long shots winning less often than priced
-- (negative gap) is the bias. `dbt compile` renders it; run it in the warehouse.
select
    bucket_lower,
    bucket_upper,
    sum(predictions) as predictions,
    sum(wins) * 1.0 / sum(predictions) as realised_win_rate,
    sum(mean_fair_probability * predictions) / sum(predictions) as mean_fair_probability,
    sum(wins) * 1.0 / sum(predictions) - sum(mean_fair_probability * predictions) / sum(predictions) as gap
from {{ ref('mart_calibration') }}
where bookmaker_kind = 'bookmaker' and phase = 'opening'
group by bucket_lower, bucket_upper
order by bucket_lower
