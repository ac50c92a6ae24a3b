{{ config(tags=["models"]) }}
{#- Each model's walk-forward 1X2 probabilities per match (fitted only on the league's earlier
    days), beside the result and Pinnacle's closing line de-vigged by Shin. -#}
with predictions as (
    select * from {{ ref('stg_models__predictions') }}
),

matches as (
    select match_id, league, season, match_date, home_team_id, away_team_id, result_selection
    from {{ ref('fct_match') }}
),

pinnacle_close as (
    select match_id, shin_home, shin_draw, shin_away
    from {{ ref('mart_fair_probabilities') }}
    where probability_source = 'pinnacle' and phase = 'closing'
)

select
    cast({{ composite_key(['predictions.match_id', 'predictions.model_name']) }} as varchar) as model_prediction_id,
    cast(predictions.match_id as varchar) as match_id,
    cast(matches.league as varchar) as league,
    cast(matches.season as varchar) as season,
    cast(matches.match_date as date) as match_date,
    cast(matches.home_team_id as varchar) as home_team_id,
    cast(matches.away_team_id as varchar) as away_team_id,
    cast(predictions.model_name as varchar) as model_name,
    cast(predictions.fit_date as date) as fit_date,
    cast(predictions.training_matches as bigint) as training_matches,
    cast(predictions.p_home as double) as p_home,
    cast(predictions.p_draw as double) as p_draw,
    cast(predictions.p_away as double) as p_away,
    cast(matches.result_selection as varchar) as result_selection,
    cast(pinnacle_close.shin_home as double) as pinnacle_close_home,
    cast(pinnacle_close.shin_draw as double) as pinnacle_close_draw,
    cast(pinnacle_close.shin_away as double) as pinnacle_close_away
from predictions
inner join matches on predictions.match_id = matches.match_id
left join pinnacle_close on predictions.match_id = pinnacle_close.match_id
