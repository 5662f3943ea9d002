"""Stage 4: train, evaluate and explain the propensity model.

Trains on the training rows (:mod:`ml.model.frames`: the latest complete
export, split by time). Positives are reweighted while fitting CatBoost
(:mod:`ml.model.fit`) and the probabilities recalibrated (Platt) on the
validation slice, so scores stay usable as probabilities. Every training also
runs a leakage audit (:mod:`ml.model.audit`), fits three baselines on the same
split (:mod:`ml.model.baselines`) and compares the model with the best of
them by a bootstrap interval of the AUC difference (:mod:`ml.model.gate`,
stored as ``metrics["baseline_comparison"]`` for the promotion gate), and, on
synthetic data, measures the oracle's AUC on the same holdout rows
(:mod:`ml.model.evaluate`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml.core.config import Settings, TrainSettings
from ml.features import export
from ml.model import gate
from ml.model.audit import leakage_audit
from ml.model.baselines import baselines
from ml.model.evaluate import evaluate, oracle_auc
from ml.model.fit import fit_catboost, pool
from ml.model.frames import LABEL, Split, TrainError, TrainingRows, split, training_rows

if TYPE_CHECKING:
    from catboost import CatBoostClassifier

logger = logging.getLogger(__name__)


@dataclass
class Calibrator:
    """Platt scaling on the logit of the raw score: p = sigmoid(a * logit + b)."""

    a: float = 1.0
    b: float = 0.0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw model probabilities."""
        clipped = np.clip(raw, 1e-7, 1 - 1e-7)
        logit = np.log(clipped / (1 - clipped))
        calibrated: np.ndarray = 1.0 / (1.0 + np.exp(-(self.a * logit + self.b)))
        return calibrated


@dataclass
class TrainedModel:
    """Everything a training produced, ready to register."""

    model: CatBoostClassifier
    calibrator: Calibrator
    features: list[str]
    categorical: list[str]
    metrics: dict[str, Any]
    baselines: dict[str, Any]
    leakage: dict[str, Any]
    importance: list[dict[str, Any]]
    data: dict[str, Any]
    params: dict[str, Any]
    seconds: float
    holdout_scores: pd.DataFrame = field(repr=False)


def calibrate(model: CatBoostClassifier, data: Split) -> Calibrator:
    """Platt-scale the reweighted model's scores on the validation part.

    Args:
        model: The fitted model.
        data: The split.

    Returns:
        The calibration.
    """
    from sklearn.linear_model import LogisticRegression

    raw = model.predict_proba(pool(data.validation, data, with_label=False))[:, 1]
    clipped = np.clip(raw, 1e-7, 1 - 1e-7)
    logit = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    fitted = LogisticRegression(C=1e6).fit(logit, data.validation[LABEL].astype(int))
    return Calibrator(float(fitted.coef_[0][0]), float(fitted.intercept_[0]))


