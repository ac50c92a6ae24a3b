with source as (
    {{ source_or_empty('live', 'gold_arbitrage_opportunities', {
        'arb_id': 'varchar', 'game_id': 'varchar', 'sport': 'varchar', 'market': 'varchar',
        'point': 'double', 'status': 'varchar', 'opened_at': 'timestamp', 'closed_at': 'timestamp',
        'age_s': 'double', 'inverse_sum': 'double', 'guaranteed_return': 'double',
        'bookmakers': 'varchar', 'assessment': 'varchar', 'net_return': 'double',
        'updated_at': 'timestamp'
    }) }}
),

renamed as (
    select
        arb_id,
        game_id,
        sport as competition,
        market,
        point as line,
        status,
        opened_at,
        closed_at,
        age_s,
        inverse_sum,
        guaranteed_return,
        bookmakers,
        assessment,
        net_return,
        updated_at
    from source
)

select * from renamed
