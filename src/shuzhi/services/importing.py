"""Shared rules of every tabular import: column names (English or Chinese), required columns, and the
report that lists every problem with its row and column.

Imports are all or nothing: one bad row and nothing is written, so a half-imported organisation can
never reach the duty officers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shuzhi.adapters.tabular import ROW, TabularError, read_table
from shuzhi.services.errors import Invalid

#: Largest rule or template file (a city's dispatch rules, warning rules or plan templates).
MAX_DOCUMENT_BYTES = 5_000_000
#: Most rules one file may hold.
MAX_DOCUMENT_ITEMS = 10_000


def check_size(data: bytes, limit: int = MAX_DOCUMENT_BYTES) -> None:
    if len(data) > limit:
        raise Invalid(f"the file is larger than {limit // 1_000_000} MB", field="file")


def json_document(data: bytes) -> Any:
    """A JSON file's content (a byte-order mark, as Windows editors write it, is allowed)."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"not a JSON file: {exc}", field="file") from None


def json_list(data: bytes, key: str, *, limit: int = MAX_DOCUMENT_ITEMS) -> list[Any]:
    """The items of a JSON file holding a list, or ``{key: [...]}``; at most ``limit`` of them."""
    parsed = json_document(data)
    found = parsed.get(key) if isinstance(parsed, dict) else parsed
    if not isinstance(found, list):
        raise Invalid(f'expected a list of {key} or {{"{key}": [...]}}', field="file")
    if len(found) > limit:
        raise Invalid(f"at most {limit} {key} per import", field="file")
    return found


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

    def raise_if_rejected(self, what: str) -> None:
        """For the API: a 422 carrying every problem."""
        if self.errors:
            raise Invalid(f"{len(self.errors)} problem(s) in the {what} file; nothing was imported",
                          field="file", details=[e.__dict__ for e in self.errors])


@dataclass
class Rows:
    """Rows with canonical column names; ``error`` records a problem against a row and column."""

    items: list[dict[str, str]]
    report: ImportReport
    #: Missing columns or no rows: nothing more can be checked.
    fatal: bool = False

    def error(self, row: Mapping[str, str], column: str | None, message: str) -> None:
        value = row.get(column) if column else None
        self.report.errors.append(RowError(int(row.get(ROW, 0)), column, value, message))


def rule_sheet(data: bytes, filename: str, *, required: Iterable[str], columns: Iterable[str],
               limit: int) -> list[dict[str, str]]:
    """The rows of a sheet of rules (dispatch rules, threshold rules) from an XLSX or CSV: refused at
    ``file`` (422) when it cannot be read, lacks a required column (the message names ``columns``, the
    sheet's full header) or holds more than ``limit`` rules."""
    try:
        rows = read_table(data, filename)
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None
    missing = [c for c in required if rows and c not in rows[0]]
    if missing:
        raise Invalid(f"the first row must name the columns {', '.join(columns)}; missing: "
                      f"{', '.join(missing)}", field="file")
    if len(rows) > limit:
        raise Invalid(f"at most {limit} rules per import", field="file")
    return rows


def canonical_rows(rows: Iterable[Mapping[str, str]], aliases: Mapping[str, Iterable[str]],
                   required: Iterable[str]) -> Rows:
    """Rename alias headers (``编码`` → ``code``) and check required columns and duplicate codes."""
    lookup = {}
    for canonical, names in aliases.items():
        lookup[canonical.lower()] = canonical
        for n in names:
            lookup[n.strip().lower()] = canonical
    items = []
    for raw in rows:
        row = {ROW: raw.get(ROW, "0")}
        for key, value in raw.items():
            if key != ROW:
                row[lookup.get(key.strip().lower(), key.strip())] = value
        items.append(row)
    out = Rows(items, ImportReport())
    present = set(items[0]) if items else set()
    missing = [c for c in required if c not in present]
    for column in missing:
        out.report.errors.append(RowError(1, column, None, f"required column '{column}' is missing"))
    if not items:
        out.report.errors.append(RowError(1, None, None, "the file has no data rows"))
    if missing or not items:
        out.fatal = True
        return out
    seen: dict[str, str] = {}
    for row in items:
        code = row.get("code", "")
        if not code:
            out.error(row, "code", "code is empty")
        elif code in seen:
            out.error(row, "code", f"duplicate code '{code}' (also row {seen[code]})")
        else:
            seen[code] = row[ROW]
    return out


def split_list(value: str) -> list[str]:
    """``a;b；c, d`` → ``[a, b, c, d]`` (Chinese offices mix ASCII and full-width separators)."""
    for sep in ("；", ",", "，", "、", "|"):
        value = value.replace(sep, ";")
    return [v.strip() for v in value.split(";") if v.strip()]
