"""Stage 4: train, evaluate and explain a prediction's propensity model.

Each prediction of ``predictions.yml`` trains its own model
(:class:`ml.model.frames.PredictionModel`: its training set, its registry
model name). Trains on the training rows (:mod:`ml.model.frames`: the latest complete
export, split by time). Positives are reweighted while fitting CatBoost
(:mod:`ml.model.fit`) and the probabilities recalibrated (Platt) on the
validation slice, so scores stay usable as probabilities. Every training also
leakage audit (:mod:`ml.model.leakage`), fits three baselines on the same
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
from ml.model import diagnostics, gate
from ml.model.baselines import baselines
from ml.model.evaluate import evaluate, oracle_auc
from ml.model.fit import fit_catboost, pool
from ml.model.frames import (
    LABEL,
    PredictionModel,
    Split,
    TrainError,
    TrainingRows,
    prediction_model,
    split,
    training_rows,
)
from ml.model.leakage import leakage_audit

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
    """Everything a training produced, ready to register.

    ``model_name`` is the prediction's registry model; ``data["prediction"]``
    holds its spec (name, kind, target, windows).
    """

    model_name: str
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
        TrainError: Each reason of the audit (features deciding the label
            alone, a permutation test off its null).
    """
    if not leakage["passed"]:
        raise TrainError(
            "Leakage audit failed: "
            + "; ".join(leakage["reasons"])
            + ". Fix the features (a feature computed from the label window "
            "leaks), or list a feature in train.leakage_allowed_features."
        )


def _data_record(
    rows: TrainingRows,
    data: Split,
    timings: dict[str, float],
    target: PredictionModel,
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
        "prediction": target.prediction.model_dump(mode="json"),
        "training_set": exported.dataset,
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


def _oracle(settings: Settings, data: Split, target: PredictionModel) -> float | None:
    """The oracle's holdout AUC, for the default prediction only.

    The generator's truth is the default (subscription) prediction's: no
    oracle for the others until the generator simulates them.
    """
    if not target.is_default:
        return None
    return oracle_auc(settings, data.holdout, data.holdout_cutoff)


def _split_of(
    rows: TrainingRows, target: PredictionModel, config: TrainSettings
) -> Split:
    """The split of a prediction's rows.

    Raises:
        TrainError: The rows are another set's, or too few (the message
            names the prediction).
    """
    if rows.exported.dataset != target.training_set:
        raise TrainError(
            f"Prediction {target.name} trains on {target.training_set}, not on "
            f"{rows.exported.dataset}: export it (`enrich export --prediction "
            f"{target.name}`)."
        )
    try:
        data = split(rows.take(), config)
    except TrainError as exc:
        raise TrainError(f"Prediction {target.name}: {exc}") from None
    logger.info(
        "%s: training on %s rows (%s validation), holdout %s rows at %s",
        target.name,
        f"{len(data.train):,}",
        f"{len(data.validation):,}",
        f"{len(data.holdout):,}",
        data.holdout_cutoff.date(),
    )
    return data


def train(
    settings: Settings,
    exported: export.Export | None = None,
    rows: TrainingRows | None = None,
    target: PredictionModel | None = None,
) -> TrainedModel:
    """Train a prediction's model on its training export; evaluate on the holdout.

    Args:
        settings: Project settings (``train`` section).
        exported: The export to train on; the latest complete one of the
            prediction's training set when None.
        rows: Its rows, when already read (:func:`ml.model.frames.training_rows`).
        target: The prediction (default: the default prediction of
            ``predictions.yml``).

    Raises:
        TrainError: Too few positives (:mod:`ml.model.diagnostics` says what
            the data holds), a failed leakage audit, or another set's export.
        PredictionError: The predictions file does not validate.
    """
    started = time.perf_counter()
    config = settings.train
    target = target or prediction_model(settings)
    # Before reading and fitting: the per-cutoff counts, and a TrainError
    # saying what the data holds when the positives are too few.
    diagnosis = diagnostics.check(settings, target.name)
    rows = rows or training_rows(settings, exported, target)
    data = _split_of(rows, target, config)
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
    metrics["oracle_auc"] = _oracle(settings, data, target)
    metrics["best_iteration"] = int(model.get_best_iteration() or 0)
    with _timed(timings, "baselines"):
        compared, baseline_scores = baselines(data, config)
    metrics["baseline_comparison"] = gate.compare(
        data.holdout[LABEL].to_numpy(), scores, baseline_scores, config.seed
    )
    logger.info(
        "%s: holdout AUC %.3f (oracle %s; %s)",
        target.name,
        metrics["roc_auc"],
        "n/a" if metrics["oracle_auc"] is None else f"{metrics['oracle_auc']:.3f}",
        ", ".join(f"{name} {b['roc_auc']:.3f}" for name, b in compared.items()),
    )
    with _timed(timings, "shap"):
        explained = importance(model, data, config)
    return TrainedModel(
        model_name=target.model_name,
        model=model,
        calibrator=calibrator,
        features=data.features,
        categorical=data.categorical,
        metrics=metrics,
        baselines=compared,
        leakage=leakage,
        importance=explained,
        data={
            **_data_record(rows, data, timings, target),
            "diagnostics": diagnosis.record(),
        },
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
