with codes as (
    select * from {{ ref('stg_reference__bookmakers') }}
),

odds as (
    select * from {{ ref('stg_football_data__odds') }}
),

live_prices as (
    select * from {{ ref('int_live_prices_phased') }}
),

live_titles as (
    select bookmaker, max(bookmaker_title) as bookmaker_title
    from {{ ref('stg_live__odds_quotes') }}
    group by bookmaker
),

coded as (
    select
        bookmaker,
        max(bookmaker_title) as bookmaker_title,
        max(bookmaker_kind) as bookmaker_kind,
        {{ dbt.listagg('bookmaker_code', "','", 'order by bookmaker_code') }} as bookmaker_codes
    from codes
    group by bookmaker
),

-- a book only the live feeds quote: no football-data code, its title as the feed sends it
live_only as (
    select
        live_prices.bookmaker,
        coalesce(max(live_titles.bookmaker_title), live_prices.bookmaker) as bookmaker_title,
        max(live_prices.bookmaker_kind) as bookmaker_kind,
        cast(null as varchar) as bookmaker_codes
    from live_prices
    left join live_titles on live_prices.bookmaker = live_titles.bookmaker
    where live_prices.bookmaker not in (select bookmaker from coded)
    group by live_prices.bookmaker
),

bookmakers as (
    select * from coded
    union all
    select * from live_only
),

live_activity as (
    select bookmaker, count(*) as live_prices
    from live_prices
    group by bookmaker
),

activity as (
    select
        bookmaker,
        count(*) as prices,
        count(distinct match_id) as matches_priced,
        min(season) as first_season,
        max(season) as last_season,
        max(case when phase = 'closing' then 1 else 0 end) as has_closing_prices
    from odds
    group by bookmaker
)

select
    cast(bookmakers.bookmaker as varchar) as bookmaker,
    cast(bookmakers.bookmaker_title as varchar) as bookmaker_title,
    cast(bookmakers.bookmaker_kind as varchar) as bookmaker_kind,
    cast(bookmakers.bookmaker_codes as varchar) as bookmaker_codes,
    cast(bookmakers.bookmaker_kind = 'bookmaker' as boolean) as is_individual_bookmaker,
    cast(coalesce(activity.prices, 0) as bigint) as prices,
    cast(coalesce(activity.matches_priced, 0) as bigint) as matches_priced,
    cast(activity.first_season as varchar) as first_season,
    cast(activity.last_season as varchar) as last_season,
    cast(coalesce(activity.has_closing_prices, 0) = 1 as boolean) as has_closing_prices,
    cast(coalesce(live_activity.live_prices, 0) as bigint) as live_prices
from bookmakers
left join activity on bookmakers.bookmaker = activity.bookmaker
left join live_activity on bookmakers.bookmaker = live_activity.bookmaker
