{#- A source's columns, or none of its rows while the source table does not exist yet: the model
    tables `batch.models` lands appear only after the first `model_training` run, and the rest of
    the project must build before that. `columns` maps each column to its type. -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) if execute else none -%}
    {%- if found is not none -%}
        select
            {%- for name, type in columns.items() %}
            cast({{ name }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ relation }}
    {%- else -%}
        select
            {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
