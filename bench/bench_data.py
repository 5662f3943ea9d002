"""Stage-1 benchmark: synthetic generation and loading at 100k and 1M profiles.

For each size it measures, in one run:

1. **Generation**: iterating :func:`ml.synthetic.generate` (chunks are counted
   and dropped), in events/s.
2. **Reference**: ``bench/reference_generator.py``, a plain per-event Python
   loop over the same taxonomy, run once at the start on
   ``--reference-profiles`` profiles (its events/s does not depend on the
   size). The speed-up is generation events/s over reference events/s.
3. **enrich generate** as a child process in a fresh ``ENRICH_HOME`` (a new
   embedded PostgreSQL): wall time and end-to-end events/s (initdb and server
   start included), the loader's events/s, and the peak RSS of the enrich
   process. The server is stopped and the folder deleted afterwards.

The loader rate is the events loaded over the time at least one chunk was
being written: each ``chunk i/n: ... loaded in S s`` log line is stamped when
it arrives, so chunk ``i`` was loading during ``[arrival - S, arrival]``. The
chunk's seconds include its profiles and truth rows, written in the same
transaction, so the events/s is conservative. The per-connection rate (events
over the sum of chunk seconds, as if one worker) and the rate from
``raw.batches`` timestamps are in the JSON too.

Targets (project issue): generation at 1M profiles >= 50x the reference loop;
loading >= 150k events/s; peak memory of ``enrich generate --profiles
1000000`` under 2 GiB.

Usage::

    .venv/bin/python bench/bench_data.py                  # 100k and 1M
    .venv/bin/python bench/bench_data.py --sizes 100000   # one size

Progress goes to stderr; the table to stdout, and ``bench_data.json`` and
``bench_data.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

try:  # run as a script (python bench/bench_data.py, make bench)
    from common import run_measured
    from reference_generator import generate_reference
except ImportError:  # run as a module (python -m bench.bench_data)
    from bench.common import run_measured
    from bench.reference_generator import generate_reference

from ml.core import relations
from ml.core.config import load_settings
from ml.synthetic import GeneratorParams, generate

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "bench" / "results"
GIB = 1 << 30
MIB = 1 << 20
TARGET_SIZE = 1_000_000
TARGET_SPEEDUP = 50.0
TARGET_LOAD_EVENTS_PER_S = 150_000.0
TARGET_PEAK_BYTES = 2 * GIB
_CHUNK_LOADED = re.compile(
    r"chunk (\d+)/(\d+): ([\d,]+) profiles, ([\d,]+) events loaded in ([\d.]+) s"
)


@dataclass
class Reference:
    """The reference loop's run."""

    profiles: int
    events: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        """Events per second of the plain loop."""
        return self.events / self.seconds


@dataclass
class SizeResult:
    """Everything measured at one size."""

    profiles: int
    chunks: int
    generation_events: int = 0
    generation_s: float = 0.0
    generation_events_per_s: float = 0.0
    speedup: float = 0.0
    load_events: int = 0
    load_batches_ok: bool = False
    events_match: bool = False
    wall_s: float = 0.0
    end_to_end_events_per_s: float = 0.0
    loader_busy_s: float = 0.0
    loader_events_per_s: float = 0.0
    loader_chunk_s_sum: float = 0.0
    loader_per_connection_events_per_s: float = 0.0
    batches_span_s: float | None = None
    batches_events_per_s: float | None = None
    peak_rss_bytes: int | None = None
    load_average: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None

    def checks(self) -> dict[str, bool | None]:
        """Pass (True), fail (False) or unknown (None) for each target."""
        peak = self.peak_rss_bytes
        return {
            "speedup": self.speedup >= TARGET_SPEEDUP if self.speedup else None,
            "loading": (
                self.loader_events_per_s >= TARGET_LOAD_EVENTS_PER_S
                if self.loader_events_per_s
                else None
            ),
            "memory": None if peak is None else peak < TARGET_PEAK_BYTES,
        }


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


# -- measurements -------------------------------------------------------------


