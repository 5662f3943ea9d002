"""Stage 1: raw batches into the warehouse, validated, copied to the lake."""
