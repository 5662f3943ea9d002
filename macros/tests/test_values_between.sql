{% test values_between(model, column_name, min_value, max_value) %}
    {#- Fails with every row whose value lies outside [min_value, max_value]
        (nulls pass: pair with not_null when they must not occur). -#}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}
