with source as (
    {{ source_or_empty('live', 'gold_steam_moves', {
        'window_start': 'timestamp', 'window_end': 'timestamp', 'game_id': 'varchar',
        'market': 'varchar', 'point': 'double', 'selection': 'varchar', 'direction': 'varchar',
        'books_moved': 'integer', 'books_quoting': 'integer', 'median_move_pct': 'double'
    }) }}
),

renamed as (
    select
        window_start,
        window_end,
        game_id,
        market,
        point as line,
        selection,
        direction,
        books_moved,
        books_quoting,
        median_move_pct
    from source
)

select * from renamed
