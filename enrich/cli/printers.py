"""The tables the commands print: batches, back-tests, audiences, deliveries."""

from __future__ import annotations

from typing import Any

from enrich.cli.common import echo
from ml.activation.builds import Build
from ml.activation.ledger import Delivery
from ml.activation.sizing import Sizing
from ml.core.config import Settings
from ml.data.batches import BatchResult
from ml.scores import score
from ml.scores.writeback import IngestResult


def batches(results: list[BatchResult]) -> None:
    """One line per loaded batch, and why records were quarantined."""
    print(
        f"{'batch':<40} {'dataset':<17} {'status':<8} {'loaded':>10} "
        f"{'quarantined':>11} {'flagged':>8}"
    )
    for result in results:
        print(
            f"{result.batch_id:<40} {result.dataset:<17} {result.status:<8} "
            f"{result.records_loaded:>10,} {result.records_quarantined:>11,} "
            f"{result.records_flagged:>8,}"
        )
        for reason, count in sorted(result.reasons.items()):
            print(f"{'':<40}   quarantined as {reason}: {count:,}")


def backtest_of(settings: Settings, result: IngestResult) -> None:
    """The back-test of an ingest's scores (synthetic data only)."""
    backtest(
        score.backtest(settings, result.model_name, result.model_version, result.as_of)
    )


def backtest(table: list[dict[str, Any]] | None) -> None:
    """Realised conversion by decile, highest first, on stderr (if any)."""
    if table is None:
        return
    echo("back-test against the generator's simulated future (as_of + horizon):")
    echo(f"{'decile':>6} {'profiles':>9} {'mean score':>10} {'converted':>9}")
    for row in reversed(table):
        echo(
            f"{row['decile']:>6} {row['profiles']:>9,} "
            f"{row['mean_propensity']:>10.4f} {row['realised_rate']:>9.4f}"
        )


def ingest(result: IngestResult) -> None:
    """What an ingest swapped in, or that it had nothing to do."""
    if result.status == "skipped":
        print(
            f"{result.source} was already ingested ({result.batch_id}): nothing to do"
        )
        return
    replaced = f", replacing {', '.join(result.replaced)}" if result.replaced else ""
    print(
        f"ingested {result.rows:,} scores of {result.model_name} "
        f"v{result.model_version} as of {result.as_of.date()} "
        f"({result.batch_id}{replaced})"
    )


def sizing(found: Sizing, full: bool) -> None:
    """An audience's reach; with ``full``, its propensity-reach table."""
    share = found.matching / found.profiles if found.profiles else 0.0
    print(
        f"{found.matching:,} of {found.profiles:,} profiles ({share:.1%}; "
        f"{found.scored:,} scored), {found.expected_conversions:,.1f} expected "
        "conversions, before consent and suppression"
    )
    if not full:
        return
    economics = found.cost_per_contact is not None
    header = (
        f"{'propensity >=':>13} {'reach':>10} {'to next':>9} {'share':>7} "
        f"{'exp. conv.':>10} {'exp. rate':>9}"
    )
    print(header + (f" {'exp. profit':>12}" if economics else ""))
    for row in found.table():
        line = (
            f"{row['threshold']:>13.3f} {row['reach']:>10,} {row['band_reach']:>9,} "
            f"{row['share_of_profiles']:>7.1%} {row['expected_conversions']:>10,.1f} "
            f"{row['expected_rate']:>9.4f}"
        )
        print(line + (f" {row['expected_profit']:>12,.2f}" if economics else ""))
    best = found.suggestion()
    if best is not None:
        print(
            f"suggested threshold: propensity >= {best['threshold']:.3f} "
            f"(reach {best['reach']:,}, {best['expected_conversions']:,.1f} expected "
            f"conversions, expected profit {best['expected_profit']:,.2f} at "
            f"{found.cost_per_contact} per contact and "
            f"{found.value_per_conversion} per conversion)"
        )


def build(built: Build) -> None:
    """Every audience of a build: members, holdout, delta, rates."""
    if built.status == "skipped":
        print(
            f"{built.batch_id} already holds these scores and definitions: "
            "nothing to do"
        )
    else:
        print(f"{built.batch_id}: audiences of scoring run {built.scoring_run_id}")
    print(
        f"{'audience':<26} {'members':>9} {'holdout':>8} {'entered':>8} "
        f"{'exited':>8} {'stayed':>8} {'exp. conv.':>10} {'realised':>8} {'base':>6}"
    )
    for row in built.audiences:
        realised = row["realised_rate"]
        base = row["base_rate"]
        print(
            f"{row['audience_id']:<26} {row['count_members']:>9,} "
            f"{row['count_holdout']:>8,} {row['count_entered']:>8,} "
            f"{row['count_exited']:>8,} {row['count_stayed']:>8,} "
            f"{row['expected_conversions']:>10,.1f} "
            + (f"{realised:>8.4f} " if realised is not None else f"{'n/a':>8} ")
            + (f"{base:>6.4f}" if base is not None else f"{'n/a':>6}")
        )


def deliveries(results: list[Delivery]) -> None:
    """What each destination got; a dry run says nothing went out."""
    print(
        f"{'audience':<26} {'destination':<14} {'status':<9} {'enter':>8} "
        f"{'exit':>8} {'no consent':>10} {'suppressed':>10} {'holdout':>8}"
    )
    for item in results:
        print(
            f"{item.audience_id:<26} {item.destination:<14} {item.status:<9} "
            f"{item.entered:>8,} {item.exited:>8,} {item.withheld_consent:>10,} "
            f"{item.withheld_suppressed:>10,} {item.holdout:>8,}"
            + (f"  -> {item.location}" if item.location else "")
        )
    if any(item.status == "planned" for item in results):
        print("dry run: nothing was sent or recorded")
