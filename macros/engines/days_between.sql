{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'enrich')(start, end)) }}
{%- endmacro %}

{% macro default__days_between(start, end) -%}
    {#- Fractional days from start to end. -#}
    (cast(extract(epoch from ({{ end }}) - ({{ start }})) as double precision) / 86400)
{%- endmacro %}

{% macro duckdb__days_between(start, end) -%}
    ((epoch({{ end }}) - epoch({{ start }})) / 86400)
{%- endmacro %}

{% macro spark__days_between(start, end) -%}
    (cast(unix_micros({{ end }}) - unix_micros({{ start }}) as double) / 86400000000)
{%- endmacro %}
