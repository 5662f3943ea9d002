"""Event exports of shapes this project did not choose, for tests.

The generator of ``ml.synthetic`` writes the demo's own shape. Real exports
differ, and the pipeline must work on them; these helpers write small XDM
exports as other systems do, with a seeded, plausible behaviour so that a
model has something to learn.

:func:`form_fill_export` writes the reference workflow's own format: every
``web.formFilledOut`` counts as the subscription, whatever its page name
(``contactForm``, ``newsletter``, ...); timestamps are naive ISO 8601 (no
zone; the loader reads them as UTC, the warehouse session's zone); the
identity is a tenant field, ``_acme.userid`` (load with ``--identity-field
_acme.userid``); no profile records, only events (email, page views, a few
purchases after pricing-page views, form fills).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IDENTITY_FIELD = "_acme.userid"
FORM_PAGES = ("contactForm", "newsletter", "quoteRequest")
BROWSE_PAGES = ("home", "pricing", "blog", "docs")
CAMPAIGNS = ("spring-offer", "product-news", "webinar-invite")

ANY_FORM_FILL = """\
predictions:
  - name: subscription
    description: Any form fill within 14 days, among profiles that never filled one.
    kind: first
    target:
      event_type: web.formFilledOut
    horizon_days: 14
    gap_days: 0
    training_cutoffs: 4
    cutoff_step_days: 14
  - name: purchase
    description: A purchase within 14 days.
    kind: repeat
    target:
      event_type: commerce.purchases
    horizon_days: 14
    gap_days: 0
    training_cutoffs: 4
    cutoff_step_days: 14
"""
"""A predictions.yml whose default prediction is "any form fill".

It keeps the shipped file's prediction names: the dbt project has one
training and one scoring model per name, and its unit tests' fixtures name
the shipped predictions' columns.
"""


@dataclass(frozen=True)
class Export:
    """What an export helper wrote.

    Attributes:
        path: The JSON Lines file (gzip when its name ends in ``.gz``).
        profiles: Identities with at least one event.
        events: Records written.
        form_fills: ``web.formFilledOut`` records among them.
        first: The first record written (to check how it was loaded).
    """

    path: Path
    profiles: int
    events: int
    form_fills: int
    first: dict


def _naive(moment: dt.datetime) -> str:
    """ISO 8601 without a zone, to the second (as many exports write it)."""
    return moment.replace(tzinfo=None, microsecond=0).isoformat()


def _profile_events(
    rng: np.random.Generator, start: dt.datetime, days: int
) -> list[tuple[float, str, dict]]:
    """One profile's events as (day offset, event type, XDM fields).

    Engagement (lognormal) drives opens, clicks and browsing; a click leads
    to a form fill a few days later with probability 0.35, besides a small
    baseline hazard. So the email responses before a cutoff predict a form
    fill after it.
    """
    engagement = rng.lognormal(0.0, 0.6)
    p_open = min(0.9, 0.3 * engagement)
    p_click = min(0.8, 0.3 * engagement)
    events: list[tuple[float, str, dict]] = []
    for week in range(days // 7):
        if rng.random() > 0.8:
            continue
        sent = week * 7 + rng.uniform(0, 7)
        mailing = {"directMarketing": {"mailingName": str(rng.choice(CAMPAIGNS))}}
        events.append((sent, "directMarketing.emailSent", mailing))
        if rng.random() < p_open:
            opened = sent + rng.exponential(0.3)
            events.append((opened, "directMarketing.emailOpened", mailing))
            if rng.random() < p_click:
                clicked = opened + rng.exponential(0.1)
                events.append((clicked, "directMarketing.emailClicked", mailing))
                if rng.random() < 0.35:
                    events.append((clicked + rng.exponential(4.0), "fill", {}))
    for _ in range(rng.poisson(days * 0.05 * engagement)):
        name = str(rng.choice(BROWSE_PAGES))
        viewed = rng.uniform(0, days)
        page = {"web": {"webPageDetails": {"name": name}}}
        events.append((viewed, "web.webpagedetails.pageViews", page))
        if name == "pricing" and rng.random() < 0.2:
            total = round(float(rng.lognormal(3.5, 0.5)), 2)
            order = {"commerce": {"order": {"priceTotal": total}}}
            events.append((viewed + rng.exponential(0.05), "commerce.purchases", order))
    for _ in range(rng.poisson(days * 0.001)):
        events.append((rng.uniform(0, days), "fill", {}))
    return [
        (
            offset,
            "web.formFilledOut" if kind == "fill" else kind,
            {"web": {"webPageDetails": {"name": str(rng.choice(FORM_PAGES))}}}
            if kind == "fill"
            else fields,
        )
        for offset, kind, fields in events
        if offset < days
    ]


def form_fill_export(
    path: Path, profiles: int = 2_000, seed: int = 11, weeks: int = 12
) -> Export:
    """Write the reference workflow's format: any form fill is the conversion.

    Args:
        path: Where to write (``.jsonl`` or ``.jsonl.gz``).
        profiles: Identities (``acme-000001`` ...), each with events.
        seed: The numpy seed: the same seed writes the same file.
        weeks: Weeks of history, ending at yesterday's end (UTC).
    """
    rng = np.random.default_rng(seed)
    end = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time())
    days = weeks * 7
    start = end - dt.timedelta(days=days)
    lines: list[str] = []
    first: dict = {}
    seen = fills = 0
    for number in range(1, profiles + 1):
        events = _profile_events(rng, start, days)
        seen += bool(events)
        for offset, event_type, fields in sorted(events, key=lambda e: e[0]):
            record = {
                "_id": f"{rng.integers(2**63):016x}-{len(lines)}",
                "timestamp": _naive(start + dt.timedelta(days=offset)),
                "eventType": event_type,
                "_acme": {"userid": f"acme-{number:06d}"},
                **fields,
            }
            fills += event_type == "web.formFilledOut"
            first = first or record
            lines.append(json.dumps(record, separators=(",", ":")))
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return Export(path, seen, len(lines), fills, first)
