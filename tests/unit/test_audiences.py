"""Audience definitions: validation without a database, sizing arithmetic."""

from __future__ import annotations

import pytest

from ml.activation import definitions as audience_definitions
from ml.activation import sizing as audience_sizing


def definitions(tmp_path, text, settings):
    path = tmp_path / "audiences.yml"
    path.write_text(text)
    local = settings.model_copy(
        update={"audiences": settings.audiences.model_copy(update={"file": path})}
    )
    return audience_definitions.load_definitions(local)


def test_the_project_audiences_are_valid(settings):
    found = audience_definitions.load_definitions(settings)
    assert len(found.audiences) >= 3
    assert all(set(a.destinations) <= set(found.destinations) for a in found.audiences)


def test_every_problem_is_reported_with_its_audience(tmp_path, settings):
    text = """
destinations:
  files: {type: file, channel: email, path: out}
audiences:
  - {id: good, name: Good, rule: decile >= 9, destinations: [files]}
  - {id: bad_rule, name: Bad, rule: "decile >= 'x'"}
  - {id: bad_destination, name: Bad, rule: subscribed, destinations: [nowhere]}
  - {id: good, name: Twice, rule: subscribed}
"""
    with pytest.raises(audience_definitions.AudienceError) as caught:
        definitions(tmp_path, text, settings)
    message = str(caught.value)
    assert "bad_rule: rule: decile is number, not text" in message
    assert "bad_destination: unknown destination 'nowhere'" in message
    assert "good: the id is used twice" in message


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{id: Top-Decile, name: x, rule: subscribed}", "lowercase letters"),
        ("{id: a, name: x, rule: subscribed, holdout_percent: 100}", "less than 100"),
        ("{id: a, name: x, rule: subscribed, attributes: [email]}", "unknown attrib"),
        ("{id: a, name: x, rule: subscribed, colour: red}", "Extra inputs"),
    ],
)
def test_malformed_entries_are_refused(tmp_path, settings, entry, message):
    with pytest.raises(audience_definitions.AudienceError, match=message):
        definitions(tmp_path, f"audiences:\n  - {entry}\n", settings)


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("{type: http, channel: sms, url: 'http://example.com/a'}", "must use https"),
        ("{type: http, channel: sms}", "needs a url"),
        ("{type: file, channel: email}", "needs a path"),
        ("{type: ftp, channel: email, path: x}", "'file' or 'http'"),
        ("{type: file, path: x}", "channel"),
        ("{type: file, channel: fax, path: x}", "'email', 'sms', 'push'"),
    ],
)
def test_destinations_are_checked(tmp_path, settings, destination, message):
    text = f"destinations:\n  d: {destination}\naudiences: []\n"
    with pytest.raises(audience_definitions.AudienceError, match=message):
        definitions(tmp_path, text, settings)


def test_local_http_destinations_may_skip_tls(tmp_path, settings):
    text = "destinations:\n  d: {type: http, channel: push, url: 'http://127.0.0.1:8/in'}\n"
    assert definitions(tmp_path, text, settings).destinations["d"].url


def test_reach_and_the_profit_maximising_threshold():
    counts = [0] * audience_sizing.BUCKETS
    sums = [0.0] * audience_sizing.BUCKETS
    # 100 profiles at 0.01, 10 at 0.1, 1 at 0.5 (bucket = propensity * 200).
    for propensity, n in ((0.01, 100), (0.1, 10), (0.5, 1)):
        bucket = int(propensity * audience_sizing.BUCKETS)
        counts[bucket] += n
        sums[bucket] += propensity * n
    sizing = audience_sizing.Sizing(
        "r", 1_000, 111, 111, sum(sums), counts, sums, 0.5, 10.0
    )
    assert sizing.above(0.0)["reach"] == 111
    assert sizing.above(0.05)["reach"] == 11
    assert sizing.above(0.1)["expected_conversions"] == pytest.approx(1.5)
    assert sizing.between(0.01, 0.1)["reach"] == 100
    # Contacting a profile pays when 10 * propensity > 0.5, i.e. above 0.05.
    best = sizing.suggestion()
    assert best["reach"] == 11 and best["threshold"] == pytest.approx(0.1)
    assert best["expected_profit"] == pytest.approx(10 * 1.5 - 0.5 * 11)
    table = sizing.table()
    assert [row["threshold"] for row in table][-1] == 0.5
    # Bands between shown thresholds add up to everyone.
    assert sum(row["band_reach"] for row in table) == 111
    assert table[-1]["band_reach"] == 1
    no_economics = audience_sizing.Sizing("r", 1_000, 111, 111, 1.0, counts, sums)
    assert no_economics.suggestion() is None
    assert "expected_profit" not in no_economics.above(0.0)
