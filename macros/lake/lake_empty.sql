{% macro lake_empty(dataset) -%}
    {#- A typed relation with no rows. -#}
    select
    {%- for name, kind in lake_schemas()[dataset] %}
        cast(null as {{ lake_type(kind) }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    where 1 = 0
{%- endmacro %}
