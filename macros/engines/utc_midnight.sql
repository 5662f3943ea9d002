{% macro utc_midnight(date_expression) -%}
    {{ return(adapter.dispatch('utc_midnight', 'enrich')(date_expression)) }}
{%- endmacro %}

{% macro default__utc_midnight(date_expression) -%}
    {#- The timestamptz of 00:00 UTC on a date, whatever the session zone. -#}
    (cast({{ date_expression }} as timestamp) at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__utc_midnight(date_expression) -%}
    timezone('UTC', cast({{ date_expression }} as timestamp))
{%- endmacro %}

{% macro spark__utc_midnight(date_expression) -%}
    cast({{ date_expression }} as timestamp)
{%- endmacro %}
