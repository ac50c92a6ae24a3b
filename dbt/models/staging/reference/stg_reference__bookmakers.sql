with source as (
    select * from {{ source('reference', 'bookmakers') }}
),

renamed as (
    select
        bookmaker_code,
        bookmaker,
        title as bookmaker_title,
        kind as bookmaker_kind
    from source
)

select * from renamed
