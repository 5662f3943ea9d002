"""Stage 7: the audience rule language, audiences, and deliveries."""
