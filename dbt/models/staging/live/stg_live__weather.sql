with source as (
    {{ source_or_empty('live', 'silver_weather', {
        'event_id': 'varchar', 'source': 'varchar', 'event_time': 'timestamp', 'game_id': 'varchar',
        'location_name': 'varchar', 'kind': 'varchar', 'valid_at': 'timestamp',
        'temperature_c': 'double', 'humidity_pct': 'double', 'wind_speed_ms': 'double',
        'precipitation_mm': 'double', 'condition': 'varchar'
    }) }}
),

renamed as (
    select
        event_id as observation_id,
        source as feed_source,
        event_time as observed_at,
        game_id,
        location_name,
        kind,
        valid_at,
        temperature_c,
        humidity_pct,
        wind_speed_ms,
        precipitation_mm,
        condition
    from source
)

select * from renamed
