{% macro star_except(relation, except, prefix=none) -%}
    {#- The relation's columns in their order, without those in `except`,
        comma-separated (optionally qualified with `prefix`). -#}
    {%- if not execute -%}
        {{ return('*') }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if column.name | lower not in except -%}
            {%- do names.append((prefix ~ '.' if prefix else '') ~ column.quoted) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | join(',\n        ')) }}
{%- endmacro %}
