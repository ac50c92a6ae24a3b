{#- A readable composite key: the columns' text joined by '|' (null as empty), e.g.
    `2023-08-11:burnley:manchester-city|bet365|h2h|home`. Same text on every target. -#}
{% macro composite_key(columns) -%}
    {%- for column in columns -%}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '')
        {%- if not loop.last %} || '|' || {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- The selections of a market in a fixed order: the positions the wide market models use. -#}
{% macro market_selections(market) -%}
    {{ return({'h2h': ['home', 'draw', 'away'], 'totals': ['over', 'under'], 'spreads': ['home', 'away']}[market]) }}
{%- endmacro %}
