{#- One row per (prediction, event type, feature window): the Pearson
    correlation, over the prediction's training rows, between the profile's
    count of the event type at the cutoff (ml_features: count_<slug>_<w>d
    and count_<slug>_total) and its label in the window after the cutoff
    (ml_labels). Point in time, as the model sees it: counts stop at the
    cutoff and the label looks only after it, so behaviour that precedes a
    conversion is not penalised for the counting stopping at it. Ranked per
    prediction and window. -#}

{%- set event_types = event_catalogue() -%}
{%- set windows = var('feature_windows_days') -%}
{%- set suffixes = [] -%}
{%- for days in windows %}{% do suffixes.append(days ~ 'd') %}{% endfor -%}
{%- do suffixes.append('total') -%}

-- depends_on: {{ ref('xdm_event_types') }}

with

features as (

    select
        prediction_name,
        profile_id,
        cutoff_at,
        {%- for row in event_types %}
        {%- for suffix in suffixes %}
        count_{{ row[1] }}_{{ suffix }},
        {%- endfor %}
        {%- endfor %}
        is_scoring_cutoff

    from {{ ref('ml_features') }}

),

labels as (

    select
        prediction_name,
        profile_id,
        cutoff_at,
        label

    from {{ ref('ml_labels') }}

),

catalogue as (

    select
        event_type,
        family

    from {{ ref('xdm_event_types') }}

),

training_rows as (

    select
        features.*,
        case when labels.label then 1.0 else 0.0 end as label_value

    from features

    inner join labels
        on
            features.prediction_name = labels.prediction_name
            and features.profile_id = labels.profile_id
            and features.cutoff_at = labels.cutoff_at

    where not features.is_scoring_cutoff

),

per_prediction as (

    -- One pass over the training rows: every (event type, window) at once.
    select
        prediction_name,
        {%- for row in event_types %}
        {%- for suffix in suffixes %}
        {%- set column = 'count_' ~ row[1] ~ '_' ~ suffix %}
        corr({{ column }}, label_value) as corr_{{ row[1] }}_{{ suffix }},
        avg({{ column }}) filter (where label_value = 1)
            as positive_{{ row[1] }}_{{ suffix }},
        avg({{ column }}) filter (where label_value = 0)
            as negative_{{ row[1] }}_{{ suffix }},
        {%- endfor %}
        {%- endfor %}
        count(*) as count_rows,
        sum(label_value) as count_positives

    from training_rows

    group by prediction_name

),

unpivoted as (

    {%- for row in event_types %}
    {%- set outer = loop %}
    {%- for suffix in suffixes %}
    select
        prediction_name,
        {{ render_literal(row[0]) }} as event_type,
        {{ render_literal(suffix) }} as feature_window,
        {{ render_literal('count_' ~ row[1] ~ '_' ~ suffix) }} as feature_name,
        corr_{{ row[1] }}_{{ suffix }} as correlation_with_label,
        positive_{{ row[1] }}_{{ suffix }} as avg_count_positive,
        negative_{{ row[1] }}_{{ suffix }} as avg_count_negative,
        count_rows,
        count_positives

    from per_prediction
    {%- if not (outer.last and loop.last) %}

    union all
    {% endif %}
    {%- endfor %}
    {%- endfor %}

),

final as (

    select
        unpivoted.prediction_name,
        unpivoted.event_type,
        catalogue.family as event_family,
        unpivoted.feature_window,
        unpivoted.feature_name,
        unpivoted.correlation_with_label,
        unpivoted.avg_count_positive,
        unpivoted.avg_count_negative,
        unpivoted.count_rows,
        cast(unpivoted.count_positives as bigint) as count_positives,
        rank() over (
            partition by unpivoted.prediction_name, unpivoted.feature_window
            order by unpivoted.correlation_with_label desc nulls last
        ) as correlation_rank

    from unpivoted

    left join catalogue
        on unpivoted.event_type = catalogue.event_type

)

select * from final
