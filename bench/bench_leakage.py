"""Leakage-audit benchmark: its seconds on a demo-sized frame, on 2 threads.

A hand-made frame of the demo's shape (20k profiles at four cutoffs, ~80%
eligible at each, 64 numeric features of counts and recencies, 6 categorical
ones, a weak label) goes through :func:`ml.model.frames.split` and
:func:`ml.model.leakage.leakage_audit`, timed. No warehouse is needed.

Usage::

    .venv/bin/python bench/bench_leakage.py [--profiles 20000]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd


def demo_sized(profiles: int, seed: int = 7) -> pd.DataFrame:
    """Profiles at four cutoffs, 70 features, a label from a few of them."""
    rng = np.random.default_rng(seed)
    cutoffs = pd.date_range("2026-09-03", periods=4, freq="14D", tz="UTC")
    rows = [
        pd.DataFrame({"profile_id": [f"p{i}" for i in kept], "cutoff_at": cutoff})
        for cutoff in cutoffs
        for kept in [np.flatnonzero(rng.random(profiles) < 0.8)]
    ]
    data = pd.concat(rows, ignore_index=True)
    n = len(data)
    activity = rng.gamma(1.0, 1.0, n)
    for column in range(48):
        data[f"count_event_{column:02d}"] = rng.poisson(activity * (column % 5 + 1))
    for column in range(16):
        days = rng.exponential(20 / (activity + 0.1), n).round()
        data[f"days_since_event_{column:02d}"] = np.where(days < 180, days, np.nan)
    for column, levels in enumerate((5, 12, 40, 200, 3, 2_000)):
        data[f"category_{column}"] = rng.integers(0, levels, n).astype(str)
    logit = -2.6 + 0.35 * np.log1p(data["count_event_00"]) + 0.3 * activity
    data["label"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    return data


def main(argv: list[str] | None = None) -> int:
    """Time the audit and print its result."""
    from ml.core.config import TrainSettings
    from ml.model import frames
    from ml.model.leakage import leakage_audit

    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--profiles", type=int, default=20_000)
    args = options.parse_args(argv)
    settings = TrainSettings()
    data = frames.split(demo_sized(args.profiles), settings)
    started = time.perf_counter()
    audit = leakage_audit(data, settings)
    seconds = time.perf_counter() - started
    print(
        f"{len(data.train):,} train / {len(data.holdout):,} holdout rows, "
        f"{len(data.features)} features: audit {seconds:.2f} s, "
        f"passed {audit['passed']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
