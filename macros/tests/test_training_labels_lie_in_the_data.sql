{% test training_labels_lie_in_the_data(model) %}
    {#- Fails for every training cutoff whose label window ends after as_of:
        its labels would be censored (not yet observed), not negative. -#}
    select *
    from {{ model }}
    where not is_scoring_cutoff and label_window_end_at > as_of_at
{% endtest %}
