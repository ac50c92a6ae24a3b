with source as (
    {{ source_or_empty('live', 'silver_odds_quotes', {
        'event_id': 'varchar', 'source': 'varchar', 'sport': 'varchar', 'event_time': 'timestamp',
        'game_id': 'varchar', 'bookmaker': 'varchar', 'bookmaker_title': 'varchar', 'market': 'varchar', 'selection': 'varchar',
        'price': 'double', 'point': 'double', 'is_exchange': 'boolean', 'previous_price': 'double',
        'home_team': 'varchar', 'away_team': 'varchar', 'commence_time': 'timestamp'
    }) }}
),

renamed as (
    select
        event_id as quote_id,
        source as feed_source,
        sport as competition,
        event_time as quoted_at,
        game_id,
        bookmaker,
        bookmaker_title,
        market,
        selection,
        price,
        1.0e0 / price as implied_probability,
        point as line,
        is_exchange,
        previous_price,
        home_team,
        away_team,
        commence_time as kickoff_at
    from source
)

select * from renamed
