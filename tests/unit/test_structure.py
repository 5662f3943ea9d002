"""The house rules are enforced: each check fails on a planted fault."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import check_structure

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The project's packages and import contracts, in a folder of their own."""
    for package in ("ml", "flows", "enrich"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_the_project_keeps_its_import_contracts(copy):
    result = _lint_imports(copy)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


def test_a_library_import_of_the_flows_breaks_the_contracts(copy):
    _append(copy / "ml" / "core" / "clock.py", "\nimport flows.tasks  # noqa\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "ml.core.clock -> flows.tasks" in result.stdout


def test_an_import_cycle_breaks_the_contracts(copy):
    # engines already imports warehouse; warehouse importing engines is a cycle
    _append(copy / "ml" / "core" / "warehouse.py", "\nimport ml.core.engines  # noqa\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "No import cycles between sibling modules, at any depth BROKEN" in (
        result.stdout
    )


def test_a_stage_reaching_into_another_breaks_the_contracts(copy):
    _append(
        copy / "ml" / "model" / "registry.py", "\nimport ml.activation.rules  # noqa\n"
    )
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "Stages meet only through their declared public modules BROKEN" in (
        result.stdout
    )


def test_the_project_keeps_its_structure_rules():
    assert check_structure.check(ROOT) == []


def test_a_project_import_inside_a_function_is_found(tmp_path):
    (tmp_path / "ml").mkdir()
    (tmp_path / "ml" / "stage.py").write_text(
        "import json\n\n\ndef f():\n    import pyarrow\n    from ml.core import sql\n"
        "    return json, pyarrow, sql\n"
    )
    [finding] = check_structure.check(tmp_path)
    assert finding.startswith("ml/stage.py:6: project import inside f()")


def test_long_modules_and_functions_need_a_reason(tmp_path):
    (tmp_path / "flows").mkdir()
    body = "".join(f"    x{n} = {n}\n" for n in range(90))
    (tmp_path / "flows" / "long.py").write_text(f"def f():\n{body}")
    (tmp_path / "flows" / "reasoned.py").write_text(
        f"def f():\n    # Long: one table of steps, read top to bottom.\n{body}"
    )
    (tmp_path / "flows" / "big.py").write_text("x = 1\n" * 501)
    found = check_structure.check(tmp_path)
    assert [line.split(":")[0] for line in found] == ["flows/big.py", "flows/long.py"]
    assert "f() has 91 lines" in found[1]
