with source as (
    {{ source_or_empty('live', 'silver_news', {
        'event_id': 'varchar', 'source': 'varchar', 'sport': 'varchar', 'article_id': 'varchar',
        'title': 'varchar', 'published_at': 'timestamp', 'outlet': 'varchar', 'team_ids': 'varchar',
        'game_id': 'varchar'
    }) }}
),

renamed as (
    select
        article_id,
        source as feed_source,
        sport as competition,
        title,
        published_at,
        outlet,
        team_ids,
        game_id
    from source
)

select * from renamed
