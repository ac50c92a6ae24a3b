{#- One row per arbitrage window the stream found, open or closed, with how long it lasted
    (until now for an open one, as of the stream's last update) and a duration band. -#}
with windows as (
    select * from {{ ref('stg_live__arbitrage_opportunities') }}
),

timed as (
    select
        *,
        case
            when closed_at is not null then {{ dbt.datediff('opened_at', 'closed_at', 'second') }}
            else age_s
        end as duration_s
    from windows
)

select
    cast(arb_id as varchar) as arb_id,
    cast(game_id as varchar) as game_id,
    cast(competition as varchar) as competition,
    cast(market as varchar) as market,
    cast(line as double) as line,
    cast(status as varchar) as status,
    cast(assessment as varchar) as assessment,
    cast(opened_at as timestamp) as opened_at,
    cast(closed_at as timestamp) as closed_at,
    cast(duration_s as double) as duration_s,
    cast(case
        when duration_s < 10 then 'under 10 s'
        when duration_s < 60 then '10 s to 1 min'
        when duration_s < 300 then '1 to 5 min'
        else 'over 5 min'
    end as varchar) as duration_band,
    cast(guaranteed_return as double) as guaranteed_return,
    cast(net_return as double) as net_return,
    cast(bookmakers as varchar) as bookmakers
from timed
