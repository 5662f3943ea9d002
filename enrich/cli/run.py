"""``enrich run``: the whole pipeline as one Prefect flow (``pipeline``)."""

from __future__ import annotations

import argparse

from enrich.cli import printers
from enrich.cli.common import echo
from enrich.cli.data import generator_params_of
from enrich.cli.launch import flow

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


def run(args: argparse.Namespace) -> int:
    """The pipeline on the embedded defaults, as one Prefect flow (``pipeline``)."""
    params = generator_params_of(args)
    echo(
        f"pipeline: {params.profiles:,} profiles as of {params.as_of}: load, "
        "featurize, train, score, activate, report"
    )
    ran = flow("pipeline")(
        profiles=params.profiles,
        seed=params.seed,
        as_of=params.as_of,
        weeks=params.weeks,
        horizon_days=params.horizon_days,
        featurize_target=args.target,
    )
    printers.batches(ran.loaded.batches)
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
    return 0
