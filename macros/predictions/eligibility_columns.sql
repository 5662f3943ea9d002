{% macro eligibility_columns(prefix=none) -%}
    {#- The fields an `eligible` condition may use (feature columns of
        ml_features, qualified with `prefix` when given): the behaviour counts and
        recencies, tenure, the prediction's target features and the profile
        attributes. Needs the event catalogue (declare its depends_on). -#}
    {%- set names = [
        'days_since_last_event', 'count_events_total', 'count_active_days_total',
        'tenure_days', 'email_open_rate', 'email_click_through_rate',
        'ad_click_through_rate', 'offer_interaction_share',
        'activity_trend_7d_vs_21d', 'count_target_total', 'days_since_target',
        'country_code', 'preferred_channel', 'device_type', 'acquisition_source',
        'loyalty_tier', 'age_band', 'has_email_consent', 'has_sms_consent',
        'has_push_consent', 'has_personalize_consent',
    ] -%}
    {%- for days in var('feature_windows_days') -%}
        {%- do names.extend(['count_events_' ~ days ~ 'd', 'count_target_' ~ days ~ 'd']) -%}
    {%- endfor -%}
    {%- for row in event_catalogue() -%}
        {%- do names.extend(['count_' ~ row[1] ~ '_total', 'days_since_' ~ row[1]]) -%}
        {%- for days in var('feature_windows_days') -%}
            {%- do names.append('count_' ~ row[1] ~ '_' ~ days ~ 'd') -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set columns = {} -%}
    {%- for name in names -%}
        {%- do columns.update({name: (prefix ~ '.' if prefix else '') ~ name}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}
