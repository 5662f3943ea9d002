"""``enrich score`` (flow ``score``) and ``enrich ingest``."""

from __future__ import annotations

import argparse

from enrich.cli import printers
from enrich.cli.common import settings
from ml.scores import writeback


def ingest(args: argparse.Namespace) -> int:
    """Ingest the latest complete scores dataset into the profile store."""
    current = settings()
    result = writeback.ingest(current)
    printers.ingest(result)
    printers.backtest_of(current, result)
    return 0
