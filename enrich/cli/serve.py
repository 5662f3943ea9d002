"""``enrich serve``: the scheduled deployments of ``enrich.yml``."""

from __future__ import annotations

import argparse

from enrich.cli.common import echo, settings
from flows import deployments


def serve(args: argparse.Namespace) -> int:
    """Register the scheduled deployments of enrich.yml and serve their runs.

    The dispatcher checked ``PREFECT_API_URL`` and prepared Prefect's
    environment first (:func:`enrich.cli.environment.prepare_serving`).
    """
    current = settings()
    for name, spec in current.orchestration.deployments.items():
        echo(f"{name}: flow {spec.flow}, cron {spec.cron!r} ({spec.timezone})")
    deployments.serve(current)
    return 0
