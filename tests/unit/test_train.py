"""Training pieces on hand-made data: metrics, split, sampling, digest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.core.config import TrainSettings
from ml.model import evaluate, frames


def test_perfect_scores_give_perfect_metrics():
    labels = np.array([0] * 90 + [1] * 10)
    scores = np.concatenate([np.zeros(90), np.ones(10)])
    metrics = evaluate.evaluate(labels, scores)
    assert metrics["roc_auc"] == 1.0 and metrics["pr_auc"] == 1.0
    assert metrics["ece"] == pytest.approx(0.0)
    assert metrics["top_decile_precision"] == 1.0
    assert metrics["top_decile_lift"] == pytest.approx(10.0)
    assert metrics["deciles"][0]["cumulative_gain"] == 1.0


def test_calibrated_random_scores_have_small_ece_and_auc_near_half():
    rng = np.random.default_rng(1)
    scores = rng.uniform(0, 0.2, 200_000)
    labels = (rng.random(scores.size) < scores).astype(int)
    metrics = evaluate.evaluate(labels, scores)
    assert metrics["ece"] < 0.005
    shuffled = evaluate.evaluate(rng.permutation(labels), scores)
    assert abs(shuffled["roc_auc"] - 0.5) < 0.01


def test_stored_curves_agree_with_the_metrics():
    rng = np.random.default_rng(2)
    scores = rng.uniform(0, 0.3, 50_000)
    labels = (rng.random(scores.size) < scores).astype(int)
    metrics = evaluate.evaluate(labels, scores)
    roc = metrics["curves"]["roc"]
    pr = metrics["curves"]["precision_recall"]
    assert len(roc["fpr"]) == len(pr["recall"]) == evaluate.CURVE_POINTS
    assert np.all(np.diff(roc["tpr"]) >= 0) and roc["tpr"][-1] == 1.0
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(
        metrics["roc_auc"], abs=0.005
    )
    # Interpolated precision never rises with recall; at full recall it is
    # about the base rate (no lower: every row is then contacted).
    assert np.all(np.diff(pr["precision"]) <= 1e-12)
    assert labels.mean() <= pr["precision"][-1] < labels.mean() + 0.01
    # Calibrated scores: each decile's mean prediction matches its rate (within
    # four standard errors of 5,000 rows).
    for row in metrics["deciles"]:
        assert row["mean_predicted"] == pytest.approx(row["conversion_rate"], abs=0.025)


def frame(n: int = 24_000, leak: bool = False) -> pd.DataFrame:
    """Profiles at three cutoffs, twelve weak features, label from a few of them."""
    rng = np.random.default_rng(3)
    cutoffs = pd.to_datetime(["2026-10-01", "2026-10-15", "2026-10-29"], utc=True)
    data = pd.DataFrame(
        {
            "profile_id": [f"p{i % (n // 3)}" for i in range(n)],
            "cutoff_at": cutoffs[rng.integers(0, 3, n)],
            "country_code": rng.choice(["US", "DE", None], n),
        }
    )
    signal = rng.normal(size=(n, 12))
    for column in range(12):
        data[f"feature_{column:02d}"] = signal[:, column]
    logit = -2.2 + signal[:, :4] @ np.array([0.5, 0.4, -0.3, 0.3])
    data["label"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    if leak:
        data["converted_later"] = data["label"].astype(int)
    return data


def test_split_is_by_time_with_a_profile_validation_slice():
    split = frames.split(frame(), TrainSettings(validation_share=0.2))
    assert (split.holdout["cutoff_at"] == split.holdout_cutoff).all()
    assert (split.train["cutoff_at"] < split.holdout_cutoff).all()
    assert not set(split.train["profile_id"]) & set(split.validation["profile_id"])
    assert split.categorical == ["country_code"]
    assert split.train["country_code"].notna().all()


def test_a_large_training_set_is_sampled_by_whole_profiles():
    import pyarrow as pa

    data = frame()
    table = pa.Table.from_pandas(data, preserve_index=False)
    keys = table.select(["profile_id", "cutoff_at"])
    holdout = data["cutoff_at"].max()
    earlier = int((data["cutoff_at"] < holdout).sum())
    assert (
        frames.training_sample(keys, TrainSettings(max_training_rows=earlier)) is None
    )
    settings = TrainSettings(max_training_rows=earlier // 2)
    kept = frames.training_sample(keys, settings)(table).to_pandas()
    at_training_cutoffs = kept[kept["cutoff_at"] < holdout]
    assert 0.4 * earlier < len(at_training_cutoffs) < 0.6 * earlier
    # Every kept profile keeps all its rows at the training cutoffs ...
    before = data[data["cutoff_at"] < holdout]
    chosen = before[before["profile_id"].isin(at_training_cutoffs["profile_id"])]
    assert len(chosen) == len(at_training_cutoffs)
    # ... the holdout is left alone under its own cap, and the same settings
    # draw the same rows.
    latest = int((data["cutoff_at"] == holdout).sum())
    assert (kept["cutoff_at"] == holdout).sum() == latest
    again = frames.training_sample(keys, settings)(table).to_pandas()
    assert again["profile_id"].tolist() == kept["profile_id"].tolist()
    # Above its cap the holdout is sampled too, and the training cutoffs not.
    capped = TrainSettings(max_holdout_rows=latest // 2)
    kept = frames.training_sample(keys, capped)(table).to_pandas()
    assert 0.4 * latest < (kept["cutoff_at"] == holdout).sum() < 0.6 * latest
    assert (kept["cutoff_at"] < holdout).sum() == earlier


def test_content_digest_ignores_row_order_but_not_content():
    data = frame(n=3_000)
    digest = frames.content_digest(data)
    assert frames.content_digest(data.sample(frac=1.0, random_state=1)) == digest
    changed = data.copy()
    changed.loc[changed.index[0], "label"] = not changed.loc[changed.index[0], "label"]
    assert frames.content_digest(changed) != digest
