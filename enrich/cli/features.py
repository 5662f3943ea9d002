"""``enrich featurize`` (flow ``featurize``) and ``enrich export``."""

from __future__ import annotations

import argparse

from enrich.cli.common import echo, settings
from enrich.cli.launch import flow
from ml.features import export as exports


def featurize(args: argparse.Namespace) -> int:
    """Build and test the dbt project: staging, EDA marts, features, labels."""
    built = flow("featurize")(
        full_refresh=args.full_refresh,
        select=args.select,
        as_of=args.as_of,
        target=args.target,
    )
    echo(f"dbt build on {built.target}: {built.dbt}")
    return 0


def export(args: argparse.Namespace) -> int:
    """Export the training and scoring sets to the lake."""
    names = {
        "training": ["ml_training_set"],
        "scoring": ["ml_scoring_set"],
        "all": list(exports.DATASETS),
    }[args.dataset]
    for exported in exports.export(settings(), names, args.target):
        print(f"{exported.dataset}: {exported.rows:,} rows -> {exported.folder}")
    return 0
