"""Stage 4: frames, training, evaluation, explanation and the model registry."""
