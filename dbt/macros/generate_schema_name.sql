{#- Folder schemas by their own names (staging, intermediate, marts) on every target, not
    `<target schema>_<name>`: the warehouse has one analytics environment per database. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
