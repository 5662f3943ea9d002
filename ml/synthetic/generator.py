"""Synthetic XDM profiles and experience events, with the truth behind them.

The generator follows the reference workflow's event taxonomy
(``seeds/xdm_event_types.csv``): base exposures (ad impressions, emails sent,
page views) and the responses that depend on them, propensity shifts (email
clicks, offer interactions and purchases raise it, dismissals lower it),
fatigue that makes over-exposed, unresponsive profiles churn, and the
conversion, a ``web.formFilledOut`` on the ``subscriptionForm`` page.

Time is cut into windows of ``horizon_days`` that end at ``as_of`` (the same
cutoffs the feature models use), plus one window past ``as_of``. At the start
of each window the conversion probability of every profile is fixed from its
state (the **oracle**), and the conversion, if any, happens at a uniformly
random moment of the window, tied to no other event, so nothing in the events
gives the label away. Responses during the window move the propensity of the
next one. Everything is drawn with numpy over whole chunks of profiles; a
chunk is the unit of memory and of loading.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa

from ml.synthetic import xdm

GENERATOR_VERSION = 2
MS_PER_DAY = 86_400_000
CONVERSION_EVENT_TYPE = "web.formFilledOut"
CONVERSION_PAGE = "subscriptionForm"

COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "JP"]
COUNTRY_WEIGHTS = [0.42, 0.12, 0.1, 0.08, 0.07, 0.05, 0.05, 0.04, 0.04, 0.03]
COUNTRY_EFFECT = [0.0, 0.1, 0.15, -0.05, 0.05, 0.1, 0.2, -0.15, -0.2, -0.3]
CHANNELS = ["email", "web", "mobile_app", "sms"]
CHANNEL_WEIGHTS = [0.38, 0.32, 0.2, 0.1]
DEVICES = ["desktop", "mobile", "tablet"]
DEVICE_WEIGHTS = [0.42, 0.48, 0.1]
DEVICE_EFFECT = [0.15, -0.1, 0.0]
SOURCES = [
    "organic_search", "paid_search", "social", "referral",
    "email_signup", "display", "affiliate",
]  # fmt: skip
SOURCE_WEIGHTS = [0.28, 0.2, 0.16, 0.1, 0.1, 0.11, 0.05]
SOURCE_EFFECT = [0.2, 0.0, -0.25, 0.5, 0.55, -0.4, -0.1]
TIERS = ["none", "bronze", "silver", "gold"]
TIER_WEIGHTS = [0.6, 0.2, 0.12, 0.08]
TIER_EFFECT = [0.0, 0.2, 0.4, 0.7]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
AGE_WEIGHTS = [0.14, 0.26, 0.22, 0.17, 0.13, 0.08]
AGE_EFFECT = [-0.2, 0.1, 0.15, 0.05, -0.05, -0.2]
# Share of profiles that gave consent per channel (the rest opted out).
CONSENT_SHARE = {"email": 0.8, "sms": 0.45, "push": 0.55, "personalize": 0.7}

PAGES = ["home", "product-listing", "product-detail", "blog", "pricing", "support"]
LANDING_PAGES = ["offers", "newsletter", "product-detail", "pricing"]
OTHER_FORMS = ["contactForm", "newsletterPreferences", "supportRequest"]
LINKS = ["nav-menu", "footer", "related-article", "cta-learn-more", "social-share"]
N_ADS, N_CAMPAIGNS, N_SKUS, N_PROPOSITIONS = 40, 24, 300, 12


@dataclass(frozen=True)
class Behaviour:
    """Rates and effects of the simulated world (per day where a rate)."""

    base_logit: float = -4.1
    base_logit_sd: float = 0.7
    engagement_sd: float = 0.6
    impressions_per_day: float = 0.11
    emails_per_day: float = 0.08
    page_views_per_day: float = 0.05
    other_forms_per_day: float = 0.004
    ad_click_rate: float = 0.03
    email_open_rate: float = 0.28
    email_click_rate: float = 0.16
    link_click_rate: float = 0.35
    product_view_rate: float = 0.3
    purchase_rate: float = 0.07
    offer_display_rate: float = 0.35
    offer_interact_rate: float = 0.14
    offer_dismiss_rate: float = 0.3
    memory: float = 0.75  # share of the propensity shift kept per window
    churn_logit: float = -4.6
    churn_per_fatigue: float = 0.35


# Shift of the conversion logit per log1p(count) of each event type in a window.
PROPENSITY_SHIFT = {
    "advertising.clicks": 0.25,
    "directMarketing.emailOpened": 0.1,
    "directMarketing.emailClicked": 0.7,
    "web.webpagedetails.pageViews": 0.08,
    "web.webinteraction.linkClicks": 0.05,
    "commerce.productViews": 0.15,
    "commerce.purchases": 0.9,
    "decisioning.propositionInteract": 0.8,
    "decisioning.propositionDismiss": -0.6,
}
# Fatigue per event: exposures add, responses take away.
FATIGUE = {
    "advertising.impressions": 0.4,
    "directMarketing.emailSent": 1.2,
    "directMarketing.emailOpened": -0.5,
    "directMarketing.emailClicked": -1.5,
    "advertising.clicks": -1.5,
    "decisioning.propositionInteract": -1.5,
    "commerce.purchases": -2.0,
}


@dataclass(frozen=True)
class EventType:
    """One row of the event catalogue seed."""

    event_type: str
    family: str
    parent_event_type: str | None
    is_base_event: bool
    is_conversion: bool


def read_event_catalogue(seeds_dir: Path) -> list[EventType]:
    """Read the event catalogue (the one list of event types, a dbt seed).

    Args:
        seeds_dir: The dbt ``seeds`` folder.

    Returns:
        Every known XDM event type, in catalogue order.
    """
    with (seeds_dir / "xdm_event_types.csv").open(newline="") as handle:
        return [
            EventType(
                event_type=row["event_type"],
                family=row["family"],
                parent_event_type=row["parent_event_type"] or None,
                is_base_event=row["is_base_event"] == "true",
                is_conversion=row["is_conversion"] == "true",
            )
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class GeneratorParams:
    """Everything that determines a synthetic dataset (same params, same bytes)."""

    profiles: int
    seed: int
    as_of: dt.date
    weeks: int = 12
    horizon_days: int = 14
    chunk_profiles: int = 25_000

    def __post_init__(self) -> None:
        if self.profiles < 1 or self.weeks < 1 or self.horizon_days < 1:
            raise ValueError("profiles, weeks and horizon_days must be positive")
        if self.chunk_profiles < 1:
            raise ValueError("chunk_profiles must be positive")

    def fingerprint(self) -> str:
        """A stable hash of the parameters and the generator version."""
        payload = {**asdict(self), "as_of": self.as_of.isoformat()}
        payload["generator_version"] = GENERATOR_VERSION
        text = json.dumps(payload, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def as_dict(self) -> dict[str, object]:
        """The parameters as JSON-ready values."""
        return {
            **asdict(self),
            "as_of": self.as_of.isoformat(),
            "generator_version": GENERATOR_VERSION,
        }

    @property
    def n_chunks(self) -> int:
        """How many chunks (and load batches) the dataset has."""
        return -(-self.profiles // self.chunk_profiles)

    @cached_property
    def windows(self) -> list[tuple[int, int]]:
        """Window bounds in epoch ms: history windows ending at as_of, then one past.

        The earliest window is cut at the start of the history when
        ``weeks * 7`` is not a multiple of ``horizon_days``.
        """
        as_of_ms = _epoch_ms(self.as_of)
        horizon = self.horizon_days * MS_PER_DAY
        history_start = as_of_ms - self.weeks * 7 * MS_PER_DAY
        count = -(-(self.weeks * 7) // self.horizon_days)
        bounds = [
            (max(as_of_ms - (count - j) * horizon, history_start),
             as_of_ms - (count - j - 1) * horizon)
            for j in range(count)
        ]  # fmt: skip
        bounds.append((as_of_ms, as_of_ms + horizon))
        return bounds


@dataclass
class SyntheticChunk:
    """One chunk of generated data, ready to load.

    Attributes:
        index: Chunk number, from 0.
        profiles: ``profile_id``, ``record_id``, ``record`` (XDM JSON text).
        events: ``event_id``, ``profile_id``, ``event_type``, ``event_at``
            (naive UTC, ms), ``record`` (XDM JSON text).
        truth: One row per profile per window for profiles not yet converted:
            the oracle probability and what happened. Never a feature.
    """

    index: int
    profiles: pa.Table
    events: pa.Table
    truth: pa.Table


def _epoch_ms(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * MS_PER_DAY


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


@dataclass
class _Events:
    """Events of one type in one window, grouped by profile (ascending)."""

    profile: np.ndarray  # int32 index into the chunk
    at: np.ndarray  # int64 epoch ms
    code: np.ndarray  # int32 detail code (ad, campaign, page, SKU, offer ...)

    def __len__(self) -> int:
        return self.profile.shape[0]

    def take(self, mask: np.ndarray) -> _Events:
        return _Events(self.profile[mask], self.at[mask], self.code[mask])

    def counts(self, n: int) -> np.ndarray:
        return np.bincount(self.profile, minlength=n)

    @staticmethod
    def concat(parts: list[_Events]) -> _Events:
        profile = np.concatenate([part.profile for part in parts])
        order = np.argsort(profile, kind="stable")
        return _Events(
            profile[order],
            np.concatenate([part.at for part in parts])[order],
            np.concatenate([part.code for part in parts])[order],
        )


@dataclass
class WindowState:
    """The simulated world at the start of one window, for analysis only.

    Everything is per profile of one chunk. Not part of the loaded data:
    ``bench/bench_ceiling.py`` uses it to measure how much of the oracle any
    model could reach.

    Attributes:
        number: The window's number; the last one lies past as_of.
        bounds: The window's (start, end) in epoch ms.
        created_at: When each profile was created (epoch ms).
        observable_logit: The conversion logit without the latent term: the
            attributes' effects plus the shift earned by earlier responses.
        latent_logit: The profile's own term that no attribute states.
        fatigue: Exposure fatigue, which drives churn.
        churned: Churned in an earlier window (silent since).
        eligible: Existing and not yet converted.
        p_true: The oracle probability of converting in the window.
        converts: Whether it did.
        previous_counts: Events per type in the previous window (empty for
            the first).
    """

    number: int
    bounds: tuple[int, int]
    created_at: np.ndarray
    observable_logit: np.ndarray
    latent_logit: np.ndarray
    fatigue: np.ndarray
    churned: np.ndarray
    eligible: np.ndarray
    p_true: np.ndarray
    converts: np.ndarray
    previous_counts: dict[str, np.ndarray]


class _ChunkSimulation:
    """State and draws of one chunk of profiles."""

    def __init__(
        self, params: GeneratorParams, behaviour: Behaviour, index: int
    ) -> None:
        self.params = params
        self.behaviour = behaviour
        self.index = index
        first = index * params.chunk_profiles
        self.n = min(params.chunk_profiles, params.profiles - first)
        self.first = first
        sequence = np.random.SeedSequence([params.seed, GENERATOR_VERSION, index])
        self.rng = np.random.Generator(np.random.PCG64(sequence))

    # -- profiles -----------------------------------------------------------

    def draw_profiles(self) -> None:
        rng, n, b = self.rng, self.n, self.behaviour
        self.country = rng.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS)
        self.channel = rng.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS)
        self.device = rng.choice(len(DEVICES), n, p=DEVICE_WEIGHTS)
        self.source = rng.choice(len(SOURCES), n, p=SOURCE_WEIGHTS)
        self.tier = rng.choice(len(TIERS), n, p=TIER_WEIGHTS)
        self.age = rng.choice(len(AGE_BANDS), n, p=AGE_WEIGHTS)
        self.consent = {
            channel: rng.random(n) < share for channel, share in CONSENT_SHARE.items()
        }
        self.engagement = rng.lognormal(-0.5 * b.engagement_sd**2, b.engagement_sd, n)
        self.attribute_logit = (
            b.base_logit
            + np.take(COUNTRY_EFFECT, self.country)
            + np.take(DEVICE_EFFECT, self.device)
            + np.take(SOURCE_EFFECT, self.source)
            + np.take(TIER_EFFECT, self.tier)
            + np.take(AGE_EFFECT, self.age)
        )
        # The profile's own disposition: no attribute states it, only its
        # responses hint at it (``interest``).
        self.latent_logit = rng.normal(0.0, b.base_logit_sd, n)
        self.baseline = self.attribute_logit + self.latent_logit
        history_start = self.params.windows[0][0]
        as_of_ms = self.params.windows[-1][0]
        is_new = rng.random(n) < 0.3
        age_ms = (rng.random(n) * 540 * MS_PER_DAY).astype(np.int64)
        joined_ms = (rng.random(n) * (as_of_ms - history_start - MS_PER_DAY)).astype(
            np.int64
        )
        self.created_at = np.where(
            is_new, history_start + joined_ms, history_start - age_ms
        )
        indexes = np.arange(self.first, self.first + n)
        emails = [f"customer{i:09d}.s{self.params.seed}@example.com" for i in indexes]
        self.ecid = xdm.ecid_matrix(emails)
        self.profile_id = xdm.fixed_width_strings(self.ecid)
        self.emails = pa.array(emails, type=pa.string())

    def profiles_table(self) -> pa.Table:
        n = self.n
        record_id = xdm.hex_ids(self.rng, n)

        def consent(channel: str) -> pa.Array:
            return xdm.pick(["n", "y"], self.consent[channel].astype(np.int8))

        record = xdm.join(
            '{"_id":"', record_id,
            '","identityMap":{"ECID":[{"id":"', self.profile_id,
            '","primary":true}],"Email":[{"id":"', self.emails,
            '","primary":false}]},"personalEmail":{"address":"', self.emails,
            '"},"homeAddress":{"countryCode":"', xdm.pick(COUNTRIES, self.country),
            '"},"consents":{"marketing":{"email":{"val":"', consent("email"),
            '"},"sms":{"val":"', consent("sms"),
            '"},"push":{"val":"', consent("push"),
            '"},"preferred":"', xdm.pick(CHANNELS, self.channel),
            '"},"personalize":{"content":{"val":"', consent("personalize"),
            '"}}},"_repo":{"createDate":"', xdm.iso_timestamps(self.created_at),
            '"},"_enrich":{"device":"', xdm.pick(DEVICES, self.device),
            '","acquisitionSource":"', xdm.pick(SOURCES, self.source),
            '","loyaltyTier":"', xdm.pick(TIERS, self.tier),
            '","ageBand":"', xdm.pick(AGE_BANDS, self.age),
            '"}}',
        )  # fmt: skip
        return pa.table(
            {"profile_id": self.profile_id, "record_id": record_id, "record": record}
        )

    # -- simulation -----------------------------------------------------------

    def run(
        self, observe: Callable[[WindowState], None] | None = None
    ) -> SyntheticChunk:
        self.draw_profiles()
        profiles = self.profiles_table()
        b, n, rng = self.behaviour, self.n, self.rng
        windows = self.params.windows
        horizon_ms = self.params.horizon_days * MS_PER_DAY
        as_of_ms = windows[-1][0]
        shift = np.zeros(n)
        fatigue = np.zeros(n)
        converted = np.zeros(n, dtype=bool)
        churned = np.zeros(n, dtype=bool)
        churn_at = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        counts: dict[str, np.ndarray] = {}
        event_blocks: list[tuple[str, _Events]] = []
        truth_blocks: list[dict[str, np.ndarray]] = []

        for number, (start, end) in enumerate(windows):
            is_future = number == len(windows) - 1
            exists = self.created_at < end
            churn_now = (
                exists
                & ~churned
                & (self.created_at < start)
                & (
                    rng.random(n)
                    < _sigmoid(b.churn_logit + b.churn_per_fatigue * fatigue)
                )
            )
            churn_at = np.where(
                churn_now,
                start + (rng.random(n) * (end - start)).astype(np.int64),
                churn_at,
            )
            active_from = np.maximum(start, self.created_at)
            active_to = np.minimum(end, churn_at)
            span = np.where(exists, np.clip(active_to - active_from, 0, None), 0)
            churned |= churn_now
            # The oracle: fixed from the state at the window's start.
            propensity = _sigmoid(self.baseline + shift)
            eligible = exists & ~converted
            p_true = np.where(eligible, propensity * span / horizon_ms, 0.0)
            converts = eligible & (rng.random(n) < p_true)
            converted_at = active_from + (rng.random(n) * span).astype(np.int64)
            if observe is not None:
                observe(
                    WindowState(
                        number, (start, end), self.created_at,
                        self.attribute_logit + shift, self.latent_logit,
                        fatigue.copy(), churned & ~churn_now, eligible, p_true,
                        converts, counts,
                    )
                )  # fmt: skip
            truth_blocks.append(
                {
                    "row": np.flatnonzero(eligible),
                    "window_start": np.full(eligible.sum(), start),
                    "window_end": np.full(eligible.sum(), end),
                    "p_true": p_true[eligible],
                    "is_converted": converts[eligible],
                    "converted_at": np.where(converts, converted_at, -1)[eligible],
                    "churned_at": np.where(churn_now, churn_at, -1)[eligible],
                    "is_future": np.full(eligible.sum(), is_future),
                }
            )
            converted |= converts
            if is_future:
                break
            stop_at = np.minimum(churn_at, as_of_ms)
            blocks = self._window_events(active_from, span, stop_at)
            rows = np.flatnonzero(converts)
            blocks.append(
                (
                    CONVERSION_EVENT_TYPE,
                    _Events(
                        rows.astype(np.int32),
                        converted_at[rows],
                        np.full(rows.size, -1, np.int32),
                    ),
                )
            )
            event_blocks.extend(blocks)
            counts = {event_type: events.counts(n) for event_type, events in blocks}
            shift *= b.memory
            for event_type, weight in PROPENSITY_SHIFT.items():
                shift += weight * np.log1p(counts[event_type])
            fatigue *= 0.8
            for event_type, weight in FATIGUE.items():
                fatigue += weight * counts[event_type]
            np.clip(fatigue, 0.0, 60.0, out=fatigue)
            np.clip(shift, -4.0, 4.0, out=shift)

        events = self._events_table(event_blocks)
        truth = self._truth_table(truth_blocks)
        return SyntheticChunk(self.index, profiles, events, truth)

    def _base(
        self, rate: np.ndarray, active_from: np.ndarray, span: np.ndarray, n_codes: int
    ) -> _Events:
        counts = self.rng.poisson(rate * span / MS_PER_DAY)
        profile = np.repeat(np.arange(self.n, dtype=np.int32), counts)
        at = active_from[profile] + (
            self.rng.random(profile.size) * span[profile]
        ).astype(np.int64)
        code = self.rng.integers(0, n_codes, profile.size, dtype=np.int32)
        return _Events(profile, at, code)

    def _respond(
        self,
        parent: _Events,
        probability: np.ndarray,
        median_lag_s: float,
        keep_code: bool = True,
    ) -> _Events:
        chosen = self.rng.random(len(parent)) < probability[parent.profile]
        child = parent.take(chosen)
        return self._lagged(child, median_lag_s, keep_code)

    def _lagged(self, events: _Events, median_lag_s: float, keep_code: bool) -> _Events:
        lag = self.rng.lognormal(np.log(median_lag_s * 1000.0), 0.9, len(events))
        code = (
            events.code
            if keep_code
            else self.rng.integers(0, 1 << 16, len(events), dtype=np.int32)
        )
        return _Events(events.profile, events.at + lag.astype(np.int64) + 1, code)

    def _window_events(
        self, active_from: np.ndarray, span: np.ndarray, stop_at: np.ndarray
    ) -> list[tuple[str, _Events]]:
        b, rng = self.behaviour, self.rng
        engagement = self.engagement
        interest = np.clip(self.baseline - self.behaviour.base_logit, -3, 3)
        ads = np.where(self.consent["personalize"], 1.0, 0.45)
        emails = np.where(self.consent["email"], 1.0, 0.0)
        likes_email = self.channel == CHANNELS.index("email")
        likes_web = self.channel == CHANNELS.index("web")

        impressions = self._base(
            b.impressions_per_day * engagement * ads, active_from, span, N_ADS
        )
        sent = self._base(b.emails_per_day * emails, active_from, span, N_CAMPAIGNS)
        ad_click_p = _sigmoid(
            _logit(b.ad_click_rate) + 0.35 * interest + 0.3 * np.log(engagement)
        )
        ad_clicks = self._respond(impressions, ad_click_p, 20)
        open_p = _sigmoid(
            _logit(b.email_open_rate)
            + 0.3 * interest
            + 0.4 * np.log(engagement)
            + 0.6 * likes_email
        )
        opened = self._respond(sent, open_p, 3 * 3600)
        click_p = _sigmoid(
            _logit(b.email_click_rate) + 0.45 * interest + 0.3 * likes_email
        )
        email_clicks = self._respond(opened, click_p, 90)
        base_views = self._base(
            b.page_views_per_day * engagement * np.where(likes_web, 1.6, 1.0),
            active_from,
            span,
            len(PAGES),
        )
        landing = _Events.concat([email_clicks, ad_clicks])
        landing.code = rng.integers(
            0, len(LANDING_PAGES), len(landing), dtype=np.int32
        ) + len(PAGES)
        views = _Events.concat([base_views, self._lagged(landing, 4, keep_code=True)])
        everyone = np.ones(self.n)
        link_clicks = self._respond(
            views, everyone * b.link_click_rate, 35, keep_code=False
        )
        product_views = self._respond(
            views, everyone * b.product_view_rate, 40, keep_code=False
        )
        product_views.code = rng.integers(0, N_SKUS, len(product_views), dtype=np.int32)
        purchase_p = _sigmoid(_logit(b.purchase_rate) + 0.4 * interest)
        purchases = self._respond(product_views, purchase_p, 300)
        displays = self._respond(
            views, everyone * b.offer_display_rate, 2, keep_code=False
        )
        displays.code = rng.integers(0, N_PROPOSITIONS, len(displays), dtype=np.int32)
        interact_p = _sigmoid(_logit(b.offer_interact_rate) + 0.5 * interest)
        draw = rng.random(len(displays))
        interacted = draw < interact_p[displays.profile]
        dismissed = ~interacted & (
            draw < interact_p[displays.profile] + b.offer_dismiss_rate
        )
        interacts = self._lagged(displays.take(interacted), 12, keep_code=True)
        dismisses = self._lagged(displays.take(dismissed), 8, keep_code=True)
        other_forms = self._base(
            b.other_forms_per_day * engagement, active_from, span, len(OTHER_FORMS)
        )

        blocks = [
            ("advertising.impressions", impressions),
            ("advertising.clicks", ad_clicks),
            ("directMarketing.emailSent", sent),
            ("directMarketing.emailOpened", opened),
            ("directMarketing.emailClicked", email_clicks),
            ("web.webpagedetails.pageViews", views),
            ("web.webinteraction.linkClicks", link_clicks),
            ("commerce.productViews", product_views),
            ("commerce.purchases", purchases),
            ("decisioning.propositionDisplay", displays),
            ("decisioning.propositionInteract", interacts),
            ("decisioning.propositionDismiss", dismisses),
            ("web.formFilledOut.other", other_forms),
        ]
        # Churned profiles fall silent; responses past as_of are not history.
        return [
            (name, events.take(events.at < stop_at[events.profile]))
            for name, events in blocks
        ]

    # -- output -------------------------------------------------------------

    def _events_table(self, blocks: list[tuple[str, _Events]]) -> pa.Table:
        merged: dict[str, list[_Events]] = {}
        for name, events in blocks:
            merged.setdefault(name, []).append(events)
        tables = []
        for name, parts in merged.items():
            events = _Events(
                np.concatenate([p.profile for p in parts]),
                np.concatenate([p.at for p in parts]),
                np.concatenate([p.code for p in parts]),
            )
            if len(events):
                tables.append(self._events_of_type(name, events))
        return pa.concat_tables(tables) if tables else _empty_events()

    def _events_of_type(self, name: str, events: _Events) -> pa.Table:
        size = len(events)
        template, fields = _event_layout(name, events.code, self.rng)
        event_id = xdm.hex_matrix(self.rng, size)
        profile_id = self.ecid[events.profile]
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

    def _truth_table(self, blocks: list[dict[str, np.ndarray]]) -> pa.Table:
        def column(key: str) -> np.ndarray:
            return np.concatenate([block[key] for block in blocks])

        def moment(key: str) -> pa.Array:
            values = column(key)
            return pa.array(values, pa.timestamp("ms"), mask=values < 0)

        return pa.table(
            {
                "profile_id": self.profile_id.take(pa.array(column("row"))),
                "window_start": moment("window_start"),
                "window_end": moment("window_end"),
                "p_true": pa.array(column("p_true"), pa.float64()),
                "is_converted": pa.array(column("is_converted"), pa.bool_()),
                "converted_at": moment("converted_at"),
                "churned_at": moment("churned_at"),
                "is_future": pa.array(column("is_future"), pa.bool_()),
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


def generate_chunk(
    params: GeneratorParams, index: int, behaviour: Behaviour | None = None
) -> SyntheticChunk:
    """Generate one chunk of profiles with their events and truth.

    Args:
        params: Dataset parameters.
        index: Chunk number in ``range(params.n_chunks)``.
        behaviour: Rates and effects; the defaults when None.

    Returns:
        The chunk's profiles, events and truth as Arrow tables.
    """
    if not 0 <= index < params.n_chunks:
        raise ValueError(f"chunk {index} outside 0..{params.n_chunks - 1}")
    return _ChunkSimulation(params, behaviour or Behaviour(), index).run()


def observe(
    params: GeneratorParams,
    on_window: Callable[[int, WindowState], None],
    behaviour: Behaviour | None = None,
) -> None:
    """Simulate the dataset and show each chunk's state at every window start.

    Args:
        params: Dataset parameters (the same draws as :func:`generate`).
        on_window: Called with the chunk number and the state, window by window.
        behaviour: Rates and effects; the defaults when None.
    """
    for index in range(params.n_chunks):
        _ChunkSimulation(params, behaviour or Behaviour(), index).run(
            lambda state, index=index: on_window(index, state)
        )


def generate(
    params: GeneratorParams, behaviour: Behaviour | None = None
) -> Iterator[SyntheticChunk]:
    """Generate the whole dataset chunk by chunk (memory stays one chunk)."""
    for index in range(params.n_chunks):
        yield generate_chunk(params, index, behaviour)
