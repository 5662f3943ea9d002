"""A deliberately plain reference generator: one Python loop step per event.

The yardstick of ``bench/bench_data.py``. It draws the same event taxonomy as
:mod:`ml.synthetic` (``seeds/xdm_event_types.csv``), with the same default
rates (:class:`ml.synthetic.Behaviour`), windows, propensity shifts, fatigue
and XDM record shapes, but the way a first version would: the ``random``
module, per profile, per window, per event, each record built as a dict and
serialised with ``json.dumps``. It is not the vectorised model (simpler
dynamics, different draws), only the same kind and amount of work per event,
so its events/s is a fixed baseline for the speed-up ratio.

Keep it plain: optimising it would move the baseline and the ratio with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
from typing import Any

from ml.synthetic import (
    AGE_BANDS,
    AGE_EFFECT,
    AGE_WEIGHTS,
    CHANNEL_WEIGHTS,
    CHANNELS,
    CONSENT_SHARE,
    CONVERSION_EVENT_TYPE,
    CONVERSION_PAGE,
    COUNTRIES,
    COUNTRY_EFFECT,
    COUNTRY_WEIGHTS,
    DEVICE_EFFECT,
    DEVICE_WEIGHTS,
    DEVICES,
    FATIGUE,
    LANDING_PAGES,
    LINKS,
    MS_PER_DAY,
    N_ADS,
    N_CAMPAIGNS,
    N_PROPOSITIONS,
    N_SKUS,
    OTHER_FORMS,
    PAGES,
    PROPENSITY_SHIFT,
    SOURCE_EFFECT,
    SOURCE_WEIGHTS,
    SOURCES,
    TIER_EFFECT,
    TIER_WEIGHTS,
    TIERS,
    Behaviour,
    GeneratorParams,
)

EPOCH = dt.datetime(1970, 1, 1)
SITE = "https://shop.example.com/"
# Event types this generator emits (the catalogue's, conversion included).
EVENT_TYPES = (
    "advertising.impressions",
    "advertising.clicks",
    "directMarketing.emailSent",
    "directMarketing.emailOpened",
    "directMarketing.emailClicked",
    "web.webpagedetails.pageViews",
    "web.webinteraction.linkClicks",
    "commerce.productViews",
    "commerce.purchases",
    "decisioning.propositionDisplay",
    "decisioning.propositionInteract",
    "decisioning.propositionDismiss",
    CONVERSION_EVENT_TYPE,
)
_VERBS = {
    "decisioning.propositionDisplay": "display",
    "decisioning.propositionInteract": "interact",
    "decisioning.propositionDismiss": "dismiss",
}


def generate_reference(
    profiles: int,
    seed: int,
    as_of: dt.date,
    weeks: int = 12,
    horizon_days: int = 14,
) -> int:
    """Generate profiles and their XDM events with a plain per-event loop.

    Each profile's records (its profile record and its events, as JSON text)
    are kept in a list until the profile is done, then dropped, so building
    the strings is paid for in full but memory stays flat.

    Args:
        profiles: Number of profiles.
        seed: Seed of the ``random.Random`` behind every draw.
        as_of: UTC date the history ends.
        weeks: Weeks of history before ``as_of``.
        horizon_days: Length of a window in days.

    Returns:
        The number of events produced.
    """
    params = GeneratorParams(
        profiles=profiles,
        seed=seed,
        as_of=as_of,
        weeks=weeks,
        horizon_days=horizon_days,
    )
    rng = random.Random(seed)
    behaviour = Behaviour()
    total = 0
    for index in range(profiles):
        total += _Profile(rng, behaviour, params, index).run()
    return total


class _Profile:
    """One profile's draws and records (state shared by the per-event steps)."""

    def __init__(
        self, rng: random.Random, b: Behaviour, params: GeneratorParams, index: int
    ) -> None:
        self.rng = rng
        self.b = b
        self.params = params
        self.email = f"customer{index:09d}.s{params.seed}@example.com"
        self.ecid = _ecid(self.email)
        self.records: list[str] = []  # the profile record, then its events
        self.truth: list[tuple[Any, ...]] = []
        self.counts: dict[str, int] = {}
        self.stop_at = 0.0
        self.active_from = 0
        self.span = 0

    # -- the per-event steps ------------------------------------------------

    def emit(self, event_type: str, at: float, detail: dict[str, Any]) -> bool:
        """Build and serialise one event; False when it falls after stop_at."""
        if at >= self.stop_at:  # churned profiles fall silent; no future history
            return False
        record = {
            "_id": f"{self.rng.getrandbits(128):032x}",
            "timestamp": _iso(at),
            "eventType": event_type,
            "identityMap": {"ECID": [{"id": self.ecid, "primary": True}]},
            **detail,
        }
        self.records.append(json.dumps(record, separators=(",", ":")))
        self.counts[event_type] += 1
        return True

    def lagged(self, at: float, median_s: float) -> float:
        """A response's moment: its parent's plus a log-normal lag."""
        return at + self.rng.lognormvariate(math.log(median_s * 1000.0), 0.9) + 1

    def moment(self) -> float:
        """A uniform moment of the profile's active span in this window."""
        return self.active_from + self.rng.random() * self.span

    # -- the simulation -------------------------------------------------------

    def run(self) -> int:
        """Draw the profile, simulate every window; return the events made."""
        rng, b = self.rng, self.b
        windows = self.params.windows
        history_start, as_of_ms = windows[0][0], windows[-1][0]
        horizon_ms = self.params.horizon_days * MS_PER_DAY

        country = _choice(rng, COUNTRY_WEIGHTS)
        channel = _choice(rng, CHANNEL_WEIGHTS)
        device = _choice(rng, DEVICE_WEIGHTS)
        source = _choice(rng, SOURCE_WEIGHTS)
        tier = _choice(rng, TIER_WEIGHTS)
        age = _choice(rng, AGE_WEIGHTS)
        consent = {name: rng.random() < share for name, share in CONSENT_SHARE.items()}
        engagement = rng.lognormvariate(-0.5 * b.engagement_sd**2, b.engagement_sd)
        baseline = (
            b.base_logit
            + COUNTRY_EFFECT[country]
            + DEVICE_EFFECT[device]
            + SOURCE_EFFECT[source]
            + TIER_EFFECT[tier]
            + AGE_EFFECT[age]
            + rng.gauss(0.0, b.base_logit_sd)
        )
        if rng.random() < 0.3:
            created_at = history_start + int(
                rng.random() * (as_of_ms - history_start - MS_PER_DAY)
            )
        else:
            created_at = history_start - int(rng.random() * 540 * MS_PER_DAY)
        self.records.append(
            _profile_record(
                rng, self.ecid, self.email, country, channel, device, source, tier,
                age, consent, created_at,
            )
        )  # fmt: skip

        interest = min(max(baseline - b.base_logit, -3.0), 3.0)
        likes_email = channel == CHANNELS.index("email")
        likes_web = channel == CHANNELS.index("web")
        ad_click_p = _sigmoid(
            _logit(b.ad_click_rate) + 0.35 * interest + 0.3 * math.log(engagement)
        )
        open_p = _sigmoid(
            _logit(b.email_open_rate)
            + 0.3 * interest
            + 0.4 * math.log(engagement)
            + 0.6 * likes_email
        )
        click_p = _sigmoid(
            _logit(b.email_click_rate) + 0.45 * interest + 0.3 * likes_email
        )
        purchase_p = _sigmoid(_logit(b.purchase_rate) + 0.4 * interest)
        interact_p = _sigmoid(_logit(b.offer_interact_rate) + 0.5 * interest)
        ads = 1.0 if consent["personalize"] else 0.45
        impression_rate = b.impressions_per_day * engagement * ads
        email_rate = b.emails_per_day if consent["email"] else 0.0
        view_rate = b.page_views_per_day * engagement * (1.6 if likes_web else 1.0)
        form_rate = b.other_forms_per_day * engagement

        shift = fatigue = 0.0
        converted = churned = False
        churn_at = math.inf
        for number, (start, end) in enumerate(windows):
            is_future = number == len(windows) - 1
            if created_at >= end:
                continue
            churn_p = _sigmoid(b.churn_logit + b.churn_per_fatigue * fatigue)
            if not churned and created_at < start and rng.random() < churn_p:
                churned = True
                churn_at = start + int(rng.random() * (end - start))
            self.active_from = max(start, created_at)
            self.span = max(min(end, churn_at) - self.active_from, 0)
            # The oracle: fixed from the state at the window's start.
            p_true = _sigmoid(baseline + shift) * self.span / horizon_ms
            converts = not converted and rng.random() < p_true
            converted_at = self.moment()
            if not converted:
                self.truth.append((self.ecid, start, end, p_true, converts, is_future))
            converted = converted or converts
            if is_future:
                break

            self.stop_at = min(churn_at, as_of_ms)
            self.counts = dict.fromkeys(EVENT_TYPES, 0)
            days = self.span / MS_PER_DAY
            landings: list[float] = []
            for _ in range(_poisson(rng, impression_rate * days)):
                at, ad = self.moment(), rng.randrange(N_ADS)
                self.emit("advertising.impressions", at, _ad("impressions", ad))
                if rng.random() < ad_click_p:
                    at = self.lagged(at, 20)
                    if self.emit("advertising.clicks", at, _ad("clicks", ad)):
                        landings.append(at)
            for _ in range(_poisson(rng, email_rate * days)):
                at, campaign = self.moment(), rng.randrange(N_CAMPAIGNS)
                self.emit(
                    "directMarketing.emailSent", at, _email("emailSent", campaign)
                )
                if rng.random() >= open_p:
                    continue
                at = self.lagged(at, 3 * 3600)
                detail = _email("emailOpened", campaign)
                opened = self.emit("directMarketing.emailOpened", at, detail)
                if opened and rng.random() < click_p:
                    at = self.lagged(at, 90)
                    detail = _email("emailClicked", campaign)
                    if self.emit("directMarketing.emailClicked", at, detail):
                        landings.append(at)
            views = [
                (self.moment(), rng.choice(PAGES))
                for _ in range(_poisson(rng, view_rate * days))
            ]
            views += [
                (self.lagged(at, 4), rng.choice(LANDING_PAGES)) for at in landings
            ]
            for at, page in views:
                if self.emit("web.webpagedetails.pageViews", at, _page(page, True)):
                    self._page_responses(at, purchase_p, interact_p)
            for _ in range(_poisson(rng, form_rate * days)):
                detail = _page(rng.choice(OTHER_FORMS), False)
                self.emit(CONVERSION_EVENT_TYPE, self.moment(), detail)
            if converts:
                detail = _page(CONVERSION_PAGE, False)
                self.emit(CONVERSION_EVENT_TYPE, converted_at, detail)

            shift *= b.memory
            for event_type, weight in PROPENSITY_SHIFT.items():
                shift += weight * math.log1p(self.counts[event_type])
            fatigue *= 0.8
            for event_type, weight in FATIGUE.items():
                fatigue += weight * self.counts[event_type]
            fatigue = min(max(fatigue, 0.0), 60.0)
            shift = min(max(shift, -4.0), 4.0)
        return len(self.records) - 1

    def _page_responses(self, at: float, purchase_p: float, interact_p: float) -> None:
        """Link clicks, product views (and purchases), offers after a page view."""
        rng, b = self.rng, self.b
        if rng.random() < b.link_click_rate:
            detail = _link(rng.choice(LINKS))
            self.emit("web.webinteraction.linkClicks", self.lagged(at, 35), detail)
        if rng.random() < b.product_view_rate:
            sku, seen = rng.randrange(N_SKUS), self.lagged(at, 40)
            viewed = self.emit("commerce.productViews", seen, _product(sku))
            if viewed and rng.random() < purchase_p:
                price = round(rng.gammavariate(2.0, 24.0) + 5, 2)
                detail = _purchase(sku, price)
                self.emit("commerce.purchases", self.lagged(seen, 300), detail)
        if rng.random() < b.offer_display_rate:
            offer, shown = rng.randrange(N_PROPOSITIONS), self.lagged(at, 2)
            name = "decisioning.propositionDisplay"
            if not self.emit(name, shown, _offer(name, offer)):
                return
            draw = rng.random()
            if draw < interact_p:
                name, lag = "decisioning.propositionInteract", 12
            elif draw < interact_p + b.offer_dismiss_rate:
                name, lag = "decisioning.propositionDismiss", 8
            else:
                return
            self.emit(name, self.lagged(shown, lag), _offer(name, offer))


