{% macro prediction_spec() -%}
    {#- The compiled prediction spec (var predictions, written from
        predictions.yml), the first prediction being the default. Checked
        lightly: Python validates the file; this catches a hand-edited or
        stale var with an error naming the prediction and the key. -#}
    {%- set spec = var('predictions', none) -%}
    {%- if spec is none or spec is string or spec is mapping
        or spec is not iterable or spec | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var predictions: expected a non-empty list of predictions, got "
            ~ spec ~ "; run `enrich predictions sync`") }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for prediction in spec -%}
        {%- set where = "var predictions, item " ~ loop.index0 -%}
        {%- if prediction is not mapping -%}
            {{ exceptions.raise_compiler_error(where ~ ": expected a mapping") }}
        {%- endif -%}
        {%- set name = prediction.get('name') -%}
        {%- if name is not string
            or not modules.re.fullmatch('[a-z][a-z0-9_]{0,30}', name) -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": name " ~ name ~ " is not [a-z][a-z0-9_]{0,30}") }}
        {%- endif -%}
        {%- if name in names -%}
            {{ exceptions.raise_compiler_error(where ~ ": name " ~ name ~ " repeats") }}
        {%- endif -%}
        {%- do names.append(name) -%}
        {%- if prediction.get('kind') not in ['first', 'repeat', 'churn'] -%}
            {{ exceptions.raise_compiler_error(
                where ~ " (" ~ name ~ "): kind " ~ prediction.get('kind')
                ~ " is not first, repeat or churn") }}
        {%- endif -%}
        {%- for key in ['horizon_days', 'gap_days', 'training_cutoffs',
                        'cutoff_step_days', 'active_days'] -%}
            {%- set value = prediction.get(key) -%}
            {%- if value is boolean or value is not integer or value < 0
                or (value == 0 and key != 'gap_days') -%}
                {{ exceptions.raise_compiler_error(
                    where ~ " (" ~ name ~ "): " ~ key ~ " " ~ value
                    ~ " is not a positive whole number") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if prediction.get('event_type') is not none
            and prediction.get('event_type') is not string -%}
            {{ exceptions.raise_compiler_error(
                where ~ " (" ~ name ~ "): event_type is not a string") }}
        {%- endif -%}
        {%- if prediction.get('event_type') is none and prediction.kind != 'churn' -%}
            {{ exceptions.raise_compiler_error(
                where ~ " (" ~ name ~ "): event_type is required for kind "
                ~ prediction.kind) }}
        {%- endif -%}
        {%- for key in ['where', 'eligible'] -%}
            {%- if prediction.get(key) is not none
                and prediction.get(key) is not mapping -%}
                {{ exceptions.raise_compiler_error(
                    where ~ " (" ~ name ~ "): " ~ key
                    ~ " is not a condition (a mapping) or null") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(spec) }}
{%- endmacro %}
