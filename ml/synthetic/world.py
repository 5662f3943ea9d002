"""The synthetic world's fixed facts: attributes, rates, the event catalogue, params.

Everything here is data: the attribute values and their effects on the
conversion logit, the default rates (:class:`Behaviour`), how each event type
moves propensity and fatigue, the event catalogue seed, and the parameters
that determine a dataset (:class:`GeneratorParams`). The draws live in
:mod:`ml.synthetic.simulation`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa

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


def _epoch_ms(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * MS_PER_DAY
