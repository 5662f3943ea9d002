{#- Distinct active days without a second pass over the events: each event
    sets the bit (day number mod 63) of a bigint, the masks of a group are
    OR-ed, and the set bits are counted. Exact for a group whose events span
    at most 63 consecutive days (no two of its days share a bit), which
    int_feature_buckets and int_profile_buckets_aggregated guarantee. -#}

{% macro day_number(date_expression) -%}
    {{ return(adapter.dispatch('day_number', 'enrich')(date_expression)) }}
{%- endmacro %}

{% macro default__day_number(date_expression) -%}
    ({{ date_expression }} - cast('1970-01-01' as date))
{%- endmacro %}

{% macro duckdb__day_number(date_expression) -%}
    date_diff('day', cast('1970-01-01' as date), {{ date_expression }})
{%- endmacro %}

{% macro spark__day_number(date_expression) -%}
    datediff({{ date_expression }}, cast('1970-01-01' as date))
{%- endmacro %}

{% macro day_bit(day_number) -%}
    {{ return(adapter.dispatch('day_bit', 'enrich')(day_number)) }}
{%- endmacro %}

{% macro default__day_bit(day_number) -%}
    (cast(1 as bigint) << cast(({{ day_number }}) % 63 as integer))
{%- endmacro %}

{% macro spark__day_bit(day_number) -%}
    shiftleft(cast(1 as bigint), cast(({{ day_number }}) % 63 as integer))
{%- endmacro %}

{% macro count_bits(mask) -%}
    {{ return(adapter.dispatch('count_bits', 'enrich')(mask)) }}
{%- endmacro %}

{% macro default__count_bits(mask) -%}
    cast(bit_count({{ mask }}) as integer)
{%- endmacro %}

{% macro postgres__count_bits(mask) -%}
    cast(bit_count(cast({{ mask }} as bit(64))) as integer)
{%- endmacro %}
