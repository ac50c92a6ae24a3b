{#- Lint-only: `var()` returns the value dbt_project.yml sets (sqlfluff's own returns a placeholder
    string, which the macros cannot do arithmetic on). -#}
{% macro var(name, default=none) -%}
    {{ return(project.vars.get(name, default)) }}
{%- endmacro %}
