with source as (
    select * from {{ source('football_data', 'football_data_odds') }}
),

renamed as (
    select
        match_id,
        league,
        season,
        bookmaker,
        bookmaker_code,
        bookmaker_kind,
        market,
        selection,
        phase,
        cast(price as double) as price,
        1.0e0 / cast(price as double) as implied_probability,
        cast(line as double) as line,
        source_column,
        source_file,
        cast(source_row as integer) as source_row
    from source
)

select * from renamed
