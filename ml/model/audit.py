"""Baselines of every training, on the same split.

The baselines (logistic regression, a random forest) say what the model
adds. The leakage audit lives in :mod:`ml.model.leakage`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from ml.core.config import TrainSettings
from ml.model.evaluate import roc_points
from ml.model.frames import LABEL, Split, at_most

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer


def _baseline_columns(data: Split, scale: bool) -> ColumnTransformer:
    """Imputed (and, with ``scale``, standardised) numbers; one-hot categories."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in data.features if c not in data.categorical]
    steps = [SimpleImputer(strategy="median", add_indicator=True)]
    if scale:
        steps.append(StandardScaler())
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(*steps), numeric),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                data.categorical,
            ),
        ]
    )


def baselines(data: Split, settings: TrainSettings) -> dict[str, Any]:
    """Logistic regression and a random forest on the same split.

    Args:
        data: The split (trained on train and validation, scored on holdout).
        settings: Training settings (sample size, trees, seed, threads).

    Returns:
        Per baseline: holdout ROC AUC, seconds and ROC curve.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline

    train = at_most(
        pd.concat([data.train, data.validation]), settings.baseline_max_rows, settings
    )
    candidates = {
        "logistic_regression": make_pipeline(
            _baseline_columns(data, scale=True),
            LogisticRegression(max_iter=2_000, class_weight="balanced"),
        ),
        "random_forest": make_pipeline(
            _baseline_columns(data, scale=False),
            RandomForestClassifier(
                n_estimators=settings.baseline_trees,
                min_samples_leaf=20,
                n_jobs=settings.thread_count,
                random_state=settings.seed,
                class_weight="balanced_subsample",
            ),
        ),
    }
    results = {}
    for name, pipeline in candidates.items():
        started = time.perf_counter()
        pipeline.fit(train[data.features], train[LABEL].astype(int))
        scores = pipeline.predict_proba(data.holdout[data.features])[:, 1]
        labels = data.holdout[LABEL].astype(int)
        results[name] = {
            "roc_auc": float(roc_auc_score(labels, scores)),
            "seconds": time.perf_counter() - started,
            "roc": roc_points(labels, scores),
        }
    return results