def _profile_record(
    rng: random.Random,
    ecid: str,
    email: str,
    country: int,
    channel: int,
    device: int,
    source: int,
    tier: int,
    age: int,
    consent: dict[str, bool],
    created_at: int,
) -> str:
    """The profile's XDM record as JSON text (same shape as ml.synthetic's)."""

    def yes_no(name: str) -> dict[str, str]:
        return {"val": "y" if consent[name] else "n"}

    record = {
        "_id": f"{rng.getrandbits(128):032x}",
        "identityMap": {
            "ECID": [{"id": ecid, "primary": True}],
            "Email": [{"id": email, "primary": False}],
        },
        "personalEmail": {"address": email},
        "homeAddress": {"countryCode": COUNTRIES[country]},
        "consents": {
            "marketing": {
                "email": yes_no("email"),
                "sms": yes_no("sms"),
                "push": yes_no("push"),
                "preferred": CHANNELS[channel],
            },
            "personalize": {"content": yes_no("personalize")},
        },
        "_repo": {"createDate": _iso(created_at)},
        "_enrich": {
            "device": DEVICES[device],
            "acquisitionSource": SOURCES[source],
            "loyaltyTier": TIERS[tier],
            "ageBand": AGE_BANDS[age],
        },
    }
    return json.dumps(record, separators=(",", ":"))


