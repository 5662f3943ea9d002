{% macro render_condition(node, columns) -%}
    {#- A condition node of the prediction spec as SQL. `columns` maps each
        allowed field to its column expression: a field outside it, an
        unknown op or a malformed node is a compiler error, so no name from
        the spec reaches the SQL unchecked. -#}
    {%- if node is not mapping -%}
        {{ exceptions.raise_compiler_error("condition " ~ node ~ ": expected a mapping") }}
    {%- endif -%}
    {%- set op = node.get('op') -%}
    {%- if op in ['and', 'or'] -%}
        {%- set args = node.get('args') -%}
        {%- if args is string or args is mapping or args is not iterable
            or args | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                "condition " ~ op ~ ": args must be a non-empty list") }}
        {%- endif -%}
        {%- set parts = [] -%}
        {%- for arg in args -%}
            {%- do parts.append('(' ~ render_condition(arg, columns) ~ ')') -%}
        {%- endfor -%}
        {{ return(parts | join(' ' ~ op ~ ' ')) }}
    {%- elif op == 'not' -%}
        {{ return('not (' ~ render_condition(node.get('arg'), columns) ~ ')') }}
    {%- endif -%}
    {%- set field = node.get('field') -%}
    {%- if field is not string or field not in columns -%}
        {{ exceptions.raise_compiler_error(
            "condition " ~ op ~ ": unknown field " ~ field ~ " (allowed: "
            ~ (columns.keys() | sort | join(', ')) ~ ")") }}
    {%- endif -%}
    {%- set column = columns[field] -%}
    {%- if op in ['=', '<>', '<', '<=', '>', '>='] -%}
        {{ return(column ~ ' ' ~ op ~ ' ' ~ render_literal(node.get('value'))) }}
    {%- elif op in ['in', 'not in'] -%}
        {%- set values = node.get('values') -%}
        {%- if values is string or values is mapping or values is not iterable
            or values | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                "condition " ~ op ~ " on " ~ field ~ ": values must be a non-empty list") }}
        {%- endif -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- do literals.append(render_literal(value)) -%}
        {%- endfor -%}
        {{ return(column ~ ' ' ~ op ~ ' (' ~ literals | join(', ') ~ ')') }}
    {%- elif op == 'between' -%}
        {{ return(column ~ ' between ' ~ render_literal(node.get('low'))
            ~ ' and ' ~ render_literal(node.get('high'))) }}
    {%- elif op in ['is null', 'is not null'] -%}
        {{ return(column ~ ' ' ~ op) }}
    {%- elif op == 'flag' -%}
        {{ return(column) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "condition on " ~ field ~ ": unknown op " ~ op) }}
    {%- endif -%}
{%- endmacro %}
