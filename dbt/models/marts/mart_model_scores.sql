{{ config(tags=["models"]) }}
{#- Brier score and log-loss per league-season of each model and of Pinnacle's close, on the
    matches all of them priced (computed by lakehouse.models.scoring when the models ran). -#}
select
    cast({{ composite_key(['league', 'season', 'model_name']) }} as varchar) as model_score_id,
    cast(league as varchar) as league,
    cast(season as varchar) as season,
    cast(model_name as varchar) as model_name,
    cast(matches as bigint) as matches,
    cast(brier_score as double) as brier_score,
    cast(log_loss as double) as log_loss
from {{ ref('stg_models__scores') }}
