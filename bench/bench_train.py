"""Stage-4 benchmark: training time at given training-set sizes, on 2 threads.

For each size it generates enough profiles for about that many training rows
(four cutoffs, ~80% eligible), builds the features, exports them, and times in
one run: the whole ``enrich train`` step (CatBoost with early stopping,
calibration, leakage audit, SHAP, both baselines) and, beside it, the
reference random forest alone (the reference workflow's model), with holdout
AUCs and the oracle's.

Target (project issue): training at 100k rows under 60 s on 2 threads.

Usage::

    .venv/bin/python bench/bench_train.py [--rows 100000 1000000]
"""

from __future__ import annotations

import datetime as dt
import sys
import time

try:  # run as a script (python bench/bench_train.py, make bench-train)
    from common import fresh_home, parser, say, write_results
except ImportError:  # run as a module (python -m bench.bench_train)
    from bench.common import fresh_home, parser, say, write_results

ROWS_PER_PROFILE = 3.05  # training rows per generated profile (measured)


def measure(rows: int, seed: int, as_of: dt.date) -> dict:
    """Prepare data for ``rows`` training rows and time the training step."""
    from ml import synthetic
    from ml.data import generated
    from ml.features import export, featurize
    from ml.model import train

    with fresh_home(f"train-{rows}") as settings:
        profiles = int(rows / ROWS_PER_PROFILE)
        say(f"{rows:,} rows: generating {profiles:,} profiles, dbt, export ...")
        params = synthetic.GeneratorParams(profiles=profiles, seed=seed, as_of=as_of)
        generated.load_generated(settings, params)
        featurize.featurize(settings, select=["+ml_training_set"])
        [exported] = export.export(settings, ["ml_training_set"])
        say(f"training on {exported.rows:,} rows ...")
        started = time.perf_counter()
        trained = train.train(settings, exported)
        seconds = time.perf_counter() - started
        return {
            "training_rows": exported.rows,
            "train_step_s": seconds,
            "catboost_s": trained.data["seconds"]["catboost"],
            "catboost_auc": trained.metrics["roc_auc"],
            "oracle_auc": trained.metrics["oracle_auc"],
            "ece": trained.metrics["ece"],
            "top_decile_lift": trained.metrics["top_decile_lift"],
            "best_iteration": trained.metrics["best_iteration"],
            "random_forest_auc": trained.baselines["random_forest"]["roc_auc"],
            "random_forest_s": trained.baselines["random_forest"]["seconds"],
            "logistic_regression_auc": trained.baselines["logistic_regression"][
                "roc_auc"
            ],
            "thread_count": settings.train.thread_count,
        }


def main(argv: list[str] | None = None) -> int:
    """Run and write bench_train.json and bench_train.md."""
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = options.parse_args(argv)
    results = [measure(rows, args.seed, args.as_of) for rows in args.rows]
    lines = [
        "| training rows | train step s | CatBoost fit s | CatBoost AUC "
        "| oracle AUC | ECE "
        "| top-decile lift | random forest s | random forest AUC | logistic AUC |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        oracle = "n/a" if r["oracle_auc"] is None else f"{r['oracle_auc']:.3f}"
        lines.append(
            f"| {r['training_rows']:,} | {r['train_step_s']:.1f} "
            f"| {r['catboost_s']:.1f} "
            f"| {r['catboost_auc']:.3f} | {oracle} | {r['ece']:.4f} "
            f"| {r['top_decile_lift']:.2f} | {r['random_forest_s']:.1f} "
            f"| {r['random_forest_auc']:.3f} | {r['logistic_regression_auc']:.3f} |"
        )
    write_results(args.out, "bench_train", "\n".join(lines), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
