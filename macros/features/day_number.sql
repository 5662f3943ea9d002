{#- The first step of the active-days bit mask (see day_bit.sql): the day's
    number since 1970-01-01. -#}

{% macro day_number(date_expression) -%}
    {{ return(adapter.dispatch('day_number', 'enrich')(date_expression)) }}
{%- endmacro %}

{% macro default__day_number(date_expression) -%}
    ({{ date_expression }} - cast('1970-01-01' as date))
{%- endmacro %}

{% macro duckdb__day_number(date_expression) -%}
    date_diff('day', cast('1970-01-01' as date), {{ date_expression }})
{%- endmacro %}

{% macro spark__day_number(date_expression) -%}
    datediff({{ date_expression }}, cast('1970-01-01' as date))
{%- endmacro %}
