{% macro index_for_lookups(relation, column) -%}
    {{ return(adapter.dispatch('index_for_lookups', 'enrich')(relation, column)) }}
{%- endmacro %}

{#- Engines without indexes need nothing. -#}

{% macro default__index_for_lookups(relation, column) -%}
{%- endmacro %}

{% macro postgres__index_for_lookups(relation, column) -%}
    create index if not exists {{ relation.identifier }}_{{ column }}
        on {{ relation }} ({{ column }});
    analyze {{ relation }}
{%- endmacro %}
