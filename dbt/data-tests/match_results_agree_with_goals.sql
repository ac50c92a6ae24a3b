-- The full-time result letter agrees with the goals.
select match_id, home_goals, away_goals, result
from {{ ref('fct_match') }}
where home_goals is not null and away_goals is not null
    and result <> case
        when home_goals > away_goals then 'H'
        when home_goals < away_goals then 'A'
        else 'D'
    end
