{#- True when dbt-snowflake talks to the local emulator (fakesnow in server mode) rather than
    Snowflake: the `fakesnow` target, or `--vars '{snowflake_emulator: true}'`. Every macro in
    this folder is a test-only override that changes nothing unless this is true. -#}
{% macro is_snowflake_emulator() -%}
    {{ return(target.type == 'snowflake' and (target.name == 'fakesnow' or var('snowflake_emulator', false))) }}
{%- endmacro %}
