{#- One row per eligible (profile, training cutoff) of the default
    prediction (the first of var predictions): the features and the label.
    Same feature columns, in the same order, as ml_scoring_set; without the
    target features, which the per-prediction sets (predictions/) carry. -#}

{{ prediction_training_set(prediction_spec()[0].name, target_features=false) }}
