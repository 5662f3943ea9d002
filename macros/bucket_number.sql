{% macro bucket_number(expression, thresholds_query) -%}
    {{ return(adapter.dispatch('bucket_number', 'enrich')(expression, thresholds_query)) }}
{%- endmacro %}

{% macro default__bucket_number(expression, thresholds_query) -%}
    {#- How many of the sorted thresholds are <= expression (0 before the
        first); PostgreSQL finds it by binary search. -#}
    width_bucket({{ expression }}, array({{ thresholds_query }}))
{%- endmacro %}
