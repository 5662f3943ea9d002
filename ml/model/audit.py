"""The leakage audit of every training.

Single-feature holdout AUCs and a shuffled-label run say whether the label
leaked into the features. (The baselines are :mod:`ml.model.baselines`.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ml.core.config import TrainSettings
from ml.model.fit import fit_catboost, pool
from ml.model.frames import LABEL, Split, at_most


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
