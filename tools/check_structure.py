"""Check the house rules that ruff and import-linter do not.

1. No project module (``ml``, ``flows``, ``enrich``) is imported inside a
   function: a hidden import hides a dependency from the import contracts and
   usually a cycle. Third-party imports may stay lazy (``enrich --help``
   stays fast); the CLI loads its command modules through its dispatch table.
2. No module over ``MODULE_LINES`` lines and no function over
   ``FUNCTION_LINES`` lines, unless a comment starting ``# Long:`` near its
   top says why.

Usage: ``python tools/check_structure.py [ROOT]`` (the project by default);
prints one line per finding and exits 1 when there is any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("ml", "flows", "enrich")
MODULE_LINES = 500
FUNCTION_LINES = 80
REASON = "# Long:"
# How far below a definition's first line (or a module's first line) the
# reason may stand.
REASON_WITHIN = {"module": 40, "function": 12}


def _is_project(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: always the project's
            return True
        names = [node.module or ""]
    else:
        names = [alias.name for alias in node.names]
    return any(name.split(".")[0] in PACKAGES for name in names)


def _has_reason(lines: list[str], first: int, within: int) -> bool:
    return any(
        line.strip().startswith(REASON) for line in lines[first : first + within]
    )


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def check_file(path: Path, shown: str) -> list[str]:
    """The findings of one Python file, each ``path:line: what``."""
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text, filename=str(path))
    found = []
    if len(lines) > MODULE_LINES and not _has_reason(lines, 0, REASON_WITHIN["module"]):
        found.append(
            f"{shown}:1: module of {len(lines)} lines (over {MODULE_LINES}; "
            f"split it, or say why in a '{REASON}' comment at its top)"
        )
    for function in _functions(tree):
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom) and _is_project(node):
                found.append(
                    f"{shown}:{node.lineno}: project import inside "
                    f"{function.name}() (import it at the module's top)"
                )
        length = (function.end_lineno or function.lineno) - function.lineno + 1
        if length > FUNCTION_LINES and not _has_reason(
            lines, function.lineno - 1, REASON_WITHIN["function"]
        ):
            found.append(
                f"{shown}:{function.lineno}: {function.name}() has {length} lines "
                f"(over {FUNCTION_LINES}; split it, or say why in a '{REASON}' "
                "comment at its top)"
            )
    return found


def check(root: Path) -> list[str]:
    """Every finding under the project packages of ``root``."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found.extend(check_file(path, str(path.relative_to(root))))
    return found


def main(argv: list[str]) -> int:
    """Print the findings; 1 when there is any."""
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    found = check(root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} finding(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
