"""The simulation of one chunk of profiles: attributes, windows, draws.

:class:`ChunkSimulation` draws a chunk's profiles, then walks its windows:
at each window's start it fixes every profile's churn and conversion (the
oracle), then draws the window's exposures and responses, which move the
propensity and fatigue of the next window. All draws come from one generator
seeded by (seed, generator version, chunk), in a fixed order, so the same
parameters give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ml.synthetic import xdm
from ml.synthetic.events import EventDraws, events_table
from ml.synthetic.world import (
    AGE_BANDS,
    AGE_EFFECT,
    AGE_WEIGHTS,
    CHANNEL_WEIGHTS,
    CHANNELS,
    CONSENT_SHARE,
    CONVERSION_EVENT_TYPE,
    COUNTRIES,
    COUNTRY_EFFECT,
    COUNTRY_WEIGHTS,
    DEVICE_EFFECT,
    DEVICE_WEIGHTS,
    DEVICES,
    FATIGUE,
    GENERATOR_VERSION,
    LANDING_PAGES,
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
    SyntheticChunk,
    WindowState,
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    probability: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return probability


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


@dataclass
class _Window:
    """One window's draws at its start: who churns, who converts, and when."""

    number: int
    start: int
    end: int
    is_future: bool
    churn_now: np.ndarray
    active_from: np.ndarray
    span: np.ndarray
    eligible: np.ndarray
    p_true: np.ndarray
    converts: np.ndarray
    converted_at: np.ndarray


