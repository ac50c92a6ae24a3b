{#- Every price of both layers in one grain (match, bookmaker, market, selection, phase), with
    `price_source` saying which: `history` (football-data's opening and closing columns) or `live`
    (the stream's quotes, phased by int_live_prices_phased). The price marts read this, so each
    works on both. A live game's `match_id` is its `game_id`. -#}
with history as (
    select * from {{ ref('stg_football_data__odds') }}
),

matches as (
    select match_id, match_date from {{ ref('stg_football_data__matches') }}
),

live as (
    select * from {{ ref('int_live_prices_phased') }}
)

select
    cast('history' as varchar) as price_source,
    history.match_id,
    cast(matches.match_date as date) as match_date,
    league,
    season,
    bookmaker,
    bookmaker_kind,
    market,
    selection,
    phase,
    price,
    line,
    -- every football-data league is football: h2h is home/draw/away
    true as has_draw
from history
left join matches on history.match_id = matches.match_id
union all
select
    cast('live' as varchar) as price_source,
    match_id,
    match_date,
    league,
    season,
    bookmaker,
    bookmaker_kind,
    market,
    selection,
    phase,
    price,
    line,
    -- a two-way h2h (no draw) outside football; a football h2h must price the draw too
    competition like 'soccer%' as has_draw
from live
