{% macro utc_date(expression) -%}
    {{ return(adapter.dispatch('utc_date', 'enrich')(expression)) }}
{%- endmacro %}

{% macro default__utc_date(expression) -%}
    cast(({{ expression }}) at time zone 'UTC' as date)
{%- endmacro %}

{% macro duckdb__utc_date(expression) -%}
    cast(timezone('UTC', {{ expression }}) as date)
{%- endmacro %}

{#- Spark's timestamps are instants shown in the session zone, which the
    spark target sets to UTC. -#}
{% macro spark__utc_date(expression) -%}
    to_date({{ expression }})
{%- endmacro %}
