{#- Fair h2h probabilities per match (1X2; home and away only in a sport without a draw),
    de-vigged by Shin and multiplicatively, from Pinnacle and from the market average (the file's
    `Avg` columns, or Betbrain's `BbAv` before 2019/20). -#}
with markets as (
    select * from {{ ref('int_markets_devigged') }}
    where market = 'h2h' and bookmaker in ('pinnacle', 'market_avg', 'betbrain_avg')
),

sourced as (
    select
        *,
        case when bookmaker = 'pinnacle' then 'pinnacle' else 'market_average' end as probability_source,
        -- the file's own average wins over Betbrain's where a season has both
        case bookmaker when 'market_avg' then 1 when 'betbrain_avg' then 2 else 1 end as source_rank
    from markets
),

ranked as (
    select
        *,
        row_number() over (partition by price_source, match_id, probability_source, phase order by source_rank) as pick
    from sourced
)

select
    cast({{ composite_key(['price_source', 'match_id', 'probability_source', 'phase']) }} as varchar) as fair_probability_id,
    cast(price_source as varchar) as price_source,
    cast(match_id as varchar) as match_id,
    cast(match_date as date) as match_date,
    cast(league as varchar) as league,
    cast(season as varchar) as season,
    cast(probability_source as varchar) as probability_source,
    cast(bookmaker as varchar) as source_bookmaker,
    cast(phase as varchar) as phase,
    cast(home_price as double) as home_price,
    cast(draw_price as double) as draw_price,
    cast(away_price as double) as away_price,
    cast(overround as double) as overround,
    cast(shin_z as double) as shin_z,
    cast(shin_home as double) as shin_home,
    cast(shin_draw as double) as shin_draw,
    cast(shin_away as double) as shin_away,
    cast(multiplicative_home as double) as multiplicative_home,
    cast(multiplicative_draw as double) as multiplicative_draw,
    cast(multiplicative_away as double) as multiplicative_away
from ranked
where pick = 1 and match_date is not null
