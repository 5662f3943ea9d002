{#- One row per eligible profile of the default prediction (the first of var
    predictions) at the scoring cutoff (as_of): the features the model
    scores. Same feature columns, in the same order, as ml_training_set, and
    no label. -#}

{{ prediction_scoring_set(prediction_spec()[0].name, target_features=false) }}
