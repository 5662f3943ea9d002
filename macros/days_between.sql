{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'enrich')(start, end)) }}
{%- endmacro %}

{% macro default__days_between(start, end) -%}
    {#- Fractional days from start to end. -#}
    (cast(extract(epoch from ({{ end }}) - ({{ start }})) as double precision) / 86400)
{%- endmacro %}
