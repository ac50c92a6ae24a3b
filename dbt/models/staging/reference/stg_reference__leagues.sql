with source as (
    select * from {{ source('reference', 'leagues') }}
),

renamed as (
    select
        league,
        competition,
        competition_name,
        country,
        one_file_per_country
    from source
)

select * from renamed
