{#- Favourite-longshot bias per bookmaker: 1X2 selections bucketed by fair (multiplicative,
    i.e. proportionally de-vigged) probability against how often they won; and the bookmaker's
    Brier score and log-loss over all its complete 1X2 markets (repeated on each of its buckets). -#}
{%- set width = var('calibration_bucket_width') %}
{%- set buckets = (1 / width) | round | int %}
with selections as (
    select * from {{ ref('int_market_selections_devigged') }}
    where market = 'h2h'
),

matches as (
    select match_id, result_selection from {{ ref('stg_football_data__matches') }}
    where result_selection is not null
),

outcomes as (
    select
        selections.*,
        case when selections.selection = matches.result_selection then 1 else 0 end as won,
        least(floor(fair_probability_multiplicative / {{ width }}), {{ buckets - 1 }}) as bucket_index
    from selections
    inner join matches on selections.match_id = matches.match_id
),

buckets as (
    select
        bookmaker,
        bookmaker_kind,
        phase,
        bucket_index,
        count(*) as predictions,
        sum(won) as wins,
        avg(implied_probability) as mean_implied_probability,
        avg(fair_probability_multiplicative) as mean_fair_probability,
        avg(fair_probability_shin) as mean_shin_probability
    from outcomes
    group by bookmaker, bookmaker_kind, phase, bucket_index
),

scores as (
    select
        bookmaker,
        phase,
        count(distinct market_quote_id) as markets_scored,
        sum((fair_probability_multiplicative - won) * (fair_probability_multiplicative - won))
        / count(distinct market_quote_id) as brier_score,
        -sum(case when won = 1 then ln(fair_probability_multiplicative) else 0 end)
        / count(distinct market_quote_id) as log_loss
    from outcomes
    group by bookmaker, phase
)

select
    cast({{ composite_key(['buckets.bookmaker', 'buckets.phase', 'bucket_index']) }} as varchar) as calibration_id,
    cast(buckets.bookmaker as varchar) as bookmaker,
    cast(bookmaker_kind as varchar) as bookmaker_kind,
    cast(buckets.phase as varchar) as phase,
    cast(bucket_index as integer) as bucket_index,
    cast(round(bucket_index * {{ width }}, 6) as double) as bucket_lower,
    cast(round((bucket_index + 1) * {{ width }}, 6) as double) as bucket_upper,
    cast(predictions as bigint) as predictions,
    cast(wins as bigint) as wins,
    cast(mean_implied_probability as double) as mean_implied_probability,
    cast(mean_fair_probability as double) as mean_fair_probability,
    cast(mean_shin_probability as double) as mean_shin_probability,
    cast(wins as double) / predictions as realised_win_rate,
    cast(cast(wins as double) / predictions - mean_fair_probability as double) as calibration_gap,
    cast(markets_scored as bigint) as bookmaker_markets_scored,
    cast(brier_score as double) as bookmaker_brier_score,
    cast(log_loss as double) as bookmaker_log_loss
from buckets
inner join scores on buckets.bookmaker = scores.bookmaker and buckets.phase = scores.phase
