{% macro lake_type(kind) -%}
    {%- if kind == 'timestamp' -%}
        {{ type_timestamptz() }}
    {%- elif kind == 'bigint' -%}
        {{ dbt.type_bigint() }}
    {%- elif kind == 'boolean' -%}
        {{ dbt.type_boolean() }}
    {%- else -%}
        {{ dbt.type_string() }}
    {%- endif -%}
{%- endmacro %}
