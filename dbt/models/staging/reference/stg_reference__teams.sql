with source as (
    select * from {{ source('reference', 'teams') }}
),

renamed as (
    select
        team_id,
        name as team_name,
        sport,
        competitions,
        country
    from source
)

select * from renamed
