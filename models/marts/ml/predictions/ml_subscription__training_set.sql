{{ prediction_training_set('subscription') }}
