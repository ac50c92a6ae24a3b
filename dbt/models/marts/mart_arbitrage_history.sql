{#- Pre-match cross-book arbitrages: per match, market, line and phase, the best price of each
    selection among the listed individual bookmakers (no composites, no exchanges); an arbitrage
    when the inverse prices sum to under 1, returning 1 / inverse_sum - 1 on any outcome. A sum
    within 1e-9 of 1 is a book at exactly 100% (2.20/3.50/3.85 sums to 0.9999999999999999 in
    floating point), not an arbitrage.
    Each is judged by the trader's rules (lakehouse.trading.assess_arbitrage): a best price whose
    price x consensus fair probability - 1 exceeds arbitrage_suspect_edge is suspect, the consensus
    being Pinnacle's Shin fair probabilities of the same line and phase (none before Pinnacle is in
    the files: then nothing is suspect). A file's prices are collected together, so none is stale;
    exchanges are not combined, so no commission: net = gross. -#}
{%- set kinds = var('arbitrage_bookmaker_kinds') %}
{%- set selections = ['home', 'draw', 'away', 'over', 'under'] %}
with odds as (
    select * from {{ ref('stg_football_data__odds') }}
    where bookmaker_kind in ({% for kind in kinds %}'{{ kind }}'{% if not loop.last %}, {% endif %}{% endfor %})
),

matches as (
    select match_id, match_date, league, season from {{ ref('stg_football_data__matches') }}
),

keyed as (
    select *, coalesce(line, -1000) as line_key from odds
),

best as (
    select match_id, market, phase, line_key, selection, max(price) as best_price
    from keyed
    group by match_id, market, phase, line_key, selection
),

best_bookmakers as (
    select
        best.match_id, best.market, best.phase, best.line_key, best.selection, best.best_price,
        {{ dbt.listagg('keyed.bookmaker', "','", 'order by keyed.bookmaker') }} as bookmakers
    from best
    inner join keyed
        on best.match_id = keyed.match_id
        and best.market = keyed.market
        and best.phase = keyed.phase
        and best.line_key = keyed.line_key
        and best.selection = keyed.selection
        and best.best_price = keyed.price
    group by best.match_id, best.market, best.phase, best.line_key, best.selection, best.best_price
),

compared as (
    select match_id, market, phase, line_key, count(distinct bookmaker) as bookmakers_compared
    from keyed
    group by match_id, market, phase, line_key
),

markets as (
    select
        match_id, market, phase, line_key,
        count(*) as selections_priced,
    {%- for selection in selections %}
        max(case when selection = '{{ selection }}' then best_price end) as {{ selection }}_price,
        max(case when selection = '{{ selection }}' then bookmakers end) as {{ selection }}_bookmakers{{ ',' if not loop.last }}
    {%- endfor %}
    from best_bookmakers
    group by match_id, market, phase, line_key
),

pinnacle as (
    select
        match_id,
        market,
        phase,
        coalesce(line, -1000) as line_key,
        shin_home,
        shin_draw,
        shin_away,
        shin_over,
        shin_under
    from {{ ref('int_markets_devigged') }}
    where bookmaker = 'pinnacle'
),

summed as (
    select
        *,
        -- fixed selection order, as lakehouse.odds.arbitrage sums them
        coalesce(1 / home_price, 0) + coalesce(1 / over_price, 0) + coalesce(1 / draw_price, 0)
        + coalesce(1 / away_price, 0) + coalesce(1 / under_price, 0) as inverse_sum
    from markets
    where selections_priced = case market when 'h2h' then 3 else 2 end
),

judged as (
    select
        summed.*,
        pinnacle.match_id is not null as has_consensus,
    {%- for selection in selections %}
        coalesce(
            summed.{{ selection }}_price * pinnacle.shin_{{ selection }} - 1 > {{ var('arbitrage_suspect_edge') }},
            false
        ) as {{ selection }}_suspect{{ ',' if not loop.last }}
    {%- endfor %}
    from summed
    left join pinnacle
        on
        summed.match_id = pinnacle.match_id
        and summed.market = pinnacle.market
        and summed.phase = pinnacle.phase
        and summed.line_key = pinnacle.line_key
),

verdicts as (
    select
        *,
        ltrim(
            case when home_suspect then ',home' else '' end
            || case when draw_suspect then ',draw' else '' end
            || case when away_suspect then ',away' else '' end
            || case when over_suspect then ',over' else '' end
            || case when under_suspect then ',under' else '' end,
            ','
        ) as suspect_list,
        case
            when home_suspect or draw_suspect or away_suspect or over_suspect or under_suspect then 'suspect'
            else 'actionable'
        end as assessment
    from judged
)

select
    cast({{ composite_key(['summed.match_id', 'summed.market', 'summed.phase', 'summed.line_key']) }} as varchar)
        as arbitrage_id,
    cast(summed.match_id as varchar) as match_id,
    cast(matches.match_date as date) as match_date,
    cast(matches.league as varchar) as league,
    cast(matches.season as varchar) as season,
    cast(summed.market as varchar) as market,
    cast(case when summed.line_key = -1000 then null else summed.line_key end as double) as line,
    cast(summed.phase as varchar) as phase,
    cast(compared.bookmakers_compared as bigint) as bookmakers_compared,
    {%- for selection in selections %}
        cast({{ selection }}_price as double) as {{ selection }}_price,
        cast({{ selection }}_bookmakers as varchar) as {{ selection }}_bookmakers,
        cast(100 * (1 / {{ selection }}_price) / inverse_sum as double) as {{ selection }}_stake,
    {%- endfor %}
    cast(inverse_sum as double) as inverse_sum,
    cast(1 / inverse_sum - 1 as double) as arbitrage_return,
    cast(case when summed.has_consensus then 'pinnacle' end as varchar) as consensus_bookmaker,
    cast(nullif(summed.suspect_list, '') as varchar) as suspect_selections,
    cast(summed.assessment as varchar) as assessment
from verdicts as summed
inner join compared
    on summed.match_id = compared.match_id
    and summed.market = compared.market
    and summed.phase = compared.phase
    and summed.line_key = compared.line_key
inner join matches on summed.match_id = matches.match_id
where summed.inverse_sum < 1 - 1e-9
