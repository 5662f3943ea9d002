-- depends_on: {{ ref('xdm_event_types') }}
{{ config(materialized='table') }}

{#- Counts are integers: summing int4 is far cheaper than bigint (numeric).

    One row per profile per time bucket (int_feature_buckets) with events:
    per event type the count and the latest time, the events, the active
    days and, per prediction of the spec (macros/predictions/), the count,
    first and last time of its target events. One pass over the events for
    every prediction; the features and labels of every cutoff are sums and
    extremes of these rows.

    Active days are a bit mask (macros/features/day_bit.sql), exact for
    spans of at most 63 days: every bucket after the first is
    (int_feature_buckets), and the history before the first bound is cut
    into 63-day slices, numbered minus the day number (days since
    1970-01-01) of the slice's first day, and bounded like bucket 0. -#}

{%- set event_types = event_catalogue() %}
{%- set predictions = prediction_spec() %}
{%- set bounds_query -%}
select bucket_end_at from {{ ref('int_feature_buckets') }} order by bucket_end_at
{%- endset %}

with

buckets as (

    select
        bucket_number,
        bucket_start_at,
        bucket_end_at

    from {{ ref('int_feature_buckets') }}

),

events as (

    select
        profile_id,
        event_type,
        event_at,
        {%- for prediction in predictions %}
        {{ target_condition(prediction) }} as is_target_{{ prediction.name }},
        {%- endfor %}
        {{ day_number('event_date') }} as day_number,
        {{ bucket_number('event_at', bounds_query) }} as bucket_number

    from {{ ref('stg_xdm__experience_events') }}

    where event_at < (select max(buckets.bucket_end_at) from buckets)

),

sliced as (

    select
        profile_id,
        event_type,
        event_at,
        {%- for prediction in predictions %}
        is_target_{{ prediction.name }},
        {%- endfor %}
        day_number,
        case
            when bucket_number = 0 then (day_number % 63) - day_number
            else bucket_number
        end as bucket_number

    from events

),

pivoted as (

    select
        profile_id,
        bucket_number,
        {%- for row in event_types %}
        cast(count(*) filter (where event_type = '{{ row[0] }}') as integer)
            as count_{{ row[1] }},
        max(event_at) filter (where event_type = '{{ row[0] }}')
            as last_{{ row[1] }}_at,
        {%- endfor %}
        cast(count(*) as integer) as count_events,
        max(event_at) as last_event_at,
        {%- for prediction in predictions %}
        {%- set target = 'is_target_' ~ prediction.name %}
        cast(count(*) filter (where {{ target }}) as integer)
            as count_target_{{ prediction.name }},
        min(event_at) filter (where {{ target }})
            as first_target_{{ prediction.name }}_at,
        max(event_at) filter (where {{ target }})
            as last_target_{{ prediction.name }}_at,
        {%- endfor %}
        bit_or({{ day_bit('day_number') }}) as active_days_mask

    from sliced

    group by profile_id, bucket_number

),

final as (

    select
        pivoted.profile_id,
        pivoted.bucket_number,
        {%- for row in event_types %}
        pivoted.count_{{ row[1] }},
        pivoted.last_{{ row[1] }}_at,
        {%- endfor %}
        pivoted.count_events,
        pivoted.last_event_at,
        {%- for prediction in predictions %}
        pivoted.count_target_{{ prediction.name }},
        pivoted.first_target_{{ prediction.name }}_at,
        pivoted.last_target_{{ prediction.name }}_at,
        {%- endfor %}
        {{ count_bits('pivoted.active_days_mask') }} as count_active_days,
        buckets.bucket_start_at,
        buckets.bucket_end_at

    from pivoted

    -- Every slice of the history before the first bound is bounded like bucket 0.
    inner join buckets
        on
            buckets.bucket_number
            = case when pivoted.bucket_number < 0 then 0 else pivoted.bucket_number end

)

select * from final
