"""Stage 4: train, evaluate and explain the propensity model.

Reads the latest complete training export. The split follows time: the
latest cutoff is the holdout; the earlier cutoffs train, with a slice of
their profiles held out for early stopping and calibration. CatBoost gets
the categorical columns as categorical features; positives are reweighted
while fitting and the probabilities recalibrated (Platt) on the validation
slice, so scores stay usable as probabilities. Every training also fits two
baselines on the same split (logistic regression, a random forest), runs a
leakage audit, and, on synthetic data, measures the oracle's AUC on the same
holdout rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ml.core import relations, warehouse
from ml.core.config import Settings, TrainSettings
from ml.core.errors import EnrichError
from ml.features import export

logger = logging.getLogger(__name__)

KEYS = ("profile_id", "cutoff_at")
LABEL = "label"


class TrainError(EnrichError):
    """Training cannot run or its checks failed (the message says which)."""


@dataclass
class Split:
    """Feature frames and labels of the time-based split."""

    features: list[str]
    categorical: list[str]
    train: pd.DataFrame
    validation: pd.DataFrame
    holdout: pd.DataFrame
    holdout_cutoff: pd.Timestamp


@dataclass
class Calibrator:
    """Platt scaling on the logit of the raw score: p = sigmoid(a * logit + b)."""

    a: float = 1.0
    b: float = 0.0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw model probabilities."""
        clipped = np.clip(raw, 1e-7, 1 - 1e-7)
        logit = np.log(clipped / (1 - clipped))
        return 1.0 / (1.0 + np.exp(-(self.a * logit + self.b)))


@dataclass
class TrainedModel:
    """Everything a training produced, ready to register."""

    model: Any
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


# -- data -------------------------------------------------------------------------


def prepare(
    frame: pd.DataFrame, features: list[str], categorical: list[str]
) -> pd.DataFrame:
    """Feature columns as the model takes them, in training and in scoring.

    Categorical values become text with ``(missing)`` for null; booleans
    become 0/1. Other columns pass through; the input is not modified.
    """
    frame = frame.copy()
    for column in categorical:
        frame[column] = frame[column].fillna("(missing)").astype(str)
    for column in features:
        if pd.api.types.is_bool_dtype(frame[column]):
            frame[column] = frame[column].astype("int8")
        elif column not in categorical and frame[column].dtype == object:
            # A boolean with nulls (object in pandas): 0/1 with NaN for null.
            frame[column] = (
                frame[column]
                .astype("boolean")
                .to_numpy(dtype="float64", na_value=np.nan)
            )
    return frame


def training_sample(
    keys: pa.Table, settings: TrainSettings
) -> Callable[[pa.Table], pa.Table] | None:
    """A row filter sampling the training cutoffs and the holdout by profile.

    About ``max_training_rows`` stay at the training cutoffs and
    ``max_holdout_rows`` at the holdout (the latest) cutoff. Whole profiles
    are kept or dropped, so a profile's training cutoffs stay together. Each
    draw is seeded over the sorted profile ids: the same data, the same
    sample.

    Args:
        keys: The export's ``profile_id`` and ``cutoff_at`` columns.
        settings: Training settings.

    Returns:
        A filter for each part of the export, or None when no sampling is
        needed.
    """
    import pyarrow.compute as pc

    if keys.num_rows == 0:
        return None
    holdout = pc.max(keys["cutoff_at"])
    at_holdout = pc.greater_equal(keys["cutoff_at"], holdout)
    parts = {
        "training cutoffs": (pc.invert(at_holdout), settings.max_training_rows, 1),
        "holdout": (at_holdout, settings.max_holdout_rows, 2),
    }
    kept: dict[str, pa.Array | None] = {}
    for name, (mask, limit, stream) in parts.items():
        rows = pc.sum(mask).as_py() or 0
        if limit is None or rows <= limit:
            kept[name] = None
            continue
        profiles = np.sort(
            pc.unique(keys.filter(mask)["profile_id"]).to_numpy(zero_copy_only=False)
        )
        draw = np.random.default_rng([settings.seed, stream]).random(profiles.size)
        kept[name] = pa.array(
            profiles[draw < limit / rows], type=keys["profile_id"].type
        )
        logger.info(
            "%s: %s rows, sampled by profile to about %s",
            name,
            f"{rows:,}",
            f"{limit:,}",
        )
    if all(value is None for value in kept.values()):
        return None

    def keep(part: pa.Table) -> pa.Table:
        late = pc.greater_equal(part["cutoff_at"], holdout)
        ids = part["profile_id"]
        chosen = {
            name: pc.is_in(ids, value_set=value) if value is not None else None
            for name, value in kept.items()
        }
        everyone = pa.scalar(True)
        early_ok = chosen["training cutoffs"]
        late_ok = chosen["holdout"]
        mask = pc.if_else(
            late,
            everyone if late_ok is None else late_ok,
            everyone if early_ok is None else early_ok,
        )
        return part.filter(mask)

    return keep


