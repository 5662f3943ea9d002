"""Scaffolding shared by the stage benchmarks: a throw-away warehouse, output."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def say(text: str) -> None:
    """Progress to stderr (stdout carries the table)."""
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def fresh_home(prefix: str) -> Iterator[Any]:
    """Settings for a new ENRICH_HOME, stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix=f"enrich-bench-{prefix}-", dir="/tmp"))
    os.environ["ENRICH_HOME"] = str(home)
    from ml import warehouse
    from ml.config import load_settings

    settings = load_settings()
    try:
        yield settings
    finally:
        warehouse.stop_embedded(settings)
        shutil.rmtree(home, ignore_errors=True)


def parser(description: str) -> argparse.ArgumentParser:
    """Options every benchmark takes: --seed, --as-of, --out."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--seed", type=int, default=7)
    result.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1)
    )
    result.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    return result


def write_results(out: Path, name: str, table: str, results: Any) -> None:
    """Print the table; write ``<name>.md`` and ``<name>.json`` (with the git SHA)."""
    print(table)
    out.mkdir(parents=True, exist_ok=True)
    sha = subprocess.run(
        [shutil.which("git") or "git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    payload = {"git_sha": sha, "cpu_count": os.cpu_count(), "results": results}
    (out / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
    (out / f"{name}.md").write_text(table + "\n")
