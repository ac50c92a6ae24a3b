{{ config(tags=["models"]) }}
with source as (
    {{ source_or_empty('models', 'model_predictions', {
        'match_id': 'varchar', 'model': 'varchar', 'fit_date': 'date',
        'training_matches': 'bigint', 'p_home': 'double', 'p_draw': 'double',
        'p_away': 'double'}) }}
),

renamed as (
    select
        match_id,
        model as model_name,
        fit_date,
        training_matches,
        p_home,
        p_draw,
        p_away
    from source
)

select * from renamed