# -- XDM pieces, one small dict per event family ------------------------------


def _ad(action: str, ad: int) -> dict[str, Any]:
    return {
        "advertising": {
            action: {"value": 1},
            "adAssetReference": {"_id": f"ad-{ad:03d}"},
        }
    }


def _email(action: str, campaign: int) -> dict[str, Any]:
    return {
        "directMarketing": {
            action: {"value": 1},
            "mailingName": f"campaign-{campaign:03d}",
        }
    }


def _page(name: str, is_view: bool) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "URL": SITE + name}
    if is_view:
        details["pageViews"] = {"value": 1}
    return {"web": {"webPageDetails": details}}


def _link(name: str) -> dict[str, Any]:
    return {
        "web": {
            "webInteraction": {
                "name": name,
                "type": "other",
                "linkClicks": {"value": 1},
            }
        }
    }


def _product(sku: int) -> dict[str, Any]:
    return {
        "commerce": {"productViews": {"value": 1}},
        "productListItems": [{"SKU": f"SKU-{sku:04d}", "quantity": 1}],
    }


def _purchase(sku: int, price: float) -> dict[str, Any]:
    return {
        "commerce": {
            "purchases": {"value": 1},
            "order": {"priceTotal": price, "currencyCode": "USD"},
        },
        "productListItems": [{"SKU": f"SKU-{sku:04d}", "quantity": 1}],
    }


def _offer(event_type: str, offer: int) -> dict[str, Any]:
    return {
        "_experience": {
            "decisioning": {
                "propositionEventType": {_VERBS[event_type]: 1},
                "propositions": [
                    {
                        "id": f"offer-{offer:02d}",
                        "scope": "web://shop.example.com/#offers",
                    }
                ],
            }
        }
    }


# -- plain helpers ------------------------------------------------------------


def _iso(epoch_ms: float) -> str:
    moment = EPOCH + dt.timedelta(milliseconds=int(epoch_ms))
    return moment.isoformat(timespec="milliseconds") + "Z"


def _ecid(email: str) -> str:
    digest = hashlib.sha256(email.encode()).digest()
    high = int.from_bytes(digest[:8], "big") % 10**19
    low = int.from_bytes(digest[8:16], "big") % 10**19
    return f"{high:019d}{low:019d}"


def _choice(rng: random.Random, weights: list[float]) -> int:
    return rng.choices(range(len(weights)), weights)[0]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's multiplication method (fine for the small means drawn here)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))
