"""Stage-7 benchmark: build and activate three audiences at 1M profiles.

In a throw-away ENRICH_HOME it prepares scored data as ``bench_score.py``
does (a model trained on ``--train-profiles``, ``--profiles`` profiles scored
and ingested, ``profiles_enriched`` built), then runs ``enrich audiences
build`` and ``enrich audiences activate`` (the project's three audiences, file
destination in the local lake) as child processes: wall time, peak RSS, and
profiles/s over the enriched profiles. A second build + activate of the same
scores shows the cost of a re-run that has nothing to do.

Usage::

    .venv/bin/python bench/bench_audiences.py [--profiles 1000000]
"""

from __future__ import annotations

import sys
from pathlib import Path

try:  # run as a script (python bench/bench_audiences.py, make bench-audiences)
    from bench_score import prepare
    from common import MIB, fresh_home, parser, run_measured, say, write_results
except ImportError:  # run as a module (python -m bench.bench_audiences)
    from bench.bench_score import prepare
    from bench.common import (
        MIB,
        fresh_home,
        parser,
        run_measured,
        say,
        write_results,
    )

ENRICH = str(Path(sys.executable).parent / "enrich")


def measure(profiles: int, train_profiles: int, seed: int, as_of) -> dict:
    """Prepare scored profiles, then time build and activate."""
    from ml.activation import definitions as audience_definitions
    from ml.features import featurize

    with fresh_home(f"audiences-{profiles}") as settings:
        prepare(settings, profiles, train_profiles, seed, as_of)
        say("enrich score, enrich ingest, dbt (profiles_enriched) ...")
        run_measured([ENRICH, "score"])
        run_measured([ENRICH, "ingest"])
        featurize.featurize(settings, select=["source:scores+"])
        definitions = audience_definitions.load_definitions(settings)
        results = {"profiles": profiles, "audiences": len(definitions.audiences)}
        for label in ("first", "again"):
            say(f"enrich audiences build ({label}) ...")
            built = run_measured([ENRICH, "audiences", "build"])
            say(f"enrich audiences activate ({label}) ...")
            activated = run_measured([ENRICH, "audiences", "activate"])
            results[label] = {
                "build_wall_s": built["wall_s"],
                "activate_wall_s": activated["wall_s"],
                "build_peak_rss_bytes": built["peak_rss_bytes"],
                "activate_peak_rss_bytes": activated["peak_rss_bytes"],
                "profiles_per_s": profiles / (built["wall_s"] + activated["wall_s"]),
            }
        from ml.core.warehouse import connect

        with connect(settings) as conn:
            results["members"] = conn.execute(
                "select count(*) from audiences.memberships"
            ).fetchone()[0]
            results["sent"] = conn.execute(
                "select sum(count_entered + count_exited) from audiences.deliveries"
            ).fetchone()[0]
        return results


def main(argv: list[str] | None = None) -> int:
    """Run and write bench_audiences.json and bench_audiences.md."""
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--profiles", type=int, nargs="+", default=[1_000_000])
    options.add_argument("--train-profiles", type=int, default=100_000)
    args = options.parse_args(argv)
    results = [
        measure(n, args.train_profiles, args.seed, args.as_of) for n in args.profiles
    ]
    lines = [
        "| profiles | audiences | members | changes sent | run | build s | "
        "activate s | profiles/s | build peak MiB | activate peak MiB |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for label in ("first", "again"):
            m = r[label]
            lines.append(
                f"| {r['profiles']:,} | {r['audiences']} | {r['members']:,} "
                f"| {r['sent']:,} | {label} | {m['build_wall_s']:.1f} "
                f"| {m['activate_wall_s']:.1f} | {m['profiles_per_s']:,.0f} "
                f"| {m['build_peak_rss_bytes'] / MIB:,.0f} "
                f"| {m['activate_peak_rss_bytes'] / MIB:,.0f} |"
            )
    write_results(args.out, "bench_audiences", "\n".join(lines), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
