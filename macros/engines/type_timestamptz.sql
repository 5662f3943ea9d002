{% macro type_timestamptz() -%}
    {{ return(adapter.dispatch('type_timestamptz', 'enrich')()) }}
{%- endmacro %}

{#- An instant in time (PostgreSQL and DuckDB timestamptz; Spark's timestamp
    is one). -#}

{% macro default__type_timestamptz() -%}
    timestamptz
{%- endmacro %}

{% macro spark__type_timestamptz() -%}
    timestamp
{%- endmacro %}
