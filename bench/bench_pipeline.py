"""End-to-end benchmark: the whole pipeline (``enrich run``) at given sizes.

For each size (default 100,000 and 1,000,000 profiles) it runs ``enrich run``
in a fresh ENRICH_HOME as a child process and reports, from the run's own
stage record (``reports/run-*.json``) and the measuring wrapper:

* wall time, throughput and peak memory (resident size of the pipeline
  process, sampled during the stage; the PostgreSQL server is a separate
  process and not counted) per stage;
* orchestration overhead: the process's wall time outside every stage
  (interpreter start, imports, Prefect's temporary server, printing), and the
  time from launching ``enrich run`` to its first stage starting;
* the model's holdout AUC beside the generator's oracle and both baselines;
* the reference figures the stage issues asked for, measured in the same run:
  the plain per-event generator loop (events/s), the single grouped scan over
  the staged events (seconds), and the random forest (seconds, AUC).

Targets (project issue): the whole pipeline at 1M profiles under 15 minutes of
wall time, no stage above 4 GiB peak memory.

Usage::

    .venv/bin/python bench/bench_pipeline.py [--profiles 100000 1000000]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

try:  # run as a script (python bench/bench_pipeline.py, make bench-pipeline)
    from bench_dbt import reference_seconds
    from common import MIB, fresh_home, parser, run_measured, say, write_results
    from reference_generator import generate_reference
except ImportError:  # run as a module (python -m bench.bench_pipeline)
    from bench.bench_dbt import reference_seconds
    from bench.common import (
        MIB,
        fresh_home,
        parser,
        run_measured,
        say,
        write_results,
    )
    from bench.reference_generator import generate_reference

ENRICH = str(Path(sys.executable).parent / "enrich")
TARGET_SIZE = 1_000_000
TARGET_WALL_S = 15 * 60
TARGET_STAGE_PEAK_BYTES = 4 << 30
REFERENCE_PROFILES = 5_000
TARGET_OVERHEAD_SHARE = 0.25  # of the pipeline's wall time at 100k profiles
# The pipeline's shape with every task a no-op: what orchestration alone costs
# (interpreter, imports, Prefect's temporary server, 6 flow runs, 13 task runs).
NO_OP_PIPELINE = """
from flows.runtime import prepare_environment
from ml.core.config import load_settings

prepare_environment(load_settings())
from prefect import flow, task
from prefect.cache_policies import NONE


@task(cache_policy=NONE)
def step():
    return None


def stage(name, tasks):
    @flow(name=name)
    def run():
        for _ in range(tasks):
            step()

    return run


STAGES = [stage("load", 1), stage("featurize", 1), stage("train", 5),
          stage("score", 4), stage("activate", 2)]


@flow(name="pipeline")
def pipeline():
    for run in STAGES:
        run()
    step()


pipeline()
"""


def reference_loop(seed: int, as_of: Any) -> dict[str, float]:
    """The plain per-event generator loop on a few profiles: events/s."""
    started = time.perf_counter()
    events = generate_reference(REFERENCE_PROFILES, seed, as_of, 12, 14)
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": seconds, "events_per_s": events / seconds}


def no_op_pipeline() -> dict[str, float]:
    """Wall time of the pipeline's flows and tasks doing nothing, in a new home."""
    with fresh_home("no-op") as settings:
        env = {**os.environ, "ENRICH_HOME": str(settings.home)}
        env.pop("PREFECT_API_URL", None)  # as `enrich run`: a temporary server
        say("orchestration alone: the pipeline's flows and tasks as no-ops ...")
        outcome = run_measured([sys.executable, "-c", NO_OP_PIPELINE], env=env)
    return {"wall_s": outcome["wall_s"]}


def measure(profiles: int, seed: int, as_of: Any) -> dict[str, Any]:
    """Run ``enrich run`` at one size; read its stage record and the registry."""
    from ml.model import registry

    with fresh_home(f"pipeline-{profiles}") as settings:
        env = {**os.environ, "ENRICH_HOME": str(settings.home)}
        say(f"{profiles:,} profiles: enrich run ...")
        launched = dt.datetime.now(dt.UTC)
        outcome = run_measured(
            [
                ENRICH,
                "run",
                "--profiles",
                str(profiles),
                "--seed",
                str(seed),
                "--as-of",
                as_of.isoformat(),
            ],
            env=env,
        )
        [record] = sorted((settings.home / "reports").glob("run-*.json"))
        run = json.loads(record.read_text())
        first = dt.datetime.fromisoformat(run["stages"][0]["started_at"])
        version = registry.get(settings)
        say("reference: one grouped scan over the staged events ...")
        scan = reference_seconds(settings)
    forest = version.baselines["random_forest"]
    return {
        "profiles": profiles,
        "wall_s": outcome["wall_s"],
        "process_peak_bytes": outcome["peak_rss_bytes"],
        "seconds_in_stages": run["seconds_in_stages"],
        "overhead_s": outcome["wall_s"] - run["seconds_in_stages"],
        "to_first_stage_s": (first - launched).total_seconds(),
        "stages": run["stages"],
        "model": {
            "version": version.version,
            "catboost_auc": version.metrics["roc_auc"],
            "oracle_auc": version.metrics.get("oracle_auc"),
            "logistic_regression_auc": version.baselines["logistic_regression"][
                "roc_auc"
            ],
            "random_forest_auc": forest["roc_auc"],
            "catboost_fit_s": version.data["seconds"]["catboost"],
            "training_rows": sum(version.data["rows"].values()),
        },
        "reference": {"single_scan_s": scan, "random_forest_s": forest["seconds"]},
    }