def importance(
    model: CatBoostClassifier, data: Split, settings: TrainSettings
) -> list[dict[str, Any]]:
    """CatBoost's importance and mean |SHAP| per feature, most important first.

    Args:
        model: The fitted model.
        data: The split (SHAP on a sample of its holdout).
        settings: Training settings (sample size, seed).

    Returns:
        One row per feature.
    """
    sample = data.holdout.sample(
        n=min(settings.shap_sample_rows, len(data.holdout)), random_state=settings.seed
    )
    shap = model.get_feature_importance(
        pool(sample, data, with_label=False), type="ShapValues"
    )
    mean_abs = np.abs(shap[:, :-1]).mean(axis=0)
    gain = model.get_feature_importance()
    table = [
        {"feature": name, "importance": float(g), "mean_abs_shap": float(s)}
        for name, g, s in zip(data.features, gain, mean_abs, strict=True)
    ]
    return sorted(table, key=lambda row: -row["mean_abs_shap"])


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Record the seconds the block took as ``timings[name]``."""
    clock = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - clock


def _require_passed(leakage: dict[str, Any]) -> None:
    """Raise when the leakage audit failed.

    Raises:
        TrainError: Which features decide the label, and the shuffled AUC.
    """
    if not leakage["passed"]:
        raise TrainError(
            "Leakage audit failed: features deciding the label alone: "
            f"{leakage['flagged_features'] or 'none'}; "
            f"shuffled-label AUC {leakage['shuffled_label_auc']:.3f} "
            "(must be 0.5 +/- "
            f"{leakage['shuffled_auc_allowed_deviation']:.3f}). "
            "Fix the features, or list a feature in train.leakage_allowed_features."
        )


def _data_record(
    rows: TrainingRows, data: Split, timings: dict[str, float]
) -> dict[str, Any]:
    """What the training read and how long it took (the registry's ``data``)."""
    exported: export.Export = rows.exported
    cutoffs = sorted(
        {
            pd.Timestamp(value)
            for part in (data.train, data.validation, data.holdout)
            for value in part["cutoff_at"].unique()
        }
    )
    return {
        "training_export": exported.folder,
        "export_id": exported.export_id,
        "content_digest": rows.digest,
        "as_of": exported.manifest.get("as_of"),
        "cutoffs": [c.isoformat() for c in cutoffs],
        "holdout_cutoff": data.holdout_cutoff.isoformat(),
        "rows": {
            "train": len(data.train),
            "validation": len(data.validation),
            "holdout": len(data.holdout),
        },
        "positives": {
            "train": int(data.train[LABEL].sum()),
            "validation": int(data.validation[LABEL].sum()),
            "holdout": int(data.holdout[LABEL].sum()),
        },
        "trained_at": dt.datetime.now(dt.UTC).isoformat(),
        "seconds": timings,
    }


def train(
    settings: Settings,
    exported: export.Export | None = None,
    rows: TrainingRows | None = None,
) -> TrainedModel:
    """Train on the latest complete training export and evaluate on the holdout.

    Args:
        settings: Project settings (``train`` section).
        exported: The export to train on; the latest complete one when None.
        rows: Its rows, when already read (:func:`ml.model.frames.training_rows`).

    Returns:
        The model, its calibration, metrics, baselines, leakage audit and
        explanations.

    Raises:
        TrainError: Too little data, or the leakage audit failed.
    """
    started = time.perf_counter()
    config = settings.train
    rows = rows or training_rows(settings, exported)
    data = split(rows.take(), config)
    logger.info(
        "training on %s rows (%s validation), holdout %s rows at %s",
        f"{len(data.train):,}",
        f"{len(data.validation):,}",
        f"{len(data.holdout):,}",
        data.holdout_cutoff.date(),
    )
    timings: dict[str, float] = {}
    with _timed(timings, "leakage_audit"):
        leakage = leakage_audit(data, config)
    _require_passed(leakage)
    with _timed(timings, "catboost"):
        model = fit_catboost(data, config)
    calibrator = calibrate(model, data)
    raw = model.predict_proba(pool(data.holdout, data, with_label=False))[:, 1]
    scores = calibrator.apply(raw)
    metrics = evaluate(data.holdout[LABEL].to_numpy(), scores)
    metrics["oracle_auc"] = oracle_auc(settings, data.holdout, data.holdout_cutoff)
    metrics["best_iteration"] = int(model.get_best_iteration() or 0)
    with _timed(timings, "baselines"):
        compared, baseline_scores = baselines(data, config)
    metrics["baseline_comparison"] = gate.compare(
        data.holdout[LABEL].to_numpy(), scores, baseline_scores, config.seed
    )
    logger.info(
        "holdout AUC %.3f (oracle %s; %s)",
        metrics["roc_auc"],
        "n/a" if metrics["oracle_auc"] is None else f"{metrics['oracle_auc']:.3f}",
        ", ".join(f"{name} {b['roc_auc']:.3f}" for name, b in compared.items()),
    )
    with _timed(timings, "shap"):
        explained = importance(model, data, config)
    return TrainedModel(
        model=model,
        calibrator=calibrator,
        features=data.features,
        categorical=data.categorical,
        metrics=metrics,
        baselines=compared,
        leakage=leakage,
        importance=explained,
        data=_data_record(rows, data, timings),
        params=config.model_dump(),
        seconds=time.perf_counter() - started,
        holdout_scores=pd.DataFrame(
            {
                "profile_id": data.holdout["profile_id"].to_numpy(),
                "label": data.holdout[LABEL].to_numpy(),
                "score": scores,
            }
        ),
    )
