"""The baselines and the promotion gate on hand-made frames and scores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from scipy.stats import norm

from ml.core.config import RegistrySettings
from ml.model import baselines, gate, registry


def activity_frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Profiles whose chance of the target rises with recency and frequency."""
    fills = rng.poisson(0.5, n)
    frame = pd.DataFrame(
        {
            "days_since_last_event": rng.integers(0, 60, n).astype(float),
            "count_events_total": rng.poisson(8, n),
            "count_events_28d": rng.poisson(3, n),
            # Null ("never") for a profile without a form fill.
            "days_since_form_fills": np.where(
                fills == 0, np.nan, rng.integers(0, 60, n)
            ),
            "count_form_fills_total": fills,
            "tenure_days": rng.integers(0, 400, n),
        }
    )
    logit = (
        -2
        - 0.05 * frame["days_since_last_event"]
        + 0.1 * frame["count_events_total"]
        + 0.1 * frame["count_events_28d"]
        + 0.8 * frame["count_form_fills_total"]
    )
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def test_recency_frequency_ranks_recent_frequent_profiles_first():
    rng = np.random.default_rng(5)
    train = activity_frame(4_000, rng)
    columns = baselines.recency_frequency_columns(list(train.columns), "form_fills")
    # Only the columns the frame has; tenure is not recency or frequency.
    assert columns == [
        "days_since_last_event",
        "count_events_total",
        "count_events_28d",
        "days_since_form_fills",
        "count_form_fills_total",
    ]
    ranking = baselines.RecencyFrequency(columns).fit(train, train["label"].to_numpy())
    assert ranking.direction["days_since_last_event"] == -1
    assert ranking.direction["count_events_total"] == 1
    # The training part turns the recency of the target: never (null) is worst.
    assert ranking.direction["days_since_form_fills"] == -1
    hand_made = pd.DataFrame(
        {
            "days_since_last_event": [1.0, 30.0, 59.0],
            "count_events_total": [20, 8, 1],
            "count_events_28d": [8, 3, 0],
            "days_since_form_fills": [2.0, 40.0, np.nan],
            "count_form_fills_total": [3, 1, 0],
        }
    )
    scores = ranking.score(hand_made)
    assert scores[0] > scores[1] > scores[2]
    assert np.all((scores >= 0) & (scores <= 1))
    held = activity_frame(4_000, rng)
    auc = gate.auc_difference(
        held["label"].to_numpy(), ranking.score(held), np.zeros(len(held)), seed=1
    )["candidate_auc"]
    assert auc > 0.65


def binormal(
    n: int, shifts: tuple[float, float], rng: np.random.Generator, rate: float = 0.2
):
    """Labels and two independent scorers with the given class separations."""
    labels = (rng.random(n) < rate).astype(int)
    first = rng.normal(size=n) + shifts[0] * labels
    second = rng.normal(size=n) + shifts[1] * labels
    return labels, first, second


def test_the_interval_is_deterministic_under_its_seed():
    labels, first, second = binormal(3_000, (1.0, 0.8), np.random.default_rng(1))
    one = gate.auc_difference(labels, first, second, seed=7)
    assert one == gate.auc_difference(labels, first, second, seed=7)
    other = gate.auc_difference(labels, first, second, seed=8)
    assert other["interval"] != one["interval"]
    assert other["difference"] == one["difference"]


def test_the_interval_covers_a_known_difference():
    # AUC of N(shift, 1) against N(0, 1) is Phi(shift / sqrt 2).
    truth = norm.cdf(1.0 / np.sqrt(2)) - norm.cdf(0.8 / np.sqrt(2))
    rng = np.random.default_rng(2)
    covered, widths, estimates = [], [], []
    for trial in range(100):
        # Balanced classes: both halves of the resampling weigh alike.
        labels, first, second = binormal(2_000, (1.0, 0.8), rng, rate=0.5)
        result = gate.auc_difference(labels, first, second, seed=trial)
        low, high = result["interval"]
        covered.append(low <= truth <= high)
        widths.append(high - low)
        estimates.append(result["difference"])
    # 95% intervals: 100 trials cover the truth 89-100 times (binomial 99.5%).
    assert 0.89 <= np.mean(covered) <= 1.0
    # And their width is that of the estimate's spread over the trials
    # (2 x 1.96 standard deviations; 100 trials estimate it within ~15%).
    spread = 2 * 1.96 * np.std(estimates)
    assert 0.8 < np.mean(widths) / spread < 1.25


def test_the_interval_is_narrow_when_the_difference_is_large():
    labels, strong, weak = binormal(20_000, (3.0, 0.0), np.random.default_rng(3))
    result = gate.auc_difference(labels, strong, weak, seed=7)
    low, high = result["interval"]
    assert result["difference"] > 0.4
    assert 0 < low < result["difference"] < high
    assert high - low < 0.03


def version(number: int, metrics: dict) -> registry.Version:
    return registry.Version(
        "m", number, "candidate", "", metrics, {}, {}, {}, {}, None,
        dt.datetime(2026, 1, 1), None,
    )  # fmt: skip


def candidate(number: int, labels, scores, baseline_scores) -> registry.Version:
    compared = gate.compare(labels, scores, baseline_scores, seed=7)
    return version(
        number, {"roc_auc": compared["candidate_auc"], "baseline_comparison": compared}
    )


def refusal(
    candidate: registry.Version,
    current: registry.Version | None,
    rules: RegistrySettings,
) -> str | None:
    production = None if current is None else (current.version, current.metrics)
    return gate.refusal(candidate.version, candidate.metrics, production, rules)


def test_the_gate_refuses_a_candidate_a_baseline_beats_and_names_it():
    rng = np.random.default_rng(4)
    labels, good, weak = binormal(10_000, (1.2, 0.7), rng)
    others = {
        "logistic_regression": good,
        "random_forest": rng.normal(size=labels.size) + 0.9 * labels,
    }
    beaten = candidate(3, labels, weak, others)
    refuse = RegistrySettings(min_auc=0.6, baseline_rule="refuse")
    reason = refusal(beaten, None, refuse)
    assert reason is not None
    assert "logistic regression won" in reason
    assert "below the best baseline" in reason and "interval" in reason
    # Under warn the gate lets it through (the decision says who won).
    assert refusal(beaten, None, RegistrySettings(min_auc=0.6)) is None
    # The floor still comes first, with its own message.
    floor = refusal(beaten, None, RegistrySettings(min_auc=0.9))
    assert floor is not None and "below the floor" in floor


def test_the_gate_promotes_a_candidate_within_or_above_the_best_baseline():
    rng = np.random.default_rng(6)
    labels, first, second = binormal(10_000, (1.0, 1.0), rng)
    settings = RegistrySettings(min_auc=0.6, baseline_rule="refuse")
    level = candidate(4, labels, first, {"logistic_regression": second})
    assert level.metrics["baseline_comparison"]["interval"][0] < 0
    assert refusal(level, None, settings) is None
    labels, strong, weak = binormal(10_000, (1.5, 1.0), rng)
    above = candidate(5, labels, strong, {"recency_frequency": weak})
    assert refusal(above, None, settings) is None
    # Against production, the existing rule and its message stay.
    production = version(2, {"roc_auc": above.metrics["roc_auc"] + 0.05})
    dropped = refusal(above, production, settings)
    assert dropped is not None and "below production v2" in dropped
