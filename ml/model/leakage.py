"""The leakage audit of every training: single-feature AUCs, a permutation test.

**Single-feature check (the leak detector).** A feature computed from the
label window (the label blurred a little, "days until the conversion", a flag
set by the conversion) decides the label alone: its holdout AUC, taken by
itself, reaches ``train.leakage_max_feature_auc``. Such a feature fails the
training, by name, unless listed in ``train.leakage_allowed_features``.
Missing values rank below every value (a feature present only for converters
scores near 1); categories are ranked by their training conversion rate.

**Permutation test (a null that is right).** The old check fitted a model on
shuffled training labels and scored it against the *real* holdout labels. Such
a model is a fixed random function of the features; where the features
separate the classes, its AUC against the real labels spreads far wider than
chance (measured on hand-made frames of the tests' shapes: a standard deviation
of 0.023-0.047 against the 0.011-0.017 of chance; it failed 2 to 6 of 20 honest
datasets, and 0.623 on the reference workflow's data).

Here the labels of the training sample and of the holdout are permuted
*together* (one seeded permutation of their concatenation), a model is fitted
with the training code's own :func:`ml.model.fit.fit_catboost` on the permuted
training labels (every feature, categorical ones and their target statistics
included), and its holdout scores are ranked against the permuted holdout
labels. Given the permuted training labels, the holdout's permuted labels are a
uniformly random arrangement of its positives over its rows, independent of
the scores: the AUC's null is exactly the Mann-Whitney distribution, mean 0.5
and a standard deviation computed from the holdout's class counts and the ties
of the scores, whatever the features and however strongly they separate the
classes. The audit fails when the two-sided p-value falls below
``train.leakage_null_alpha``. One fit of ``train.leakage_null_iterations``
trees on at most ``train.baseline_max_rows`` rows keeps it cheap; the seed
fixes the permutation and the fit, so the same data gives the same verdict.

This was chosen over a permutation distribution of refitted models (the other
null that is right) because that distribution is the same Mann-Whitney law:
refitting K times would only estimate, noisily and K times slower, a spread
that can be computed.

**What each part can and cannot see.** Permuting the labels also breaks the
tie between a leaked feature and the label, so the permutation test cannot
see a leak in the features: it guards the plumbing (the fit learns from the
labels it is handed, the scores are ranked against the rows they belong to).
Leaks in the features are the single-feature check's. A leak spread over
several features, none of which reaches the threshold alone, cannot be told
from honest strong signal by looking at the frames; on generated data the
model's AUC above the oracle's would show it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ml.core.config import TrainSettings
from ml.model.fit import fit_catboost, pool
from ml.model.frames import LABEL, Split, at_most


def single_feature_aucs(data: Split) -> dict[str, float]:
    """Each feature's holdout AUC alone, highest first (0.5 = no signal).

    A feature that ranks the classes backwards counts as much as one that
    ranks them forwards (``max(auc, 1 - auc)``).

    Args:
        data: The split.

    Returns:
        Per feature, its AUC.
    """
    labels = data.holdout[LABEL].astype(int).to_numpy()
    per_feature = {}
    for column in data.features:
        values = data.holdout[column]
        if column in data.categorical:
            rates = data.train.groupby(column)[LABEL].mean()
            values = values.map(rates).fillna(data.train[LABEL].mean())
        numeric = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        missing = np.isnan(numeric)
        low = numeric[~missing].min() - 1 if not missing.all() else 0.0
        auc = _auc(labels, np.where(missing, low, numeric))
        per_feature[column] = float(max(auc, 1 - auc))
    return dict(sorted(per_feature.items(), key=lambda item: -item[1]))


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by ranks (ties count half): the Mann-Whitney U over n1 * n0."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    ranks = pd.Series(scores).rank().to_numpy()
    u = float(ranks[labels == 1].sum()) - positives * (positives + 1) / 2
    return u / (positives * negatives)


def mann_whitney_null(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The AUC of ``scores`` and its null law when labels are a random arrangement.

    Under the null the AUC has mean 0.5 and the Mann-Whitney variance,
    corrected for tied scores; the p-value is two-sided (normal
    approximation, exact enough for the holdout sizes a training needs).

    Args:
        labels: 0/1 labels.
        scores: Scores of the same rows.

    Returns:
        ``auc``, ``null_mean``, ``null_sd``, ``z`` and ``p_value``.
    """
    labels = np.asarray(labels).astype(int)
    n = labels.size
    positives = int(labels.sum())
    negatives = n - positives
    auc = _auc(labels, scores)
    _, ties = np.unique(scores, return_counts=True)
    tie_term = float((ties.astype(float) ** 3 - ties).sum()) / (n * (n - 1))
    variance = positives * negatives / 12 * ((n + 1) - tie_term)
    sd = math.sqrt(max(variance, 0.0)) / (positives * negatives)
    z = (auc - 0.5) / sd if sd > 0 else 0.0
    return {
        "auc": auc,
        "null_mean": 0.5,
        "null_sd": sd,
        "z": z,
        "p_value": math.erfc(abs(z) / math.sqrt(2)),
    }


