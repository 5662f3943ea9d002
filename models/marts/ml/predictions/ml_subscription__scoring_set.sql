{{ prediction_scoring_set('subscription') }}
