"""How close to the oracle can any model get on the synthetic data?

The oracle AUC (the generator's true conversion probability, scored on the
holdout) includes each profile's latent logit term (``Behaviour.base_logit_sd``),
which no attribute states and only the profile's response rates hint at. This
benchmark measures the ceiling a model could reach without it, on the same
kind of holdout the pipeline uses (profiles seen before the latest training
cutoff, not yet converted, labelled by the window after it):

- the oracle itself;
- the **observable logit**: the attributes' true effects plus the exact shift
  earned by every earlier response, with the generator's own weights, and
  churned profiles known to be churned;
- **CatBoost on the generator's state**: that logit, fatigue, churn, tenure
  and every event type's counts (all history and the last window), trained
  on an independent population several times the holdout's size. It has
  everything the pipeline's features could ever tell a model, exactly;
- the same **plus the latent term**, to show that term is what separates the
  two.

The gap between the oracle and the state model is the part of the oracle no
feature engineering can reach.

Usage::

    .venv/bin/python bench/bench_ceiling.py [--profiles 100000]
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from typing import Any

import numpy as np

try:  # run as a script (python bench/bench_ceiling.py, make bench-ceiling)
    from common import parser, say, write_results
except ImportError:  # run as a module (python -m bench.bench_ceiling)
    from bench.common import parser, say, write_results

TRAIN_POPULATION_FACTOR = 3  # training profiles per holdout profile
STATE = ["observable_logit", "fatigue", "churned", "tenure_days"]


class _Collector:
    """Rows of (profile, window) with the state at the window's start."""

    def __init__(self) -> None:
        self.rows: dict[str, list[np.ndarray]] = defaultdict(list)
        self.types: list[str] = []
        self._totals: dict[int, dict[str, np.ndarray]] = {}
        self._seen: dict[int, np.ndarray] = {}

    def __call__(self, chunk: int, state: Any) -> None:
        from ml import synthetic

        n = state.eligible.size
        totals = self._totals.setdefault(chunk, {})
        seen = self._seen.setdefault(chunk, np.zeros(n, dtype=bool))
        for name, counts in state.previous_counts.items():
            totals[name] = totals.get(name, 0) + counts
            seen |= counts > 0
        if not state.previous_counts:
            return  # the first window: nobody has a history yet
        self.types = sorted(state.previous_counts)
        # The pipeline's eligibility: seen before the cutoff, not converted.
        keep = state.eligible & seen
        start = state.bounds[0]
        columns = {
            "window": np.full(n, state.number),
            "p_true": state.p_true,
            "label": state.converts,
            "observable_logit": state.observable_logit,
            "latent_logit": state.latent_logit,
            "fatigue": state.fatigue,
            "churned": state.churned.astype(float),
            "tenure_days": (start - state.created_at) / synthetic.MS_PER_DAY,
            **{f"all_{name}": totals[name] for name in self.types},
            **{f"last_{name}": state.previous_counts[name] for name in self.types},
        }
        for name, values in columns.items():
            self.rows[name].append(np.asarray(values, dtype=float)[keep])

    def frame(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.rows.items()}


def _simulate(profiles: int, seed: int, as_of: Any) -> tuple[dict, list[str], int]:
    from ml import synthetic

    params = synthetic.GeneratorParams(profiles=profiles, seed=seed, as_of=as_of)
    collector = _Collector()
    synthetic.observe(params, collector)
    # The pipeline's holdout: the latest training cutoff, whose label window
    # is the last one wholly in the data.
    return collector.frame(), collector.types, len(params.windows) - 2


def _fit_auc(train: dict, test: dict, columns: list[str], seed: int) -> float:
    from catboost import CatBoostClassifier
    from sklearn.metrics import roc_auc_score

    model = CatBoostClassifier(
        iterations=800,
        learning_rate=0.08,
        depth=6,
        random_seed=seed,
        thread_count=2,
        verbose=0,
        allow_writing_files=False,
    )
    model.fit(np.column_stack([train[c] for c in columns]), train["label"])
    scores = model.predict_proba(np.column_stack([test[c] for c in columns]))[:, 1]
    return float(roc_auc_score(test["label"], scores))


def measure(profiles: int, seed: int, as_of: Any) -> dict[str, Any]:
    """The oracle and the ceilings on one holdout of ``profiles`` profiles."""
    from sklearn.metrics import roc_auc_score

    started = time.perf_counter()
    say(f"simulating {profiles:,} holdout profiles (seed {seed}) ...")
    everything, types, holdout_window = _simulate(profiles, seed, as_of)
    test = {
        name: values[everything["window"] == holdout_window]
        for name, values in everything.items()
    }
    population = profiles * TRAIN_POPULATION_FACTOR
    say(f"simulating {population:,} training profiles (seed {seed + 1}) ...")
    history, _, _ = _simulate(population, seed + 1, as_of)
    train = {
        name: values[history["window"] <= holdout_window]
        for name, values in history.items()
    }
    counts = [f"{kind}_{name}" for name in types for kind in ("all", "last")]
    observable = np.where(test["churned"] > 0, -1e9, test["observable_logit"])
    say(f"training on {train['label'].size:,} rows ...")
    result = {
        "profiles": profiles,
        "holdout_rows": int(test["label"].size),
        "holdout_positives": int(test["label"].sum()),
        "training_rows": int(train["label"].size),
        "oracle_auc": float(roc_auc_score(test["label"], test["p_true"])),
        "observable_logit_auc": float(roc_auc_score(test["label"], observable)),
        "state_model_auc": _fit_auc(train, test, STATE + counts, seed),
        "state_and_latent_model_auc": _fit_auc(
            train, test, [*STATE, "latent_logit", *counts], seed
        ),
    }
    result["gap_to_oracle"] = result["oracle_auc"] - result["state_model_auc"]
    result["seconds"] = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    """Run and write bench_ceiling.json and bench_ceiling.md."""
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--profiles", type=int, nargs="+", default=[100_000])
    args = options.parse_args(argv)
    results = [measure(n, args.seed, args.as_of) for n in args.profiles]
    lines = [
        "| holdout profiles | holdout rows | positives | training rows "
        "| oracle AUC | observable logit AUC | state model AUC "
        "| state + latent AUC | oracle - state model |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['profiles']:,} | {r['holdout_rows']:,} "
            f"| {r['holdout_positives']:,} | {r['training_rows']:,} "
            f"| {r['oracle_auc']:.3f} | {r['observable_logit_auc']:.3f} "
            f"| {r['state_model_auc']:.3f} | {r['state_and_latent_model_auc']:.3f} "
            f"| {r['gap_to_oracle']:.3f} |"
            for r in results
        ),
    ]
    write_results(args.out, "bench_ceiling", "\n".join(lines), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
