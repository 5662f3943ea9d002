{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'enrich')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    {#- PostgreSQL: the text at a path of keys and list indexes. -#}
    ({{ column }} #>> '{ {{- path | join(",") -}} }')
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '{{ json_path(path) }}')
{%- endmacro %}

{% macro spark__json_text(column, path) -%}
    get_json_object({{ column }}, '{{ json_path(path) }}')
{%- endmacro %}