def split(frame: pd.DataFrame, settings: TrainSettings) -> Split:
    """Split by time: the latest cutoff is the holdout, earlier ones train.

    Raises:
        TrainError: Fewer than two cutoffs, or a part without both classes.
    """
    cutoffs = sorted(frame["cutoff_at"].unique())
    if len(cutoffs) < 2:
        raise TrainError(
            "The training set has fewer than two cutoffs: set the dbt var "
            "training_cutoffs to 2 or more and run `enrich featurize`."
        )
    holdout_cutoff = cutoffs[-1]
    features = [c for c in frame.columns if c not in (*KEYS, LABEL)]
    categorical = [
        c
        for c in features
        if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object
    ]
    frame = prepare(frame, features, categorical)
    # A fixed row order: CatBoost's ordered boosting depends on it, and the
    # export's order is the warehouse's, which may change between builds.
    frame = frame.sort_values(["cutoff_at", "profile_id"], ignore_index=True)
    earlier = frame[frame["cutoff_at"] < holdout_cutoff]
    holdout = frame[frame["cutoff_at"] == holdout_cutoff]
    profiles = np.sort(earlier["profile_id"].unique())
    rng = np.random.default_rng(settings.seed)
    chosen = rng.random(profiles.size) < settings.validation_share
    in_validation = earlier["profile_id"].isin(profiles[chosen])
    result = Split(
        features,
        categorical,
        earlier[~in_validation],
        earlier[in_validation],
        holdout,
        pd.Timestamp(holdout_cutoff),
    )
    for name in ("train", "validation", "holdout"):
        labels = getattr(result, name)[LABEL]
        if labels.nunique() < 2:
            raise TrainError(
                f"The {name} part has only one class ({len(labels)} rows): "
                "generate or load more data."
            )
    return result


