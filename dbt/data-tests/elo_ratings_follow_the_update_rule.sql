-- The Elo sweeps converged to the sequential Elo: every team's first rating is the initial one,
-- each later pre-match rating is its previous post-match rating (to 1e-6 points), and the two
-- sides of a match exchange exactly the same points. A failure after new seasons are loaded means
-- the history outgrew `elo_iterations`: raise it.
with ratings as (
    select
        *,
        lag(elo_post) over (partition by team_id order by team_match_number) as previous_elo_post
    from {{ ref('mart_team_elo') }}
),

broken_chain as (
    select team_match_id, 'pre-match rating is not the previous post-match rating' as problem
    from ratings
    where (team_match_number = 1 and abs(elo_pre - {{ var('elo_initial_rating') }}) > 1e-9)
        or (team_match_number > 1 and abs(elo_pre - previous_elo_post) > 1e-6)
),

not_zero_sum as (
    select max(match_id) as team_match_id, 'the two sides do not exchange the same points' as problem
    from {{ ref('mart_team_elo') }}
    group by match_id
    having abs(sum(elo_change)) > 1e-9 or count(*) <> 2
)

select * from broken_chain
union all
select * from not_zero_sum