def render(
    results: list[dict[str, Any]], loop: dict[str, float], no_op: dict[str, float]
) -> str:
    """Markdown: a summary per size, then every stage of every size."""
    lines = [
        "| profiles | wall s | in stages s | overhead s | overhead | to first stage s "
        "| max stage peak MiB | CatBoost AUC | oracle AUC | random forest AUC | "
        "logistic AUC | < 15 min | < 4 GiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|",
    ]
    for r in results:
        peak = max(stage["peak_rss_bytes"] for stage in r["stages"])
        m = r["model"]
        oracle = "n/a" if m["oracle_auc"] is None else f"{m['oracle_auc']:.3f}"
        checks = ["", ""]
        if r["profiles"] == TARGET_SIZE:
            checks = [
                "pass" if r["wall_s"] < TARGET_WALL_S else "FAIL",
                "pass" if peak < TARGET_STAGE_PEAK_BYTES else "FAIL",
            ]
        lines.append(
            f"| {r['profiles']:,} | {r['wall_s']:,.1f} | {r['seconds_in_stages']:,.1f} "
            f"| {r['overhead_s']:,.1f} | {r['overhead_s'] / r['wall_s']:.1%} "
            f"| {r['to_first_stage_s']:,.1f} | {peak / MIB:,.0f} "
            f"| {m['catboost_auc']:.3f} | {oracle} "
            f"| {m['random_forest_auc']:.3f} | {m['logistic_regression_auc']:.3f} "
            f"| {checks[0]} | {checks[1]} |"
        )
    for r in results:
        lines += [
            "",
            f"Stages at {r['profiles']:,} profiles:",
            "",
            "| stage | seconds | share | throughput | peak MiB |",
            "|---|---:|---:|---:|---:|",
        ]
        for stage in r["stages"]:
            rate = (
                ""
                if stage["per_second"] is None
                else f"{stage['per_second']:,.0f} {stage['unit']}/s"
            )
            lines.append(
                f"| {stage['name']} | {stage['seconds']:,.1f} "
                f"| {stage['seconds'] / r['wall_s']:.1%} | {rate} "
                f"| {stage['peak_rss_bytes'] / MIB:,.0f} |"
            )
        lines.append(
            f"| (outside stages) | {r['overhead_s']:,.1f} "
            f"| {r['overhead_s'] / r['wall_s']:.1%} | | |"
        )
    lines += ["", "Orchestration:", ""]
    lines.append(
        f"- The pipeline's 6 flows and 13 tasks as no-ops, from a new home (Prefect's "
        f"temporary server included): {no_op['wall_s']:.1f} s."
    )
    for r in results:
        share = no_op["wall_s"] / r["wall_s"]
        check = ""
        if r["profiles"] == 100_000:
            check = " (target < 25%: " + (
                "pass)" if share < TARGET_OVERHEAD_SHARE else "FAIL)"
            )
        lines.append(
            f"- {r['profiles']:,} profiles: that is {share:.1%} of the run's wall "
            f"time{check}; `enrich run` reached its first stage after "
            f"{r['to_first_stage_s']:.1f} s."
        )
    lines += ["", "Reference figures, measured in the same run:", ""]
    lines.append(
        f"- Plain per-event generator loop ({loop['events']:,} events of "
        f"{REFERENCE_PROFILES:,} profiles): {loop['events_per_s']:,.0f} events/s "
        "(generation only; the data stage above also loads)."
    )
    for r in results:
        data = next(s for s in r["stages"] if s["name"] == "data")
        featurize = next(s for s in r["stages"] if s["name"] == "featurize")
        m, ref = r["model"], r["reference"]
        lines.append(
            f"- {r['profiles']:,} profiles: data stage "
            f"{data['per_second']:,.0f} events/s generated and loaded "
            f"({data['per_second'] / loop['events_per_s']:.1f}x the loop); one "
            f"grouped scan {ref['single_scan_s']:.2f} s vs the whole dbt build "
            f"{featurize['seconds']:,.1f} s (EDA marts, features, labels, tests); "
            f"random forest {ref['random_forest_s']:,.1f} s (AUC "
            f"{m['random_forest_auc']:.3f}) vs CatBoost fit {m['catboost_fit_s']:,.1f}"
            f" s (AUC {m['catboost_auc']:.3f}) on {m['training_rows']:,} rows."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write ``bench_pipeline.{json,md}``."""
    options = parser(__doc__.splitlines()[0])
    options.add_argument(
        "--profiles", type=int, nargs="+", default=[100_000, TARGET_SIZE]
    )
    args = options.parse_args(argv)
    say(f"reference loop: {REFERENCE_PROFILES:,} profiles ...")
    loop = reference_loop(args.seed, args.as_of)
    no_op = no_op_pipeline()
    results = [measure(n, args.seed, args.as_of) for n in args.profiles]
    payload = {"reference_loop": loop, "no_op_pipeline": no_op, "sizes": results}
    write_results(args.out, "bench_pipeline", render(results, loop, no_op), payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
