{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'enrich')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
