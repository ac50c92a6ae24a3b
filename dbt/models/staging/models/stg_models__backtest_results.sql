{{ config(tags=["models"]) }}
with source as (
    {{ source_or_empty('models', 'backtest_results', {
        'strategy': 'varchar', 'staking': 'varchar', 'bets': 'bigint',
        'turnover': 'double', 'profit': 'double', 'roi': 'double',
        'yield_on_turnover': 'double', 'clv': 'double', 'max_drawdown': 'double',
        'final_bankroll': 'double'}) }}
),

renamed as (
    select
        strategy,
        staking,
        bets,
        turnover,
        profit,
        roi,
        yield_on_turnover,
        clv as closing_line_value,
        max_drawdown,
        final_bankroll
    from source
)

select * from renamed
