"""The report's arithmetic and HTML, without a database."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ml import report

BUCKETS = 200


@given(
    st.lists(st.integers(0, 50), min_size=BUCKETS, max_size=BUCKETS),
    st.integers(1, 40),
    st.sampled_from([0.9, 0.99, 1.0]),
)
def test_interval_reach_counts_the_profiles_between_the_bounds(counts, steps, share):
    bounds, reach = report.interval_grid(counts, BUCKETS, steps=steps, share=share)
    assert len(bounds) <= steps + 2
    assert np.all(np.diff(bounds) > 0)
    # Brute force: a propensity in bucket b lies in [b, b + 1) / BUCKETS.
    lows = np.repeat(np.arange(BUCKETS) / BUCKETS, counts)
    for i, lower in enumerate(bounds):
        for j, upper in enumerate(bounds):
            if j <= i:
                assert np.isnan(reach[i, j])
            else:
                expected = np.count_nonzero(
                    (lows >= lower - 1e-12) & (lows < upper - 1e-12)
                )
                assert reach[i, j] == expected


@given(st.lists(st.integers(0, 50), min_size=BUCKETS, max_size=BUCKETS))
def test_the_grid_covers_the_share_of_profiles_asked_for(counts):
    total = sum(counts)
    _, reach = report.interval_grid(counts, BUCKETS, share=0.99)
    assert reach[0, -1] >= 0.99 * total
    top = report.covered_bucket(counts, 0.99)
    if total:  # the smallest number of buckets holding 99% of the profiles
        assert sum(counts[:top]) >= 0.99 * total > sum(counts[: top - 1])
    else:
        assert top == 0


def test_text_is_escaped_and_numbers_aligned():
    section = report.Section("data", "Data <b>", "1 < 2")
    section.items += [
        "<script>alert(1)</script>",
        report.Table("t", ["rule", "members"], [["country = 'US' & x", 1234567]]),
    ]
    page = report.render(
        report.Report("enrich", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), [section], {})
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<td>country = &#x27;US&#x27; &amp; x</td>" in page
    assert '<td class="n">1,234,567</td>' in page
    assert '<a href="#data">Data &lt;b&gt;</a>' in page
