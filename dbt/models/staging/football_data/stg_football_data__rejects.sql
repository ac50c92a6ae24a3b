with source as (
    select * from {{ source('football_data', 'football_data_rejects') }}
),

renamed as (
    select
        source_file,
        league,
        season,
        league || ':' || season as competition_season_id,
        cast(source_row as integer) as source_row,
        source_column,
        case
            when source_row is null then 'file'
            when source_column is null then 'row'
            else 'cell'
        end as reject_level,
        reason,
        raw_record,
        cast(rejected_at as {{ dbt.type_timestamp() }}) as rejected_at
    from source
)

select * from renamed
