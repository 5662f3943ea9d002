{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Custom schemas are used as named (staging, ml, ...), not prefixed with
        the target schema, so every tool finds the marts at the same place. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
