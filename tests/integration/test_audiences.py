"""Sizing audiences against the real enriched profiles."""

from __future__ import annotations

import itertools

import pytest

from ml.activation import builds, rules
from ml.activation.definitions import load_definitions
from ml.activation.sizing import size

pytestmark = pytest.mark.integration


def test_sizing_counts_what_the_rule_selects(ingested, settings, sql):
    sizing = size(
        settings, "country in ('US', 'CA') and not subscribed and decile >= 6"
    )
    [(expected, conversions)] = sql(
        "select count(*), sum(propensity) from profiles.profiles_enriched "
        "where has_score and country_code in ('US', 'CA') and not has_converted "
        "and decile >= 6"
    )
    assert sizing.matching == expected > 0
    assert sizing.expected_conversions == pytest.approx(conversions)
    [(profiles, scored)] = sql(
        "select count(*), count(*) filter (where has_score) "
        "from profiles.profiles_enriched"
    )
    assert (sizing.profiles, sizing.scored) == (profiles, scored)
    # Reach above a threshold on the grid is exact.
    [(above,)] = sql(
        "select count(*) from profiles.profiles_enriched where has_score "
        "and country_code in ('US', 'CA') and not has_converted and decile >= 6 "
        "and propensity >= 0.05"
    )
    assert sizing.above(0.05)["reach"] == above
    curve = sizing.curve()
    assert all(a["reach"] >= b["reach"] for a, b in itertools.pairwise(curve))


def test_top_percent_takes_that_share_of_the_run(ingested, settings):
    sizing = size(settings, "top_percent(10)")
    assert sizing.matching == pytest.approx(0.1 * sizing.scored, abs=2)


def test_every_project_audience_sizes(ingested, settings):
    for audience in load_definitions(settings).audiences:
        sizing = size(settings, audience.rule)
        assert 0 < sizing.matching <= sizing.scored, audience.id


def test_a_hostile_rule_never_reaches_the_database(ingested, settings, sql):
    with pytest.raises(rules.RuleError):
        size(settings, "decile >= 1; drop table profiles.profiles_enriched")
    sizing = size(settings, "country = '; drop table x; --'")
    assert sizing.matching == 0
    assert sql("select to_regclass('profiles.profiles_enriched') is not null") == [
        (True,)
    ]


def test_builds_snapshot_members_with_a_stable_holdout_and_deltas(
    ingested, settings, sql
):
    from ml.features import featurize
    from ml.scores import score, writeback

    first = builds.build(settings)
    assert first.status == "success"
    rows = {row["audience_id"]: row for row in first.audiences}
    for audience in load_definitions(settings).audiences:
        row = rows[audience.id]
        assert row["count_members"] == size(settings, audience.rule).matching
        assert row["count_entered"] + row["count_stayed"] == row["count_members"]
        assert 0 <= row["count_holdout"] <= row["count_members"]
    top = rows["likely_subscribers"]
    assert top["realised_rate"] is not None and top["base_rate"] is not None
    assert top["realised_rate"] > top["base_rate"]
    # Same scores and definitions: nothing is built again.
    again = builds.build(settings)
    assert again.status == "skipped" and again.batch_id == first.batch_id

    # A new scoring run: a new build; a profile keeps its group.
    writeback.ingest(settings, score.score(settings))
    featurize.featurize(settings, select=["source:scores+"])
    second = builds.build(settings)
    assert second.status == "success" and second.batch_id != first.batch_id
    changed = sql(
        "select count(*) from audiences.memberships as a "
        "inner join audiences.memberships as b using (audience_id, profile_id) "
        "where a.batch_id = %s and b.batch_id = %s and a.is_holdout <> b.is_holdout",
        [first.batch_id, second.batch_id],
    )
    assert changed == [(0,)]
    for row in second.audiences:
        previous = rows[row["audience_id"]]["count_members"]
        assert row["count_entered"] + row["count_stayed"] == row["count_members"]
        assert row["count_exited"] + row["count_stayed"] == previous


def test_the_holdout_share_is_within_a_point_at_100k_profiles(warehouse, sql):
    from ml.core import warehouse as wh

    with wh.connect(warehouse, autocommit=True) as conn:
        wh.ensure_schemas(conn, ("audiences_schema.sql",))
    for audience_id, percent in (("a", 10), ("likely_subscribers", 5), ("z9", 25)):
        [(share,)] = sql(
            "select avg((audiences.holdout_bucket(%s, 'profile-' || g) < %s)::int) "
            "from generate_series(1, 100000) as g",
            [audience_id, percent * 100],
        )
        assert abs(float(share) * 100 - percent) < 1, (audience_id, share)
