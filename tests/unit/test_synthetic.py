"""The generator: determinism, calibrated truth, churn, realistic volumes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ml import synthetic

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def params() -> synthetic.GeneratorParams:
    return synthetic.GeneratorParams(
        profiles=24_000, seed=11, as_of=AS_OF, chunk_profiles=12_000
    )


@pytest.fixture(scope="module")
def chunks(params) -> list[synthetic.SyntheticChunk]:
    return list(synthetic.generate(params))


@pytest.fixture(scope="module")
def truth(chunks) -> pa.Table:
    return pa.concat_tables([chunk.truth for chunk in chunks])


@pytest.fixture(scope="module")
def events(chunks) -> pa.Table:
    return pa.concat_tables([chunk.events for chunk in chunks])


def test_same_seed_gives_the_same_bytes(params, chunks):
    again = synthetic.generate_chunk(params, 1)
    assert again.events.equals(chunks[1].events)
    assert again.profiles.equals(chunks[1].profiles)
    assert again.truth.equals(chunks[1].truth)


def test_another_seed_gives_other_data(params, chunks):
    other = synthetic.GeneratorParams(
        profiles=params.profiles, seed=12, as_of=AS_OF, chunk_profiles=12_000
    )
    assert not synthetic.generate_chunk(other, 0).events.equals(chunks[0].events)


def test_chunks_hold_disjoint_profiles(chunks, params):
    ids = pa.concat_arrays(
        [chunk.profiles["profile_id"].combine_chunks() for chunk in chunks]
    )
    assert len(ids) == params.profiles
    assert pc.count_distinct(ids).as_py() == params.profiles


def test_events_per_profile_are_realistic(events, params):
    per_profile = events.num_rows / params.profiles
    assert 10 <= per_profile <= 40


def test_every_event_type_of_the_catalogue_occurs(events, settings_free_catalogue):
    seen = set(pc.unique(events["event_type"]).to_pylist())
    assert seen == {row.event_type for row in settings_free_catalogue}


@pytest.fixture(scope="module")
def settings_free_catalogue():
    from ml.core.config import PACKAGE_PROJECT_DIR

    return synthetic.read_event_catalogue(PACKAGE_PROJECT_DIR / "seeds")


def test_records_are_xdm_json_matching_their_columns(events):
    sample = events.take(np.arange(0, events.num_rows, 997))
    for row in sample.to_pylist():
        record = json.loads(row["record"])
        assert record["_id"] == row["event_id"]
        assert record["eventType"] == row["event_type"]
        assert record["identityMap"]["ECID"][0]["id"] == row["profile_id"]
        stamp = dt.datetime.fromisoformat(record["timestamp"])
        assert stamp.replace(tzinfo=None) == row["event_at"]


def test_history_ends_at_as_of(events, params):
    first = dt.datetime.combine(AS_OF, dt.time()) - dt.timedelta(weeks=params.weeks)
    assert pc.max(events["event_at"]).as_py() < dt.datetime.combine(AS_OF, dt.time())
    assert pc.min(events["event_at"]).as_py() >= first


def test_conversion_rate_is_a_few_percent_per_window(truth):
    past = truth.filter(
        pc.and_(pc.invert(truth["is_future"]), pc.greater(truth["p_true"], 0))
    )
    rate = pc.mean(past["is_converted"].cast(pa.int8())).as_py()
    assert 0.01 <= rate <= 0.08


def test_observed_conversion_tracks_the_oracle_per_decile(truth):
    live = truth.filter(pc.greater(truth["p_true"], 0))
    p = live["p_true"].to_numpy()
    y = live["is_converted"].to_numpy(zero_copy_only=False).astype(float)
    edges = np.quantile(p, np.linspace(0, 1, 11))
    decile = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    means = []
    for d in range(10):
        in_decile = decile == d
        expected = p[in_decile].mean()
        observed = y[in_decile].mean()
        se = np.sqrt(expected * (1 - expected) / in_decile.sum())
        assert abs(observed - expected) < 4 * se + 0.002, (d, observed, expected)
        means.append(expected)
    # The oracle separates: the top decile converts far more than the bottom.
    assert means[-1] > 5 * means[0]


def test_churned_profiles_stop_producing_events(truth, events):
    churned = truth.filter(pc.is_valid(truth["churned_at"])).select(
        ["profile_id", "churned_at"]
    )
    assert churned.num_rows > 0.05 * pc.count_distinct(truth["profile_id"]).as_py()
    joined = events.select(["profile_id", "event_at"]).join(churned, "profile_id")
    late = pc.greater(joined["event_at"], joined["churned_at"])
    assert pc.sum(late).as_py() in (0, None)


def test_conversions_happen_in_the_truth_and_in_the_events(truth, events):
    converted = truth.filter(
        pc.and_(truth["is_converted"], pc.invert(truth["is_future"]))
    )
    forms = events.filter(
        pc.and_(
            pc.equal(events["event_type"], synthetic.CONVERSION_EVENT_TYPE),
            pc.match_substring(events["record"], synthetic.CONVERSION_PAGE),
        )
    )
    # Churned-in-window conversions may fall after the churn; the rest appear.
    assert forms.num_rows <= converted.num_rows
    assert forms.num_rows >= 0.9 * converted.num_rows


def test_conversion_time_is_not_tied_to_another_event(events):
    """No fixed lag between a conversion and the event before it."""
    table = events.select(["profile_id", "event_at", "event_type", "record"])
    table = table.sort_by([("profile_id", "ascending"), ("event_at", "ascending")])
    at = table["event_at"].cast(pa.int64()).to_numpy()
    same_profile = (
        table["profile_id"].to_numpy(zero_copy_only=False)[1:]
        == table["profile_id"].to_numpy(zero_copy_only=False)[:-1]
    )
    is_conversion = pc.match_substring(
        table["record"], synthetic.CONVERSION_PAGE
    ).to_numpy(zero_copy_only=False)[1:]
    gaps_s = (at[1:] - at[:-1])[same_profile & is_conversion] / 1000
    assert gaps_s.size > 100
    # Gaps spread over hours to days, with no spike at one value.
    assert np.median(gaps_s) > 600
    _, counts = np.unique(np.round(gaps_s), return_counts=True)
    assert counts.max() < 0.01 * gaps_s.size


def test_profiles_carry_consent_with_a_realistic_opt_out(chunks):
    records = [json.loads(text) for text in chunks[0].profiles["record"].to_pylist()]
    for channel in ("email", "sms", "push"):
        share = np.mean(
            [r["consents"]["marketing"][channel]["val"] == "y" for r in records]
        )
        assert 0.2 < share < 0.95, channel
    assert {r["homeAddress"]["countryCode"] for r in records} >= {"US", "GB", "DE"}


def test_windows_end_at_as_of_and_one_lies_beyond(params):
    windows = params.windows
    as_of_ms = (AS_OF - dt.date(1970, 1, 1)).days * synthetic.MS_PER_DAY
    assert windows[-2][1] == as_of_ms
    assert windows[-1] == (
        as_of_ms,
        as_of_ms + params.horizon_days * synthetic.MS_PER_DAY,
    )
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))


def test_fingerprint_depends_on_every_parameter(params):
    other = synthetic.GeneratorParams(
        profiles=params.profiles, seed=params.seed, as_of=AS_OF, weeks=13,
        chunk_profiles=params.chunk_profiles,
    )  # fmt: skip
    assert other.fingerprint() != params.fingerprint()
    same = dataclasses.replace(params)
    assert same.fingerprint() == params.fingerprint()


def test_observed_state_replays_the_generated_truth(params, truth):
    """observe() draws the same world: its oracle is the truth table's, row for row,
    and the observable and latent terms add up to the oracle's propensity."""
    observed = []

    def on_window(chunk, state):
        observed.append(state.p_true[state.eligible])
        if state.number == 0:
            assert not state.previous_counts
        else:
            assert sum(c.sum() for c in state.previous_counts.values()) > 0
        logit = state.observable_logit + state.latent_logit
        live = state.eligible & (state.p_true > 0)
        propensity = 1.0 / (1.0 + np.exp(-logit[live]))
        # p_true is the propensity scaled by the share of the window lived.
        assert np.all(state.p_true[live] <= propensity + 1e-12)
        # Profiles alive for the whole window (most; some churn in it) get it all.
        full = live & (state.created_at < state.bounds[0])
        whole = np.isclose(state.p_true[full], propensity[full[live]])
        assert whole.mean() > 0.9

    synthetic.observe(params, on_window)
    # The truth table lists chunk by chunk, window by window, like observe().
    assert np.array_equal(np.concatenate(observed), truth["p_true"].to_numpy())
