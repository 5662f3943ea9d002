"""Prefect's environment for enrich, set before Prefect is first imported.

The command modules import ``flows`` (and so Prefect) at their top; the
dispatcher of :mod:`enrich.cli` runs :func:`prepare` before it imports them.
This module imports no Prefect.
"""

from __future__ import annotations

import os

from flows.runtime import prepare_environment
from ml.core.config import load_settings
from ml.core.errors import EnrichError


def prepare() -> None:
    """Set Prefect's environment from the project's settings."""
    prepare_environment(load_settings())


def prepare_serving() -> None:
    """Refuse to serve without a long-lived server, else :func:`prepare`."""
    settings = load_settings()
    if not os.environ.get("PREFECT_API_URL"):
        raise EnrichError(
            "PREFECT_API_URL is not set: deployments need a long-lived Prefect "
            "server. Start one (`.venv/bin/prefect server start`) and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api."
        )
    prepare_environment(settings)
