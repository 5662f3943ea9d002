-- depends_on: {{ ref('xdm_event_types') }}
{{ config(materialized='table') }}

{#- Counts are integers: summing int4 is far cheaper than bigint (numeric).

    One row per profile per time bucket (int_feature_buckets) with events:
    per event type the count and the latest time, the events and the active
    days. One pass over the events; the features of every cutoff are sums
    and maxima of these rows. -#}

{%- set event_types = event_catalogue() %}
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
        event_date,
        {{ bucket_number('event_at', bounds_query) }} as bucket_number

    from {{ ref('stg_xdm__experience_events') }}

    where event_at < (select max(buckets.bucket_end_at) from buckets)

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
        max(event_at) as last_event_at

    from events

    group by profile_id, bucket_number

),

active_days as (

    select
        profile_id,
        bucket_number,
        cast(count(*) as integer) as count_active_days

    from (
        select distinct
            profile_id,
            bucket_number,
            event_date
        from events
    ) as profile_days

    group by profile_id, bucket_number

),

final as (

    select
        pivoted.*,
        active_days.count_active_days,
        buckets.bucket_start_at,
        buckets.bucket_end_at

    from pivoted

    inner join active_days
        on
            pivoted.profile_id = active_days.profile_id
            and pivoted.bucket_number = active_days.bucket_number

    inner join buckets
        on pivoted.bucket_number = buckets.bucket_number

)

select * from final
