{#- One row per live game, bookmaker, market, selection and line: the opening price (first quote),
    the closing price (last quote at or before kick-off), the latest price, and the steam moves
    the stream detected on that selection. -#}
with quotes as (
    select * from {{ ref('stg_live__odds_quotes') }}
),

ordered as (
    select
        *,
        row_number() over (
            partition by game_id, bookmaker, market, selection, line order by quoted_at, quote_id
        ) as from_first,
        row_number() over (
            partition by game_id, bookmaker, market, selection, line order by quoted_at desc, quote_id desc
        ) as from_last,
        row_number() over (
            partition by game_id, bookmaker, market, selection, line, quoted_at <= kickoff_at
            order by quoted_at desc, quote_id desc
        ) as from_last_before_kickoff
    from quotes
),

lines as (
    select
        game_id,
        competition,
        bookmaker,
        market,
        selection,
        line,
        max(kickoff_at) as kickoff_at,
        count(*) as quotes,
        min(quoted_at) as first_quoted_at,
        max(quoted_at) as last_quoted_at,
        max(case when from_first = 1 then price end) as opening_price,
        max(case when from_last_before_kickoff = 1 and quoted_at <= kickoff_at then price end) as closing_price,
        max(case when from_last = 1 then price end) as latest_price
    from ordered
    group by game_id, competition, bookmaker, market, selection, line
),

steam as (
    select game_id, market, selection, line, count(*) as steam_moves
    from {{ ref('stg_live__steam_moves') }}
    group by game_id, market, selection, line
)

select
    cast({{ composite_key(['lines.game_id', 'bookmaker', 'lines.market', 'lines.selection', 'lines.line']) }} as varchar)
        as line_movement_id,
    cast(lines.game_id as varchar) as game_id,
    cast(competition as varchar) as competition,
    cast(bookmaker as varchar) as bookmaker,
    cast(lines.market as varchar) as market,
    cast(lines.selection as varchar) as selection,
    cast(lines.line as double) as line,
    cast(kickoff_at as timestamp) as kickoff_at,
    cast(quotes as bigint) as quotes,
    cast(first_quoted_at as timestamp) as first_quoted_at,
    cast(last_quoted_at as timestamp) as last_quoted_at,
    cast(opening_price as double) as opening_price,
    cast(closing_price as double) as closing_price,
    cast(latest_price as double) as latest_price,
    cast(latest_price / opening_price - 1 as double) as price_move,
    cast(coalesce(steam.steam_moves, 0) as bigint) as steam_moves
from lines
left join steam
    on
    lines.game_id = steam.game_id
    and lines.market = steam.market
    and lines.selection = steam.selection
    and coalesce(lines.line, -1000) = coalesce(steam.line, -1000)
