"""Before fitting: what the data holds for the prediction, per cutoff.

Reads two dbt marts (ml reads marts, never staging): ``ml_prediction_cutoffs``
(per prediction and cutoff: the target's event type events before the cutoff,
how many match its ``where``, the eligible profiles, the positives) and, to
say what a condition could have matched, ``eda_event_field_values`` (the most
frequent values of each event type's fields) and ``eda_dataset_summary``
(the event types the data holds).

Training stops with a :class:`~ml.model.frames.TrainError` that names the
prediction, its condition and what the data holds when the positives are
fewer than ``train.min_positives`` at the training cutoffs (the holdout's
excepted) or ``train.min_holdout_positives`` at the holdout cutoff (the
latest training cutoff). The same table goes to the model card and the run
report.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from ml.core import conditions, engines, relations
from ml.core.config import Settings, TrainSettings
from ml.core.predictions import TARGET, Prediction, load_predictions
from ml.features import builds
from ml.model.frames import TrainError

logger = logging.getLogger(__name__)

FIELDS_WITH_VALUES = ("page_name", "link_name", "campaign_name", "sku")
"""The fields ``eda_event_field_values`` holds the most frequent values of."""

SHOWN_VALUES = 5


@dataclass(frozen=True)
class CutoffCounts:
    """One row of ``ml_prediction_cutoffs``."""

    cutoff_at: str
    cutoff_number: int
    is_scoring_cutoff: bool
    label_window_start_at: str
    label_window_end_at: str
    event_type_events: int
    target_events: int
    eligible_profiles: int
    positives: int | None


@dataclass
class Diagnosis:
    """A prediction's training window and its counts per cutoff."""

    prediction: str
    kind: str
    event_type: str | None
    where: str | None
    horizon_days: int
    gap_days: int
    training_cutoffs: int
    cutoff_step_days: int
    cutoffs: list[CutoffCounts]

    @property
    def holdout(self) -> CutoffCounts | None:
        """The latest training cutoff (the holdout's)."""
        return next((c for c in self.cutoffs if c.cutoff_number == 1), None)

    @property
    def scoring(self) -> CutoffCounts | None:
        """The scoring cutoff (as_of): its counts cover all the history."""
        return next((c for c in self.cutoffs if c.is_scoring_cutoff), None)

    def positives(self) -> tuple[int, int]:
        """Positives at the training cutoffs before the holdout, and at it."""
        earlier = sum(c.positives or 0 for c in self.cutoffs if c.cutoff_number > 1)
        holdout = self.holdout
        return earlier, (holdout.positives or 0) if holdout else 0

    def record(self) -> dict[str, Any]:
        """As JSON for the registry's ``data`` (the model card, the report)."""
        return {
            **{k: v for k, v in asdict(self).items() if k != "cutoffs"},
            "cutoffs": [asdict(c) for c in self.cutoffs],
        }


TABLE_HEADER = [
    "cutoff",
    "label window",
    "event type events",
    "matching target",
    "eligible",
    "positives",
]


def table_rows(record: dict[str, Any]) -> list[list[Any]]:
    """The per-cutoff table of a :meth:`Diagnosis.record`, latest cutoff first."""
    rows = []
    for c in sorted(record["cutoffs"], key=lambda c: c["cutoff_number"]):
        name = "scoring " if c["is_scoring_cutoff"] else ""
        rows.append(
            [
                f"{name}{c['cutoff_at'][:10]}",
                f"{c['label_window_start_at'][:10]} to {c['label_window_end_at'][:10]}",
                c["event_type_events"],
                c["target_events"],
                c["eligible_profiles"],
                "-" if c["positives"] is None else c["positives"],
            ]
        )
    return rows


def window_text(record: dict[str, Any]) -> str:
    """The training window in words: cutoffs, step, horizon and gap."""
    return (
        f"{record['training_cutoffs']} training cutoffs "
        f"{record['cutoff_step_days']} days apart; label window of "
        f"{record['horizon_days']} days starting {record['gap_days']} days "
        "after each cutoff"
    )


def target_text(prediction: str, event_type: str | None, where: str | None) -> str:
    """The prediction's target in words, e.g. ``web.formFilledOut where ...``."""
    event = event_type or "any event"
    return f"{event} where {where}" if where else event


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def read_cutoffs(reader: engines.Reader, name: str) -> list[CutoffCounts]:
    """The rows of ``ml_prediction_cutoffs`` for the prediction ``name``.

    The mart is small (a few rows per prediction): it is read whole and
    filtered here, so no value is ever put into the query.
    """
    rows = reader.rows(
        "select prediction_name, cutoff_at, cutoff_number, is_scoring_cutoff, "
        "label_window_start_at, label_window_end_at, count_event_type_events, "
        "count_target_events, count_eligible_profiles, count_positives "
        "from {table} order by cutoff_number",
        relations.ML_PREDICTION_CUTOFFS,
    )
    return [
        CutoffCounts(
            _iso(row[1]),
            int(row[2]),
            bool(row[3]),
            _iso(row[4]),
            _iso(row[5]),
            int(row[6]),
            int(row[7]),
            int(row[8]),
            None if row[9] is None else int(row[9]),
        )
        for row in rows
        if row[0] == name
    ]


def _field_values(
    reader: engines.Reader, event_type: str, fields: list[str]
) -> dict[str, list[tuple[str, int]]]:
    """The most frequent values of ``fields`` among ``event_type``'s events."""
    if not fields or not reader.exists(relations.EDA_EVENT_FIELD_VALUES):
        return {}
    found: dict[str, list[tuple[str, int]]] = {}
    for kind, field, value, count in reader.rows(
        "select event_type, field_name, field_value, count_events from {table} "
        "order by field_name, value_rank",
        relations.EDA_EVENT_FIELD_VALUES,
    ):
        if kind == event_type and field in fields:
            found.setdefault(field, []).append((str(value), int(count)))
    return found


