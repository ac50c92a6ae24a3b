{#- The live quotes in the history's grain: each bookmaker's opening price (its first quote) and
    closing price (its last quote at or before kick-off) of every selection, with the line in the
    history's terms (a spread's home handicap on both rows).
    A game has a close once the feed has moved past its kick-off (the newest quote loaded is
    later than it), so an upcoming game's latest price is not called its close. A market's phase
    is priced at one line: the opening at the line first offered, the close at the line last
    quoted before kick-off. Lay prices (h2h_lay) stay out: they are not prices to back.
    League: the football-data division when the competition is exactly one (soccer_epl is E0),
    else the competition; season: the kick-off's July-to-June season. -#}
with quotes as (
    select * from {{ ref('stg_live__odds_quotes') }}
    -- the history's markets: an exchange's lay prices (h2h_lay) are the other side of a bet, not
    -- a price to back, so they have no place beside the books' opening and closing prices
    where market in ('h2h', 'totals', 'spreads')
),

feed as (
    select max(quoted_at) as newest_quote_at from quotes
),

lined as (
    select
        *,
        case when market = 'spreads' and selection = 'away' then -line else line end as home_line
    from quotes
),

ranked as (
    select
        *,
        row_number() over (
            partition by game_id, bookmaker, market, home_line, selection order by quoted_at, quote_id
        ) as from_first,
        row_number() over (
            partition by game_id, bookmaker, market, home_line, selection, quoted_at <= kickoff_at
            order by quoted_at desc, quote_id desc
        ) as from_last_before_kickoff
    from lined
),

phased as (
    select
        game_id, competition, kickoff_at, bookmaker, is_exchange, market, selection, home_line,
        'opening' as phase, price, quoted_at
    from ranked
    where from_first = 1
    union all
    select
        game_id, competition, kickoff_at, bookmaker, is_exchange, market, selection, home_line,
        'closing' as phase, price, quoted_at
    from ranked
    cross join feed
    where from_last_before_kickoff = 1 and quoted_at <= kickoff_at and kickoff_at < feed.newest_quote_at
),

lines as (
    select
        game_id,
        bookmaker,
        market,
        phase,
        home_line,
        row_number() over (
            partition by game_id, bookmaker, market, phase
            order by
                case when phase = 'opening' then min(quoted_at) end,
                case when phase = 'closing' then max(quoted_at) end desc,
                home_line
        ) as line_rank
    from phased
    group by game_id, bookmaker, market, phase, home_line
),

one_league as (
    select competition, min(league) as league
    from {{ ref('stg_reference__leagues') }}
    group by competition
    having count(*) = 1
),

kinds as (
    select bookmaker, max(bookmaker_kind) as bookmaker_kind
    from {{ ref('stg_reference__bookmakers') }}
    group by bookmaker
),

seasons as (
    select
        phased.*,
        case
            when extract(month from phased.kickoff_at) >= 7 then extract(year from phased.kickoff_at)
            else extract(year from phased.kickoff_at) - 1
        end as season_start
    from phased
)

select
    cast(seasons.game_id as varchar) as match_id,
    cast(coalesce(one_league.league, seasons.competition) as varchar) as league,
    cast(
        cast(season_start as varchar) || '-' || right(cast(season_start + 1 as varchar), 2) as varchar
    ) as season,
    cast(seasons.competition as varchar) as competition,
    cast(kickoff_at as date) as match_date,
    cast(seasons.bookmaker as varchar) as bookmaker,
    cast(
        coalesce(kinds.bookmaker_kind, case when is_exchange then 'exchange' else 'bookmaker' end) as varchar
    ) as bookmaker_kind,
    cast(seasons.market as varchar) as market,
    cast(selection as varchar) as selection,
    cast(seasons.phase as varchar) as phase,
    cast(price as double) as price,
    cast(seasons.home_line as double) as line,
    cast(quoted_at as timestamp) as quoted_at
from seasons
inner join lines
    on
    seasons.game_id = lines.game_id
    and seasons.bookmaker = lines.bookmaker
    and seasons.market = lines.market
    and seasons.phase = lines.phase
    and coalesce(seasons.home_line, -1000) = coalesce(lines.home_line, -1000)
    and lines.line_rank = 1
left join one_league on seasons.competition = one_league.competition
left join kinds on seasons.bookmaker = kinds.bookmaker
