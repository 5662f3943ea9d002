"""The Prefect flows: one per stage group, and the pipeline that chains them.

=============  ================================================================
``load``       generate synthetic data, or load XDM files
``featurize``  ``dbt build`` (staging, EDA marts, features, labels, tests)
``train``      dbt (the ML marts) -> export -> per prediction (subflow
               ``train prediction``): train -> register -> promote (a re-run
               on the same rows finds its version: no fit)
``score``      dbt (the scoring set) -> export -> score -> ingest -> dbt
               (the enriched profiles) -> back-test
``activate``   build the audiences -> send their changes to the destinations
``refresh``    ``score`` then ``activate`` (the daily deployment)
``pipeline``   load -> featurize -> train -> score -> activate -> report
               (generated data, or what is loaded: ``source="loaded"``)
=============  ================================================================

dbt runs are upstream tasks: a failed model or test fails the flow before
anything downstream starts. ``train`` and ``score`` rebuild their marts first
unless told the caller just did (``build_features=False``, as the pipeline
does after ``featurize``). Parameters default to ``enrich.yml``'s values.
Each flow returns a small summary (what the CLI prints), a dataclass of
:mod:`flows.outcomes`. The dbt selections are named selectors of
``selectors.yml``; the I/O tasks retry as ``orchestration`` says
(:func:`flows.tasks.io_tasks`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from prefect import Flow, flow, get_run_logger

from flows import tasks
from flows.outcomes import (
    ActivateOutcome,
    FeaturizeOutcome,
    LoadOutcome,
    ModelOutcome,
    PipelineOutcome,
    RefreshOutcome,
    ScoreOutcome,
    TrainOutcome,
)
from ml import report
from ml.core.clock import StageClock
from ml.core.config import Settings, load_settings
from ml.core.engines import Engine
from ml.features.builds import ml_set_build
from ml.features.export import Export
from ml.model.frames import PredictionModel, prediction_model, prediction_models
from ml.synthetic import generator_params

# Named selectors of selectors.yml.
TRAINING_MARTS = "training_marts"
SCORING_MARTS = "scoring_marts"
ENRICHED_PROFILES = "enriched_profiles"
# When another engine built the scoring set, the warehouse's upstream of the
# enriched profiles may be stale: rebuild it too.
ENRICHED_PROFILES_AND_UPSTREAM = "enriched_profiles_and_upstream"


@flow(name="load")
def load_flow(
    profiles: int | None = None,
    seed: int | None = None,
    as_of: dt.date | None = None,
    weeks: int | None = None,
    horizon_days: int | None = None,
    paths: list[str] | None = None,
    dataset: str | None = None,
    identity_field: str | None = None,
    replace: bool = False,
) -> LoadOutcome:
    """Load XDM files when ``paths`` are given, else generate synthetic data.

    Args:
        profiles: Synthetic profiles to generate (default: ``generate.profiles``).
        seed: Generator seed (default: ``generate.seed``).
        as_of: Last day of generated history (default: today, UTC).
        weeks: Weeks of history (default: ``generate.weeks``).
        horizon_days: The simulated future's length (default: the config's).
        paths: XDM files or folders, local or ``s3://``.
        dataset: ``experience_events`` or ``profiles`` (default:
            ``experience_events``).
        identity_field: Where the profile identity sits in each record.
        replace: Drop earlier generated datasets first.
    """
    settings = load_settings()
    if paths:
        step = tasks.io_tasks(settings).load_files
        results = step(settings, paths, dataset, identity_field)
    else:
        params = generator_params(settings, profiles, seed, as_of, weeks, horizon_days)
        results = tasks.generate_and_load(settings, params, replace)
    return LoadOutcome(
        batches=results,
        events=sum(
            r.records_loaded for r in results if r.dataset == "experience_events"
        ),
    )


@flow(name="featurize")
def featurize_flow(
    full_refresh: bool = False,
    select: list[str] | None = None,
    as_of: dt.date | None = None,
    target: str | None = None,
) -> FeaturizeOutcome:
    """Build and test the dbt project.

    Args:
        full_refresh: Rebuild incremental models from scratch.
        select: dbt node selection (default: everything).
        as_of: The prediction's as_of (default: the latest event time).
        target: ``warehouse``, ``duckdb`` or ``spark`` (default:
            ``featurize.target``).
    """
    settings = load_settings()
    run = tasks.dbt_build(
        settings,
        full_refresh=full_refresh,
        select=select or (),
        dbt_vars={"as_of": as_of.isoformat()} if as_of else None,
        target=target,
    )
    return FeaturizeOutcome(
        dbt=run.summary(),
        nodes=len(run.nodes),
        target=target or settings.featurize.target,
    )


def _train_datasets(targets: list[PredictionModel]) -> list[str]:
    """What the train flow exports, in one snapshot.

    Each prediction's training and scoring sets, and always the default
    scoring set (the ``score`` flow of the pipeline reads it without
    exporting).
    """
    names = []
    for target in targets:
        names += [target.training_set, target.scoring_set]
    return list(dict.fromkeys([*names, "ml_scoring_set"]))


@flow(name="train prediction", flow_run_name="train-{prediction}")
def train_prediction_flow(prediction: str, exported: Export) -> ModelOutcome:
    """Train one prediction's model on its export, register it, apply the gate.

    A re-run on the same rows finds its version: no fit.

    Args:
        prediction: A prediction of ``predictions.yml``.
        exported: Its training set's export.
    """
    settings = load_settings()
    target = prediction_model(settings, prediction)
    io = tasks.io_tasks(settings)
    rows = io.read_training_rows(settings, exported, target)
    found = tasks.find_trained(settings, rows, target)
    if found is not None:
        return ModelOutcome(
            prediction=prediction,
            model_name=found.model_name,
            rows=sum(found.data["rows"].values()),
            roc_auc=found.metrics["roc_auc"],
            version=found.version,
            status=found.status,
            decision="already trained on these rows: nothing to train",
        )
    trained = tasks.train_model(settings, rows, target)
    version, decision = tasks.register_and_promote(settings, trained, target)
    return ModelOutcome(
        prediction=prediction,
        model_name=version.model_name,
        rows=sum(trained.data["rows"].values()),
        roc_auc=trained.metrics["roc_auc"],
        version=version.version,
        status=version.status,
        decision=decision,
    )


@flow(name="train")
def train_flow(
    build_features: bool = True, predictions: list[str] | None = None
) -> TrainOutcome:
    """Rebuild the ML marts, export them, and train every prediction.

    Each prediction is a subflow (``train prediction``): its own model in the
    registry, its own artifacts, its own gate.

    Args:
        build_features: Run ``dbt build`` of the ML marts first (the pipeline
            passes False: its ``featurize`` flow just built them).
        predictions: Train only these predictions (default: every one of
            ``predictions.yml``, in file order).
    """
    settings = load_settings()
    targets = prediction_models(settings, predictions)
    io = tasks.io_tasks(settings)
    if build_features:
        tasks.dbt_build(settings, selector=TRAINING_MARTS)
    exported = {
        item.dataset: item
        for item in io.export_sets(settings, _train_datasets(targets))
    }
    return TrainOutcome(
        models=[
            train_prediction_flow(target.name, exported[target.training_set])
            for target in targets
        ]
    )


@flow(name="score")
def score_flow(
    model_version: int | None = None,
    as_of: dt.date | None = None,
    build_features: bool = True,
) -> ScoreOutcome:
    """Score every eligible profile and write the scores onto the profiles.

    Args:
        model_version: Score with this version (default: production).
        as_of: Score the export of this as_of (default: the latest).
        build_features: Rebuild and export the scoring set first (the
            pipeline passes False: its ``train`` flow just exported it).
    """
    settings = load_settings()
    logger = get_run_logger()
    io = tasks.io_tasks(settings)
    if build_features:
        tasks.dbt_build(
            settings,
            selector=SCORING_MARTS,
            dbt_vars={"as_of": as_of.isoformat()} if as_of else None,
        )
        io.export_sets(settings, ["ml_scoring_set"])
    scored = io.score_profiles(settings, model_version, as_of)
    ingested = io.ingest_scores(settings, scored)

    elsewhere = ml_set_build(settings, "ml_scoring_set").target.reads_lake
    tasks.dbt_build(
        settings,
        selector=ENRICHED_PROFILES_AND_UPSTREAM if elsewhere else ENRICHED_PROFILES,
        target=Engine.WAREHOUSE,
    )
    table = tasks.backtest(settings, ingested)
    logger.info(
        "%s profiles scored by %s v%s as of %s",
        f"{scored.rows:,}",
        ingested.model_name,
        ingested.model_version,
        ingested.as_of.date(),
    )
    return ScoreOutcome(
        profiles=scored.rows,
        ingest=ingested.status,
        batch_id=ingested.batch_id,
        backtest=table,
    )


@flow(name="activate")
def activate_flow(
    audience_ids: list[str] | None = None, dry_run: bool = False
) -> ActivateOutcome:
    """Build the audiences, then send their changes to the destinations.

    Args:
        audience_ids: Activate only these audiences (default: all).
        dry_run: Build, count and show; send and record nothing.
    """
    settings = load_settings()
    built = tasks.build_audiences(settings)
    step = tasks.io_tasks(settings).activate_audiences
    deliveries = step(settings, audience_ids, dry_run)
    return ActivateOutcome(
        members=sum(row["count_members"] for row in built.audiences),
        changes=sum(d.entered + d.exited for d in deliveries),
        build=built,
        deliveries=deliveries,
    )


@flow(name="refresh")
def refresh_flow(model_version: int | None = None) -> RefreshOutcome:
    """Score every profile, then activate the audiences (the daily run)."""
    return RefreshOutcome(
        score=score_flow(model_version=model_version),
        activate=activate_flow(),
    )


def _loaded_data(
    settings: Settings, paths: list[str] | None, identity_field: str | None
) -> tuple[LoadOutcome, int]:
    """Load ``paths`` if any, then count what the warehouse holds (none: fail)."""
    loaded = (
        load_flow(paths=paths, identity_field=identity_field)
        if paths
        else LoadOutcome(batches=[], events=0)
    )
    return loaded, tasks.loaded_events(settings)


@flow(name="pipeline")
def pipeline_flow(
    profiles: int | None = None,
    seed: int | None = None,
    as_of: dt.date | None = None,
    weeks: int | None = None,
    horizon_days: int | None = None,
    full_refresh: bool = True,
    featurize_target: str | None = None,
    source: Literal["generate", "loaded"] | None = None,
    paths: list[str] | None = None,
    identity_field: str | None = None,
) -> PipelineOutcome:
    """The whole pipeline on generated or loaded data, ending in the run report.

    Args:
        profiles: Synthetic profiles (default: ``generate.profiles``).
        seed: Generator seed (default: ``generate.seed``).
        as_of: Last day of history (default: today, UTC).
        weeks: Weeks of history (default: ``generate.weeks``).
        horizon_days: The simulated future's length (default: the config's).
        full_refresh: Rebuild dbt's incremental models (the demo replaces
            its dataset, so by default it does).
        featurize_target: Featurize on ``warehouse``, ``duckdb`` or ``spark``
            (default: ``featurize.target``).
        source: ``generate`` (synthetic data, replacing the previous
            synthetic dataset) or ``loaded`` (what the warehouse holds;
            the generator's parameters are then unused). Default:
            ``run.source``; ``loaded`` when ``paths`` are given.
        paths: XDM event files or folders (local or ``s3://``) to load
            first, as ``enrich load`` does.
        identity_field: Where the identity sits in those files' records
            (default: ``load.identity_field``).

    Raises:
        NothingLoadedError: On loaded data, when the warehouse holds no
            experience events (before any dbt build).
    """
    settings = load_settings()
    source = source or ("loaded" if paths else settings.run.source)
    clock = StageClock()
    with clock.stage("data") as stage:
        if source == "generate":
            loaded = load_flow(
                profiles=profiles,
                seed=seed,
                as_of=as_of,
                weeks=weeks,
                horizon_days=horizon_days,
                replace=True,
            )
            events = loaded.events
        else:
            loaded, events = _loaded_data(settings, paths, identity_field)
        stage.items, stage.unit = events, "events"
    with clock.stage("featurize"):
        featurize_flow(full_refresh=full_refresh, target=featurize_target)
    with clock.stage("train") as stage:
        trained = train_flow(build_features=False)
        stage.items, stage.unit = trained.rows, "rows"
    with clock.stage("score") as stage:
        scored = score_flow(build_features=False)
        stage.items, stage.unit = scored.profiles, "profiles"
    with clock.stage("activate") as stage:
        activated = activate_flow()
        stage.items, stage.unit = activated.members, "members"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    with clock.stage("report"):
        path = tasks.write_report(settings, clock.as_dict(), f"run-{stamp}")
    report.write_run_record(settings, f"run-{stamp}", clock.as_dict())
    return PipelineOutcome(
        source=source,
        events=events,
        loaded=loaded,
        trained=trained,
        scored=scored,
        activated=activated,
        report=path,
        stages=clock.as_dict(),
    )


FLOWS: dict[str, Flow[..., Any]] = {
    "load": load_flow,
    "featurize": featurize_flow,
    "train": train_flow,
    "train prediction": train_prediction_flow,
    "score": score_flow,
    "activate": activate_flow,
    "refresh": refresh_flow,
    "pipeline": pipeline_flow,
}
"""Every flow by its name (``orchestration.deployments`` name them so)."""
