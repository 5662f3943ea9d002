{% macro event_sample(percent) -%}
    {{ return(adapter.dispatch('event_sample', 'enrich')(percent)) }}
{%- endmacro %}

{% macro default__event_sample(percent) -%}
    {#- A TABLESAMPLE clause for the EDA marts; nothing at 100 percent. -#}
    {%- if percent | float < 100 -%}
        tablesample system ({{ percent | float }}) repeatable (7)
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__event_sample(percent) -%}
    {%- if percent | float < 100 -%}
        tablesample {{ percent | float }}% (system, 7)
    {%- endif -%}
{%- endmacro %}

{% macro spark__event_sample(percent) -%}
    {%- if percent | float < 100 -%}
        tablesample ({{ percent | float }} percent)
    {%- endif -%}
{%- endmacro %}
