"""``enrich predictions validate`` and ``enrich predictions sync``."""

from __future__ import annotations

import argparse

from enrich.cli.common import echo, settings
from ml.core import predictions
from ml.core.predictions import Prediction


def describe(item: Prediction) -> str:
    """One line: the kind, the target, the eligibility and the windows."""
    target = item.target.event_type or "any event"
    if item.target.where:
        target += f" where {item.target.where}"
    label = {
        "first": "a first",
        "repeat": "at least one",
        "churn": "no",
    }[item.kind]
    start = item.gap_days
    end = item.gap_days + item.horizon_days
    parts = [
        f"{item.kind}: {label} {target} in [cutoff + {start} d, cutoff + {end} d)",
        f"{item.training_cutoffs} training cutoffs {item.cutoff_step_days} d apart",
    ]
    if item.kind == "repeat" and item.previous_only:
        parts.append("only profiles that did it before")
    if item.kind == "churn":
        parts.append(f"eligible if active within {item.active_days} d")
    if item.eligible:
        parts.append(f"eligible where {item.eligible}")
    return "; ".join(parts)


def validate(args: argparse.Namespace) -> int:
    """Check every prediction; say whether dbt_project.yml holds the spec."""
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
    return 0


def sync(args: argparse.Namespace) -> int:
    """Rewrite the generated predictions block of dbt_project.yml."""
    current = settings()
    found = predictions.load_predictions(current)
    project = predictions.dbt_project_file(current)
    if predictions.sync(current, found):
        print(
            f"{project}: predictions block rewritten ({len(found.items)} predictions)"
        )
    else:
        print(f"{project}: predictions block already current")
    return 0
