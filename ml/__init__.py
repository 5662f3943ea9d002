"""enrich: the customer propensity pipeline as a plain library, a package a layer.

``core`` is the infrastructure every stage stands on (settings, errors,
relation names, the warehouse, storage, the lake, the engines). The stages
follow the data: ``synthetic`` (the generated world), ``data`` (raw batches),
``features`` (dbt and the export), ``model`` (training, evaluation, the
registry), ``scores`` (scoring and the write-back), ``activation`` (rules,
audiences, deliveries). ``report`` reads every stage's public functions.
"""
