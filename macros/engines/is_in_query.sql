{% macro is_in_query(expression, query) -%}
    {{ return(adapter.dispatch('is_in_query', 'enrich')(expression, query)) }}
{%- endmacro %}

{% macro default__is_in_query(expression, query) -%}
    {{ expression }} in ({{ query }})
{%- endmacro %}

{% macro postgres__is_in_query(expression, query) -%}
    {#- An array lets PostgreSQL skip every other partition at run time. -#}
    {{ expression }} = any(array({{ query }}))
{%- endmacro %}
