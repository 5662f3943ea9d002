{% macro utc_date(expression) -%}
    {{ return(adapter.dispatch('utc_date', 'enrich')(expression)) }}
{%- endmacro %}

{% macro default__utc_date(expression) -%}
    cast(({{ expression }}) at time zone 'UTC' as date)
{%- endmacro %}
