"""Stage 7: audiences defined in code, validated, sized and materialized.

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

A build (:func:`build`) stores every audience's members as a snapshot (one
partition of ``audiences.memberships`` per build, attached when the whole
build succeeded), keeps a deterministic holdout (a stable hash of audience
and profile) as a control group, and records sizes and the delta against the
previous build (entered, exited, stayed), with the realised conversion rate
in the simulated future when the data is synthetic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ml.activation import rules
from ml.core import relations, warehouse
from ml.core.config import Settings
from ml.core.errors import EnrichError

logger = logging.getLogger(__name__)

BUCKETS = 200  # propensity buckets of width 0.005
SHOWN_THRESHOLDS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class AudienceError(EnrichError):
    """Audience definitions that do not validate, or an unknown audience."""


class Destination(BaseModel, extra="forbid"):
    """Where an audience is delivered: files under the lake, or an HTTP endpoint."""

    type: Literal["file", "http"]
    # The marketing channel: only profiles that consented to it are sent.
    channel: Literal["email", "sms", "push", "personalize"]
    # delta: entered and exited profiles since the last delivery; full: every
    # activated member each time.
    mode: Literal["delta", "full"] = "delta"
    description: str = ""
    # file: a folder under the lake (local or S3), CSV or Parquet.
    path: str | None = None
    format: Literal["csv", "parquet"] = "csv"
    # http: the endpoint; HTTPS unless the host is local. The shared secret
    # for the signature is read from the environment variable named here.
    url: str | None = None
    secret_env: str | None = None
    # http: changes per request, and how hard to try.
    batch_size: int = Field(1_000, ge=1, le=100_000)
    max_attempts: int = Field(5, ge=1, le=20)
    timeout_seconds: float = Field(10.0, gt=0)
    backoff_seconds: float = Field(0.5, ge=0)
    max_backoff_seconds: float = Field(30.0, ge=0)

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

    Raises:
        RuleError: The rule does not parse.
        AudienceError: The enriched profiles do not exist yet.
    """
    from psycopg import sql

    condition, params = rules.compile_rule(rule)
    table = sql.Identifier(*relations.PROFILES_ENRICHED)
    with warehouse.connect(settings) as conn:
        if not warehouse.exists(conn, relations.PROFILES_ENRICHED):
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


# -- materialize ------------------------------------------------------------------

AUDIENCE_LOCK = 0x61756469656E6365  # "audience"


@dataclass
class Build:
    """One audience build: every audience's members, holdout and delta."""

    batch_id: str
    status: str  # success | skipped
    scoring_run_id: str
    audiences: list[dict[str, Any]]


def _digest(definitions: Definitions) -> str:
    payload = [
        {"id": a.id, "rule": a.rule, "holdout_percent": a.holdout_percent}
        for a in definitions.audiences
    ]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _sql(text: str) -> Any:
    from psycopg import sql

    return sql.SQL(text).format(
        builds=sql.Identifier(*relations.AUDIENCE_BUILDS),
        sizes=sql.Identifier(*relations.AUDIENCE_BUILD_AUDIENCES),
        members=sql.Identifier(*relations.AUDIENCE_MEMBERSHIPS),
        profiles=sql.Identifier(*relations.PROFILES_ENRICHED),
        truth=sql.Identifier(*relations.SYNTHETIC_TRUTH),
    )


def session(settings: Settings) -> Any:
    """An autocommit connection holding the audience lock, schema in place."""
    return warehouse.locked_session(
        settings,
        AUDIENCE_LOCK,
        relations.AUDIENCE_BUILDS,
        "the audience build",
        ("audiences_schema.sql",),
    )


def latest_build(conn: Any) -> tuple[str, str, str] | None:
    """The latest successful build: batch id, scoring run id, definitions digest."""
    return conn.execute(
        _sql(
            "select batch_id, scoring_run_id, definitions_digest from {builds} "
            "where status = 'success' order by started_at desc limit 1"
        )
    ).fetchone()


