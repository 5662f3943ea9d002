{% macro json_path(path) -%}
    {#- A JSONPath such as $.productListItems[0].SKU: digits are list indexes. -#}
    ${%- for step in path -%}
        {%- if step is number or (step | string).isdigit() -%}
            [{{ step }}]
        {%- else -%}
            .{{ step }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
