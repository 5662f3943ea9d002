{% macro add_days(expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'enrich')(expression, days)) }}
{%- endmacro %}

{% macro default__add_days(expression, days) -%}
    ({{ expression }} + ({{ days }}) * interval '1 day')
{%- endmacro %}

{#- DuckDB and Spark add microseconds: exact for whole and fractional days
    (a UTC session has no daylight-saving days). -#}
{% macro duckdb__add_days(expression, days) -%}
    ({{ expression }} + to_microseconds(cast(round(({{ days }}) * 86400000000) as bigint)))
{%- endmacro %}

{% macro spark__add_days(expression, days) -%}
    timestamp_micros(
        unix_micros({{ expression }}) + cast(round(({{ days }}) * 86400000000) as bigint)
    )
{%- endmacro %}
