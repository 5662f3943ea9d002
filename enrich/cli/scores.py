"""``enrich score`` (flow ``score``) and ``enrich ingest``."""

from __future__ import annotations

import argparse

from enrich.cli import printers
from enrich.cli.common import settings
from enrich.cli.launch import flow
from ml.scores import writeback


def score(args: argparse.Namespace) -> int:
    """Score, ingest, rebuild the enriched profiles (flow ``score``)."""
    scored = flow("score")(
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


def ingest(args: argparse.Namespace) -> int:
    """Ingest the latest complete scores dataset into the profile store."""
    current = settings()
    result = writeback.ingest(current)
    printers.ingest(result)
    printers.backtest_of(current, result)
    return 0
