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
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
# Runs a command, then reports its wall time and the peak RSS of the largest
# process it waited for (the command itself, or initdb/pg_ctl under it; the
# PostgreSQL server is a daemon and is not counted). A fresh interpreter per
# measurement, so each maximum belongs to one command only. Usage:
# python -c MEASURED_WRAPPER REPORT_JSON COMMAND...
MEASURED_WRAPPER = """\
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024
with open(sys.argv[1], "w") as handle:
    json.dump({"returncode": code, "wall_s": wall, "peak_rss_bytes": peak * scale},
              handle)
"""


def say(text: str) -> None:
    """Progress to stderr (stdout carries the table)."""
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def fresh_home(prefix: str) -> Iterator[Any]:
    """Settings for a new ENRICH_HOME, stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix=f"enrich-bench-{prefix}-", dir="/tmp"))
    os.environ["ENRICH_HOME"] = str(home)
    from ml.core import warehouse
    from ml.core.config import load_settings

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


def run_measured(
    command: list[str],
    env: dict[str, str] | None = None,
    on_line: Callable[[str, float], None] | None = None,
    log_tail: int = 40,
) -> dict[str, Any]:
    """Run a command in a measuring child; its stderr goes to ours as progress.

    Args:
        command: The command and its arguments.
        env: Its environment (default: ours).
        on_line: Called with each stderr line and the time it arrived
            (``time.perf_counter()``), to time the command's own steps.
        log_tail: How many last lines of stderr to keep.

    Returns:
        ``returncode``, ``wall_s``, ``peak_rss_bytes`` and the last lines of
        stderr (``log``), for parsing the command's own timings.

    Raises:
        RuntimeError: The command failed (its last lines say why).
    """
    with tempfile.TemporaryDirectory(prefix="enrich-bench-") as scratch:
        report = Path(scratch) / "measured.json"
        lines: list[str] = []
        with subprocess.Popen(
            [sys.executable, "-c", MEASURED_WRAPPER, str(report), *command],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stderr is not None  # noqa: S101 - set by stderr=PIPE
            for raw in child.stderr:
                arrived = time.perf_counter()
                line = raw.rstrip("\n")
                say(f"    | {line}")
                if on_line is not None:
                    on_line(line, arrived)
                lines = [*lines[-(log_tail - 1) :], line]
        outcome = json.loads(report.read_text())
    outcome["log"] = lines
    if outcome["returncode"] != 0:
        raise RuntimeError(
            f"exited with {outcome['returncode']}: " + " / ".join(lines[-3:])
        )
    return outcome
