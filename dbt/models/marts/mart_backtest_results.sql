{{ config(tags=["models"]) }}
{#- Each strategy's walk-forward backtest over every season, flat (one unit a bet) and fractional
    Kelly, as `lakehouse backtest` prints it (lakehouse.models.backtest). -#}
select
    cast({{ composite_key(['strategy', 'staking']) }} as varchar) as backtest_result_id,
    cast(strategy as varchar) as strategy,
    cast(staking as varchar) as staking,
    cast(bets as bigint) as bets,
    cast(turnover as double) as turnover,
    cast(profit as double) as profit,
    cast(roi as double) as roi,
    cast(yield_on_turnover as double) as yield_on_turnover,
    cast(closing_line_value as double) as closing_line_value,
    cast(max_drawdown as double) as max_drawdown,
    cast(final_bankroll as double) as final_bankroll
from {{ ref('stg_models__backtest_results') }}
