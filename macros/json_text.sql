{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'enrich')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    {#- PostgreSQL: the text at a path of keys and list indexes. -#}
    ({{ column }} #>> '{ {{- path | join(",") -}} }')
{%- endmacro %}
