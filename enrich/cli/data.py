"""``enrich generate`` and ``enrich load``: data into the warehouse (flow ``load``)."""

from __future__ import annotations

import argparse

from enrich.cli import printers
from enrich.cli.common import echo, settings
from enrich.cli.launch import flow
from ml.core.storage import local_files
from ml.synthetic import GeneratorParams, generator_params


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
    loaded = flow("load")(
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
    loaded = flow("load")(
        paths=[str(path) for path in args.paths],
        dataset=args.dataset,
        identity_field=args.identity_field,
    )
    printers.batches(loaded.batches)
    return 0
