"""The training rows: read from the export, sampled, prepared and split.

Each prediction of ``predictions.yml`` trains on its own training set
(:class:`PredictionModel`): the default prediction on ``ml_training_set``,
any other on ``ml_<name>__training_set``. Reads the latest complete export
of that set, sampling whole profiles as the
parts are read. The split follows time: the latest cutoff is the holdout;
the earlier cutoffs train, with a slice of their profiles held out for early
stopping and calibration. :func:`prepare` turns feature columns into what the
model takes, the same way in training and in scoring.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ml.core.config import Settings, TrainSettings
from ml.core.errors import EnrichError
from ml.core.predictions import Prediction, load_predictions
from ml.features import export

logger = logging.getLogger(__name__)

KEYS = ("profile_id", "cutoff_at")
LABEL = "label"


class TrainError(EnrichError):
    """Training cannot run or its checks failed (the message says which)."""


@dataclass(frozen=True)
class PredictionModel:
    """A prediction as training sees it: its spec, its data, its registry model.

    Attributes:
        prediction: The spec (name, kind, target, windows) of ``predictions.yml``.
        model_name: Its model in the registry: ``train.model_name`` for the
            default prediction, ``<name>_propensity`` for any other.
        training_set: The dataset it trains on (an export's name).
        scoring_set: The dataset it scores.
        is_default: Whether it is the file's first prediction.
    """

    prediction: Prediction
    model_name: str
    training_set: str
    scoring_set: str
    is_default: bool

    @property
    def name(self) -> str:
        """The prediction's name."""
        return self.prediction.name


def prediction_models(
    settings: Settings, names: list[str] | None = None
) -> list[PredictionModel]:
    """The predictions to train, in file order (default: every one).

    Args:
        settings: Project settings (``predictions.file``, ``train.model_name``).
        names: Only these predictions, in this order.

    Raises:
        PredictionError: The file does not validate, or a name is not in it.
    """
    predictions = load_predictions(settings)
    chosen = (
        predictions.items
        if names is None
        else [predictions.get(name) for name in dict.fromkeys(names)]
    )
    return [
        PredictionModel(
            prediction=item,
            model_name=predictions.model_name(item.name, settings.train.model_name),
            training_set=predictions.training_set(item.name),
            scoring_set=predictions.scoring_set(item.name),
            is_default=predictions.is_default(item.name),
        )
        for item in chosen
    ]


def prediction_model(settings: Settings, name: str | None = None) -> PredictionModel:
    """One prediction to train (default: the default prediction).

    Raises:
        PredictionError: As :func:`prediction_models`.
    """
    if name is None:
        name = load_predictions(settings).default.name
    [found] = prediction_models(settings, [name])
    return found


def model_name_of(settings: Settings, prediction: str | None = None) -> str:
    """A prediction's registry model name (default prediction: ``train.model_name``).

    Without a prediction, ``predictions.yml`` is not read at all.

    Raises:
        PredictionError: As :func:`prediction_models`.
    """
    if prediction is None:
        return settings.train.model_name
    return prediction_model(settings, prediction).model_name


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


def prepare(
    frame: pd.DataFrame, features: list[str], categorical: list[str]
) -> pd.DataFrame:
    """Feature columns as the model takes them, in training and in scoring.

    Categorical values become text with ``(missing)`` for null; booleans
    become 0/1. Other columns pass through; the input is not modified.

    Args:
        frame: Rows with (at least) the feature columns.
        features: The model's feature columns.
        categorical: Those of them that are categorical.

    Returns:
        A prepared copy of ``frame``.
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
    kept = {
        name: _sampled_profiles(keys, name, mask, limit, [settings.seed, stream])
        for name, (mask, limit, stream) in parts.items()
    }
    if all(value is None for value in kept.values()):
        return None
    return _profile_filter(holdout, kept["training cutoffs"], kept["holdout"])


def _sampled_profiles(
    keys: pa.Table, name: str, mask: pa.Array, limit: int | None, seed: list[int]
) -> pa.Array | None:
    """The profiles drawn from the rows of ``mask``; None when all of them stay."""
    import pyarrow.compute as pc

    rows = pc.sum(mask).as_py() or 0
    if limit is None or rows <= limit:
        return None
    profiles = np.sort(
        pc.unique(keys.filter(mask)["profile_id"]).to_numpy(zero_copy_only=False)
    )
    draw = np.random.default_rng(seed).random(profiles.size)
    kept = pa.array(profiles[draw < limit / rows], type=keys["profile_id"].type)
    logger.info(
        "%s: %s rows, sampled by profile to about %s",
        name,
        f"{rows:,}",
        f"{limit:,}",
    )
    return kept


def _profile_filter(
    holdout: pa.Scalar, early: pa.Array | None, late: pa.Array | None
) -> Callable[[pa.Table], pa.Table]:
    """A filter keeping the ``early`` profiles before ``holdout``, ``late`` at it.

    None for either keeps every profile of that side.
    """
    import pyarrow.compute as pc

    def keep(part: pa.Table) -> pa.Table:
        at_holdout = pc.greater_equal(part["cutoff_at"], holdout)
        ids = part["profile_id"]
        everyone = pa.scalar(True)
        early_ok = pc.is_in(ids, value_set=early) if early is not None else None
        late_ok = pc.is_in(ids, value_set=late) if late is not None else None
        mask = pc.if_else(
            at_holdout,
            everyone if late_ok is None else late_ok,
            everyone if early_ok is None else early_ok,
        )
        return part.filter(mask)

    return keep


def split(frame: pd.DataFrame, settings: TrainSettings) -> Split:
    """Split by time: the latest cutoff is the holdout, earlier ones train.

    Args:
        frame: The training rows (keys, features and label).
        settings: Training settings (seed, validation share).

    Returns:
        The prepared parts.

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
    """The frame, or a seeded sample of ``rows`` of its rows (order kept).

    Args:
        frame: Any rows.
        rows: The most rows to keep.
        settings: Training settings (the seed).

    Returns:
        ``frame`` itself when it is small enough, else the sample.
    """
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=settings.seed).sort_index()


def content_digest(frame: pd.DataFrame) -> str:
    """A digest of the rows that ignores their order (two exports, same data).

    Args:
        frame: The training rows.

    Returns:
        ``<rows>-<sum of row hashes>-<schema hash>``.
    """
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    total = int(rows.sum(dtype=np.uint64))
    columns = ",".join(f"{name}:{kind}" for name, kind in frame.dtypes.items())
    schema = hashlib.sha256(columns.encode()).hexdigest()[:16]
    return f"{len(frame)}-{total:016x}-{schema}"


def training_rows(
    settings: Settings,
    exported: export.Export | None = None,
    target: PredictionModel | None = None,
) -> TrainingRows:
    """Read a training export (the latest complete one when None), sampled.

    Sampling happens as the parts are read: the rows it drops never sit in
    memory together (a 1M-profile export holds 3M training rows).

    Args:
        settings: Project settings (lake, ``train`` section).
        exported: The export to read; when None, the latest complete one of
            ``target``'s training set.
        target: The prediction (default: the default prediction, whose set
            is ``ml_training_set``).

    Returns:
        The rows and their digest.
    """
    if exported is None:
        dataset = "ml_training_set" if target is None else target.training_set
        exported = export.latest_export(settings, dataset)
    keys = export.read_export(settings, exported, columns=list(KEYS))
    keep = training_sample(keys, settings.train)
    del keys
    frame = export.read_export(settings, exported, row_filter=keep).to_pandas()
    return TrainingRows(exported, frame, content_digest(frame))
