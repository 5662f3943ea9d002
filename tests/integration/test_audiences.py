"""Sizing audiences against the real enriched profiles."""

from __future__ import annotations

import itertools

import pytest

from ml import audiences, rules

pytestmark = pytest.mark.integration


def test_sizing_counts_what_the_rule_selects(ingested, settings, sql):
    sizing = audiences.size(
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
    sizing = audiences.size(settings, "top_percent(10)")
    assert sizing.matching == pytest.approx(0.1 * sizing.scored, abs=2)


def test_every_project_audience_sizes(ingested, settings):
    for audience in audiences.load_definitions(settings).audiences:
        sizing = audiences.size(settings, audience.rule)
        assert 0 < sizing.matching <= sizing.scored, audience.id


def test_a_hostile_rule_never_reaches_the_database(ingested, settings, sql):
    with pytest.raises(rules.RuleError):
        audiences.size(settings, "decile >= 1; drop table profiles.profiles_enriched")
    sizing = audiences.size(settings, "country = '; drop table x; --'")
    assert sizing.matching == 0
    assert sql("select to_regclass('profiles.profiles_enriched') is not null") == [
        (True,)
    ]
