"""``enrich report``: the run report of what the warehouse holds now."""

from __future__ import annotations

import argparse
import webbrowser

from enrich.cli.common import settings
from ml import report as reports


def report(args: argparse.Namespace) -> int:
    """Write the run report (HTML with plots) of what the warehouse holds now."""
    path = reports.write_report(settings())
    print(path)
    if args.open:
        webbrowser.open(path.as_uri())
    return 0
