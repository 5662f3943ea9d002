"""Scheduled deployments from ``enrich.yml``, served by ``enrich serve``.

Each entry of ``orchestration.deployments`` names a flow, a cron schedule
(with its timezone) and parameters. ``serve`` registers them with the Prefect
server of ``PREFECT_API_URL`` and runs their scheduled runs in this process
until it is stopped (Ctrl-C or SIGTERM), pausing the schedules on the way out.
"""

from __future__ import annotations

from typing import Any

from ml.config import Settings

TAGS = ["enrich"]


def deployments(settings: Settings) -> list[Any]:
    """One Prefect deployment per ``orchestration.deployments`` entry."""
    from prefect.schedules import Cron

    from flows.pipeline import FLOWS

    return [
        FLOWS[spec.flow].to_deployment(
            name=name,
            schedule=Cron(spec.cron, timezone=spec.timezone),
            parameters=spec.parameters,
            description=spec.description,
            tags=TAGS,
        )
        for name, spec in settings.orchestration.deployments.items()
    ]


def serve(settings: Settings) -> None:
    """Register the deployments and serve their runs until stopped."""
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(settings))
