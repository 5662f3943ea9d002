"""Simulated events and their XDM layout: the arrays drawn, then the records.

:class:`EventDraws` holds the events of one type as numpy arrays (profile,
moment, detail code); :func:`events_table` turns a chunk's draws into the raw
events table, each record rendered from its event type's XDM template.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ml.synthetic import xdm
from ml.synthetic.world import (
    CONVERSION_EVENT_TYPE,
    CONVERSION_PAGE,
    LANDING_PAGES,
    LINKS,
    OTHER_FORMS,
    PAGES,
)


@dataclass
class EventDraws:
    """Events of one type in one window, grouped by profile (ascending)."""

    profile: np.ndarray  # int32 index into the chunk
    at: np.ndarray  # int64 epoch ms
    code: np.ndarray  # int32 detail code (ad, campaign, page, SKU, offer ...)

    def __len__(self) -> int:
        count: int = self.profile.shape[0]
        return count

    def take(self, mask: np.ndarray) -> EventDraws:
        """The events where ``mask`` holds."""
        return EventDraws(self.profile[mask], self.at[mask], self.code[mask])

    def counts(self, n: int) -> np.ndarray:
        """Events per profile of a chunk of ``n``."""
        return np.bincount(self.profile, minlength=n)

    @staticmethod
    def concat(parts: list[EventDraws]) -> EventDraws:
        """The parts' events in one set, grouped by profile again."""
        profile = np.concatenate([part.profile for part in parts])
        order = np.argsort(profile, kind="stable")
        return EventDraws(
            profile[order],
            np.concatenate([part.at for part in parts])[order],
            np.concatenate([part.code for part in parts])[order],
        )


def events_table(
    blocks: list[tuple[str, EventDraws]], ecid: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    """The raw events table of a chunk's draws, one XDM record per event.

    Args:
        blocks: (event type name, draws) pairs, several per name.
        ecid: The chunk's ECIDs as an ``(n, 38)`` byte matrix.
        rng: The chunk's generator (ids and prices are drawn from it).

    Returns:
        ``event_id``, ``profile_id``, ``event_type``, ``event_at``, ``record``.
    """
    merged: dict[str, list[EventDraws]] = {}
    for name, events in blocks:
        merged.setdefault(name, []).append(events)
    tables = []
    for name, parts in merged.items():
        events = EventDraws(
            np.concatenate([p.profile for p in parts]),
            np.concatenate([p.at for p in parts]),
            np.concatenate([p.code for p in parts]),
        )
        if len(events):
            tables.append(_events_of_type(name, events, ecid, rng))
    return pa.concat_tables(tables) if tables else _empty_events()


def _events_of_type(
    name: str, events: EventDraws, ecid: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    size = len(events)
    template, fields = _event_layout(name, events.code, rng)
    event_id = xdm.hex_matrix(rng, size)
    profile_id = ecid[events.profile]
    record = template.render(
        size, id=event_id, at=xdm.iso_matrix(events.at), ecid=profile_id, **fields
    )
    return pa.table(
        {
            "event_id": xdm.fixed_width_strings(event_id),
            "profile_id": xdm.fixed_width_strings(profile_id),
            "event_type": pa.repeat(pa.scalar(_event_type_of(name)), size),
            "event_at": pa.array(events.at, pa.timestamp("ms")),
            "record": record,
        }
    )


def _empty_events() -> pa.Table:
    return pa.table(
        {
            "event_id": pa.array([], pa.string()),
            "profile_id": pa.array([], pa.string()),
            "event_type": pa.array([], pa.string()),
            "event_at": pa.array([], pa.timestamp("ms")),
            "record": pa.array([], pa.string()),
        }
    )


def _event_type_of(name: str) -> str:
    return CONVERSION_EVENT_TYPE if name.startswith(CONVERSION_EVENT_TYPE) else name


def _code(width: int) -> tuple[str, int]:
    return ("code", width)


def _event_layout(
    name: str, code: np.ndarray, rng: np.random.Generator
) -> tuple[xdm.Template, dict[str, np.ndarray]]:
    """The XDM layout of one event type and the values of its detail fields."""
    head = (
        '{"_id":"', ("id", 32), '","timestamp":"', ("at", 24),
        f'","eventType":"{_event_type_of(name)}","identityMap":{{"ECID":[{{"id":"',
        ("ecid", 38), '","primary":true}]}',
    )  # fmt: skip
    action = name.split(".")[-1]
    fields: dict[str, np.ndarray] = {}
    detail: tuple[xdm.Part, ...]
    if name.startswith("advertising."):
        detail = (
            f',"advertising":{{"{action}":{{"value":1}},"adAssetReference":{{"_id":"ad-',
            _code(3), '"}}',
        )  # fmt: skip
        fields["code"] = xdm.digits(code, 3)
    elif name.startswith("directMarketing."):
        detail = (
            f',"directMarketing":{{"{action}":{{"value":1}},"mailingName":"campaign-',
            _code(3), '"}',
        )  # fmt: skip
        fields["code"] = xdm.digits(code, 3)
    elif name in ("web.webpagedetails.pageViews", "web.formFilledOut.other"):
        pages = PAGES + LANDING_PAGES if action == "pageViews" else OTHER_FORMS
        page = xdm.padded(pages, code, '"')
        counter = ',"pageViews":{"value":1}' if action == "pageViews" else ""
        detail = (
            ',"web":{"webPageDetails":{"name":"', ("page", page.shape[1]),
            ',"URL":"https://shop.example.com/', ("url", page.shape[1]),
            f"{counter}}}}}",
        )  # fmt: skip
        fields.update(page=page, url=page)
    elif name == "web.webinteraction.linkClicks":
        link = xdm.padded(LINKS, code % len(LINKS), '"')
        detail = (
            ',"web":{"webInteraction":{"name":"', ("link", link.shape[1]),
            ',"type":"other","linkClicks":{"value":1}}}',
        )  # fmt: skip
        fields["link"] = link
    elif name == "commerce.productViews":
        detail = (
            ',"commerce":{"productViews":{"value":1}},"productListItems":[{"SKU":"SKU-',
            _code(4), '","quantity":1}]',
        )  # fmt: skip
        fields["code"] = xdm.digits(code, 4)
    elif name == "commerce.purchases":
        detail = (
            ',"commerce":{"purchases":{"value":1},"order":{"priceTotal":',
            ("price", 8), ',"currencyCode":"USD"}},"productListItems":[{"SKU":"SKU-',
            _code(4), '","quantity":1}]',
        )  # fmt: skip
        fields["code"] = xdm.digits(code, 4)
        fields["price"] = xdm.decimal_matrix(rng.gamma(2.0, 24.0, code.size) + 5, 2, 8)
    elif name.startswith("decisioning."):
        verb = {
            "propositionDisplay": "display",
            "propositionInteract": "interact",
            "propositionDismiss": "dismiss",
        }[action]
        detail = (
            f',"_experience":{{"decisioning":{{"propositionEventType":{{"{verb}":1}},'
            '"propositions":[{"id":"offer-', _code(2),
            '","scope":"web://shop.example.com/#offers"}]}}',
        )  # fmt: skip
        fields["code"] = xdm.digits(code, 2)
    elif name == CONVERSION_EVENT_TYPE:
        url = f"https://shop.example.com/{CONVERSION_PAGE}"
        detail = (
            f',"web":{{"webPageDetails":{{"name":"{CONVERSION_PAGE}","URL":"{url}"}}}}',
        )
    else:
        raise ValueError(f"no XDM layout for event type {name}")
    return xdm.Template(*head, *detail, "}"), fields