def at_most(frame: pd.DataFrame, rows: int, settings: TrainSettings) -> pd.DataFrame:
    """The frame, or a seeded sample of ``rows`` of its rows (order kept)."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=settings.seed).sort_index()


def content_digest(frame: pd.DataFrame) -> str:
    """A digest of the rows that ignores their order (two exports, same data)."""
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    total = int(rows.sum(dtype=np.uint64))
    columns = ",".join(f"{name}:{kind}" for name, kind in frame.dtypes.items())
    schema = hashlib.sha256(columns.encode()).hexdigest()[:16]
    return f"{len(frame)}-{total:016x}-{schema}"


# -- metrics ----------------------------------------------------------------------

CURVE_POINTS = 101  # points kept of each ROC and precision-recall curve


def roc_points(labels: np.ndarray, scores: np.ndarray) -> dict[str, list[float]]:
    """The ROC curve as the true-positive rate at ``CURVE_POINTS`` FP rates."""
    from sklearn.metrics import roc_curve

    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    fpr, tpr, _ = roc_curve(labels, scores)
    return {"fpr": grid.tolist(), "tpr": np.interp(grid, fpr, tpr).tolist()}


def curves(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """ROC and precision-recall curves on a fixed grid (small enough to store).

    The ROC curve is the true-positive rate at ``CURVE_POINTS`` false-positive
    rates; the precision-recall curve is the interpolated precision (the best
    precision at that recall or more) at as many recalls.
    """
    from sklearn.metrics import precision_recall_curve

    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    precision, recall, _ = precision_recall_curve(labels, scores)
    # recall falls as the threshold rises: reverse, then the running maximum of
    # precision from the right is the interpolated precision.
    recall, precision = recall[::-1], precision[::-1]
    best = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.clip(np.searchsorted(recall, grid, side="left"), 0, recall.size - 1)
    return {
        "roc": roc_points(labels, scores),
        "precision_recall": {"recall": grid.tolist(), "precision": best[at].tolist()},
    }


def evaluate(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Holdout metrics: discrimination, calibration, lift and gain by decile."""
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        log_loss,
        roc_auc_score,
    )

    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    base_rate = labels.mean()
    # Reliability: equal-width probability bins over the observed range.
    edges = np.linspace(0.0, max(scores.max(), 1e-9), bins + 1)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    reliability = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        predicted, observed = scores[mask].mean(), labels[mask].mean()
        ece += mask.mean() * abs(predicted - observed)
        reliability.append(
            {
                "bin": b,
                "rows": int(mask.sum()),
                "mean_predicted": float(predicted),
                "observed_rate": float(observed),
            }
        )
    # Deciles by score, 10 = highest.
    order = np.argsort(-scores, kind="stable")
    decile_of = np.empty(labels.size, dtype=int)
    decile_of[order] = 10 - (np.arange(labels.size) * 10 // labels.size)
    deciles = []
    positives = labels.sum()
    cumulative = 0
    for decile in range(10, 0, -1):
        mask = decile_of == decile
        rate = labels[mask].mean() if mask.any() else 0.0
        cumulative += labels[mask].sum()
        deciles.append(
            {
                "decile": decile,
                "rows": int(mask.sum()),
                "mean_predicted": float(scores[mask].mean()) if mask.any() else None,
                "conversion_rate": float(rate),
                "lift": float(rate / base_rate) if base_rate else None,
                "cumulative_gain": float(cumulative / positives) if positives else None,
            }
        )
    top = deciles[0]
    return {
        "rows": int(labels.size),
        "positives": int(positives),
        "base_rate": float(base_rate),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "log_loss": float(log_loss(labels, np.clip(scores, 1e-7, 1 - 1e-7))),
        "brier": float(brier_score_loss(labels, scores)),
        "ece": float(ece),
        "top_decile_precision": top["conversion_rate"],
        "top_decile_lift": top["lift"],
        "reliability": reliability,
        "deciles": deciles,
        "curves": curves(labels, scores),
    }


# -- model --------------------------------------------------------------------------


def _pool(
    part: pd.DataFrame, data: Split, with_label: bool = True, labels: Any = None
) -> Any:
    from catboost import Pool

    if labels is None and with_label:
        labels = part[LABEL].astype(int)
    return Pool(part[data.features], label=labels, cat_features=data.categorical)


def fit_catboost(data: Split, settings: TrainSettings, labels: Any = None) -> Any:
    """Fit CatBoost on the training part, early-stopped on the validation part.

    With ``labels`` (the shuffled-label run) there is no early stopping:
    choosing the best iteration on real validation labels would let them in.
    """
    from catboost import CatBoostClassifier

    train_pool = _pool(data.train, data, labels=labels)
    model = CatBoostClassifier(
        iterations=settings.iterations,
        learning_rate=settings.learning_rate,
        depth=settings.depth,
        loss_function="Logloss",
        eval_metric="Logloss",
        auto_class_weights=settings.class_weights,
        random_seed=settings.seed,
        thread_count=settings.thread_count,
        early_stopping_rounds=None
        if labels is not None
        else settings.early_stopping_rounds,
        allow_writing_files=False,
        verbose=False,
    )
    if labels is not None:
        model.fit(train_pool)
    else:
        model.fit(
            train_pool, eval_set=_pool(data.validation, data), use_best_model=True
        )
    return model


def calibrate(model: Any, data: Split) -> Calibrator:
    """Platt-scale the reweighted model's scores on the validation part."""
    from sklearn.linear_model import LogisticRegression

    raw = model.predict_proba(_pool(data.validation, data, with_label=False))[:, 1]
    clipped = np.clip(raw, 1e-7, 1 - 1e-7)
    logit = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    fitted = LogisticRegression(C=1e6).fit(logit, data.validation[LABEL].astype(int))
    return Calibrator(float(fitted.coef_[0][0]), float(fitted.intercept_[0]))


def baselines(data: Split, settings: TrainSettings) -> dict[str, Any]:
    """Logistic regression and a random forest on the same split."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in data.features if c not in data.categorical]
    train = at_most(
        pd.concat([data.train, data.validation]), settings.baseline_max_rows, settings
    )

    def prepare(scale: bool) -> ColumnTransformer:
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

    candidates = {
        "logistic_regression": make_pipeline(
            prepare(scale=True),
            LogisticRegression(max_iter=2_000, class_weight="balanced"),
        ),
        "random_forest": make_pipeline(
            prepare(scale=False),
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


def leakage_audit(data: Split, settings: TrainSettings) -> dict[str, Any]:
    """Single-feature holdout AUCs and a shuffled-label run.

    A feature that alone nearly decides the label, or a model that learns
    from shuffled labels, means the label leaked into the features.
    """
    from sklearn.metrics import roc_auc_score

    labels = data.holdout[LABEL].astype(int).to_numpy()
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
    deciding = {
        name
        for name, auc in per_feature.items()
        if auc >= settings.leakage_max_feature_auc
    }
    suspicious = sorted(deciding - set(settings.leakage_allowed_features))
    # The shuffled-label run leaves out features allowed to decide the label
    # alone (any function of such a feature scores far from 0.5 by chance) and
    # the categorical ones: CatBoost's target statistics on shuffled labels
    # score 0.44-0.47 whatever the data, which says nothing about leakage.
    # Categorical leaks are what the single-feature AUCs above catch. The run
    # is unweighted for the same reason (weights amplify the drift).
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
    shuffled_auc = float(
        roc_auc_score(
            labels, model.predict_proba(_pool(data.holdout, blind, False))[:, 1]
        )
    )
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


def oracle_auc(
    settings: Settings, holdout: pd.DataFrame, cutoff: pd.Timestamp
) -> float | None:
    """AUC of the generator's true probabilities on the same holdout rows.

    None when the warehouse holds no synthetic truth for this window.
    """
    from psycopg import sql
    from sklearn.metrics import roc_auc_score

    with warehouse.connect(settings) as conn:
        if not warehouse.exists(conn, relations.SYNTHETIC_TRUTH):
            return None
        rows = conn.execute(
            sql.SQL("select profile_id, p_true from {} where window_start = %s").format(
                sql.Identifier(*relations.SYNTHETIC_TRUTH)
            ),
            [cutoff.to_pydatetime()],
        ).fetchall()
    truth = dict(rows)
    p_true = holdout["profile_id"].map(truth)
    known = p_true.notna()
    # Profiles from loaded files have no truth; judge only when nearly all do.
    if known.mean() < 0.95 or holdout.loc[known, LABEL].nunique() < 2:
        return None
    return float(roc_auc_score(holdout.loc[known, LABEL].astype(int), p_true[known]))


def importance(
    model: Any, data: Split, settings: TrainSettings
) -> list[dict[str, Any]]:
    """CatBoost's importance and mean |SHAP| per feature, most important first."""
    sample = data.holdout.sample(
        n=min(settings.shap_sample_rows, len(data.holdout)), random_state=settings.seed
    )
    shap = model.get_feature_importance(
        _pool(sample, data, with_label=False), type="ShapValues"
    )
    mean_abs = np.abs(shap[:, :-1]).mean(axis=0)
    gain = model.get_feature_importance()
    table = [
        {"feature": name, "importance": float(g), "mean_abs_shap": float(s)}
        for name, g, s in zip(data.features, gain, mean_abs, strict=True)
    ]
    return sorted(table, key=lambda row: -row["mean_abs_shap"])


# -- the whole training ---------------------------------------------------------------


@dataclass
class TrainingRows:
    """The rows a training would use, and their digest (the registry's key)."""

    exported: export.Export
    frame: pd.DataFrame | None = field(repr=False)
    digest: str

    def take(self) -> pd.DataFrame:
        """The rows, handed over: this object lets go of them (memory)."""
        if self.frame is None:
            raise TrainError("These training rows were already used: read them again.")
        frame, self.frame = self.frame, None
        return frame


def training_rows(
    settings: Settings, exported: export.Export | None = None
) -> TrainingRows:
    """Read a training export (the latest complete one when None), sampled.

    Sampling happens as the parts are read: the rows it drops never sit in
    memory together (a 1M-profile export holds 3M training rows).
    """
    exported = exported or export.latest_export(settings, "ml_training_set")
    keys = export.read_export(settings, exported, columns=list(KEYS))
    keep = training_sample(keys, settings.train)
    del keys
    frame = export.read_export(settings, exported, row_filter=keep).to_pandas()
    return TrainingRows(exported, frame, content_digest(frame))


def train(
    settings: Settings,
    exported: export.Export | None = None,
    rows: TrainingRows | None = None,
) -> TrainedModel:
    """Train on the latest complete training export and evaluate on the holdout.

    Args:
        settings: Project settings (``train`` section).
        exported: The export to train on; the latest complete one when None.
        rows: Its rows, when already read (:func:`training_rows`).

    Returns:
        The model, its calibration, metrics, baselines, leakage audit and
        explanations.

    Raises:
        TrainError: Too little data, or the leakage audit failed.
    """
    started = time.perf_counter()
    config = settings.train
    rows = rows or training_rows(settings, exported)
    exported, digest = rows.exported, rows.digest
    data = split(rows.take(), config)
    logger.info(
        "training on %s rows (%s validation), holdout %s rows at %s",
        f"{len(data.train):,}",
        f"{len(data.validation):,}",
        f"{len(data.holdout):,}",
        data.holdout_cutoff.date(),
    )
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    leakage = leakage_audit(data, config)
    timings["leakage_audit"] = time.perf_counter() - clock
    if not leakage["passed"]:
        raise TrainError(
            "Leakage audit failed: features deciding the label alone: "
            f"{leakage['flagged_features'] or 'none'}; "
            f"shuffled-label AUC {leakage['shuffled_label_auc']:.3f} "
            "(must be 0.5 +/- "
            f"{leakage['shuffled_auc_allowed_deviation']:.3f}). "
            "Fix the features, or list a feature in train.leakage_allowed_features."
        )
    clock = time.perf_counter()
    model = fit_catboost(data, config)
    timings["catboost"] = time.perf_counter() - clock
    calibrator = calibrate(model, data)
    raw = model.predict_proba(_pool(data.holdout, data, with_label=False))[:, 1]
    scores = calibrator.apply(raw)
    metrics = evaluate(data.holdout[LABEL].to_numpy(), scores)
    metrics["oracle_auc"] = oracle_auc(settings, data.holdout, data.holdout_cutoff)
    metrics["best_iteration"] = int(model.get_best_iteration() or 0)
    clock = time.perf_counter()
    compared = baselines(data, config)
    timings["baselines"] = time.perf_counter() - clock
    logger.info(
        "holdout AUC %.3f (oracle %s, random forest %.3f, logistic %.3f)",
        metrics["roc_auc"],
        "n/a" if metrics["oracle_auc"] is None else f"{metrics['oracle_auc']:.3f}",
        compared["random_forest"]["roc_auc"],
        compared["logistic_regression"]["roc_auc"],
    )
    cutoffs = sorted(
        {
            pd.Timestamp(value)
            for part in (data.train, data.validation, data.holdout)
            for value in part["cutoff_at"].unique()
        }
    )
    clock = time.perf_counter()
    explained = importance(model, data, config)
    timings["shap"] = time.perf_counter() - clock
    return TrainedModel(
        model=model,
        calibrator=calibrator,
        features=data.features,
        categorical=data.categorical,
        metrics=metrics,
        baselines=compared,
        leakage=leakage,
        importance=explained,
        data={
            "training_export": exported.folder,
            "export_id": exported.export_id,
            "content_digest": digest,
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