def run_reference(args: argparse.Namespace, weeks: int, horizon_days: int) -> Reference:
    """Time the plain reference loop once."""
    _say(f"reference loop: {args.reference_profiles:,} profiles ...")
    started = time.perf_counter()
    events = generate_reference(
        args.reference_profiles, args.seed, args.as_of, weeks, horizon_days
    )
    reference = Reference(
        args.reference_profiles, events, time.perf_counter() - started
    )
    _say(
        f"reference loop: {events:,} events in {reference.seconds:.2f} s, "
        f"{reference.events_per_s:,.0f} events/s"
    )
    return reference


def measure_generation(params: GeneratorParams, result: SizeResult) -> None:
    """Time iterating the vectorised generator, keeping no chunk."""
    _say(f"generation: {params.profiles:,} profiles, {params.n_chunks} chunk(s) ...")
    result.load_average["before_generation"] = _load_average()
    events = 0
    started = time.perf_counter()
    for chunk in generate(params):
        events += chunk.events.num_rows
    seconds = time.perf_counter() - started
    result.generation_events = events
    result.generation_s = seconds
    result.generation_events_per_s = events / seconds
    _say(
        f"generation: {events:,} events in {seconds:.2f} s, "
        f"{result.generation_events_per_s:,.0f} events/s"
    )


def _enrich_executable() -> str:
    beside = Path(sys.executable).with_name("enrich")
    if beside.exists():
        return str(beside)
    found = shutil.which("enrich")
    if found is None:
        raise SystemExit("enrich is not installed: run make bench (it syncs .venv).")
    return found


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ENRICH_HOME"] = str(home)
    env["ENRICH_DATABASE_URL"] = ""  # always the fresh embedded server
    env["PYTHONUNBUFFERED"] = "1"  # log lines arrive when they are written
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def measure_enrich_generate(
    params: GeneratorParams, result: SizeResult, enrich: str
) -> None:
    """Run ``enrich generate`` in a fresh ENRICH_HOME and measure it."""
    home = Path(tempfile.mkdtemp(prefix=f"enrich-bench-{params.profiles}-"))
    env = _child_env(home)
    command = [
        enrich, "generate",
        "--profiles", str(params.profiles),
        "--seed", str(params.seed),
        "--as-of", params.as_of.isoformat(),
        "--weeks", str(params.weeks),
        "--horizon-days", str(params.horizon_days),
        "--replace",
    ]  # fmt: skip
    _say(f"enrich generate: {params.profiles:,} profiles, ENRICH_HOME={home} ...")
    result.load_average["before_enrich_generate"] = _load_average()
    intervals: list[tuple[float, float]] = []

    def note(line: str, arrived: float) -> None:
        match = _CHUNK_LOADED.search(line)
        if match:
            seconds = float(match.group(5))
            intervals.append((arrived - seconds, arrived))

    try:
        try:
            outcome = run_measured(command, env=env, on_line=note)
        except RuntimeError as exc:
            result.error = f"enrich generate {exc}"
            _say(f"error: {result.error}")
            return
        chunk_seconds = sum(end - start for start, end in intervals)
        result.wall_s = outcome["wall_s"]
        result.peak_rss_bytes = outcome["peak_rss_bytes"]
        _read_batches(env, result)
        result.events_match = result.load_events == result.generation_events
        result.end_to_end_events_per_s = result.load_events / result.wall_s
        result.loader_busy_s = _union_length(intervals)
        result.loader_chunk_s_sum = chunk_seconds
        if intervals and result.loader_busy_s > 0:
            result.loader_events_per_s = result.load_events / result.loader_busy_s
            result.loader_per_connection_events_per_s = (
                result.load_events / chunk_seconds
            )
        elif not intervals:
            result.error = "no 'chunk i/n: ... loaded in S s' lines in the enrich log"
        peak = (result.peak_rss_bytes or 0) / MIB
        _say(
            f"enrich generate: {result.load_events:,} events in {result.wall_s:.1f} s "
            f"({result.end_to_end_events_per_s:,.0f} events/s end to end), loader "
            f"{result.loader_events_per_s:,.0f} events/s, peak {peak:,.0f} MiB"
        )
    finally:
        _stop_and_remove(home, env, enrich)


