{% macro refresh_statistics(relation) -%}
    {{ return(adapter.dispatch('refresh_statistics', 'enrich')(relation)) }}
{%- endmacro %}

{#- A table dbt just created has no statistics until autovacuum comes by;
    the models reading it plan on guesses until then. -#}

{% macro default__refresh_statistics(relation) -%}
{%- endmacro %}

{% macro postgres__refresh_statistics(relation) -%}
    analyze {{ relation }}
{%- endmacro %}
