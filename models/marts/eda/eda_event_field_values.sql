{#- One row per (event type, field, value) among the ten most frequent
    values of the field for the event type, over page_name, link_name,
    campaign_name and sku: what the data holds, for writing a prediction's
    target.where (and for training's diagnostics when a condition matches
    nothing). Reads a sample of the events when eda_sample_percent is below
    100 (counts are then scaled estimates). -#}

{%- set sample_percent = var('eda_sample_percent') | float %}
{%- set fields = ['page_name', 'link_name', 'campaign_name', 'sku'] %}

with

events as (

    select
        event_type,
        page_name,
        link_name,
        campaign_name,
        sku

    from {{ ref('int_experience_events_sampled') }}

),

field_values as (

    {%- for field in fields %}
    select
        event_type,
        {{ render_literal(field) }} as field_name,
        {{ field }} as field_value,
        count(*) as count_events

    from events

    where {{ field }} is not null

    group by event_type, {{ field }}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}

),

ranked as (

    select
        event_type,
        field_name,
        field_value,
        count_events,
        row_number() over (
            partition by event_type, field_name
            order by count_events desc, field_value asc
        ) as value_rank

    from field_values

),

final as (

    select
        event_type,
        field_name,
        field_value,
        cast(round(count_events * 100.0 / {{ sample_percent }}) as bigint)
            as count_events,
        value_rank,
        {{ sample_percent }} as sample_percent

    from ranked

    where value_rank <= 10

)

select * from final
