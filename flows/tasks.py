"""Prefect tasks: one per ``ml`` step, and nothing else.

Tasks that touch storage or the network (the lake on S3, scoring reads, the
ingest, HTTP destinations) declare their retry policy: exponential backoff,
and only when the failure is transient (see
:func:`flows.runtime.is_transient`); every other failure fails at once. The
count and first delay in their decorators are ``orchestration``'s defaults;
:func:`io_tasks` applies the configured ones when a flow starts. The ``ml``
steps are idempotent, so a retry or a re-run repeats nothing done. Results
are not cached between runs: the warehouse is the state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.tasks import exponential_backoff

from flows import artifacts
from flows.runtime import retry_transient
from ml import report
from ml.activation import activate
from ml.activation import builds as audience_builds
from ml.activation.errors import ActivationError
from ml.activation.ledger import Delivery
from ml.core.config import OrchestrationSettings, Settings
from ml.data import files, generated, read
from ml.data.batches import BatchResult
from ml.data.datasets import EVENTS
from ml.features import export, featurize
from ml.model import frames, registry, train
from ml.scores import score, writeback
from ml.synthetic import GeneratorParams

_DEFAULTS = OrchestrationSettings()


def _backoff(retries: int, first_delay: float) -> list[float]:
    """Delays of ``retries`` retries: ``first_delay``, then twice that, ..."""
    return exponential_backoff(first_delay)(max(1, retries))


def io_retries(
    retries: int = _DEFAULTS.task_retries,
    first_delay: float = _DEFAULTS.retry_delay_seconds,
) -> dict[str, Any]:
    """The retry policy of a task doing I/O: backoff, transient failures only.

    Args:
        retries: How often to retry (default: ``orchestration.task_retries``'s
            default).
        first_delay: Seconds before the first retry, doubling after each
            (default: ``orchestration.retry_delay_seconds``'s default).
    """
    return {
        "retries": retries,
        "retry_delay_seconds": _backoff(retries, first_delay),
        "retry_condition_fn": retry_transient,
    }


@task(name="generate and load", cache_policy=NONE)
def generate_and_load(
    settings: Settings, params: GeneratorParams, replace: bool
) -> list[BatchResult]:
    """Generate synthetic XDM data and load it in batches."""
    return generated.load_generated(settings, params, replace=replace)


@task(name="load files", cache_policy=NONE, **io_retries())
def load_files(
    settings: Settings,
    paths: Sequence[str],
    dataset: str | None,
    identity_field: str | None,
) -> list[BatchResult]:
    """Load XDM files (local or s3://) in batches; loaded content is skipped.

    ``dataset`` None means experience events (``ml.data.files``' default).
    """
    return files.load_files(
        settings,
        list(paths),
        dataset=EVENTS if dataset is None else dataset,
        identity_field=identity_field,
    )


@task(name="loaded events", cache_policy=NONE)
def loaded_events(settings: Settings) -> int:
    """Experience events the warehouse holds; fails when there are none."""
    return read.loaded_events(settings)


@task(name="dbt build", cache_policy=NONE)
def dbt_build(
    settings: Settings,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    dbt_vars: dict[str, Any] | None = None,
    target: str | None = None,
    selector: str | None = None,
) -> featurize.DbtRun:
    """``dbt build`` in-process, its log in the task's, its results an artifact.

    A failing model or test fails the task (no retry: dbt fails the same way
    again) with every failing node named. ``target``: the engine (default:
    ``featurize.target``); ``selector``: a named selector of ``selectors.yml``
    (instead of, or with, ``select``).
    """
    logger = get_run_logger()

    def forward(level: str, text: str) -> None:
        {"warn": logger.warning, "error": logger.error}.get(level, logger.info)(text)

    try:
        run = featurize.featurize(
            settings,
            full_refresh=full_refresh,
            select=select,
            selector=selector,
            dbt_vars=dbt_vars,
            on_message=forward,
            target=target,
        )
    except featurize.FeaturizeError as exc:
        if exc.run is not None:
            artifacts.dbt_results(exc.run)
        raise
    artifacts.dbt_results(run)
    return run


@task(name="export", cache_policy=NONE, **io_retries())
def export_sets(settings: Settings, datasets: Sequence[str]) -> list[export.Export]:
    """Copy the training and/or scoring sets to the lake."""
    return export.export(settings, list(datasets))


def _artifact_name(target: frames.PredictionModel) -> str | None:
    """The prediction in artifact keys: None (the plain key) for the default."""
    return None if target.is_default else target.name


@task(name="read training rows", cache_policy=NONE, **io_retries())
def read_training_rows(
    settings: Settings,
    exported: export.Export,
    target: frames.PredictionModel | None = None,
) -> frames.TrainingRows:
    """A prediction's training export's rows (sampled as configured), digested."""
    return frames.training_rows(settings, exported, target)


@task(name="find trained version", cache_policy=NONE)
def find_trained(
    settings: Settings, rows: frames.TrainingRows, target: frames.PredictionModel
) -> registry.Version | None:
    """The prediction's version already trained on these rows and parameters.

    A re-run of the same data skips the fit: the registry keeps one version
    per (model, rows, parameters).
    """
    found = registry.find(settings, rows.digest, target.model_name)
    if found is not None:
        decision = registry.already_trained(found)
        get_run_logger().info("%s: %s", found.model_name, decision)
        artifacts.model_metrics(found, _artifact_name(target))
        artifacts.promotion(found, decision, _artifact_name(target))
    return found


@task(name="train", cache_policy=NONE)
def train_model(
    settings: Settings, rows: frames.TrainingRows, target: frames.PredictionModel
) -> train.TrainedModel:
    """Train and evaluate a prediction's model (deterministic: no retry)."""
    trained = train.train(settings, rows.exported, rows, target)
    artifacts.model_metrics(trained, _artifact_name(target))
    return trained


@task(name="register and promote", cache_policy=NONE)
def register_and_promote(
    settings: Settings, trained: train.TrainedModel, target: frames.PredictionModel
) -> tuple[registry.Version, str]:
    """Register a new version of the prediction's model and apply the gate."""
    logger = get_run_logger()
    version, decision = registry.register_and_gate(settings, trained)
    logger.info("%s v%s: %s", version.model_name, version.version, decision)
    artifacts.promotion(version, decision, _artifact_name(target))
    return version, decision


@task(name="score", cache_policy=NONE, **io_retries())
def score_profiles(
    settings: Settings, model_version: int | None, as_of: dt.date | None
) -> score.Scored:
    """Score every eligible profile; the scores go to the lake's ingress."""
    return score.score(settings, model_version=model_version, as_of=as_of)


@task(name="ingest", cache_policy=NONE, **io_retries())
def ingest_scores(settings: Settings, scored: score.Scored) -> writeback.IngestResult:
    """Swap the scores into the warehouse, checked and atomic."""
    return writeback.ingest(settings, scored)


@task(name="back-test", cache_policy=NONE)
def backtest(
    settings: Settings, ingested: writeback.IngestResult
) -> list[dict[str, Any]] | None:
    """Realised conversion by decile in the generator's simulated future."""
    table = score.backtest(
        settings, ingested.model_name, ingested.model_version, ingested.as_of
    )
    if table is not None:
        artifacts.backtest(table)
    return table


@task(name="build audiences", cache_policy=NONE)
def build_audiences(settings: Settings) -> audience_builds.Build:
    """Members, holdout and deltas of every audience of ``audiences.yml``."""
    built = audience_builds.build(settings)
    artifacts.audience_sizes(built)
    return built


@task(name="activate", cache_policy=NONE, **io_retries())
def activate_audiences(
    settings: Settings, audience_ids: Sequence[str] | None, dry_run: bool
) -> list[Delivery]:
    """Send each audience's changes to its destinations, exactly once."""
    try:
        results = activate.activate(
            settings,
            dry_run=dry_run,
            audience_ids=list(audience_ids) if audience_ids else None,
        )
    except ActivationError as exc:
        artifacts.deliveries(exc.deliveries)
        raise
    artifacts.deliveries(results)
    return results


@task(name="report", cache_policy=NONE)
def write_report(settings: Settings, run: dict[str, Any] | None, name: str) -> Path:
    """The run report (HTML with plots), linked as an artifact."""
    path = report.write_report(settings, run, name=name)
    artifacts.report_link(path)
    return path


@dataclass(frozen=True)
class IoTasks:
    """The tasks doing I/O, retrying as ``orchestration`` says (:func:`io_tasks`)."""

    load_files: Task[
        [Settings, Sequence[str], str | None, str | None], list[BatchResult]
    ]
    export_sets: Task[[Settings, Sequence[str]], list[export.Export]]
    read_training_rows: Task[
        [Settings, export.Export, frames.PredictionModel | None], frames.TrainingRows
    ]
    score_profiles: Task[[Settings, int | None, dt.date | None], score.Scored]
    ingest_scores: Task[[Settings, score.Scored], writeback.IngestResult]
    activate_audiences: Task[[Settings, Sequence[str] | None, bool], list[Delivery]]


def io_tasks(settings: Settings) -> IoTasks:
    """The I/O tasks with ``orchestration.task_retries`` and its first delay.

    The one place the configured count and delay reach the tasks; each
    task's decorator declares the policy itself (transient failures only,
    exponential backoff). Flows call this when they start.
    """
    config = settings.orchestration
    policy = io_retries(config.task_retries, config.retry_delay_seconds)
    return IoTasks(
        load_files=load_files.with_options(**policy),
        export_sets=export_sets.with_options(**policy),
        read_training_rows=read_training_rows.with_options(**policy),
        score_profiles=score_profiles.with_options(**policy),
        ingest_scores=ingest_scores.with_options(**policy),
        activate_audiences=activate_audiences.with_options(**policy),
    )
