{{ config(tags=["models"]) }}
with source as (
    {{ source_or_empty('models', 'backtest_bets', {
        'strategy': 'varchar', 'match_id': 'varchar', 'match_date': 'date',
        'selection': 'varchar', 'price': 'double', 'won': 'boolean',
        'kelly_fraction': 'double', 'unit_stake': 'double',
        'closing_fair_probability': 'double'}) }}
),

renamed as (
    select
        strategy,
        match_id,
        match_date,
        selection,
        price,
        won,
        kelly_fraction,
        unit_stake,
        closing_fair_probability
    from source
)

select * from renamed
