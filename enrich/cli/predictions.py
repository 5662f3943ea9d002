"""``enrich predictions validate`` and ``enrich predictions sync``."""

from __future__ import annotations

import argparse

from enrich.cli.common import echo, settings
from ml.core import prediction_files, predictions
from ml.core.prediction_files import describe

__all__ = ["describe", "sync", "validate"]


def validate(args: argparse.Namespace) -> int:
    """Check every prediction; say whether the generated dbt files are current."""
    current = settings()
    found = predictions.load_predictions(current)
    print(f"{found.path}: {len(found.items)} prediction(s) are valid")
    for number, item in enumerate(found.items):
        default = " (default)" if number == 0 else ""
        print(f"  {item.name}{default}: {describe(item)}")
    project = predictions.dbt_project_file(current)
    if not predictions.block_is_current(current, found):
        echo(
            f"{project}: the generated predictions block is stale (a plain "
            "`dbt build` would use an older spec; enrich featurize passes the "
            "current one): run `enrich predictions sync`."
        )
    stale = prediction_files.stale(current, found)
    if stale:
        names = ", ".join(str(path) for path in stale)
        echo(
            f"{current.project_dir}: generated dbt files are stale ({names}); "
            "enrich featurize refuses to build until you run "
            "`enrich predictions sync`."
        )
    return 0


def sync(args: argparse.Namespace) -> int:
    """Rewrite the generated block of dbt_project.yml and the generated models."""
    current = settings()
    found = predictions.load_predictions(current)
    project = predictions.dbt_project_file(current)
    if predictions.sync(current, found):
        print(
            f"{project}: predictions block rewritten ({len(found.items)} predictions)"
        )
    else:
        print(f"{project}: predictions block already current")
    changed = prediction_files.sync(current, found)
    for path in changed:
        done = "written" if (current.project_dir / path).exists() else "removed"
        print(f"{current.project_dir / path}: {done}")
    if not changed:
        print(f"{current.project_dir}: generated dbt files already current")
    return 0
