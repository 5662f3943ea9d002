"""Scale-out benchmark: the featurization on PostgreSQL, DuckDB and Spark.

At each size (default 100,000 and 1,000,000 profiles) it generates and loads
the demo data once (the warehouse and the lake's raw copy), then for each
engine, side by side in one run:

* the whole featurization: ``dbt build --full-refresh`` on that target
  (seeds, staging, EDA marts, features, labels, every test; Spark's session
  start-up included), wall time;
* the feature and label models for all cutoffs (as ``bench_dbt.py``), rebuilt
  with ``dbt run``: the sum of their execution times;
* the engine's single-scan reference: one grouped pass over its staged
  events, ``select count(*) from (select profile_id, count(*) ... group by
  profile_id)``, best of three, timed inside dbt's connection
  (``macros/engines/timed_query.sql``), so every engine is timed the same way.

Spark runs locally (``local[2]``, the profile's settings); it needs the
``spark`` extra and Java 17.

Usage::

    .venv/bin/python bench/bench_engines.py [--sizes 100000 1000000]
        [--engines warehouse duckdb spark] [--out bench/results]
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path

try:  # run as a script (python bench/bench_engines.py, make bench-engines)
    from bench_dbt import MODELS
    from common import fresh_home, parser, say, write_results
except ImportError:  # run as a module (python -m bench.bench_engines)
    from bench.bench_dbt import MODELS
    from bench.common import fresh_home, parser, say, write_results

ENGINES = ["warehouse", "duckdb", "spark"]
REFERENCE = (
    "select count(*) as count_profiles from (select profile_id, count(*) as n "
    "from staging.stg_xdm__experience_events group by profile_id) as per_profile"
)


def timed_scan(settings, engine: str) -> float:
    """The reference scan's best time on one engine."""
    import json

    from ml.features import featurize

    lines: list[str] = []
    featurize.run_dbt(
        settings,
        ["run-operation", "timed_query", "--args", json.dumps({"query": REFERENCE})],
        on_message=lambda _level, text: lines.append(text),
        target=engine,
    )
    [seconds] = [
        float(match.group(1))
        for line in lines
        if (match := re.search(r"timed_query_seconds=([0-9.e-]+)", line))
    ]
    return seconds


def measure_engine(settings, engine: str) -> dict:
    """Build, rebuild the models, and time the reference on one engine."""
    from ml.features import featurize

    say(f"  {engine}: dbt build --full-refresh ...")
    started = time.perf_counter()
    build = featurize.featurize(settings, full_refresh=True, target=engine)
    build_wall = time.perf_counter() - started
    say(f"  {engine}: build {build_wall:.1f} s; rebuilding the models ...")
    started = time.perf_counter()
    run = featurize.run_dbt(settings, ["run", "--select", *MODELS], target=engine)
    models_wall = time.perf_counter() - started
    models = {node.unique_id.split(".")[-1]: node.seconds for node in run.nodes}
    execution = sum(models.values())
    reference = timed_scan(settings, engine)
    say(
        f"  {engine}: models {execution:.1f} s, reference {reference:.2f} s: "
        f"{execution / reference:.1f}x"
    )
    return {
        "engine": engine,
        "build_wall_s": build_wall,
        "build_nodes": len(build.nodes),
        "models_execution_s": execution,
        "models_wall_s": models_wall,
        "reference_s": reference,
        "ratio": execution / reference,
        "per_model_s": models,
    }


def measure(profiles: int, seed: int, as_of: dt.date, engines: list[str]) -> dict:
    """Generate and load once, then every engine in turn."""
    from ml import synthetic
    from ml.core import warehouse
    from ml.core.lake import open_lake
    from ml.data import generated

    with fresh_home(f"engines-{profiles}") as settings:
        params = synthetic.GeneratorParams(profiles=profiles, seed=seed, as_of=as_of)
        say(f"{profiles:,} profiles: generate and load (warehouse and lake) ...")
        started = time.perf_counter()
        generated.load_generated(settings, params)
        load_s = time.perf_counter() - started
        lake = open_lake(settings)
        lake_bytes = sum(
            (Path(lake.root) / key).stat().st_size for key in lake.list("raw/")
        )
        with warehouse.connect(settings) as conn:
            events = conn.execute(
                "select coalesce(sum(records_loaded), 0) from raw.batches "
                "where dataset = 'experience_events' and status = 'success'"
            ).fetchone()[0]
        results = [measure_engine(settings, engine) for engine in engines]
    return {
        "profiles": profiles,
        "events": int(events),
        "load_s": load_s,
        "lake_raw_bytes": lake_bytes,
        "engines": results,
    }


def render(results: list[dict]) -> str:
    """A Markdown table of the results."""
    lines = [
        "| profiles | events | engine | dbt build s | feature+label models s "
        "| single scan s | models / scan |",
        "|---:|---:|:---|---:|---:|---:|---:|",
    ]
    for r in results:
        for e in r["engines"]:
            lines.append(
                f"| {r['profiles']:,} | {r['events']:,} | {e['engine']} "
                f"| {e['build_wall_s']:.1f} | {e['models_execution_s']:.1f} "
                f"| {e['reference_s']:.2f} | {e['ratio']:.1f}x |"
            )
    lines.append("")
    for r in results:
        lines.append(
            f"{r['profiles']:,} profiles: generate + load {r['load_s']:.1f} s "
            f"(warehouse and lake), lake raw copy {r['lake_raw_bytes'] / 2**20:,.0f} "
            "MiB."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench_engines.json and bench_engines.md."""
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    options.add_argument("--engines", nargs="+", choices=ENGINES, default=ENGINES)
    args = options.parse_args(argv)
    results = [
        measure(size, args.seed, args.as_of, args.engines) for size in args.sizes
    ]
    write_results(args.out, "bench_engines", render(results), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
