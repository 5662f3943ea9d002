"""What the command modules share: the settings and the console."""

from __future__ import annotations

import sys

from ml.core.config import Settings, load_settings
from ml.core.errors import EnrichError


class UsageError(EnrichError):
    """A command's options contradict each other or the settings."""


def settings() -> Settings:
    """The project's settings (``enrich.yml`` and ``ENRICH_*`` variables)."""
    return load_settings()


def echo(text: str) -> None:
    """A progress or hint line, on stderr (stdout holds the results)."""
    print(text, file=sys.stderr, flush=True)
