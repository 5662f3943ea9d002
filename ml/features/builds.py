"""The record of builds: which engine last built each ML set and the EDA marts.

``enrich featurize`` notes, after each ``dbt build``, which engine built
``ml_training_set``, ``ml_scoring_set``, each prediction's
``ml_<name>__training_set`` and ``ml_<name>__scoring_set``, and the
exploration marts (``eda``),
with dbt's invocation; the export reads each set from that engine, and the
report reads the marts from it. The record is ``ENRICH_HOME/dbt/ml_sets.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ml.core.config import Settings
from ml.core.engines import Engine

ML_SETS = ("ml_training_set", "ml_scoring_set")
# A prediction's sets: model.enrich.ml_<name>__training_set / __scoring_set.
_PREDICTION_SET = re.compile(
    r"^model\.enrich\.(ml_[a-z][a-z0-9_]*__(?:training|scoring)_set)$"
)
EDA = "eda"
# Recorded like the ML sets: which engine built the exploration marts.
_EDA_MART = "eda_dataset_summary"
_BUILDS = "ml_sets.json"


@dataclass(frozen=True)
class Build:
    """The dbt invocation that last built a set, and on which engine."""

    target: Engine = Engine.WAREHOUSE
    invocation_id: str | None = None
    generated_at: str | None = None
    dbt_version: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The build as JSON (the export's manifest carries it)."""
        return {**asdict(self), "target": str(self.target)}


def _path(settings: Settings) -> Path:
    return settings.home / "dbt" / _BUILDS


def _read(settings: Settings) -> dict[str, dict[str, str | None]]:
    try:
        builds = json.loads(_path(settings).read_text())
    except (OSError, ValueError):
        return {}
    return builds if isinstance(builds, dict) else {}


def record(
    settings: Settings, engine: Engine, succeeded: Iterable[str], run_results: Path
) -> None:
    """Note which ML sets (and EDA marts) a build made, and with which engine.

    Args:
        settings: Project settings.
        engine: The engine dbt ran on.
        succeeded: The unique ids of the nodes that succeeded.
        run_results: dbt's ``run_results.json`` of that build.
    """
    done = set(succeeded)
    built = [name for name in ML_SETS if f"model.enrich.{name}" in done]
    built += sorted(
        found.group(1) for node in done if (found := _PREDICTION_SET.match(node))
    )
    if f"model.enrich.{_EDA_MART}" in done:
        built.append(EDA)
    if not built:
        return
    builds = _read(settings)
    try:
        metadata = json.loads(run_results.read_text())["metadata"]
    except (OSError, ValueError, KeyError):
        metadata = {}
    for name in built:
        builds[name] = Build(
            engine,
            metadata.get("invocation_id"),
            metadata.get("generated_at"),
            metadata.get("dbt_version"),
        ).as_dict()
    path = _path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(builds, indent=2))


def ml_set_build(settings: Settings, dataset: str) -> Build:
    """The build that last made an ML set (or ``eda``); the warehouse if none."""
    found = _read(settings).get(dataset)
    if not found:
        return Build()
    return Build(
        Engine(found.get("target") or Engine.WAREHOUSE),
        found.get("invocation_id"),
        found.get("generated_at"),
        found.get("dbt_version"),
    )
