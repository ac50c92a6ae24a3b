-- Which bookmakers' opening 1X2 prices beat Pinnacle's closing line most often, per season.
select
    season,
    bookmaker,
    count(*) as prices,
    avg(closing_line_value) as mean_clv,
    avg(case when beat_closing_line then 1.0 else 0.0 end) as share_beating_close
from {{ ref('mart_closing_line_value') }}
where market = 'h2h' and bookmaker_kind = 'bookmaker'
group by season, bookmaker
order by season asc, mean_clv desc
