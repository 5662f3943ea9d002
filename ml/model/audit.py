"""Checks of every training: baselines on the same split, a leakage audit.

The baselines (logistic regression, a random forest) say what the model
adds; the leakage audit (single-feature holdout AUCs and a shuffled-label
run) says whether the label leaked into the features.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml.core.config import TrainSettings
from ml.model.evaluate import roc_points
from ml.model.fit import fit_catboost, pool
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


def _single_feature_aucs(data: Split, labels: np.ndarray) -> dict[str, float]:
    """Each feature's holdout AUC alone (categories by their training rate)."""
    from sklearn.metrics import roc_auc_score

    per_feature = {}
    for column in data.features:
        values = data.holdout[column]
        if column in data.categorical:
            rates = data.train.groupby(column)[LABEL].mean()
            values = values.map(rates).fillna(data.train[LABEL].mean())
        numeric = pd.to_numeric(values, errors="coerce").astype(float)
        filled = numeric.fillna(numeric.min() - 1 if numeric.notna().any() else 0)
        auc = roc_auc_score(labels, filled)
        per_feature[column] = float(max(auc, 1 - auc))
    return per_feature


def _shuffled_label_auc(
    data: Split, settings: TrainSettings, deciding: set[str], labels: np.ndarray
) -> float:
    """Holdout AUC of a model fitted on shuffled training labels."""
    from sklearn.metrics import roc_auc_score

    # The shuffled-label run leaves out features allowed to decide the label
    # alone (any function of such a feature scores far from 0.5 by chance) and
    # the categorical ones: CatBoost's target statistics on shuffled labels
    # score 0.44-0.47 whatever the data, which says nothing about leakage.
    # Categorical leaks are what the single-feature AUCs catch. The run is
    # unweighted for the same reason (weights amplify the drift).
    kept = [f for f in data.features if f not in deciding and f not in data.categorical]
    blind = dataclasses.replace(
        data,
        features=kept,
        categorical=[],
        train=at_most(data.train, settings.baseline_max_rows, settings),
    )
    shuffled_settings = settings.model_copy(
        update={"iterations": 150, "class_weights": None}
    )
    shuffled = np.random.default_rng(settings.seed).permutation(
        blind.train[LABEL].astype(int).to_numpy()
    )
    model = fit_catboost(blind, shuffled_settings, labels=shuffled)
    return float(
        roc_auc_score(
            labels, model.predict_proba(pool(data.holdout, blind, False))[:, 1]
        )
    )


def leakage_audit(data: Split, settings: TrainSettings) -> dict[str, Any]:
    """Single-feature holdout AUCs and a shuffled-label run.

    A feature that alone nearly decides the label, or a model that learns
    from shuffled labels, means the label leaked into the features.

    Args:
        data: The split.
        settings: Training settings (the audit's thresholds and allowances).

    Returns:
        The AUCs, the flagged features and whether the audit passed.
    """
    labels = data.holdout[LABEL].astype(int).to_numpy()
    per_feature = _single_feature_aucs(data, labels)
    deciding = {
        name
        for name, auc in per_feature.items()
        if auc >= settings.leakage_max_feature_auc
    }
    suspicious = sorted(deciding - set(settings.leakage_allowed_features))
    shuffled_auc = _shuffled_label_auc(data, settings, deciding, labels)
    # Under the null (no signal) the AUC's standard error is that of the
    # Mann-Whitney statistic; on a small holdout 0.5 +/- tolerance is too tight.
    positives = int(labels.sum())
    negatives = labels.size - positives
    null_se = np.sqrt((labels.size + 1) / (12 * positives * negatives))
    deviation = max(settings.shuffled_auc_tolerance, 3 * null_se)
    return {
        "max_single_feature_auc": max(per_feature.values()),
        "single_feature_auc": dict(
            sorted(per_feature.items(), key=lambda item: -item[1])
        ),
        "flagged_features": suspicious,
        "shuffled_label_auc": shuffled_auc,
        "shuffled_auc_allowed_deviation": float(deviation),
        "passed": bool(not suspicious and abs(shuffled_auc - 0.5) <= deviation),
    }
