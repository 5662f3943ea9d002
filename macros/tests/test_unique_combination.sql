{% test unique_combination(model, columns) %}
    {#- Fails with every combination of `columns` that occurs more than once
        (or has a null part): the primary-key test of multi-column grains. -#}
    select
        {{ columns | join(', ') }},
        count(*) as count_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having
        count(*) > 1
        {%- for column in columns %}
        or {{ column }} is null
        {%- endfor %}
{% endtest %}