def permutation_test(data: Split, settings: TrainSettings) -> dict[str, Any]:
    """The holdout AUC of a model fitted on jointly permuted labels, and its null.

    Args:
        data: The split.
        settings: Training settings (rows, trees, seed, the test's level).

    Returns:
        The statistic, its null mean and spread, the p-value and the verdict.
    """
    train = at_most(data.train, settings.baseline_max_rows, settings)
    labels = np.concatenate(
        [train[LABEL].astype(int).to_numpy(), data.holdout[LABEL].astype(int)]
    )
    permuted = np.random.default_rng(settings.seed).permutation(labels)
    fitted, holdout_labels = permuted[: len(train)], permuted[len(train) :]
    quick = settings.model_copy(update={"iterations": settings.leakage_null_iterations})
    model = fit_catboost(
        Split(
            data.features,
            data.categorical,
            train,
            data.validation,
            data.holdout,
            data.holdout_cutoff,
        ),
        quick,
        labels=fitted,
    )
    scores = model.predict_proba(pool(data.holdout, data, with_label=False))[:, 1]
    result: dict[str, Any] = {
        "method": "labels of train and holdout permuted together",
        **mann_whitney_null(holdout_labels, scores),
        "alpha": settings.leakage_null_alpha,
        "train_rows": len(train),
        "holdout_rows": len(data.holdout),
        "holdout_positives": int(holdout_labels.sum()),
        "iterations": settings.leakage_null_iterations,
    }
    result["passed"] = bool(result["p_value"] >= settings.leakage_null_alpha)
    return result


def leakage_audit(data: Split, settings: TrainSettings) -> dict[str, Any]:
    """Single-feature holdout AUCs and the permutation test (module docstring).

    Args:
        data: The split.
        settings: Training settings (the audit's threshold, allowances, level).

    Returns:
        Every single-feature AUC, those at or above the threshold, the flagged
        ones, the permutation test, whether the audit passed and why not.
    """
    per_feature = single_feature_aucs(data)
    threshold = settings.leakage_max_feature_auc
    deciding = {name: auc for name, auc in per_feature.items() if auc >= threshold}
    flagged = sorted(set(deciding) - set(settings.leakage_allowed_features))
    null = permutation_test(data, settings)
    reasons = [
        f"{name} alone has holdout AUC {deciding[name]:.3f} (>= {threshold})"
        for name in flagged
    ]
    if not null["passed"]:
        reasons.append(
            f"a model fitted on permuted labels scored AUC {null['auc']:.3f} on "
            f"equally permuted holdout labels (null 0.5 +/- {null['null_sd']:.3f}, "
            f"p = {null['p_value']:.2g} < {null['alpha']:g})"
        )
    return {
        "max_single_feature_auc": max(per_feature.values()),
        "single_feature_auc": per_feature,
        "max_feature_auc": threshold,
        "deciding_features": deciding,
        "allowed_features": sorted(settings.leakage_allowed_features),
        "flagged_features": flagged,
        "permutation_test": null,
        "passed": not reasons,
        "reasons": reasons,
    }
