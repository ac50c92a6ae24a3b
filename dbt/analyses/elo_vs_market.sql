-- Elo's home win expectancy against Pinnacle's closing fair probability of a home win.
select
    elo.match_id,
    elo.match_date,
    elo.team_id as home_team_id,
    elo.expected_score as elo_home_expected_score,
    fair.shin_home as pinnacle_closing_home_probability,
    fair.shin_draw as pinnacle_closing_draw_probability
from {{ ref('mart_team_elo') }} as elo
inner join {{ ref('mart_fair_probabilities') }} as fair
    on elo.match_id = fair.match_id
where elo.is_home and fair.probability_source = 'pinnacle' and fair.phase = 'closing'
order by elo.match_date
