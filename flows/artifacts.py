"""The Prefect artifacts people look at: dbt results, metrics, sizes, deliveries.

Each function turns what an ``ml`` step returned into one artifact with a
stable key, so the Artifacts page keeps the history of each.
"""

from __future__ import annotations

from typing import Any

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)


def dbt_results(run: Any) -> None:
    """Every node of a dbt invocation: status, seconds, failing rows."""
    rows = [
        {
            "node": node.unique_id,
            "status": node.status,
            "seconds": round(node.seconds, 2),
            "failures": node.failures,
            "message": (node.message or "")[:200],
        }
        for node in sorted(run.nodes, key=lambda n: (n.status == "success", n.seconds))
    ]
    failed = [node.unique_id for node in run.failed]
    create_table_artifact(
        rows,
        key="dbt-run-results",
        description=(
            f"dbt {' '.join(run.command[:1])}: {run.summary()}"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        ),
    )


def _key(base: str, prediction: str | None) -> str:
    """An artifact key per prediction: ``base`` or ``base-<name>``.

    The default prediction (None) keeps the plain key dashboards know.
    """
    return base if prediction is None else f"{base}-{prediction.replace('_', '-')}"


def model_metrics(trained: Any, prediction: str | None = None) -> None:
    """Holdout metrics of a model beside the oracle and the baselines.

    ``prediction``: None for the default prediction, else its name (the key).
    """
    m = trained.metrics
    rows = [
        {"model": "CatBoost", "roc_auc": round(m["roc_auc"], 4)},
        *(
            {"model": name.replace("_", " "), "roc_auc": round(b["roc_auc"], 4)}
            for name, b in trained.baselines.items()
        ),
    ]
    if m.get("oracle_auc") is not None:
        rows.append({"model": "oracle (true p)", "roc_auc": round(m["oracle_auc"], 4)})
    compared = m.get("baseline_comparison")
    against = ""
    if compared is not None:
        low, high = compared["interval"]
        against = (
            f"; CatBoost - best baseline ({compared['best_baseline']}) "
            f"{compared['difference']:+.4f}, {compared['level']:.0%} interval "
            f"{low:+.4f} to {high:+.4f}"
            + (" (the baseline won)" if compared["beaten"] else "")
        )
    create_table_artifact(
        rows,
        key=_key("model-metrics", prediction),
        description=(
            f"{trained.model_name}: holdout of {m['rows']:,} rows "
            f"({m['positives']:,} positives): PR AUC "
            f"{m['pr_auc']:.4f}, log loss {m['log_loss']:.4f}, Brier "
            f"{m['brier']:.4f}, ECE {m['ece']:.4f}, top-decile lift "
            f"{m['top_decile_lift']:.2f}{against}"
        ),
    )


def promotion(version: Any, decision: str, prediction: str | None = None) -> None:
    """The promotion gate's decision, in words (``prediction`` as above)."""
    create_markdown_artifact(
        f"## {version.model_name} v{version.version}: {version.status}\n\n{decision}\n",
        key=_key("promotion-decision", prediction),
        description="The registry's promotion gate",
    )


def backtest(table: list[dict[str, Any]]) -> None:
    """Realised conversion by score decile, highest first (synthetic data)."""
    create_table_artifact(
        list(reversed(table)),
        key="score-backtest",
        description="Realised conversion by score decile (simulated future)",
    )


def audience_sizes(built: Any) -> None:
    """Members, holdout and the delta of every audience of a build."""
    create_table_artifact(
        [
            {
                "audience": row["audience_id"],
                "members": row["count_members"],
                "holdout": row["count_holdout"],
                "entered": row["count_entered"],
                "exited": row["count_exited"],
                "expected_conversions": round(row["expected_conversions"], 1),
            }
            for row in built.audiences
        ],
        key="audience-sizes",
        description=f"Build {built.batch_id} ({built.status})",
    )


def deliveries(results: list[Any]) -> None:
    """What each destination received, and each delivery's status."""
    create_table_artifact(
        [
            {
                "audience": item.audience_id,
                "destination": item.destination,
                "status": item.status,
                "entered": item.entered,
                "exited": item.exited,
                "withheld_consent": item.withheld_consent,
                "withheld_suppressed": item.withheld_suppressed,
                "location": item.location or "",
                "error": item.error or "",
            }
            for item in results
        ],
        key="deliveries",
        description="Deliveries of the latest audience build",
    )


def report_link(path: Any) -> None:
    """A link to the run report (a file on the machine that ran the flow)."""
    create_link_artifact(
        path.as_uri(),
        link_text=path.name,
        key="run-report",
        description="The run report: data, model, scores and audiences, with plots",
    )