def _union_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def _read_batches(env: dict[str, str], result: SizeResult) -> None:
    """Count what ``raw.batches`` says was loaded (and its own timings)."""
    import psycopg
    from psycopg import sql

    url = subprocess.run(
        [_enrich_executable(), "-q", "db", "url", "--show-password"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    query = sql.SQL(
        "select dataset, status, count(*), sum(records_loaded), "
        "sum(extract(epoch from finished_at - started_at))::float8 "
        "from {} where source = %s group by dataset, status"
    ).format(sql.Identifier(*relations.RAW_BATCHES))
    with psycopg.connect(url) as conn:
        rows = conn.execute(query, ["synthetic"]).fetchall()
    by_key = {(dataset, status): rest for dataset, status, *rest in rows}
    events = by_key.get(("experience_events", "success"), [0, 0, 0.0])
    profiles = by_key.get(("profiles", "success"), [0, 0, 0.0])
    result.load_events = int(events[1] or 0)
    result.load_batches_ok = (
        len(by_key) == 2 and events[0] == profiles[0] == result.chunks
    )
    result.batches_span_s = events[2]
    if events[2]:
        result.batches_events_per_s = result.load_events / events[2]
    if not result.load_batches_ok:
        result.error = f"unexpected raw.batches content: {rows}"


def _stop_and_remove(home: Path, env: dict[str, str], enrich: str) -> None:
    stopped = subprocess.run(
        [enrich, "db", "stop"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if stopped.returncode != 0:
        _say(f"warning: enrich db stop failed: {stopped.stderr.strip()}")
        _say(f"warning: left {home} in place (its server may still run)")
        return
    shutil.rmtree(home, ignore_errors=True)
    if home.exists():
        _say(f"warning: could not delete {home}")


# -- reporting ----------------------------------------------------------------


def _git() -> dict[str, Any]:
    git = shutil.which("git")
    if git is None:
        return {"sha": None, "dirty": None}

    def run(*args: str) -> str | None:
        done = subprocess.run(
            [git, *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else None

    status = run("status", "--porcelain", "--untracked-files=no")
    return {"sha": run("rev-parse", "HEAD"), "dirty": bool(status)}


def _machine() -> dict[str, Any]:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {}
    for package in ("numpy", "pyarrow", "psycopg", "pgserver"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "memory_bytes": memory,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _mark(value: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}[value]


def _number(value: float | None) -> str:
    return "n/a" if not value else f"{value:,.0f}"


def render_table(reference: Reference, results: list[SizeResult]) -> str:
    """The results as a Markdown table."""
    header = [
        "profiles",
        "events",
        "gen events/s",
        "reference events/s",
        "speed-up",
        "load events/s (loader)",
        "load events/s (per conn.)",
        "end-to-end events/s",
        "wall s",
        "peak MiB",
        f"gen >= {TARGET_SPEEDUP:.0f}x",
        f"load >= {TARGET_LOAD_EVENTS_PER_S / 1000:.0f}k/s",
        f"peak < {TARGET_PEAK_BYTES / GIB:.0f} GiB",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" for _ in header) + "|",
    ]
    for result in results:
        checks = result.checks()
        peak = result.peak_rss_bytes
        row = [
            f"{result.profiles:,}",
            f"{result.generation_events:,}",
            _number(result.generation_events_per_s),
            _number(reference.events_per_s),
            f"{result.speedup:.1f}x" if result.speedup else "n/a",
            _number(result.loader_events_per_s),
            _number(result.loader_per_connection_events_per_s),
            _number(result.end_to_end_events_per_s),
            f"{result.wall_s:.1f}" if result.wall_s else "n/a",
            "n/a" if peak is None else f"{peak / MIB:,.0f}",
            _mark(checks["speedup"]),
            _mark(checks["loading"]),
            _mark(checks["memory"]),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _notes(reference: Reference, results: list[SizeResult]) -> list[str]:
    notes = [
        f"Reference: plain per-event Python loop on {reference.profiles:,} profiles "
        f"({reference.events:,} events in {reference.seconds:.2f} s).",
        f"The speed-up and memory targets are defined at {TARGET_SIZE:,} profiles; "
        "other sizes are indicative.",
        "Loader events/s: events over the time at least one chunk was being "
        "written (parallel workers, chunk times include profiles and truth); "
        "per conn.: events over the sum of chunk times.",
        "End-to-end: events over the wall time of `enrich generate`, "
        "including a fresh initdb and server start.",
        "Peak MiB: max RSS of the enrich process (the PostgreSQL server excluded).",
    ]
    for result in results:
        if result.error:
            notes.append(f"{result.profiles:,} profiles: ERROR {result.error}")
        elif not result.events_match:
            notes.append(
                f"{result.profiles:,} profiles: loaded {result.load_events:,} events, "
                f"generated {result.generation_events:,} (should be equal)"
            )
    return notes


def write_outputs(
    out: Path,
    payload: dict[str, Any],
    table: str,
    notes: list[str],
) -> tuple[Path, Path]:
    """Write ``bench_data.json`` and ``bench_data.md`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "bench_data.json"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    git = payload["git"]
    machine = payload["machine"]
    memory = machine["memory_bytes"]
    memory_text = f"{memory / GIB:.1f} GiB" if memory else "memory unknown"
    markdown = [
        "# Stage-1 benchmark: generation and loading",
        "",
        f"Run {payload['started_at']} to {payload['finished_at']}, "
        f"git {git['sha'] or 'unknown'}{' (dirty)' if git['dirty'] else ''}; "
        f"{machine['cpus_usable']} CPUs, {memory_text}, "
        f"Python {machine['python']}, {machine['platform']}.",
        "",
        table,
        "",
        *[f"- {note}" for note in notes],
        "",
    ]
    md_path = out / "bench_data.md"
    md_path.write_text("\n".join(markdown))
    return json_path, md_path


# -- main ---------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Benchmark synthetic generation and loading (stage 1)."
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="numbers of profiles (default: 100000 1000000)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed (default: 7)")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 11, 1),
        help="UTC date the history ends (default: 2026-11-01)",
    )
    parser.add_argument(
        "--reference-profiles",
        type=int,
        default=5_000,
        help="profiles for the reference loop (default: 5000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="folder for bench_data.json and bench_data.md (default: bench/results)",
    )
    args = parser.parse_args(argv)
    if min(args.sizes) < 1 or args.reference_profiles < 1:
        parser.error("--sizes and --reference-profiles must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 when a measurement failed (not when a target did)."""
    args = parse_args(argv)
    started_at = dt.datetime.now(dt.UTC)
    settings = load_settings()
    defaults = settings.generate
    enrich = _enrich_executable()
    machine = _machine()
    git = _git()
    _say(
        f"bench_data: sizes {args.sizes}, seed {args.seed}, as_of {args.as_of}, "
        f"git {git['sha']}, {machine['cpus_usable']} CPUs"
    )

    reference = run_reference(args, defaults.weeks, defaults.horizon_days)
    results: list[SizeResult] = []
    for size in args.sizes:
        params = GeneratorParams(
            profiles=size,
            seed=args.seed,
            as_of=args.as_of,
            weeks=defaults.weeks,
            horizon_days=defaults.horizon_days,
            chunk_profiles=defaults.chunk_profiles,
        )
        result = SizeResult(profiles=size, chunks=params.n_chunks)
        results.append(result)
        measure_generation(params, result)
        result.speedup = result.generation_events_per_s / reference.events_per_s
        measure_enrich_generate(params, result, enrich)

    table = render_table(reference, results)
    notes = _notes(reference, results)
    payload = {
        "benchmark": "bench_data",
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "git": git,
        "parameters": {
            "sizes": args.sizes,
            "seed": args.seed,
            "as_of": args.as_of.isoformat(),
            "weeks": defaults.weeks,
            "horizon_days": defaults.horizon_days,
            "chunk_profiles": defaults.chunk_profiles,
            "load_workers": settings.load.workers,
            "reference_profiles": args.reference_profiles,
        },
        "targets": {
            "size": TARGET_SIZE,
            "speedup": TARGET_SPEEDUP,
            "load_events_per_s": TARGET_LOAD_EVENTS_PER_S,
            "peak_rss_bytes": TARGET_PEAK_BYTES,
        },
        "reference": {**asdict(reference), "events_per_s": reference.events_per_s},
        "results": [
            {**asdict(result), "checks": result.checks()} for result in results
        ],
        "notes": notes,
    }
    json_path, md_path = write_outputs(args.out, payload, table, notes)
    print(table)
    print()
    for note in notes:
        print(f"- {note}")
    _say(f"wrote {json_path} and {md_path}")
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