def _event_types(reader: engines.Reader) -> list[tuple[str, int]]:
    """The event types the data holds, most frequent first."""
    if not reader.exists(relations.EDA_DATASET_SUMMARY):
        return []
    return [
        (str(kind), int(count))
        for kind, count in reader.rows(
            "select event_type, count_events from {table} "
            "order by count_events desc, event_type",
            relations.EDA_DATASET_SUMMARY,
        )
    ]


def _condition_fields(node: dict[str, Any] | None) -> list[str]:
    """The fields a compiled condition tests, in order, once each."""
    if node is None:
        return []
    found = [node["field"]] if "field" in node else []
    for child in [*node.get("args", []), *([node["arg"]] if "arg" in node else [])]:
        found += [f for f in _condition_fields(child) if f not in found]
    return found


def _listed(pairs: list[tuple[str, int]]) -> str:
    shown = ", ".join(f"'{value}' ({count:,})" for value, count in pairs[:SHOWN_VALUES])
    return shown + (", ..." if len(pairs) > SHOWN_VALUES else "")


def _what_it_holds(
    reader: engines.Reader, prediction: Prediction, diagnosis: Diagnosis
) -> str:
    """What the data holds for the target: its events, matches, field values."""
    scoring = diagnosis.scoring
    total = scoring.event_type_events if scoring else 0
    matching = scoring.target_events if scoring else 0
    event = prediction.target.event_type
    if event is not None and total == 0:
        held = _event_types(reader)
        return (
            f"the data holds no {event} events"
            + (f"; the event types it holds are {_listed(held)}" if held else "")
            + "; change target.event_type in predictions.yml"
        )
    where = prediction.target.where
    if where is None:
        return (
            f"the data holds {total:,} {event or 'events'} events in all; "
            "load more history or widen the label window (horizon_days)"
        )
    node = conditions.to_json(conditions.parse(where, TARGET))
    fields = [f for f in _condition_fields(node) if f in FIELDS_WITH_VALUES]
    values = _field_values(reader, event or "", fields) if event else {}
    seen = "".join(
        f"; the {field.replace('_', ' ')}s most seen are {_listed(pairs)}"
        for field, pairs in values.items()
    )
    missing = [f for f in fields if f not in values]
    seen += "".join(f"; no {event} event has a {field}" for field in missing)
    return (
        f"{matching:,} of {total:,} {event or ''} events have {where}{seen}; "
        "change target.where in predictions.yml"
    ).replace("  ", " ")


def diagnose(
    reader: engines.Reader, prediction: Prediction, settings: TrainSettings
) -> Diagnosis:
    """The prediction's counts per cutoff; an error when positives are too few.

    Args:
        reader: The engine that built the ML marts.
        prediction: The prediction to train.
        settings: Training settings (``min_positives``, ``min_holdout_positives``).

    Returns:
        The training window and the per-cutoff counts.

    Raises:
        TrainError: The mart is missing or holds no row for the prediction,
            or the positives are fewer than the minimums; the message names
            the prediction, its condition and what the data holds.
    """
    if not reader.exists(relations.ML_PREDICTION_CUTOFFS):
        raise TrainError(
            f"{'.'.join(relations.ML_PREDICTION_CUTOFFS)} does not exist: run "
            "`enrich featurize` (it builds the per-cutoff counts training checks)."
        )
    target = prediction.target
    diagnosis = Diagnosis(
        prediction.name,
        prediction.kind,
        target.event_type,
        target.where,
        prediction.horizon_days,
        prediction.gap_days,
        prediction.training_cutoffs,
        prediction.cutoff_step_days,
        read_cutoffs(reader, prediction.name),
    )
    if not diagnosis.cutoffs:
        raise TrainError(
            f"{prediction.name}: no row in "
            f"{'.'.join(relations.ML_PREDICTION_CUTOFFS)}: the marts were built "
            "from another predictions.yml; run `enrich featurize`."
        )
    earlier, holdout = diagnosis.positives()
    for row in diagnosis.cutoffs:
        logger.info(
            "%s cutoff %s: %s %s events before it, %s matching, %s eligible, "
            "%s positives",
            prediction.name,
            row.cutoff_at[:10],
            f"{row.event_type_events:,}",
            target.event_type or "(any)",
            f"{row.target_events:,}",
            f"{row.eligible_profiles:,}",
            "-" if row.positives is None else f"{row.positives:,}",
        )
    if earlier < settings.min_positives or holdout < settings.min_holdout_positives:
        raise TrainError(
            f"{prediction.name} ({prediction.kind}: "
            f"{target_text(prediction.name, target.event_type, target.where)}): "
            f"{earlier:,} positives at the training cutoffs (train.min_positives "
            f"= {settings.min_positives}) and {holdout:,} at the holdout cutoff "
            f"(train.min_holdout_positives = {settings.min_holdout_positives}); "
            + _what_it_holds(reader, prediction, diagnosis)
            + "."
        )
    return diagnosis


def check(settings: Settings, name: str | None = None) -> Diagnosis:
    """Diagnose a prediction (the default when None) on the marts as built.

    Reads the engine that built the training set (the warehouse, DuckDB or
    Spark).

    Raises:
        TrainError: See :func:`diagnose`.
        PredictionError: ``predictions.yml`` does not validate, or no
            prediction is called ``name``.
    """
    spec = load_predictions(settings)
    prediction = spec.get(name) if name else spec.default
    engine = builds.ml_set_build(settings, "ml_training_set").target
    with engines.open_reader(settings, engine) as reader:
        return diagnose(reader, prediction, settings.train)
