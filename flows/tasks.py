"""Prefect tasks: one per ``ml`` step, and nothing else.

Tasks that touch storage or the network (the lake on S3, HTTP destinations)
retry with exponential backoff when the failure is transient (see
:func:`flows.runtime.is_transient`); every other failure fails at once. The
``ml`` steps are idempotent, so a retry or a re-run repeats nothing done.
Results are not cached between runs: the warehouse is the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.tasks import exponential_backoff

from flows import artifacts
from flows.runtime import retry_transient
from ml.core.config import Settings


def transient_retries(step: Any, settings: Settings) -> Any:
    """The task, retrying transient failures as ``orchestration`` says."""
    config = settings.orchestration
    return step.with_options(
        retries=config.task_retries,
        retry_delay_seconds=exponential_backoff(config.retry_delay_seconds)(
            max(1, config.task_retries)
        ),
        retry_condition_fn=retry_transient,
    )


@task(name="generate and load", cache_policy=NONE)
def generate_and_load(settings: Settings, params: Any, replace: bool) -> list[Any]:
    """Generate synthetic XDM data and load it in batches."""
    from ml.data import generated

    return generated.load_generated(settings, params, replace=replace)


@task(name="load files", cache_policy=NONE)
def load_files(
    settings: Settings,
    paths: Sequence[str],
    dataset: str | None,
    identity_field: str | None,
) -> list[Any]:
    """Load XDM files (local or s3://) in batches; loaded content is skipped."""
    from ml.data import files

    return files.load_files(
        settings, list(paths), dataset=dataset, identity_field=identity_field
    )


@task(name="dbt build", cache_policy=NONE)
def dbt_build(
    settings: Settings,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    dbt_vars: dict[str, Any] | None = None,
    target: str | None = None,
) -> Any:
    """``dbt build`` in-process, its log in the task's, its results an artifact.

    A failing model or test fails the task (no retry: dbt fails the same way
    again) with every failing node named. ``target``: the engine (default:
    ``featurize.target``).
    """
    from ml.features import featurize

    logger = get_run_logger()

    def forward(level: str, text: str) -> None:
        {"warn": logger.warning, "error": logger.error}.get(level, logger.info)(text)

    try:
        run = featurize.featurize(
            settings,
            full_refresh=full_refresh,
            select=select,
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


@task(name="export", cache_policy=NONE)
def export_sets(settings: Settings, datasets: Sequence[str]) -> list[Any]:
    """Copy the training and/or scoring sets to the lake."""
    from ml.features import export

    return export.export(settings, list(datasets))


@task(name="read training rows", cache_policy=NONE)
def read_training_rows(settings: Settings, exported: Any) -> Any:
    """The training export's rows (sampled as configured) and their digest."""
    from ml.model import frames

    return frames.training_rows(settings, exported)


@task(name="find trained version", cache_policy=NONE)
def find_trained(settings: Settings, rows: Any) -> Any:
    """The version already trained on these rows with these parameters, if any.

    A re-run of the same data skips the fit: the registry keeps one version
    per (rows, parameters).
    """
    from ml.model import registry

    found = registry.find(settings, rows.digest)
    if found is not None:
        decision = (
            f"v{found.version} ({found.status}) was already trained on these rows "
            "with these parameters: nothing to train."
        )
        get_run_logger().info(decision)
        artifacts.model_metrics(found)
        artifacts.promotion(found, decision)
    return found


@task(name="train", cache_policy=NONE)
def train_model(settings: Settings, rows: Any) -> Any:
    """Train and evaluate on a training export's rows (deterministic: no retry)."""
    from ml.model import train

    trained = train.train(settings, rows.exported, rows)
    artifacts.model_metrics(trained)
    return trained


@task(name="register and promote", cache_policy=NONE)
def register_and_promote(settings: Settings, trained: Any) -> tuple[Any, str]:
    """Register a new version (or find the same one) and apply the gate."""
    from ml.model import registry

    logger = get_run_logger()
    version, is_new = registry.register(settings, trained)
    if not is_new:
        decision = (
            f"v{version.version} ({version.status}) was already trained on the same "
            "data with these parameters: nothing new registered."
        )
    else:
        version, decision = registry.promote(settings, version.version)
    logger.info("%s v%s: %s", version.model_name, version.version, decision)
    artifacts.promotion(version, decision)
    return version, decision


@task(name="score", cache_policy=NONE)
def score_profiles(
    settings: Settings, model_version: int | None, as_of: Any | None
) -> Any:
    """Score every eligible profile; the scores go to the lake's ingress."""
    from ml.scores import score

    return score.score(settings, model_version=model_version, as_of=as_of)


@task(name="ingest", cache_policy=NONE)
def ingest_scores(settings: Settings, scored: Any) -> Any:
    """Swap the scores into the warehouse, checked and atomic."""
    from ml.scores import writeback

    return writeback.ingest(settings, scored)


@task(name="back-test", cache_policy=NONE)
def backtest(settings: Settings, ingested: Any) -> list[dict[str, Any]] | None:
    """Realised conversion by decile in the generator's simulated future."""
    from ml.scores import score

    table = score.backtest(
        settings, ingested.model_name, ingested.model_version, ingested.as_of
    )
    if table is not None:
        artifacts.backtest(table)
    return table


@task(name="build audiences", cache_policy=NONE)
def build_audiences(settings: Settings) -> Any:
    """Members, holdout and deltas of every audience of ``audiences.yml``."""
    from ml.activation import builds

    built = builds.build(settings)
    artifacts.audience_sizes(built)
    return built


@task(name="activate", cache_policy=NONE)
def activate_audiences(
    settings: Settings, audience_ids: Sequence[str] | None, dry_run: bool
) -> list[Any]:
    """Send each audience's changes to its destinations, exactly once."""
    from ml.activation import activate
    from ml.activation.errors import ActivationError

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
def write_report(settings: Settings, run: dict[str, Any] | None, name: str) -> Any:
    """The run report (HTML with plots), linked as an artifact."""
    from ml import report

    path = report.write_report(settings, run, name=name)
    artifacts.report_link(path)
    return path
