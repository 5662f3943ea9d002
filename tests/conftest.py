"""Shared fixtures: an isolated ENRICH_HOME per test session, settings."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


@pytest.fixture(scope="session")
def enrich_home() -> Iterator[Path]:
    """A private ENRICH_HOME (short path: the server's socket lives there)."""
    home = Path(tempfile.mkdtemp(prefix="enrich-test-", dir="/tmp"))
    previous = os.environ.get("ENRICH_HOME")
    os.environ["ENRICH_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("ENRICH_HOME", None)
    else:
        os.environ["ENRICH_HOME"] = previous
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(enrich_home: Path):
    from ml.config import load_settings

    return load_settings()
