"""enrich: the customer propensity pipeline as a plain library, a module a stage."""
