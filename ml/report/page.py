"""What a report is made of before it becomes HTML: sections, tables, notes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ml.report.plots import Plot


@dataclass
class Table:
    """A small table of figures."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Section:
    """One part of the report: its pictures, tables and notes, in order."""

    key: str
    title: str
    summary: str = ""
    items: list[Plot | Table | str] = field(default_factory=list)

    @property
    def plots(self) -> list[Plot]:
        """The pictures of the section."""
        return [item for item in self.items if isinstance(item, Plot)]


@dataclass
class Report:
    """What one report shows, before it becomes HTML."""

    title: str
    created_at: dt.datetime
    sections: list[Section]
    facts: dict[str, str]