class ChunkSimulation:
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
        """Draw the chunk's attributes, dispositions and identities."""
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
        """The chunk's profiles as XDM records (draws their record ids)."""
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
        """Simulate the chunk window by window.

        Args:
            observe: Called with the state at every window's start.

        Returns:
            The chunk's profiles, events and truth.
        """
        self.draw_profiles()
        profiles = self.profiles_table()
        n = self.n
        windows = self.params.windows
        self.shift = np.zeros(n)
        self.fatigue = np.zeros(n)
        self.converted = np.zeros(n, dtype=bool)
        self.churned = np.zeros(n, dtype=bool)
        self.churn_at = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.counts: dict[str, np.ndarray] = {}
        event_blocks: list[tuple[str, EventDraws]] = []
        truth_blocks: list[dict[str, np.ndarray]] = []

        for number, (start, end) in enumerate(windows):
            window = self._open_window(number, start, end, len(windows))
            if observe is not None:
                observe(self._state(window))
            truth_blocks.append(self._truth_rows(window))
            self.converted |= window.converts
            if window.is_future:
                break
            event_blocks.extend(self._close_window(window, as_of_ms=windows[-1][0]))

        events = events_table(event_blocks, self.ecid, self.rng)
        truth = self._truth_table(truth_blocks)
        return SyntheticChunk(self.index, profiles, events, truth)

    def _open_window(
        self, number: int, start: int, end: int, n_windows: int
    ) -> _Window:
        """Churn and the oracle's conversions, fixed at the window's start."""
        b, n, rng = self.behaviour, self.n, self.rng
        horizon_ms = self.params.horizon_days * MS_PER_DAY
        exists = self.created_at < end
        churn_now = (
            exists
            & ~self.churned
            & (self.created_at < start)
            & (
                rng.random(n)
                < _sigmoid(b.churn_logit + b.churn_per_fatigue * self.fatigue)
            )
        )
        self.churn_at = np.where(
            churn_now,
            start + (rng.random(n) * (end - start)).astype(np.int64),
            self.churn_at,
        )
        active_from = np.maximum(start, self.created_at)
        active_to = np.minimum(end, self.churn_at)
        span = np.where(exists, np.clip(active_to - active_from, 0, None), 0)
        self.churned |= churn_now
        # The oracle: fixed from the state at the window's start.
        propensity = _sigmoid(self.baseline + self.shift)
        eligible = exists & ~self.converted
        p_true = np.where(eligible, propensity * span / horizon_ms, 0.0)
        converts = eligible & (rng.random(n) < p_true)
        converted_at = active_from + (rng.random(n) * span).astype(np.int64)
        return _Window(
            number, start, end, number == n_windows - 1, churn_now, active_from,
            span, eligible, p_true, converts, converted_at,
        )  # fmt: skip

    def _state(self, window: _Window) -> WindowState:
        """What :func:`ml.synthetic.observe` shows of the window's start."""
        return WindowState(
            window.number, (window.start, window.end), self.created_at,
            self.attribute_logit + self.shift, self.latent_logit,
            self.fatigue.copy(), self.churned & ~window.churn_now, window.eligible,
            window.p_true, window.converts, self.counts,
        )  # fmt: skip

    def _truth_rows(self, window: _Window) -> dict[str, np.ndarray]:
        """The truth of the window for the profiles eligible in it."""
        eligible = window.eligible
        converts = window.converts
        return {
            "row": np.flatnonzero(eligible),
            "window_start": np.full(eligible.sum(), window.start),
            "window_end": np.full(eligible.sum(), window.end),
            "p_true": window.p_true[eligible],
            "is_converted": converts[eligible],
            "converted_at": np.where(converts, window.converted_at, -1)[eligible],
            "churned_at": np.where(window.churn_now, self.churn_at, -1)[eligible],
            "is_future": np.full(eligible.sum(), window.is_future),
        }

    def _close_window(
        self, window: _Window, as_of_ms: int
    ) -> list[tuple[str, EventDraws]]:
        """The window's events; their counts move the next window's state."""
        b, n = self.behaviour, self.n
        stop_at = np.minimum(self.churn_at, as_of_ms)
        blocks = self._window_events(window.active_from, window.span, stop_at)
        rows = np.flatnonzero(window.converts)
        blocks.append(
            (
                CONVERSION_EVENT_TYPE,
                EventDraws(
                    rows.astype(np.int32),
                    window.converted_at[rows],
                    np.full(rows.size, -1, np.int32),
                ),
            )
        )
        self.counts = {event_type: events.counts(n) for event_type, events in blocks}
        self.shift *= b.memory
        for event_type, weight in PROPENSITY_SHIFT.items():
            self.shift += weight * np.log1p(self.counts[event_type])
        self.fatigue *= 0.8
        for event_type, weight in FATIGUE.items():
            self.fatigue += weight * self.counts[event_type]
        np.clip(self.fatigue, 0.0, 60.0, out=self.fatigue)
        np.clip(self.shift, -4.0, 4.0, out=self.shift)
        return blocks

    def _base(
        self, rate: np.ndarray, active_from: np.ndarray, span: np.ndarray, n_codes: int
    ) -> EventDraws:
        counts = self.rng.poisson(rate * span / MS_PER_DAY)
        profile = np.repeat(np.arange(self.n, dtype=np.int32), counts)
        at = active_from[profile] + (
            self.rng.random(profile.size) * span[profile]
        ).astype(np.int64)
        code = self.rng.integers(0, n_codes, profile.size, dtype=np.int32)
        return EventDraws(profile, at, code)

    def _respond(
        self,
        parent: EventDraws,
        probability: np.ndarray,
        median_lag_s: float,
        keep_code: bool = True,
    ) -> EventDraws:
        chosen = self.rng.random(len(parent)) < probability[parent.profile]
        child = parent.take(chosen)
        return self._lagged(child, median_lag_s, keep_code)

    def _lagged(
        self, events: EventDraws, median_lag_s: float, keep_code: bool
    ) -> EventDraws:
        lag = self.rng.lognormal(np.log(median_lag_s * 1000.0), 0.9, len(events))
        code = (
            events.code
            if keep_code
            else self.rng.integers(0, 1 << 16, len(events), dtype=np.int32)
        )
        return EventDraws(events.profile, events.at + lag.astype(np.int64) + 1, code)

    def _window_events(
        self, active_from: np.ndarray, span: np.ndarray, stop_at: np.ndarray
    ) -> list[tuple[str, EventDraws]]:
        """Every event type's draws in one window, in the generator's order."""
        interest = np.clip(self.baseline - self.behaviour.base_logit, -3, 3)
        impressions, ad_clicks, sent, opened, email_clicks = self._marketing_events(
            active_from, span, interest
        )
        views, link_clicks, product_views, purchases = self._web_events(
            active_from, span, interest, [email_clicks, ad_clicks]
        )
        displays, interacts, dismisses = self._offer_events(views, interest)
        other_forms = self._base(
            self.behaviour.other_forms_per_day * self.engagement,
            active_from,
            span,
            len(OTHER_FORMS),
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

    def _marketing_events(
        self, active_from: np.ndarray, span: np.ndarray, interest: np.ndarray
    ) -> tuple[EventDraws, ...]:
        """Ad impressions and clicks, emails sent, opened and clicked."""
        b, engagement = self.behaviour, self.engagement
        ads = np.where(self.consent["personalize"], 1.0, 0.45)
        emails = np.where(self.consent["email"], 1.0, 0.0)
        likes_email = self.channel == CHANNELS.index("email")
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
        return impressions, ad_clicks, sent, opened, email_clicks

    def _web_events(
        self,
        active_from: np.ndarray,
        span: np.ndarray,
        interest: np.ndarray,
        clicks: list[EventDraws],
    ) -> tuple[EventDraws, ...]:
        """Page views (also landing after ``clicks``), link clicks, products."""
        b, rng = self.behaviour, self.rng
        likes_web = self.channel == CHANNELS.index("web")
        base_views = self._base(
            b.page_views_per_day * self.engagement * np.where(likes_web, 1.6, 1.0),
            active_from,
            span,
            len(PAGES),
        )
        landing = EventDraws.concat(clicks)
        landing.code = rng.integers(
            0, len(LANDING_PAGES), len(landing), dtype=np.int32
        ) + len(PAGES)
        views = EventDraws.concat(
            [base_views, self._lagged(landing, 4, keep_code=True)]
        )
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
        return views, link_clicks, product_views, purchases

    def _offer_events(
        self, views: EventDraws, interest: np.ndarray
    ) -> tuple[EventDraws, ...]:
        """Offers displayed on page views, and the interactions and dismissals."""
        b, rng = self.behaviour, self.rng
        displays = self._respond(
            views, np.ones(self.n) * b.offer_display_rate, 2, keep_code=False
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
        return displays, interacts, dismisses

    # -- output -------------------------------------------------------------

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
