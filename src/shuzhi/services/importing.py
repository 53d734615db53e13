"""The outcome of an import: counts, or every problem with the row and column it was found in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RowError:
    row: int
    column: str | None
    value: str | None
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
