{% macro add_days(expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'enrich')(expression, days)) }}
{%- endmacro %}

{% macro default__add_days(expression, days) -%}
    ({{ expression }} + ({{ days }}) * interval '1 day')
{%- endmacro %}
