"""Model benchmark: CatBoost beside every baseline and the oracle, per demo size.

For each size it generates the demo (the embedded defaults' generator seed),
builds the features, exports them and runs ``enrich train``'s training once
with the project's settings: the holdout AUCs of CatBoost, logistic
regression, the random forest, the recency-frequency baseline and the
generator's oracle, side by side, with the gate's comparison (CatBoost minus
the best baseline, bootstrap interval). ``--variant`` adds CatBoost-only fits
on the same split with other parameters (JSON of train settings), to see what
helps a tree model here.

Usage::

    .venv/bin/python bench/bench_models.py [--profiles 20000 100000]
        [--variant '{"depth": 4, "l2_leaf_reg": 10}' ...]
"""

from __future__ import annotations

import json
import sys
import time

try:  # run as a script (python bench/bench_models.py)
    from common import fresh_home, parser, say, write_results
except ImportError:  # run as a module (python -m bench.bench_models)
    from bench.common import fresh_home, parser, say, write_results

MODELS = ("logistic_regression", "random_forest", "recency_frequency")


def _variant_auc(settings, exported, overrides: dict) -> dict:
    """Holdout AUC of CatBoost alone with ``overrides`` on the same split."""
    from sklearn.metrics import roc_auc_score

    from ml.model import fit, frames

    config = settings.train.model_copy(update=overrides)
    data = frames.split(frames.training_rows(settings, exported).take(), config)
    started = time.perf_counter()
    model = fit.fit_catboost(data, config)
    raw = model.predict_proba(fit.pool(data.holdout, data, with_label=False))[:, 1]
    return {
        "variant": json.dumps(overrides, sort_keys=True),
        "catboost_auc": float(roc_auc_score(data.holdout[frames.LABEL], raw)),
        "best_iteration": int(model.get_best_iteration() or 0),
        "seconds": time.perf_counter() - started,
    }


def measure(profiles: int, as_of, variants: list[dict]) -> dict:
    """Generate, featurize, export and train at ``profiles`` profiles."""
    from ml import synthetic
    from ml.data import generated
    from ml.features import export, featurize
    from ml.model import train

    with fresh_home(f"models-{profiles}") as settings:
        say(f"{profiles:,} profiles: generating, dbt, export ...")
        params = synthetic.GeneratorParams(
            profiles=profiles, seed=settings.generate.seed, as_of=as_of
        )
        generated.load_generated(settings, params)
        featurize.featurize(settings, select=["+ml_training_set"])
        [exported] = export.export(settings, ["ml_training_set"])
        say(f"training on {exported.rows:,} rows ...")
        trained = train.train(settings, exported)
        comparison = trained.metrics["baseline_comparison"]
        result = {
            "profiles": profiles,
            "training_rows": exported.rows,
            "holdout_rows": trained.metrics["rows"],
            "holdout_positives": trained.metrics["positives"],
            "catboost_auc": trained.metrics["roc_auc"],
            "best_iteration": trained.metrics["best_iteration"],
            "oracle_auc": trained.metrics["oracle_auc"],
            **{f"{m}_auc": trained.baselines[m]["roc_auc"] for m in MODELS},
            "best_baseline": comparison["best_baseline"],
            "difference": comparison["difference"],
            "interval": comparison["interval"],
            "params": {
                k: trained.params[k]
                for k in (
                    "iterations",
                    "learning_rate",
                    "depth",
                    "l2_leaf_reg",
                    "border_count",
                    "early_stopping_rounds",
                )
                if k in trained.params
            },
            "variants": [],
        }
        for overrides in variants:
            say(f"variant {overrides} ...")
            result["variants"].append(_variant_auc(settings, exported, overrides))
        return result


def table(results: list[dict]) -> str:
    """The Markdown table of the results (and of the variants, if any)."""
    lines = [
        "| profiles | holdout rows (positives) | CatBoost | logistic regression "
        "| random forest | recency-frequency | oracle "
        "| CatBoost - best baseline [95% interval] |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        oracle = "n/a" if r["oracle_auc"] is None else f"{r['oracle_auc']:.3f}"
        low, high = r["interval"]
        lines.append(
            f"| {r['profiles']:,} | {r['holdout_rows']:,} ({r['holdout_positives']:,}) "
            f"| {r['catboost_auc']:.3f} | {r['logistic_regression_auc']:.3f} "
            f"| {r['random_forest_auc']:.3f} | {r['recency_frequency_auc']:.3f} "
            f"| {oracle} | {r['difference']:+.3f} vs {r['best_baseline']} "
            f"[{low:+.3f}, {high:+.3f}] |"
        )
    lines += ["", f"CatBoost parameters: {results[0]['params']}"]
    variants = [(r["profiles"], v) for r in results for v in r["variants"]]
    if variants:
        lines += [
            "",
            "| profiles | CatBoost variant (raw scores) | AUC | best iteration | s |",
            "|---:|---|---:|---:|---:|",
            *(
                f"| {p:,} | `{v['variant']}` | {v['catboost_auc']:.4f} "
                f"| {v['best_iteration']} | {v['seconds']:.1f} |"
                for p, v in variants
            ),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run and write bench_models.json and bench_models.md."""
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--profiles", type=int, nargs="+", default=[20_000, 100_000])
    options.add_argument("--variant", type=json.loads, action="append", default=[])
    options.add_argument("--name", default="bench_models")
    args = options.parse_args(argv)
    results = [measure(n, args.as_of, args.variant) for n in args.profiles]
    write_results(args.out, args.name, table(results), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
