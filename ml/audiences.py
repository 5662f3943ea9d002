"""Stage 7, first half: audiences defined in code, validated and sized.

Audiences live in ``audiences.yml`` beside ``enrich.yml`` (version-controlled):
an id, a name, a description, a rule in the language of :mod:`ml.rules`, a
holdout share, destinations and the attributes to send. Destinations are
declared in the same file.

Sizing is the propensity-reach analysis of the reference workflow: among the
scored profiles a rule selects, how many lie above each propensity threshold,
how many conversions they are expected to bring (the sum of their
propensities) and what share of all profiles they are. With a cost per
contact and a value per conversion in the config, it also suggests the
threshold that maximises expected profit. The counts come from one grouped
query over ``profiles.profiles_enriched`` (200 propensity buckets), so any
threshold or interval on the 0.005 grid is exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ml import relations, rules, warehouse
from ml.config import Settings
from ml.errors import EnrichError

BUCKETS = 200  # propensity buckets of width 0.005
SHOWN_THRESHOLDS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class AudienceError(EnrichError):
    """Audience definitions that do not validate, or an unknown audience."""


class Destination(BaseModel, extra="forbid"):
    """Where an audience is delivered: files under the lake, or an HTTP endpoint."""

    type: Literal["file", "http"]
    description: str = ""
    # file: a folder under the lake.
    path: str | None = None
    # http: the endpoint; HTTPS unless the host is local. The shared secret
    # for the signature is read from the environment variable named here.
    url: str | None = None
    secret_env: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Destination:
        if self.type == "file" and not self.path:
            raise ValueError("a file destination needs a path (a folder in the lake)")
        if self.type == "http":
            if not self.url:
                raise ValueError("an http destination needs a url")
            local = re.match(
                r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(/|$)", self.url
            )
            if not (self.url.startswith("https://") or local):
                raise ValueError(
                    "http destinations must use https:// (except localhost)"
                )
        return self


class Audience(BaseModel, extra="forbid"):
    """One audience definition."""

    id: str
    name: str
    description: str = ""
    rule: str
    holdout_percent: float = Field(0.0, ge=0, lt=100)
    destinations: list[str] = []
    attributes: list[str] = []

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("use lowercase letters, digits and _ (e.g. top_decile)")
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in rules.FIELDS]
        if unknown:
            known = ", ".join(sorted(rules.FIELDS))
            raise ValueError(f"unknown attributes {unknown}; known: {known}")
        return value


class AudienceFile(BaseModel, extra="forbid"):
    """The whole audiences file."""

    destinations: dict[str, Destination] = {}
    audiences: list[Audience] = []


@dataclass
class Definitions:
    """Validated audiences and destinations."""

    path: Path
    audiences: list[Audience]
    destinations: dict[str, Destination]

    def get(self, audience_id: str) -> Audience:
        """An audience by id.

        Raises:
            AudienceError: No such audience.
        """
        for audience in self.audiences:
            if audience.id == audience_id:
                return audience
        known = ", ".join(a.id for a in self.audiences) or "none"
        raise AudienceError(
            f"No audience {audience_id!r} in {self.path} (known: {known})."
        )


def load_definitions(settings: Settings) -> Definitions:
    """Read and validate every audience and destination.

    Every problem is reported at once, each with the audience it belongs to.

    Raises:
        AudienceError: The file is missing, not YAML, or a definition is invalid.
    """
    path = settings.audiences_file
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise AudienceError(
            f"No audiences file at {path}: create it (see audiences.yml in the "
            "enrich repository) or set audiences.file in enrich.yml."
        ) from None
    except yaml.YAMLError as exc:
        raise AudienceError(f"{path} is not valid YAML: {exc}") from None
    try:
        parsed = AudienceFile.model_validate(raw)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {_where(raw, err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise AudienceError(f"{path} has invalid definitions:\n{problems}") from None
    problems = []
    seen: set[str] = set()
    for audience in parsed.audiences:
        if audience.id in seen:
            problems.append(f"  {audience.id}: the id is used twice")
        seen.add(audience.id)
        try:
            rules.parse(audience.rule)
        except rules.RuleError as exc:
            problems.append(f"  {audience.id}: rule: {exc}")
        for name in audience.destinations:
            if name not in parsed.destinations:
                problems.append(
                    f"  {audience.id}: unknown destination {name!r} (declared: "
                    f"{', '.join(parsed.destinations) or 'none'})"
                )
    if problems:
        raise AudienceError(f"{path} has invalid definitions:\n" + "\n".join(problems))
    return Definitions(path, parsed.audiences, parsed.destinations)


def _where(raw: Any, location: tuple) -> str:
    """``audiences[2] (top_decile).rule`` for a validation error's location."""
    parts = []
    node = raw
    for part in location:
        if isinstance(part, int):
            label = f"[{part}]"
            try:
                node = node[part]
                if isinstance(node, dict) and "id" in node:
                    label += f" ({node['id']})"
            except (IndexError, KeyError, TypeError):
                pass
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts)


# -- sizing -------------------------------------------------------------------------


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
        """Reach and expected conversions at lower <= propensity < upper."""
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
        """Reach above the thresholds people read, up to the highest score."""
        top = max((i for i, c in enumerate(self.counts) if c), default=0) / BUCKETS
        return [self.above(t) for t in SHOWN_THRESHOLDS if t <= top or t == 0.0]

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

    Raises:
        RuleError: The rule does not parse.
        AudienceError: The enriched profiles do not exist yet.
    """
    from psycopg import sql

    condition, params = rules.compile_rule(rule)
    table = sql.Identifier(*relations.PROFILES_ENRICHED)
    with warehouse.connect(settings) as conn:
        exists = conn.execute(
            "select to_regclass(%s) is not null",
            [".".join(relations.PROFILES_ENRICHED)],
        ).fetchone()[0]
        if not exists:
            raise AudienceError(
                f"{'.'.join(relations.PROFILES_ENRICHED)} does not exist: run "
                "`enrich run`, or `enrich featurize` after `enrich ingest`."
            )
        profiles, scored = conn.execute(
            sql.SQL(
                "select count(*), count(*) filter (where has_score) from {}"
            ).format(table)
        ).fetchone()
        rows = conn.execute(
            sql.SQL(
                "select least(width_bucket(propensity, 0, 1, %s), %s) - 1, "
                "count(*), sum(propensity) from {} where has_score and {} "
                "group by 1"
            ).format(table, condition),
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