def build_sizes(conn: Any, batch_id: str) -> list[dict[str, Any]]:
    """Every audience of a build: sizes, holdout, delta (a dict per audience)."""
    cursor = conn.execute(
        _sql("select * from {sizes} where batch_id = %s order by audience_id"),
        [batch_id],
    )
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def build(settings: Settings) -> Build:
    """Materialize every audience against the current scores, atomically.

    Members are the scored profiles a rule selects; a stable hash of audience
    and profile puts ``holdout_percent`` of them in the holdout (control)
    group. The delta (entered, exited, stayed) is against the previous
    successful build. A build of the same scoring run with the same
    definitions is not repeated.

    Raises:
        AudienceError: Invalid definitions, or no scores to build on.
    """
    definitions = load_definitions(settings)
    digest = _digest(definitions)
    with session(settings) as conn:
        current = conn.execute(
            _sql(
                "select scoring_run_id, score_cutoff_at from {profiles} "
                "where has_score limit 1"
            )
        ).fetchone()
        if current is None:
            raise AudienceError(
                "No profile has a current score: run `enrich score`, `enrich "
                "ingest` and `enrich featurize` (or `enrich run`) first."
            )
        scoring_run_id, cutoff_at = current
        previous = latest_build(conn)
        if previous is not None and previous[1:] == (scoring_run_id, digest):
            logger.info("build %s has these scores and definitions", previous[0])
            return Build(
                previous[0], "skipped", scoring_run_id, build_sizes(conn, previous[0])
            )
        batch_id = "build-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        conn.execute(
            _sql(
                "insert into {builds} (batch_id, scoring_run_id, score_cutoff_at, "
                "definitions_digest, status) values (%s, %s, %s, %s, 'running')"
            ),
            [batch_id, scoring_run_id, cutoff_at, digest],
        )
        with warehouse.recorded_attempt(
            conn,
            relations.AUDIENCE_BUILDS,
            [batch_id],
            AudienceError,
            "Building audiences",
        ):
            child = warehouse.new_partition(
                conn, relations.AUDIENCE_MEMBERSHIPS, batch_id
            )
            truth = warehouse.exists(conn, relations.SYNTHETIC_TRUTH)
            base_rate = _base_rate(conn, cutoff_at) if truth else None
            for audience in definitions.audiences:
                _materialize(conn, child, batch_id, audience)
            warehouse.analyze(conn, [child])
            for audience in definitions.audiences:
                _record(
                    conn,
                    child,
                    batch_id,
                    previous[0] if previous else None,
                    audience,
                    cutoff_at if truth else None,
                    base_rate,
                )
            warehouse.attach_partitions(
                conn, [(relations.AUDIENCE_MEMBERSHIPS, batch_id)]
            )
            conn.execute(
                _sql(
                    "update {builds} set status = 'success', "
                    "finished_at = clock_timestamp() where batch_id = %s"
                ),
                [batch_id],
            )
        return Build(batch_id, "success", scoring_run_id, build_sizes(conn, batch_id))


def _materialize(conn: Any, child: Any, batch_id: str, audience: Audience) -> None:
    from psycopg import sql

    condition, params = rules.compile_rule(audience.rule)
    conn.execute(
        sql.SQL(
            "insert into {} (audience_id, profile_id, propensity, decile, "
            "is_holdout, batch_id) "
            "select %s, profile_id, propensity, decile, "
            "audiences.holdout_bucket(%s, profile_id) < %s, %s "
            "from {} where has_score and {}"
        ).format(
            sql.Identifier(*child),
            sql.Identifier(*relations.PROFILES_ENRICHED),
            condition,
        ),
        [
            audience.id,
            audience.id,
            round(audience.holdout_percent * 100),
            batch_id,
            *params,
        ],
    )


def _base_rate(conn: Any, cutoff_at: dt.datetime) -> float | None:
    row = conn.execute(
        _sql(
            "select avg(truth.is_converted::int)::float8 from {profiles} as profiles "
            "inner join {truth} as truth on truth.profile_id = profiles.profile_id "
            "and truth.window_start = %s where profiles.has_score"
        ),
        [cutoff_at],
    ).fetchone()
    return None if row is None else row[0]


def _record(
    conn: Any,
    child: Any,
    batch_id: str,
    previous: str | None,
    audience: Audience,
    cutoff_at: dt.datetime | None,
    base_rate: float | None,
) -> None:
    """Sizes, delta and (synthetic data) realised conversion of one audience."""
    from psycopg import sql

    members, holdout, expected = conn.execute(
        sql.SQL(
            "select count(*), count(*) filter (where is_holdout), "
            "coalesce(sum(propensity), 0)::float8 from {} where audience_id = %s"
        ).format(sql.Identifier(*child)),
        [audience.id],
    ).fetchone()
    entered, exited, stayed = conn.execute(
        sql.SQL(
            "select count(*) filter (where prev.profile_id is null), "
            "count(*) filter (where cur.profile_id is null), "
            "count(*) filter (where cur.profile_id is not null "
            "and prev.profile_id is not null) "
            "from (select profile_id from {} where audience_id = %s) as cur "
            "full join (select profile_id from {} where batch_id = %s "
            "and audience_id = %s) as prev on prev.profile_id = cur.profile_id"
        ).format(
            sql.Identifier(*child), sql.Identifier(*relations.AUDIENCE_MEMBERSHIPS)
        ),
        [audience.id, previous, audience.id],
    ).fetchone()
    realised = None
    if cutoff_at is not None:
        realised = conn.execute(
            sql.SQL(
                "select avg(truth.is_converted::int)::float8 from {} as members "
                "inner join {} as truth on truth.profile_id = members.profile_id "
                "and truth.window_start = %s where members.audience_id = %s"
            ).format(
                sql.Identifier(*child), sql.Identifier(*relations.SYNTHETIC_TRUTH)
            ),
            [cutoff_at, audience.id],
        ).fetchone()[0]
    conn.execute(
        _sql(
            "insert into {sizes} (batch_id, audience_id, rule, holdout_percent, "
            "count_members, count_holdout, count_entered, count_exited, "
            "count_stayed, expected_conversions, realised_rate, base_rate) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ),
        [
            batch_id,
            audience.id,
            audience.rule,
            audience.holdout_percent,
            members,
            holdout,
            entered,
            exited,
            stayed,
            expected,
            realised,
            base_rate,
        ],
    )
