"""The commands that run a Prefect flow, and the flows they run.

These are generate, load, featurize, train, score, activate and run.

Importing this imports Prefect and the flows: the dispatcher of
:mod:`enrich.cli` prepares Prefect's environment
(:mod:`enrich.cli.environment`) before it imports this module, and only for
these commands; the others run the library directly.
"""

from __future__ import annotations

import argparse
from typing import ParamSpec, TypeVar

from prefect import Flow

from enrich.cli import printers
from enrich.cli.common import UsageError, echo, settings
from flows.outcomes import PipelineOutcome
from flows.pipeline import (
    activate_flow,
    featurize_flow,
    load_flow,
    pipeline_flow,
    score_flow,
    train_flow,
)
from flows.runtime import quiet_expected_tracebacks
from ml.core.storage import local_files
from ml.data import read
from ml.synthetic import GeneratorParams, generator_params

P = ParamSpec("P")
R = TypeVar("R")

LOOK_AT_THEM = (
    "features in schema ml, exploration marts in eda, the model in the "
    "registry, scores on every profile in profiles.profiles_enriched, "
    "audiences in schema audiences and their files in the lake's "
    "activation folder. Look at them:\n"
    "  .venv/bin/enrich model show --json\n"
    "  .venv/bin/enrich db psql -c 'select decile, count(*), avg(propensity) "
    "from profiles.profiles_enriched group by 1 order by 1'\n"
    "  .venv/bin/enrich audiences size likely_subscribers\n"
    "  .venv/bin/dbt docs generate && .venv/bin/dbt docs serve"
)


def prepared(flow: Flow[P, R]) -> Flow[P, R]:
    """A Prefect flow of ``flows/``, the console's log lines prepared for it.

    Without ``PREFECT_API_URL`` Prefect starts a temporary server for the
    run (tens of seconds here); with it, the flow runs against that server.
    The flow keeps its type: calling it returns its outcome
    (:mod:`flows.outcomes`).
    """
    quiet_expected_tracebacks()
    return flow


def generator_params_of(args: argparse.Namespace) -> GeneratorParams:
    """The generator's parameters: the options given, else ``generate``'s."""
    return generator_params(
        settings(), args.profiles, args.seed, args.as_of, args.weeks, args.horizon_days
    )


def generate(args: argparse.Namespace) -> int:
    """Generate synthetic XDM data and load it into the warehouse (flow ``load``)."""
    params = generator_params_of(args)
    echo(
        f"generating {params.profiles:,} profiles, seed {params.seed}, "
        f"as_of {params.as_of}, {params.weeks} weeks, {params.n_chunks} chunk(s)"
    )
    loaded = prepared(load_flow)(
        profiles=params.profiles,
        seed=params.seed,
        as_of=params.as_of,
        weeks=params.weeks,
        horizon_days=params.horizon_days,
        replace=args.replace,
    )
    printers.batches(loaded.batches)
    return 0


def load(args: argparse.Namespace) -> int:
    """Load XDM files (JSON Lines, .gz, Parquet; local or s3://) (flow ``load``)."""
    for path in args.paths:  # a typo fails here, before any server starts
        if not str(path).startswith("s3://"):
            next(local_files(str(path), ("",)))
    loaded = prepared(load_flow)(
        paths=[str(path) for path in args.paths],
        dataset=args.dataset,
        identity_field=args.identity_field,
    )
    printers.batches(loaded.batches)
    return 0


def featurize(args: argparse.Namespace) -> int:
    """Build and test the dbt project: staging, EDA marts, features, labels."""
    built = prepared(featurize_flow)(
        full_refresh=args.full_refresh,
        select=args.select,
        as_of=args.as_of,
        target=args.target,
    )
    echo(f"dbt build on {built.target}: {built.dbt}")
    return 0


def train(args: argparse.Namespace) -> int:
    """Build the ML marts, export, train, register, gate (flow ``train``)."""
    trained = prepared(train_flow)(
        build_features=not args.skip_dbt,
        predictions=None if args.prediction is None else [args.prediction],
    )
    for item in trained.models:
        print(
            f"{item.prediction} ({item.model_name}) v{item.version} "
            f"({item.status}): {item.decision}"
        )
    return 0


