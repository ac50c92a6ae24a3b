{#- The emulator executes Snowflake SQL on DuckDB (via sqlglot, which keeps the keyword), so the
    Elo sweeps need DuckDB's `materialized` there too (see macros/elo.sql); real Snowflake none. -#}
{% macro snowflake__materialized_cte() -%}
    {%- if is_snowflake_emulator() -%} materialized {%- endif -%}
{%- endmacro %}
