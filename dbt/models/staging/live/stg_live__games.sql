with source as (
    {{ source_or_empty('live', 'silver_games', {
        'event_id': 'varchar', 'source': 'varchar', 'sport': 'varchar', 'event_time': 'timestamp',
        'game_id': 'varchar', 'competition': 'varchar', 'home_team': 'varchar', 'away_team': 'varchar',
        'home_team_id': 'varchar', 'away_team_id': 'varchar', 'commence_time': 'timestamp',
        'status': 'varchar', 'period': 'integer', 'clock': 'varchar', 'home_score': 'integer',
        'away_score': 'integer', 'venue_name': 'varchar', 'venue_city': 'varchar',
        'venue_country': 'varchar', 'venue_lat': 'double', 'venue_lon': 'double'
    }) }}
),

renamed as (
    select
        event_id as update_id,
        source as feed_source,
        sport as competition,
        event_time as observed_at,
        game_id,
        home_team,
        away_team,
        home_team_id,
        away_team_id,
        commence_time as kickoff_at,
        status,
        period,
        clock,
        home_score,
        away_score,
        venue_name,
        venue_city,
        venue_country,
        venue_lat,
        venue_lon
    from source
)

select * from renamed
