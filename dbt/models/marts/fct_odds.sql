{#- One row per match, bookmaker, market and selection: the opening and the closing price side
    by side (closing prices exist from 2019/20; Pinnacle's h2h close from 2012/13). -#}
with odds as (
    select * from {{ ref('stg_football_data__odds') }}
),

matches as (
    select match_id, match_date from {{ ref('stg_football_data__matches') }}
),

phases as (
    select
        match_id,
        league,
        season,
        bookmaker,
        bookmaker_kind,
        market,
        selection,
        max(case when phase = 'opening' then price end) as opening_price,
        max(case when phase = 'closing' then price end) as closing_price,
        max(case when phase = 'opening' then line end) as opening_line,
        max(case when phase = 'closing' then line end) as closing_line
    from odds
    group by match_id, league, season, bookmaker, bookmaker_kind, market, selection
)

select
    cast({{ composite_key(['phases.match_id', 'bookmaker', 'market', 'selection']) }} as varchar) as odds_id,
    cast(phases.match_id as varchar) as match_id,
    cast(matches.match_date as date) as match_date,
    cast(league as varchar) as league,
    cast(season as varchar) as season,
    cast(bookmaker as varchar) as bookmaker,
    cast(bookmaker_kind as varchar) as bookmaker_kind,
    cast(market as varchar) as market,
    cast(selection as varchar) as selection,
    cast(opening_price as double) as opening_price,
    cast(closing_price as double) as closing_price,
    cast(opening_line as double) as opening_line,
    cast(closing_line as double) as closing_line,
    -- a move is only a move at the same line (spreads re-quote at a new handicap)
    cast(case
        when coalesce(opening_line, -1000) = coalesce(closing_line, -1000)
            then closing_price / opening_price - 1
    end as double) as price_move
from phases
inner join matches on phases.match_id = matches.match_id
