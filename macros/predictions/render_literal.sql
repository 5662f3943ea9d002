{% macro render_literal(value) -%}
    {#- A condition's value as SQL: true/false, a number, or a quoted string.
        Strings with a quote or a backslash are refused (Python refuses them
        first), so quoting needs no escaping on any engine. -#}
    {%- if value is boolean -%}
        {{ return('true' if value else 'false') }}
    {%- elif value is number -%}
        {{ return(value | string) }}
    {%- elif value is string -%}
        {%- if "'" in value or "\\" in value -%}
            {{ exceptions.raise_compiler_error(
                "condition value " ~ value ~ ": quotes and backslashes are not allowed") }}
        {%- endif -%}
        {{ return("'" ~ value ~ "'") }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "condition value " ~ value ~ ": expected a number, a string or a boolean") }}
    {%- endif -%}
{%- endmacro %}
