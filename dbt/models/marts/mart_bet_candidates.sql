{{ config(tags=["models"]) }}
{#- Every bet a strategy placed in the backtest, with its match, and the bet's closing-line value
    against Pinnacle's close (`price * closing fair probability - 1`, as mart_closing_line_value). -#}
with bets as (
    select * from {{ ref('stg_models__backtest_bets') }}
),

matches as (
    select match_id, league, season, home_team_id, away_team_id from {{ ref('fct_match') }}
)

select
    cast({{ composite_key(['bets.strategy', 'bets.match_id', 'bets.selection']) }} as varchar) as bet_id,
    cast(bets.strategy as varchar) as strategy,
    cast(bets.match_id as varchar) as match_id,
    cast(matches.league as varchar) as league,
    cast(matches.season as varchar) as season,
    cast(bets.match_date as date) as match_date,
    cast(matches.home_team_id as varchar) as home_team_id,
    cast(matches.away_team_id as varchar) as away_team_id,
    cast(bets.selection as varchar) as selection,
    cast(bets.price as double) as price,
    cast(bets.won as boolean) as won,
    cast(bets.kelly_fraction as double) as kelly_fraction,
    cast(bets.unit_stake as double) as unit_stake,
    cast(bets.closing_fair_probability as double) as closing_fair_probability,
    cast(bets.price * bets.closing_fair_probability - 1 as double) as closing_line_value
from bets
inner join matches on bets.match_id = matches.match_id
