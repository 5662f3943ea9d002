"""``enrich audiences ...`` and ``enrich activate`` (flow ``activate``)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from enrich.cli import printers
from enrich.cli.common import settings
from ml.activation import activate as activation
from ml.activation import builds, definitions, ledger, sizing
from ml.activation.errors import ActivationError
from ml.core.errors import EnrichError


def activate(args: argparse.Namespace) -> int:
    """Deliver the latest build's changes to the destinations."""
    try:
        deliveries = activation.activate(
            settings(), dry_run=args.dry_run, audience_ids=args.ids
        )
    except ActivationError as exc:
        printers.deliveries(exc.deliveries)  # what did go out, then the error
        raise
    printers.deliveries(deliveries)
    return 0


def identities_in(path: Path) -> list[str]:
    """Identities from a text or CSV file: the first column, header skipped."""
    try:
        with path.open(newline="") as handle:
            rows = [row[0].strip() for row in csv.reader(handle) if row and row[0]]
    except OSError as exc:
        raise EnrichError(f"Cannot read {path}: {exc.strerror}.") from None
    return [value for value in rows if value and value != "profile_id"]


def suppress(args: argparse.Namespace) -> int:
    """Put identities on the suppression list."""
    current = settings()
    identities = list(args.profile_ids)
    if args.file is not None:
        identities += identities_in(args.file)
    if not identities:
        raise EnrichError("Give PROFILE_ID arguments, or --file FILE.")
    added = ledger.suppress(current, identities, args.reason)
    print(f"{added} new identities on the suppression list")
    return 0


def build(args: argparse.Namespace) -> int:
    """Materialize every audience: members, holdout, delta."""
    printers.build(builds.build(settings()))
    return 0


def validate(args: argparse.Namespace) -> int:
    """Check every audience and destination of the definitions."""
    found = definitions.load_definitions(settings())
    print(
        f"{found.path}: {len(found.audiences)} audience(s) and "
        f"{len(found.destinations)} destination(s) are valid"
    )
    for audience in found.audiences:
        print(f"  {audience.id}: {audience.rule}")
    return 0


def size(args: argparse.Namespace) -> int:
    """Propensity-reach of an audience, all of them (briefly), or a rule."""
    current = settings()
    if args.rule is not None:
        printers.sizing(sizing.size(current, args.rule), full=True)
        return 0
    found = definitions.load_definitions(current)
    chosen = [found.get(args.id)] if args.id else found.audiences
    for audience in chosen:
        print(f"{audience.id} ({audience.name}): {audience.rule}")
        printers.sizing(sizing.size(current, audience.rule), full=bool(args.id))
    return 0
