{{ prediction_training_set('purchase') }}
