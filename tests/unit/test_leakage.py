"""The leakage audit on feature frames of different shapes.

Each shape is built here as the export would hand it to :func:`frames.split`
(profiles at three cutoffs, features, a boolean label): honest data of each
shape passes, and a planted leak (a feature computed from the label window)
fails, naming the feature.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from ml.core.config import TrainSettings
from ml.model import frames, leakage

CUTOFFS = pd.to_datetime(["2026-10-01", "2026-10-15", "2026-10-29"], utc=True)
SETTINGS = TrainSettings(iterations=30, thread_count=1, baseline_max_rows=6_000)


def _keys(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` rows: a third of as many profiles, each at one of three cutoffs."""
    return pd.DataFrame(
        {
            "profile_id": [f"p{i % (n // 3)}" for i in range(n)],
            "cutoff_at": CUTOFFS[rng.integers(0, 3, n)],
        }
    )


def _label(rng: np.random.Generator, logit: np.ndarray) -> np.ndarray:
    return rng.random(logit.size) < 1 / (1 + np.exp(-logit))


def demo_like(n: int = 9_000, seed: int = 3) -> pd.DataFrame:
    """The demo's shape: many weak features, a category, AUC about 0.7."""
    rng = np.random.default_rng(seed)
    data = _keys(rng, n)
    data["country_code"] = rng.choice(["US", "DE", None], n)
    signal = rng.normal(size=(n, 12))
    for column in range(12):
        data[f"feature_{column:02d}"] = signal[:, column]
    data["label"] = _label(rng, -2.2 + signal[:, :4] @ [0.5, 0.4, -0.3, 0.3])
    return data


def purchase_only(n: int = 9_000, seed: int = 4) -> pd.DataFrame:
    """A purchase log's features: counts and recency of one event type."""
    rng = np.random.default_rng(seed)
    data = _keys(rng, n)
    rate = rng.gamma(1.0, 0.05, n)  # purchases per day
    data["count_purchases_90d"] = rng.poisson(rate * 90)
    data["count_purchases_30d"] = rng.binomial(data["count_purchases_90d"], 1 / 3)
    data["count_purchases_7d"] = rng.binomial(data["count_purchases_30d"], 0.25)
    days = rng.exponential(1 / np.maximum(rate, 1e-3)).round()
    data["days_since_purchase"] = np.where(
        data["count_purchases_90d"] > 0, np.minimum(days, 89), np.nan
    )
    data["label"] = _label(rng, -3 + 25 * rate)
    return data


def strongly_separating(n: int = 9_000, seed: int = 108) -> pd.DataFrame:
    """Eight honest features that together separate the classes (AUC ~0.95).

    At this seed the old shuffled-label check (a model fitted on shuffled
    training labels, scored against the real holdout labels) failed it:
    AUC 0.444, outside 0.5 +/- 0.05.
    """
    rng = np.random.default_rng(seed)
    data = _keys(rng, n)
    signal = rng.normal(size=(n, 8))
    for column in range(8):
        data[f"engagement_{column}"] = signal[:, column]
    data["label"] = _label(rng, -1.5 + signal.sum(axis=1) * 1.4)
    return data


def label_plus_noise(data: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    """A leak: the label window's outcome, blurred a little."""
    rng = np.random.default_rng(seed)
    leaked = data.copy()
    leaked["converted_in_window"] = data["label"] + rng.normal(0, 0.2, len(data))
    return leaked


def days_until_purchase(data: pd.DataFrame, seed: int = 12) -> pd.DataFrame:
    """A leak: days from the cutoff to the purchase inside the label window."""
    rng = np.random.default_rng(seed)
    leaked = data.copy()
    days = rng.integers(0, 30, len(data)).astype(float)
    leaked["days_until_purchase"] = np.where(data["label"], days, np.nan)
    return leaked


SHAPES: dict[str, Callable[[], pd.DataFrame]] = {
    "demo_like": demo_like,
    "purchase_only": purchase_only,
    "strongly_separating": strongly_separating,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_honest_data_of_every_shape_passes(shape):
    data = frames.split(SHAPES[shape](), SETTINGS)
    audit = leakage.leakage_audit(data, SETTINGS)
    assert audit["passed"], audit["reasons"]
    assert audit["flagged_features"] == [] and audit["reasons"] == []
    null = audit["permutation_test"]
    assert null["null_mean"] == 0.5 and 0 < null["null_sd"] < 0.05
    assert null["p_value"] >= SETTINGS.leakage_null_alpha
    assert null["holdout_rows"] == len(data.holdout)


def test_strongly_separating_features_separate_together_not_alone():
    data = frames.split(strongly_separating(), SETTINGS)
    aucs = leakage.single_feature_aucs(data)
    assert max(aucs.values()) < 0.8
    together = data.holdout[[f"engagement_{i}" for i in range(8)]].sum(axis=1)
    assert leakage.mann_whitney_null(data.holdout["label"], together)["auc"] > 0.93


@pytest.mark.parametrize("plant", [label_plus_noise, days_until_purchase])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_feature_from_the_label_window_fails_by_name(shape, plant):
    data = frames.split(plant(SHAPES[shape]()), SETTINGS)
    audit = leakage.leakage_audit(data, SETTINGS)
    [leaked] = set(data.features) - set(
        frames.split(SHAPES[shape](), SETTINGS).features
    )
    assert not audit["passed"]
    assert audit["flagged_features"] == [leaked]
    assert audit["deciding_features"][leaked] >= SETTINGS.leakage_max_feature_auc
    assert any(reason.startswith(leaked) for reason in audit["reasons"])
    allowed = SETTINGS.model_copy(update={"leakage_allowed_features": [leaked]})
    assert leakage.leakage_audit(data, allowed)["passed"]


def test_the_permutation_test_is_deterministic_under_the_seed():
    data = frames.split(purchase_only(), SETTINGS)
    first = leakage.permutation_test(data, SETTINGS)
    assert leakage.permutation_test(data, SETTINGS) == first
    other = SETTINGS.model_copy(update={"seed": 8})
    assert leakage.permutation_test(data, other)["auc"] != first["auc"]


def test_the_null_law_is_that_of_random_labels():
    rng = np.random.default_rng(6)
    scores = rng.integers(0, 20, 4_000).astype(float)  # many ties
    labels = rng.random(scores.size) < 0.2
    null = leakage.mann_whitney_null(labels, scores)
    draws = [
        leakage.mann_whitney_null(rng.permutation(labels), scores)["auc"]
        for _ in range(400)
    ]
    assert np.mean(draws) == pytest.approx(0.5, abs=3 * null["null_sd"] / 20)
    assert np.std(draws) == pytest.approx(null["null_sd"], rel=0.15)
    # Scores that follow the labels are far off the null.
    informed = leakage.mann_whitney_null(labels, scores + 5 * labels)
    assert informed["auc"] > 0.6 and informed["p_value"] < 1e-10


def test_the_replaced_setting_is_refused_with_its_successor_named():
    with pytest.raises(ValueError, match="leakage_null_alpha"):
        TrainSettings(shuffled_auc_tolerance=0.05)
