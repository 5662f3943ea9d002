"""The model registry: versions, artifacts, and the promotion gate.

Each prediction of ``predictions.yml`` is its own model, by name (the
default prediction's is ``train.model_name``, any other's
``<name>_propensity``: :func:`ml.model.frames.prediction_models`): versions,
the gate, promotion and rollback are per model name, and every statement
filters by it. Functions taking ``model_name`` default to the default
prediction's model.

Every training is a new version: its artifacts go to the lake under
``models/<name>/v<N>/`` (the CatBoost model, metadata, metrics, model card,
and a manifest written last) and a row goes to ``registry.model_versions``
(candidate -> production -> archived). A candidate becomes production only
when its holdout AUC clears ``registry.min_auc``, no baseline beats it beyond
the bootstrap interval of the AUC difference (:mod:`ml.model.gate`: the
interval of candidate - best baseline on the same holdout lies entirely below
0), and it is not more than ``registry.max_auc_drop`` below the production
model's. Training the same export with the same parameters again returns the
existing version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.core import relations, sql, warehouse
from ml.core.config import Settings
from ml.core.errors import EnrichError
from ml.core.lake import Lake, open_lake
from ml.model import gate as baseline_gate
from ml.model.card import model_card
from ml.model.train import TrainedModel

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as psql

logger = logging.getLogger(__name__)

REGISTRY_LOCK = 0x7265676973747279  # "registry"
STATUSES = ("candidate", "production", "archived")


class RegistryError(EnrichError):
    """A registry operation was refused (the message says why)."""


@dataclass
class Version:
    """One registered model version."""

    model_name: str
    version: int
    status: str
    artifact_uri: str
    metrics: dict[str, Any]
    baselines: dict[str, Any]
    leakage: dict[str, Any]
    data: dict[str, Any]
    params: dict[str, Any]
    decision: str | None
    created_at: dt.datetime
    promoted_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready metadata (what ``enrich model show --json`` prints)."""
        return {
            "model_name": self.model_name,
            "version": self.version,
            "status": self.status,
            "artifact_uri": self.artifact_uri,
            "metrics": self.metrics,
            "baselines": self.baselines,
            "leakage": self.leakage,
            "data": self.data,
            "params": self.params,
            "decision": self.decision,
            "created_at": str(self.created_at),
            "promoted_at": None if self.promoted_at is None else str(self.promoted_at),
        }


def _statement(name: str) -> psql.Composed:
    """The registry statement ``ml/model/sql/<name>.sql``, names bound."""
    from psycopg import sql as psql

    return sql.statement(
        "ml.model",
        name,
        registry_schema=psql.Identifier(relations.REGISTRY_SCHEMA),
        columns=psql.SQL(", ").join(
            psql.Identifier(column.name) for column in dataclasses.fields(Version)
        ),
    )


