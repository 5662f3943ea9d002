"""What both loaders share: the raw datasets, their tables, identity paths.

The two XDM datasets and the raw table each lands in, the name of the
generator's source, the event types the catalogue knows (others are loaded
but flagged), how a dot path to the identity becomes a SQL/JSON path, and the
statistics every load ends with.
"""

from __future__ import annotations

import re
from typing import Any

from ml import synthetic
from ml.core import relations, warehouse
from ml.core.config import Settings
from ml.core.errors import LoadError
from ml.data.batches import BatchResult

EVENTS = "experience_events"
PROFILES = "profiles"
DATASETS = (EVENTS, PROFILES)
SYNTHETIC_SOURCE = "synthetic"
# The raw table of each dataset (partitioned by batch_id).
RAW_TABLES = {
    EVENTS: relations.RAW_EXPERIENCE_EVENTS,
    PROFILES: relations.RAW_PROFILES,
}
# Tables partitioned by batch_id (one partition a batch).
PARTITIONED = (
    relations.RAW_EXPERIENCE_EVENTS,
    relations.RAW_PROFILES,
    relations.SYNTHETIC_TRUTH,
)
_IDENTITY_SEGMENT = re.compile(r"([A-Za-z0-9_@$:\-]+)((?:\[\d+\])*)")


def identity_jsonpath(identity_field: str) -> str:
    """Turn a dot path such as ``identityMap.ECID[0].id`` into a SQL/JSON path.

    The result is passed to PostgreSQL as a bound parameter, never pasted
    into SQL.

    Args:
        identity_field: Field names separated by dots, each optionally
            followed by list indexes (``[0]``).

    Returns:
        The equivalent ``jsonpath`` text, e.g. ``$."identityMap"."ECID"[0]."id"``.

    Raises:
        LoadError: The path is empty or holds characters outside
            ``A-Z a-z 0-9 _ @ $ : -``.
    """
    segments = identity_field.split(".") if identity_field else []
    path = "$"
    for segment in segments:
        match = _IDENTITY_SEGMENT.fullmatch(segment)
        if match is None:
            raise LoadError(
                f"Identity field {identity_field!r} is not a dot path like "
                "identityMap.ECID[0].id or _acme.userid."
            )
        path += f'."{match.group(1)}"{match.group(2)}'
    if path == "$":
        raise LoadError(
            "The identity field is empty: give a path such as _acme.userid."
        )
    return path


def known_event_types(settings: Settings) -> list[str]:
    """Event types of the catalogue seed; others are loaded but flagged."""
    return [
        row.event_type for row in synthetic.read_event_catalogue(settings.seeds_dir)
    ]


def analyze_loaded(conn: Any, results: list[BatchResult]) -> None:
    """Statistics for the partitions this load filled (the planner needs them).

    Args:
        conn: A warehouse connection.
        results: The load's batches; only successful ones filled partitions.
    """
    tables = []
    for result in results:
        if result.status != "success":
            continue
        parents = [RAW_TABLES[result.dataset]]
        if result.source == SYNTHETIC_SOURCE and result.dataset == EVENTS:
            parents.append(relations.SYNTHETIC_TRUTH)
        tables += [warehouse.partition_name(p, result.batch_id) for p in parents]
    warehouse.analyze(conn, tables)
