"""Stages 5 and 6: scoring every eligible profile, and writing the scores back."""
