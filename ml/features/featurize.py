"""Stage 2: run the dbt project (staging, EDA marts, features, labels).

dbt runs in-process (its CLI costs seconds of imports per call), against
the warehouse the settings name, with state under ``ENRICH_HOME/dbt`` so
two homes never share a target folder.

The featurization can also run on DuckDB or Spark (``featurize.target``),
which read the raw datasets from the lake's Parquet (:mod:`ml.mirror`).
Which engine last built each ML set is recorded, and :mod:`ml.export`
reads the set from there.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.core import prediction_files, predictions, relations, sql, warehouse
from ml.core.config import Settings
from ml.core.engines import Engine, EngineError, check_installed, release
from ml.core.errors import EnrichError
from ml.core.lake import open_lake
from ml.data import lake_copy
from ml.features import builds

logger = logging.getLogger(__name__)


class FeaturizeError(EnrichError):
    """dbt failed: the message names the failing nodes; ``run`` has them all."""

    def __init__(self, message: str, run: DbtRun | None = None) -> None:
        super().__init__(message)
        self.run = run


@dataclass
class NodeResult:
    """One dbt node's outcome."""

    unique_id: str
    status: str
    seconds: float
    message: str | None = None
    failures: int | None = None


@dataclass
class DbtRun:
    """What a dbt invocation did."""

    command: list[str]
    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)

    @property
    def failed(self) -> list[NodeResult]:
        """Nodes that errored or whose tests failed."""
        return [n for n in self.nodes if n.status in ("error", "fail", "runtime error")]

    def summary(self) -> str:
        """Counts per status, e.g. ``success 12, pass 40``."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.status] = counts.get(node.status, 0) + 1
        parts = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        return f"{parts or 'nothing to do'} in {self.seconds:.1f} s"


def state_dir(settings: Settings, target: str = Engine.WAREHOUSE) -> Path:
    """The folder of dbt's target and logs for one engine, in ENRICH_HOME/dbt."""
    base = settings.home / "dbt"
    return base if target == Engine.WAREHOUSE else base / target


def dbt_args(
    settings: Settings, command: Sequence[str], target: str = Engine.WAREHOUSE
) -> list[str]:
    """The dbt arguments for this project, target and logs under ENRICH_HOME."""
    project = str(settings.project_dir)
    state = state_dir(settings, target)
    return [
        *command,
        *(["--target", target] if target != Engine.WAREHOUSE else []),
        "--project-dir", project,
        "--profiles-dir", project,
        "--target-path", str(state / "target"),
        "--log-path", str(state / "logs"),
    ]  # fmt: skip


def _engine(target: str) -> Engine:
    try:
        return check_installed(target)
    except EngineError as exc:
        raise FeaturizeError(str(exc)) from None


def run_dbt(
    settings: Settings,
    command: Sequence[str],
    on_message: Callable[[str, str], None] | None = None,
    target: str = Engine.WAREHOUSE,
) -> DbtRun:
    """Run one dbt command in-process against the configured warehouse.

    Args:
        settings: Project settings.
        command: dbt command and its flags, e.g. ``["build", "--full-refresh"]``.
        on_message: Called with (level, text) for each of dbt's log lines at
            info level and above (an orchestrator's log, say).
        target: ``warehouse``, or a lake engine (``duckdb``, ``spark``).

    Returns:
        The invocation's outcome, node by node.

    Raises:
        FeaturizeError: dbt failed; the message names every failing node.
    """
    from dbt.cli.main import dbtRunner

    engine = _engine(target)
    # Starts the embedded server if needed; the scores source must exist
    # before the first ingest so that profiles_enriched builds.
    with warehouse.connect(settings, autocommit=True) as conn:
        warehouse.ensure_schemas(conn, ("scores_schema.sql",))
    os.environ.update(warehouse.dbt_environment(settings))
    os.environ.update(
        ENRICH_HOME=str(settings.home), ENRICH_LAKE=open_lake(settings).root
    )
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # With a listener, dbt's lines go there instead of to stdout as well.
    quiet = ["--quiet"] if on_message else []
    args = dbt_args(settings, [*command, *quiet], engine)
    logger.info("dbt %s%s", " ".join(command), engine.suffix)
    callbacks = [] if on_message is None else [_forward(on_message)]
    try:
        outcome = dbtRunner(callbacks=callbacks).invoke(args)
    finally:
        release(engine)
    run = _collect(list(command), outcome)
    if not run.success:
        raise FeaturizeError(_failure_message(run, outcome.exception), run)
    logger.info("dbt %s%s: %s", command[0], engine.suffix, run.summary())
    return run


def _forward(on_message: Callable[[str, str], None]) -> Callable[[Any], None]:
    def callback(event: Any) -> None:
        level = event.info.level
        if level in ("info", "warn", "error") and event.info.msg:
            on_message(level, str(event.info.msg))

    return callback


