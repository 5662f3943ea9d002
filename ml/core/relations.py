"""Names of every relation enrich reads or writes from Python.

One module, so a rename is one line and no SQL string spells a table by hand.
Each name is a (schema, table) pair for ``psycopg.sql.Identifier``.
"""

RAW_SCHEMA = "raw"
SYNTHETIC_SCHEMA = "synthetic"

RAW_BATCHES = (RAW_SCHEMA, "batches")
RAW_PROFILES = (RAW_SCHEMA, "profiles")
RAW_EXPERIENCE_EVENTS = (RAW_SCHEMA, "experience_events")
RAW_QUARANTINE = (RAW_SCHEMA, "quarantine")

# Ground truth of the synthetic generator. Never read by features or training:
# only evaluation (oracle AUC) and back-tests may look at it.
SYNTHETIC_TRUTH = (SYNTHETIC_SCHEMA, "truth")

# The ML marts dbt builds and `enrich export` copies to the lake.
ML_SCHEMA = "ml"
ML_TRAINING_SET = (ML_SCHEMA, "ml_training_set")
ML_SCORING_SET = (ML_SCHEMA, "ml_scoring_set")
ML_PREDICTION_CUTOFFS = (ML_SCHEMA, "ml_prediction_cutoffs")

# The model registry (one row per trained model version).
REGISTRY_SCHEMA = "registry"
MODEL_VERSIONS = (REGISTRY_SCHEMA, "model_versions")

# Scores written back by `enrich ingest` (history), and its batch log.
SCORES_SCHEMA = "scores"
PROPENSITY_SCORES = (SCORES_SCHEMA, "propensity_scores")
INGEST_BATCHES = (SCORES_SCHEMA, "ingest_batches")

# The profile store: every known profile with its current score (a dbt mart).
PROFILES_SCHEMA = "profiles"
PROFILES_ENRICHED = (PROFILES_SCHEMA, "profiles_enriched")

# Audience builds: one row per build, per build and audience, and the
# membership snapshots (one partition per build).
AUDIENCES_SCHEMA = "audiences"
AUDIENCE_BUILDS = (AUDIENCES_SCHEMA, "builds")
AUDIENCE_BUILD_AUDIENCES = (AUDIENCES_SCHEMA, "build_audiences")
AUDIENCE_MEMBERSHIPS = (AUDIENCES_SCHEMA, "memberships")
# Activation: the suppression list, the delivery ledger, what each delivery
# left activated, and the accepted batches of HTTP deliveries.
AUDIENCE_SUPPRESSIONS = (AUDIENCES_SCHEMA, "suppressions")
AUDIENCE_DELIVERIES = (AUDIENCES_SCHEMA, "deliveries")
AUDIENCE_ACTIVATED = (AUDIENCES_SCHEMA, "activated")
AUDIENCE_DELIVERY_BATCHES = (AUDIENCES_SCHEMA, "delivery_batches")

# The exploration marts dbt builds (read by the run report).
EDA_SCHEMA = "eda"
EDA_DATASET_SUMMARY = (EDA_SCHEMA, "eda_dataset_summary")
EDA_DAILY_VOLUMES = (EDA_SCHEMA, "eda_daily_volumes")
EDA_EMAIL_FUNNEL = (EDA_SCHEMA, "eda_email_funnel")
EDA_EVENT_COOCCURRENCE = (EDA_SCHEMA, "eda_event_cooccurrence")
EDA_LABEL_CORRELATION = (EDA_SCHEMA, "eda_label_correlation")
EDA_EVENT_FIELD_VALUES = (EDA_SCHEMA, "eda_event_field_values")
