"""The flows the commands run, their console quiet about expected errors.

Importing this imports Prefect: the dispatcher of :mod:`enrich.cli` prepares
Prefect's environment (:mod:`enrich.cli.environment`) before it imports a
command module that imports this one.
"""

from __future__ import annotations

from prefect import Flow

from flows.pipeline import FLOWS
from flows.runtime import quiet_expected_tracebacks


def flow(name: str) -> Flow:
    """A Prefect flow of ``flows/`` by name (``load``, ``train``, ...).

    Without ``PREFECT_API_URL`` Prefect starts a temporary server for the
    run (tens of seconds here); with it, the flow runs against that server.
    """
    quiet_expected_tracebacks()
    return FLOWS[name]
