"""Sizing: the propensity-reach analysis of an audience rule.

Among the scored profiles a rule selects, how many lie above each propensity
threshold, how many conversions they are expected to bring (the sum of their
propensities) and what share of all profiles they are. With a cost per
contact and a value per conversion in the config, it also suggests the
threshold that maximises expected profit. The counts come from one grouped
query over ``profiles.profiles_enriched`` (200 propensity buckets), so any
threshold or interval on the 0.005 grid is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml.activation import rules
from ml.activation.definitions import AudienceError
from ml.core import relations, sql, warehouse
from ml.core.config import Settings

BUCKETS = 200  # propensity buckets of width 0.005
SHOWN_THRESHOLDS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)


@dataclass
class Sizing:
    """The propensity-reach analysis of one rule."""

    rule: str
    profiles: int  # every profile of the store
    scored: int  # profiles with a current score
    matching: int  # scored profiles the rule selects
    expected_conversions: float
    counts: list[int] = field(repr=False)  # per 0.005 bucket, from 0 up
    sums: list[float] = field(repr=False)  # sum of propensities per bucket
    cost_per_contact: float | None = None
    value_per_conversion: float | None = None

    def above(self, threshold: float) -> dict[str, Any]:
        """Reach, expected conversions and profit at propensity >= threshold."""
        first = min(BUCKETS, max(0, round(threshold * BUCKETS)))
        reach = sum(self.counts[first:])
        expected = sum(self.sums[first:])
        return self._row(threshold, reach, expected)

    def between(self, lower: float, upper: float) -> dict[str, Any]:
        """Reach and expected conversions at lower <= propensity < upper.

        An upper bound above 1 includes propensity 1.
        """
        low = min(BUCKETS, max(0, round(lower * BUCKETS)))
        high = min(BUCKETS, max(low, round(upper * BUCKETS)))
        return self._row(lower, sum(self.counts[low:high]), sum(self.sums[low:high]))

    def _row(self, threshold: float, reach: int, expected: float) -> dict[str, Any]:
        row = {
            "threshold": threshold,
            "reach": reach,
            "share_of_profiles": reach / self.profiles if self.profiles else 0.0,
            "expected_conversions": expected,
            "expected_rate": expected / reach if reach else 0.0,
        }
        if self.cost_per_contact is not None and self.value_per_conversion is not None:
            row["expected_profit"] = (
                self.value_per_conversion * expected - self.cost_per_contact * reach
            )
        return row

    def curve(self) -> list[dict[str, Any]]:
        """Reach above every threshold of the 0.005 grid (what a report plots)."""
        return [self.above(bucket / BUCKETS) for bucket in range(BUCKETS)]

    def table(self) -> list[dict[str, Any]]:
        """Reach above the thresholds people read, up to the highest score.

        Each row also carries ``band_reach``: the reach from its threshold up
        to the next one (the last band is open-ended).
        """
        top = max((i for i, c in enumerate(self.counts) if c), default=0) / BUCKETS
        shown = [t for t in SHOWN_THRESHOLDS if t <= top or t == 0.0]
        rows = []
        for lower, upper in zip(shown, [*shown[1:], 1.0 + 1 / BUCKETS], strict=True):
            row = self.above(lower)
            row["band_reach"] = self.between(lower, upper)["reach"]
            rows.append(row)
        return rows

    def suggestion(self) -> dict[str, Any] | None:
        """The threshold with the highest expected profit (None without economics)."""
        if self.cost_per_contact is None or self.value_per_conversion is None:
            return None
        # Among equal profits, the highest threshold: fewer contacts, same gain.
        return max(
            self.curve(), key=lambda row: (row["expected_profit"], row["threshold"])
        )


def size(settings: Settings, rule: str) -> Sizing:
    """Size a rule against the enriched profiles.

    Args:
        settings: Project settings (the economics come from ``audiences``).
        rule: A rule in the language of :mod:`ml.activation.rules`.

    Returns:
        Counts and propensity sums per bucket of the profiles the rule selects.

    Raises:
        RuleError: The rule does not parse.
        AudienceError: The enriched profiles do not exist yet.
    """
    condition, params = rules.compile_rule(rule)
    with warehouse.connect(settings) as conn:
        if not warehouse.exists(conn, relations.PROFILES_ENRICHED):
            raise AudienceError(
                f"{'.'.join(relations.PROFILES_ENRICHED)} does not exist: run "
                "`enrich run`, or `enrich featurize` after `enrich ingest`."
            )
        profiles, scored = sql.single_row(
            conn.execute(sql.statement("ml.activation", "size_totals"))
        )
        rows = conn.execute(
            sql.statement("ml.activation", "size_buckets", condition=condition),
            [BUCKETS, BUCKETS, *params],
        ).fetchall()
    counts = [0] * BUCKETS
    sums = [0.0] * BUCKETS
    for bucket, count, total in rows:
        counts[bucket] = int(count)
        sums[bucket] = float(total)
    return Sizing(
        rule=rule,
        profiles=int(profiles),
        scored=int(scored),
        matching=sum(counts),
        expected_conversions=sum(sums),
        counts=counts,
        sums=sums,
        cost_per_contact=settings.audiences.cost_per_contact,
        value_per_conversion=settings.audiences.value_per_conversion,
    )
