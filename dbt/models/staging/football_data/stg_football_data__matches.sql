with source as (
    select * from {{ source('football_data', 'football_data_matches') }}
),

renamed as (
    select
        cast(match_id as {{ dbt.type_string() }}) as match_id,
        cast(league as {{ dbt.type_string() }}) as league,
        cast(competition as {{ dbt.type_string() }}) as competition,
        cast(season as {{ dbt.type_string() }}) as season,
        league || ':' || season as competition_season_id,
        cast(season_start_year as integer) as season_start_year,
        cast(match_date as date) as match_date,
        cast(kickoff_at as {{ dbt.type_timestamp() }}) as kickoff_at,
        home_team_id,
        away_team_id,
        home_team_name,
        away_team_name,
        cast(home_goals as integer) as home_goals,
        cast(away_goals as integer) as away_goals,
        result,
        case result when 'H' then 'home' when 'D' then 'draw' when 'A' then 'away' end as result_selection,
        cast(ht_home_goals as integer) as ht_home_goals,
        cast(ht_away_goals as integer) as ht_away_goals,
        ht_result,
        referee,
        cast(attendance as integer) as attendance,
        cast(home_shots as integer) as home_shots,
        cast(away_shots as integer) as away_shots,
        cast(home_shots_on_target as integer) as home_shots_on_target,
        cast(away_shots_on_target as integer) as away_shots_on_target,
        cast(home_corners as integer) as home_corners,
        cast(away_corners as integer) as away_corners,
        cast(home_fouls as integer) as home_fouls,
        cast(away_fouls as integer) as away_fouls,
        cast(home_yellow_cards as integer) as home_yellow_cards,
        cast(away_yellow_cards as integer) as away_yellow_cards,
        cast(home_red_cards as integer) as home_red_cards,
        cast(away_red_cards as integer) as away_red_cards,
        source_file,
        cast(source_row as integer) as source_row,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select * from renamed