def score(args: argparse.Namespace) -> int:
    """Score, ingest, rebuild the enriched profiles (flow ``score``)."""
    scored = prepared(score_flow)(
        model_version=args.model_version,
        as_of=args.as_of,
        build_features=not args.skip_dbt,
    )
    print(
        f"{scored.profiles:,} profiles scored; ingest {scored.ingest} "
        f"({scored.batch_id}); profiles.profiles_enriched rebuilt"
    )
    printers.backtest(scored.backtest)
    return 0


def activate(args: argparse.Namespace) -> int:
    """Build the audiences, then deliver their changes (flow ``activate``)."""
    activated = prepared(activate_flow)(
        audience_ids=args.ids or None, dry_run=args.dry_run
    )
    printers.build(activated.build)
    printers.deliveries(activated.deliveries)
    return 0


GENERATOR_OPTIONS = ("profiles", "seed", "as_of", "weeks", "horizon_days")


def run_source(args: argparse.Namespace) -> str:
    """``generate`` or ``loaded``: the options given, else ``run.source``.

    Raises:
        UsageError: The options contradict each other.
    """
    given = [name for name in GENERATOR_OPTIONS if getattr(args, name) is not None]
    if args.load and args.generate:
        raise UsageError("--load runs on loaded data: drop --generate.")
    if args.identity_field and not args.load:
        raise UsageError("--identity-field applies to the --load files: add --load.")
    if args.load:
        source = "loaded"
    elif args.generate is not None:
        source = "generate" if args.generate else "loaded"
    else:
        source = settings().run.source
    if source == "loaded" and given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(
            f"{flags}: generator options, but this run uses the loaded data "
            "(--no-generate, --load or run.source: loaded); drop them."
        )
    return source


def run(args: argparse.Namespace) -> int:
    """The pipeline, as one Prefect flow (``pipeline``): generated or loaded data."""
    source = run_source(args)
    if source == "generate":
        params = generator_params_of(args)
        echo(
            f"pipeline: {params.profiles:,} profiles as of {params.as_of}: load, "
            "featurize, train, score, activate, report"
        )
        ran = prepared(pipeline_flow)(
            profiles=params.profiles,
            seed=params.seed,
            as_of=params.as_of,
            weeks=params.weeks,
            horizon_days=params.horizon_days,
            featurize_target=args.target,
        )
    else:
        paths = [str(path) for path in args.load or ()]
        for path in paths:  # a typo fails here, before any server starts
            if not path.startswith("s3://"):
                next(local_files(path, ("",)))
        if not paths:  # nothing loaded fails here too, in one line
            read.loaded_events(settings())
        echo(
            "pipeline on the loaded data"
            + (f" after loading {len(paths)} path(s)" if paths else "")
            + ": featurize, train, score, activate, report"
        )
        ran = prepared(pipeline_flow)(
            featurize_target=args.target,
            source="loaded",
            paths=paths or None,
            identity_field=args.identity_field,
        )
    _print_run(ran)
    return 0


def _print_run(ran: PipelineOutcome) -> None:
    if ran.loaded.batches:
        printers.batches(ran.loaded.batches)
    echo(f"{ran.events:,} experience events ({ran.source})")
    trained = ran.trained
    print(f"model v{trained.version} ({trained.status}): {trained.decision}")
    printers.backtest(ran.scored.backtest)
    printers.build(ran.activated.build)
    printers.deliveries(ran.activated.deliveries)
    echo("stages:")
    for stage in ran.stages["stages"]:
        echo(
            f"  {stage['name']:<10} {stage['seconds']:>7.1f} s  "
            f"peak {stage['peak_rss_bytes'] / 2**20:>6,.0f} MiB"
        )
    echo(f"\nthe run report: {ran.report}")
    echo(LOOK_AT_THEM)