@contextlib.contextmanager
def _session(settings: Settings) -> Iterator[psycopg.Connection]:
    """A connection holding the registry lock, with the table in place."""
    with warehouse.connect(settings, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", [REGISTRY_LOCK])
        try:
            conn.execute(_statement("model_versions_schema"))
            yield conn
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", [REGISTRY_LOCK])


def _version(row: tuple[Any, ...]) -> Version:
    return Version(*row)


def fingerprint(content_digest: str, params: dict[str, Any]) -> str:
    """Same training rows and parameters, same fingerprint (no duplicate versions).

    The rows' digest, not the export's id: re-exporting unchanged data (a
    re-run of the pipeline) finds the version it already trained.
    """
    text = json.dumps({"data": content_digest, "params": params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def register(settings: Settings, trained: TrainedModel) -> tuple[Version, bool]:
    """Store a trained model as a new candidate version (or find it again).

    Args:
        settings: Project settings.
        trained: What :func:`ml.model.train.train` returned.

    Returns:
        The version, and whether it is new.
    """
    name = trained.model_name
    key = fingerprint(trained.data["content_digest"], trained.params)
    with _session(settings) as conn:
        found = _by_fingerprint(conn, name, key)
        if found is not None:
            logger.info("this export and these parameters are v%d", found.version)
            return found, False
        [number] = sql.single_row(conn.execute(_statement("next_version"), [name]))
        uri = _write_artifacts(settings, name, number, trained)
        from psycopg.types.json import Jsonb

        row = sql.single_row(
            conn.execute(
                _statement("insert_version"),
                [
                    name,
                    number,
                    key,
                    trained.data["training_export"],
                    uri,
                    Jsonb(trained.metrics),
                    Jsonb(trained.baselines),
                    Jsonb(trained.leakage),
                    Jsonb(trained.data),
                    Jsonb(trained.params),
                ],
            )
        )
    return _version(row), True


def _by_fingerprint(conn: psycopg.Connection, name: str, key: str) -> Version | None:
    row = conn.execute(
        _statement("version_by_fingerprint"),
        [name, key],
    ).fetchone()
    return None if row is None else _version(row)


def find(
    settings: Settings, content_digest: str, model_name: str | None = None
) -> Version | None:
    """The version of a model already trained on these rows with today's parameters."""
    key = fingerprint(content_digest, settings.train.model_dump())
    with _session(settings) as conn:
        return _by_fingerprint(conn, model_name or settings.train.model_name, key)


def already_trained(version: Version) -> str:
    """The decision when these rows and parameters made a version before."""
    return (
        f"v{version.version} ({version.status}) was already trained on these rows "
        "with these parameters: nothing to train."
    )


def register_and_gate(settings: Settings, trained: TrainedModel) -> tuple[Version, str]:
    """Register a trained model and apply the promotion gate to it.

    Returns:
        The version and the decision: the gate's, or that the same data and
        parameters registered this version before (nothing new registered).
    """
    version, is_new = register(settings, trained)
    if is_new:
        return promote(settings, version.version, version.model_name)
    return version, (
        f"v{version.version} ({version.status}) was already trained on the same "
        "data with these parameters: nothing new registered."
    )


def artifact_folder(name: str, number: int) -> str:
    """The lake folder of a version's artifacts."""
    return f"models/{name}/v{number}"


def artifact_lake(settings: Settings, version: Version) -> tuple[Lake, str]:
    """The lake holding a version's artifacts, and their folder in it.

    Artifacts stay where training wrote them, whatever the lake is today.
    """
    folder = artifact_folder(version.model_name, version.version)
    uri = version.artifact_uri
    root = uri[: -len(folder)] if uri.endswith(folder) else None
    return open_lake(settings, root), folder


def _write_artifacts(
    settings: Settings, name: str, number: int, trained: TrainedModel
) -> str:
    lake = open_lake(settings)
    folder = artifact_folder(name, number)
    metadata = {
        "model_name": name,
        "version": number,
        "features": trained.features,
        "categorical_features": trained.categorical,
        "calibration": {"a": trained.calibrator.a, "b": trained.calibrator.b},
        "data": trained.data,
        "params": trained.params,
    }
    files = ["model.cbm"]
    with tempfile.TemporaryDirectory(prefix="enrich-model-") as scratch:
        model_path = Path(scratch) / "model.cbm"
        trained.model.save_model(str(model_path))
        lake.put_file(model_path, f"{folder}/model.cbm")
    documents = {
        "metadata.json": json.dumps(metadata, indent=2, default=str),
        "metrics.json": json.dumps(
            {
                "metrics": trained.metrics,
                "baselines": trained.baselines,
                "leakage": trained.leakage,
                "importance": trained.importance,
            },
            indent=2,
            default=str,
        ),
        "model_card.md": model_card(name, number, trained),
    }
    for file, text in documents.items():
        lake.put_bytes(f"{folder}/{file}", text.encode())
    lake.write_manifest(folder, {"files": [*files, *documents], **metadata})
    return lake.url(folder)


def versions(settings: Settings, name: str | None = None) -> list[Version]:
    """Every version of the model, newest first."""
    name = name or settings.train.model_name
    with _session(settings) as conn:
        rows = conn.execute(
            _statement("versions_of_model"),
            [name],
        ).fetchall()
    return [_version(row) for row in rows]


def get(
    settings: Settings, version: int | None = None, model_name: str | None = None
) -> Version:
    """A version of a model (default: the production one).

    Raises:
        RegistryError: No such version, or no production model yet.
    """
    name = model_name or settings.train.model_name
    found = versions(settings, name)
    if version is None:
        production = [v for v in found if v.status == "production"]
        if not production:
            raise RegistryError(
                f"No production version of {name} yet: run `enrich train` "
                "(or `enrich model promote VERSION`)."
            )
        return production[0]
    for item in found:
        if item.version == version:
            return item
    raise RegistryError(f"{name} has no version {version}.")


def promote(
    settings: Settings, version: int, model_name: str | None = None
) -> tuple[Version, str]:
    """Make a version of a model production if it passes the gate.

    The gate compares it with that model's production version only.

    Returns:
        The version (production, or still candidate) and the decision in words.

    Raises:
        RegistryError: The version does not exist.
    """
    name = model_name or settings.train.model_name
    with _session(settings) as conn:
        candidate = _one(conn, name, version)
        if candidate.status == "production":
            return candidate, f"v{version} is already production."
        current = _production(conn, name)
        auc = float(candidate.metrics["roc_auc"])
        compared = candidate.metrics.get("baseline_comparison")
        reason = baseline_gate.refusal(
            candidate.version,
            candidate.metrics,
            None if current is None else (current.version, current.metrics),
            settings.registry,
        )
        if reason is not None:
            decision = f"not promoted: {reason}; it stays a candidate."
            row = sql.single_row(
                conn.execute(
                    _statement("set_decision"),
                    [decision, name, version],
                )
            )
            return _version(row), decision
        with conn.transaction():
            conn.execute(
                _statement("archive_production"),
                [name],
            )
            replaced = f" (replaces v{current.version})" if current else ""
            against = (
                ""
                if compared is None
                else f" ({baseline_gate.verdict(version, compared)})"
            )
            if compared is not None and baseline_gate.beaten(compared):
                against += (
                    f" WARNING: {compared['best_baseline'].replace('_', ' ')} "
                    "beats it beyond the interval; promoted because "
                    "registry.baseline_rule is warn"
                )
            decision = (
                f"promoted to production{replaced}: holdout AUC {auc:.3f}{against}."
            )
            row = sql.single_row(
                conn.execute(
                    _statement("promote_version"),
                    [decision, name, version],
                )
            )
    return _version(row), decision


def rollback(settings: Settings, model_name: str | None = None) -> tuple[Version, str]:
    """Restore a model's previous production version; the current one is archived.

    Raises:
        RegistryError: No production model, or none before it.
    """
    name = model_name or settings.train.model_name
    with _session(settings) as conn:
        current = _production(conn, name)
        if current is None:
            raise RegistryError(f"No production version of {name} to roll back.")
        previous = conn.execute(
            _statement("previous_production"),
            [name],
        ).fetchone()
        if previous is None:
            raise RegistryError(
                f"v{current.version} is the only model that was ever in production: "
                "nothing to roll back to."
            )
        decision = f"rolled back from v{current.version} to v{previous[1]}."
        with conn.transaction():
            conn.execute(
                _statement("archive_by_rollback"),
                [f"archived by rollback to v{previous[1]}.", name, current.version],
            )
            row = sql.single_row(
                conn.execute(
                    _statement("restore_version"),
                    [decision, name, previous[1]],
                )
            )
    return _version(row), decision


def _production(conn: psycopg.Connection, name: str) -> Version | None:
    row = conn.execute(
        _statement("production_version"),
        [name],
    ).fetchone()
    return None if row is None else _version(row)


def _one(conn: psycopg.Connection, name: str, version: int) -> Version:
    row = conn.execute(
        _statement("one_version"),
        [name, version],
    ).fetchone()
    if row is None:
        raise RegistryError(f"{name} has no version {version}.")
    return _version(row)
