{#- Distinct active days without a second pass over the events: each event
    sets the bit (day number mod 63) of a bigint, the masks of a group are
    OR-ed, and the set bits are counted. Exact for a group whose events span
    at most 63 consecutive days (no two of its days share a bit), which
    int_feature_buckets and int_profile_buckets_aggregated guarantee.
    day_number.sql numbers the days, count_bits.sql counts the set bits. -#}

{% macro day_bit(day_number) -%}
    {{ return(adapter.dispatch('day_bit', 'enrich')(day_number)) }}
{%- endmacro %}

{% macro default__day_bit(day_number) -%}
    (cast(1 as bigint) << cast(({{ day_number }}) % 63 as integer))
{%- endmacro %}

{% macro spark__day_bit(day_number) -%}
    shiftleft(cast(1 as bigint), cast(({{ day_number }}) % 63 as integer))
{%- endmacro %}