def _collect(command: list[str], outcome: Any) -> DbtRun:
    results = getattr(outcome.result, "results", None) or []
    nodes = [
        NodeResult(
            # run-operation's results name the node, others hold it
            unique_id=item.node.unique_id if hasattr(item, "node") else item.unique_id,
            status=str(item.status),
            seconds=float(item.execution_time or 0.0),
            message=item.message,
            failures=item.failures,
        )
        for item in results
    ]
    seconds = float(getattr(outcome.result, "elapsed_time", 0.0) or 0.0)
    return DbtRun(command, bool(outcome.success), seconds, nodes)


def _failure_message(run: DbtRun, exception: BaseException | None) -> str:
    if exception is not None and not run.failed:
        return f"dbt {run.command[0]} could not run: {exception}"
    lines = [f"dbt {run.command[0]} failed ({run.summary()}):"]
    for node in run.failed:
        detail = [line.strip() for line in (node.message or "").splitlines()]
        detail = [line for line in detail if line][:4]
        lines.append(f"  {node.unique_id}: {node.status}. {' '.join(detail)}")
    if any("out of sync" in (node.message or "") for node in run.failed):
        lines.append(
            "An incremental model's columns changed (a new enrich version?): "
            "rebuild it with `enrich featurize --full-refresh`."
        )
    lines.append("Run `dbt build` in the project folder to see the full output.")
    return "\n".join(lines)


# dbt vars that let the exploration marts and the point-in-time test read a
# sample on big data (the ML marts always read every event).
SAMPLED_VARS = ("eda_sample_percent", "pit_test_sample_percent")


def sample_percent(settings: Settings) -> float:
    """The share the EDA marts and the point-in-time test read: 100, or less.

    Counts the events of the successful load batches (no scan) and sizes the
    sample to about ``featurize.sample_above_events``.
    """
    cap = settings.featurize.sample_above_events
    if cap is None:
        return 100.0
    with warehouse.connect(settings) as conn:
        if not warehouse.exists(conn, relations.RAW_BATCHES):
            return 100.0
        [(events,)] = conn.execute(
            sql.statement("ml.features", "loaded_events")
        ).fetchall()
    if events <= cap:
        return 100.0
    percent: float = max(1.0, round(100.0 * cap / events, 1))
    logger.info(
        "%s events: EDA marts and the point-in-time test read a %s%% sample "
        "(featurize.sample_above_events %s)",
        f"{events:,}",
        percent,
        f"{cap:,}",
    )
    return percent


def featurize(
    settings: Settings,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    dbt_vars: dict[str, Any] | None = None,
    on_message: Callable[[str, str], None] | None = None,
    target: str | None = None,
    selector: str | None = None,
) -> DbtRun:
    """Build and test the dbt project (seeds, staging, marts, tests).

    Args:
        settings: Project settings.
        full_refresh: Rebuild incremental models from scratch.
        select: dbt node selection (everything when empty; on a lake
            engine everything but the profile store, see selectors.yml).
        dbt_vars: Values for the project's vars (the prediction spec, ...).
        on_message: dbt's log lines, as for :func:`run_dbt`.
        target: ``warehouse``, ``duckdb`` or ``spark`` (default:
            ``featurize.target``).
        selector: A named selector of ``selectors.yml`` (``--selector``),
            e.g. ``training_marts``.

    Returns:
        The ``dbt build`` outcome.

    Raises:
        PredictionError: ``predictions.yml`` does not validate, or the dbt
            files generated from it are stale (before dbt runs).
    """
    engine = _engine(target or settings.featurize.target)
    if engine.reads_lake:
        # The engine reads the lake: it must hold every loaded batch.
        lake_copy.sync(settings)
    # The per-prediction models must be those of predictions.yml (dbt cannot
    # build a spec whose models are missing); refuse rather than write into
    # the project behind the user's back.
    found = predictions.load_predictions(settings)
    prediction_files.check_current(settings, found)
    # dbt's unit tests check the models' logic on fixed fixtures named after
    # the shipped predictions: the project's CI runs them, not a user's build.
    command = ["build", "--exclude-resource-type", "unit_test"]
    if full_refresh:
        command.append("--full-refresh")
    if select:
        command += ["--select", *select]
    if selector:
        command += ["--selector", selector]
    # The prediction spec of predictions.yml, not dbt_project.yml's copy
    # (which may be stale); a caller's own vars win.
    dbt_vars = {"predictions": predictions.compiled(found), **(dbt_vars or {})}
    percent = sample_percent(settings)
    if percent < 100:
        for name in SAMPLED_VARS:
            dbt_vars.setdefault(name, percent)
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    run = run_dbt(settings, command, on_message, engine)
    succeeded = (node.unique_id for node in run.nodes if node.status == "success")
    results = state_dir(settings, engine) / "target" / "run_results.json"
    builds.record(settings, engine, succeeded, results)
    return run
