{#- Every row satisfies a SQL boolean expression (optionally only rows matching `where`). -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
