"""Audience definitions: ``audiences.yml`` read and validated.

Audiences live in ``audiences.yml`` beside ``enrich.yml`` (version-controlled):
an id, a name, a description, a rule in the language of
:mod:`ml.activation.rules`, a holdout share, destinations and the attributes
to send. Destinations are declared in the same file. Every problem of the
file is reported at once, each with the audience it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ml.activation import rules
from ml.core import specfiles
from ml.core.config import Settings
from ml.core.errors import EnrichError

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

    @property
    def lake_folder(self) -> str:
        """A file destination's folder in the lake (validation requires one)."""
        if not self.path:
            raise AudienceError(
                "a file destination needs a path (a folder in the lake)"
            )
        return self.path

    @property
    def endpoint(self) -> str:
        """An http destination's URL (validation requires one)."""
        if not self.url:
            raise AudienceError("an http destination needs a url")
        return self.url


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
    parsed = specfiles.read(
        path,
        AudienceFile,
        AudienceError,
        what="definitions",
        setting="audiences.file",
        key="id",
    )
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
