"""Scheduled deployments from ``enrich.yml``, served by ``enrich serve``.

Each entry of ``orchestration.deployments`` names a flow, a cron schedule
(with its timezone) and parameters. ``serve`` registers them with the Prefect
server of ``PREFECT_API_URL`` and runs their scheduled runs in this process
until it is stopped (Ctrl-C or SIGTERM), pausing the schedules on the way out.
"""

from __future__ import annotations

import logging
from typing import Any

from flows.pipeline import FLOWS
from ml.core.config import Settings

logger = logging.getLogger(__name__)

TAGS = ["enrich"]


def deployments(settings: Settings) -> list[Any]:
    """One Prefect deployment per ``orchestration.deployments`` entry."""
    from prefect.schedules import Cron

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
    """Register the deployments and serve their runs until stopped.

    Prefect's runner handles SIGTERM once it has started; a SIGTERM that
    comes while the deployments are still being registered stops cleanly
    too, instead of killing the process.
    """
    import signal

    from prefect import serve as prefect_serve
    from prefect.exceptions import TerminationSignal

    def stop(number: int, _frame: Any) -> None:
        raise TerminationSignal(signal=number)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        prefect_serve(*deployments(settings))
    except TerminationSignal:
        logger.info("stopped before serving began")
    finally:
        signal.signal(signal.SIGTERM, previous)
