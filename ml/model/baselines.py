"""The baselines every training is measured against, on the same split.

Three baselines say what the model adds:

* ``recency_frequency``: what a marketer would do without a model. Each of
  its columns, where the frame has it: ``days_since_last_event``,
  ``count_events_total`` and ``count_events_28d`` (activity), and the
  target event's own ``count_<slug>_total``, ``count_<slug>_28d`` and
  ``days_since_<slug>`` (for the demo's subscription, ``form_fills``) is cut
  into quantile bins on the training part (deciles; a missing recency, "never
  happened", falls past the last bin, a missing count is 0). A row's score is
  the mean of its bin positions (0-1), each column turned the way its bins
  rank the training labels (more recent and more frequent is usually better,
  but the training part decides). Nothing else is fitted: no weights.
* ``logistic_regression``: imputed, standardised numbers and one-hot
  categories, balanced classes.
* ``random_forest``: ``train.baseline_trees`` trees, leaves of 20 rows or more.

:mod:`ml.model.gate` compares the model with the best of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml.core.config import TrainSettings
from ml.model.evaluate import roc_points
from ml.model.frames import LABEL, Split, at_most

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

RECENCY_FREQUENCY = "recency_frequency"
ACTIVITY_COLUMNS = ("days_since_last_event", "count_events_total", "count_events_28d")
# The target event's feature slug (the seed's feature_slug) of today's one
# prediction: a form fill (any page; the subscription page's are the label).
TARGET_SLUG = "form_fills"
BINS = 10


def recency_frequency_columns(
    features: Sequence[str], target_slug: str | None
) -> list[str]:
    """The columns the recency-frequency baseline ranks by, those the frame has."""
    wanted = list(ACTIVITY_COLUMNS)
    if target_slug:
        wanted += [
            f"days_since_{target_slug}",
            f"count_{target_slug}_total",
            f"count_{target_slug}_28d",
        ]
    return [column for column in wanted if column in features]


def _filled(values: pd.Series) -> np.ndarray:
    """Numbers with "never happened" placed: recency +inf, counts 0."""
    numeric = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    never = np.inf if str(values.name).startswith("days_since") else 0.0
    return np.where(np.isnan(numeric), never, numeric)


def _positions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin positions 0-1 of ``values`` among the training part's quantile edges."""
    if edges.size == 0:
        return np.zeros(values.size)
    return np.searchsorted(edges, values, side="right") / edges.size


def _rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by ranks (ties count half)."""
    ranks = pd.Series(scores).rank().to_numpy()
    positives = labels == 1
    n1 = int(positives.sum())
    n0 = labels.size - n1
    if n1 == 0 or n0 == 0:
        return 0.5
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


class RecencyFrequency:
    """Quantile bins of recency and frequency, turned on the training part."""

    def __init__(self, columns: Sequence[str], bins: int = BINS) -> None:
        """Rank by ``columns`` cut into ``bins`` quantile bins each."""
        self.columns = list(columns)
        self.bins = bins
        self.edges: dict[str, np.ndarray] = {}
        self.direction: dict[str, float] = {}

    def fit(self, frame: pd.DataFrame, labels: np.ndarray) -> RecencyFrequency:
        """Bin edges and each column's direction, from the training part."""
        quantiles = np.linspace(0, 1, self.bins + 1)[1:-1]
        for column in self.columns:
            values = _filled(frame[column])
            finite = values[np.isfinite(values)]
            edges = np.unique(np.quantile(finite, quantiles)) if finite.size else finite
            self.edges[column] = edges
            auc = _rank_auc(labels, _positions(values, edges))
            self.direction[column] = 1.0 if auc >= 0.5 else -1.0
        return self

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """The mean of the directed bin positions (higher: more likely)."""
        if not self.columns:
            return np.zeros(len(frame))
        total = np.zeros(len(frame))
        for column in self.columns:
            position = _positions(_filled(frame[column]), self.edges[column])
            total += position if self.direction[column] > 0 else 1 - position
        return total / len(self.columns)


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


def _fitted_models(data: Split, settings: TrainSettings) -> dict[str, Any]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return {
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


def baselines(
    data: Split, settings: TrainSettings, target_slug: str | None = TARGET_SLUG
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Recency-frequency, logistic regression and a random forest on the split.

    Args:
        data: The split (fitted on train and validation, scored on holdout).
        settings: Training settings (sample size, trees, seed, threads).
        target_slug: The target event's feature slug (its count and recency
            columns join the recency-frequency ranking where they exist).

    Returns:
        Per baseline: holdout ROC AUC, seconds and ROC curve (and, for
        recency-frequency, its columns); and per baseline its holdout scores.
    """
    from sklearn.metrics import roc_auc_score

    train = at_most(
        pd.concat([data.train, data.validation]), settings.baseline_max_rows, settings
    )
    labels = data.holdout[LABEL].astype(int).to_numpy()
    results: dict[str, Any] = {}
    scores: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    ranking = RecencyFrequency(recency_frequency_columns(data.features, target_slug))
    ranking.fit(train, train[LABEL].astype(int).to_numpy())
    scores[RECENCY_FREQUENCY] = ranking.score(data.holdout)
    results[RECENCY_FREQUENCY] = {"columns": ranking.columns}
    times = {RECENCY_FREQUENCY: time.perf_counter() - started}
    for name, pipeline in _fitted_models(data, settings).items():
        started = time.perf_counter()
        pipeline.fit(train[data.features], train[LABEL].astype(int))
        scores[name] = pipeline.predict_proba(data.holdout[data.features])[:, 1]
        results[name] = {}
        times[name] = time.perf_counter() - started
    for name, predicted in scores.items():
        results[name] |= {
            "roc_auc": float(roc_auc_score(labels, predicted)),
            "seconds": times[name],
            "roc": roc_points(labels, predicted),
        }
    return results, scores
