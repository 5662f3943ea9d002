{% macro bucket_number(expression, thresholds_query) -%}
    {{ return(adapter.dispatch('bucket_number', 'enrich')(expression, thresholds_query)) }}
{%- endmacro %}

{% macro default__bucket_number(expression, thresholds_query) -%}
    {#- How many of the sorted thresholds are <= expression (0 before the
        first): a CASE over the thresholds, read when the model runs. -#}
    {%- if not execute -%}
        {{ return('0') }}
    {%- endif -%}
    {%- set thresholds = run_query(thresholds_query).columns[0].values() -%}
    case
        {%- for threshold in thresholds %}
        when {{ expression }} < cast('{{ threshold.isoformat() }}' as {{ type_timestamptz() }})
            then {{ loop.index0 }}
        {%- endfor %}
        else {{ thresholds | length }}
    end
{%- endmacro %}

{% macro postgres__bucket_number(expression, thresholds_query) -%}
    {#- PostgreSQL finds it by binary search. -#}
    width_bucket({{ expression }}, array({{ thresholds_query }}))
{%- endmacro %}
