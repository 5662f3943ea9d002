"""Lint the dbt project's SQL with sqlfluff (dbt templater, rules in .sqlfluff).

The dbt templater compiles each model against the warehouse, so the
embedded PostgreSQL of ENRICH_HOME (default ``.enrich/`` in the project) is
started first when it is not running, and dbt is pointed at it through the
project's ``profiles.yml`` (or at the external warehouse of
``ENRICH_DATABASE_URL``). Macro files are not linted: the dbt templater
skips them (it lints what dbt compiles, and macros compile inside the
models that call them).

Usage, from anywhere::

    .venv/bin/python tools/lint_sql.py [PATH ...]

Prints one line per violation and exits 1 when there is any, 0 when clean.
A file dbt cannot compile (sqlfluff skips it with a warning) counts as a
violation: the models read the warehouse while they compile (the event
catalogue seed, star_except's columns). On a warehouse where dbt never ran,
the seeds are loaded and the models built over the empty raw tables
(``dbt seed``, ``dbt run``) before linting.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ml.core import relations, warehouse
from ml.core.config import Settings, load_settings
from ml.features import featurize

PROJECT_DIR = Path(__file__).resolve().parents[1]
# What the dbt templater can lint: models and singular tests.
LINTED_PATHS = ("models", "tests/dbt")
# sqlfluff's warning for a file the dbt templater could not compile.
SKIPPED = re.compile(r"Skipped file (\S+) because (.+)\n?[ \t]*(.*)")
BUILD_FIRST = (
    "dbt compiles the models against the warehouse: build it first "
    "(enrich generate, then enrich featurize)"
)


@dataclass(frozen=True)
class Violation:
    """One rule a file breaks, where sqlfluff found it."""

    path: str
    line: int
    column: int
    code: str
    description: str

    def __str__(self) -> str:
        """``path:line:column CODE description``, as editors link it."""
        return f"{self.path}:{self.line}:{self.column} {self.code} {self.description}"


@dataclass(frozen=True)
class LintResult:
    """The files sqlfluff read and the violations it found in them."""

    files: list[str]
    violations: list[Violation]


def sqlfluff_command(paths: tuple[str, ...] = LINTED_PATHS) -> list[str]:
    """The sqlfluff invocation: JSON out, the exit code left to the caller.

    Args:
        paths: Folders or files, relative to the project folder.

    Returns:
        The command line, with the sqlfluff beside this Python.
    """
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    return [str(sqlfluff), "lint", *paths, "--nofail", "--format", "json"]


def lint(
    project_dir: Path, environment: dict[str, str], paths: tuple[str, ...]
) -> LintResult:
    """Run sqlfluff over ``paths`` of the project and collect its findings.

    Args:
        project_dir: The dbt project (where ``.sqlfluff`` lives).
        environment: Variables that point dbt's profile at the warehouse
            (``warehouse.dbt_environment``), added to this process's.
        paths: Folders or files, relative to the project folder.

    Returns:
        The files linted and every violation, in sqlfluff's order.

    Raises:
        RuntimeError: sqlfluff itself failed (no report to read).
    """
    result = subprocess.run(  # noqa: S603 - our own sqlfluff, fixed arguments
        sqlfluff_command(paths),
        cwd=project_dir,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        files = json.loads(result.stdout) if result.returncode == 0 else None
    except json.JSONDecodeError:
        files = None
    if files is None:
        raise RuntimeError(
            f"sqlfluff failed (exit {result.returncode}):\n{result.stderr}"
        )
    reasons = {
        Path(path).resolve(): f"{reason} {detail}".strip()
        for path, reason, detail in SKIPPED.findall(result.stderr)
    }
    violations = []
    for item in files:
        violations += [
            Violation(
                path=item["filepath"],
                line=found.get("start_line_no", 0),
                column=found.get("start_line_pos", 0),
                code=found["code"],
                description=found["description"],
            )
            for found in item["violations"]
        ]
        if item["statistics"]["segments"] == 0:  # skipped, not linted
            reason = reasons.get((project_dir / item["filepath"]).resolve(), "")
            violations.append(
                Violation(item["filepath"], 0, 0, "TMP", f"not linted: {reason}")
            )
    return LintResult([item["filepath"] for item in files], violations)


def _build_empty_if_needed(settings: Settings) -> None:
    """Seeds and empty models, when dbt never built this warehouse."""
    with warehouse.connect(settings, autocommit=True) as conn:
        warehouse.ensure_schemas(conn)
        built = warehouse.exists(conn, relations.ML_SCORING_SET)
    if not built:
        print("dbt never ran here: loading the seeds, building the models (empty)")
        featurize.run_dbt(settings, ["seed"])
        featurize.run_dbt(settings, ["run"])


def main(argv: list[str]) -> int:
    """Start the warehouse if needed, lint, print, and return the exit code."""
    os.chdir(PROJECT_DIR)  # enrich.yml and .sqlfluff are found from here
    started = time.monotonic()
    settings = load_settings()
    if settings.database_url is None:
        warehouse.start_embedded(settings)
    _build_empty_if_needed(settings)
    environment = {
        "ENRICH_HOME": str(settings.home),
        **warehouse.dbt_environment(settings),
    }
    paths = tuple(argv) or LINTED_PATHS
    try:
        result = lint(settings.project_dir, environment, paths)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    for violation in result.violations:
        print(violation)
    if any(violation.code == "TMP" for violation in result.violations):
        print(BUILD_FIRST)
    seconds = time.monotonic() - started
    print(
        f"sqlfluff: {len(result.violations)} violation(s) in "
        f"{len(result.files)} file(s) of {', '.join(paths)} ({seconds:.0f} s)",
        file=sys.stderr,
    )
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
