{{ prediction_scoring_set('purchase') }}
