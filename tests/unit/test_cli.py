"""The command line answers fast and imports nothing heavy to do so."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ENRICH = Path(sys.executable).parent / "enrich"


def test_help_answers_well_under_two_seconds():
    started = time.perf_counter()
    result = subprocess.run(
        [str(ENRICH), "--help"], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    assert "generate" in result.stdout and "load" in result.stdout
    assert elapsed < 2.0, elapsed


def test_cli_module_imports_no_heavy_library():
    code = (
        "import sys, ml.cli; "
        "heavy = {'numpy', 'pyarrow', 'psycopg', 'pandas', 'pydantic', 'dbt', "
        "'prefect'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_user_errors_print_without_traceback(tmp_path):
    result = subprocess.run(
        [str(ENRICH), "load", str(tmp_path / "missing.jsonl")],
        capture_output=True,
        text=True,
        env={"ENRICH_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
