-- CLV is the opening price times Pinnacle's de-vigged closing probability, minus 1
-- (lakehouse.odds.closing_line_value), and beat_closing_line says whether it is positive.
select closing_line_value_id, opening_price, pinnacle_closing_probability, closing_line_value
from {{ ref('mart_closing_line_value') }}
where abs(closing_line_value - (opening_price * pinnacle_closing_probability - 1)) > 1e-12
    or beat_closing_line <> (closing_line_value > 0)
