{{ config(tags=["models"]) }}
with source as (
    {{ source_or_empty('models', 'model_scores', {
        'league': 'varchar', 'season': 'varchar', 'model': 'varchar', 'matches': 'bigint',
        'brier': 'double', 'log_loss': 'double'}) }}
),

renamed as (
    select
        league,
        season,
        model as model_name,
        matches,
        brier as brier_score,
        log_loss
    from source
)

select * from renamed
