"""Dispatch rules imported and exported as files (JSON, XLSX), every problem named by row and column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from shuzhi.adapters.db.tables import (
    DispatchRule,
)
from shuzhi.adapters.tabular import ROW, write_xlsx
from shuzhi.domain.conditions import validate_condition
from shuzhi.domain.permissions import RULE_WRITE
from shuzhi.domain.rules import validate_targets
from shuzhi.services import importing
from shuzhi.services.actors import Actor
from shuzhi.services.dispatching.rule_sets import (
    TABLE_COLUMNS,
    NewRule,
    _commit,
    _create,
    _document,
    _invalid,
    _record,
    _update,
    check_rule,
    list_rules,
    rule_area,
)
from shuzhi.services.errors import Invalid
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

MAX_IMPORT_BYTES = 5_000_000
MAX_IMPORT_RULES = 10_000


@dataclass(frozen=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


# --- import and export ---------------------------------------------------------------------------


def export_rules(uow: UnitOfWork, actor: Actor, fmt: str = "json") -> bytes:
    """All rules as JSON (``{"rules": [...]}``) or XLSX (one row per rule, condition and targets as JSON)."""
    docs = [r.document() for r in list_rules(uow, actor)]
    with uow:
        audit.record(uow.session, actor, "export", "dispatch_rules", {"format": fmt, "rows": len(docs)})
        uow.commit()
    if fmt == "json":
        return json.dumps({"rules": docs}, ensure_ascii=False, indent=2).encode()
    if fmt == "xlsx":
        return _write_xlsx(docs)
    raise Invalid(f"unknown format '{fmt}'; use json or xlsx", field="format")


def _write_xlsx(docs: list[dict[str, Any]]) -> bytes:
    rows = [{"code": d["code"], "name": d["name"], "priority": str(d["priority"]), "level": d["level"] or "",
             "enabled": "yes" if d["enabled"] else "no",
             "condition": json.dumps(d["condition"], ensure_ascii=False),
             "targets": json.dumps(d["targets"], ensure_ascii=False)} for d in docs]
    return write_xlsx(rows, list(TABLE_COLUMNS), title="dispatch_rules")


def _cell_json(value: str, path: str, problems: list[dict[str, Any]], row: int) -> Any:
    if not value:
        problems.append({"path": path, "message": "is empty", "code": "missing", "row": row})
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        problems.append({"path": path, "message": f"not JSON: {exc.msg} at character {exc.pos}",
                         "code": "wrong_type", "row": row})
        return None


def _read_table(data: bytes, filename: str, problems: list[dict[str, Any]]) -> tuple[list[Any], list[int]]:
    """Rule documents from the first sheet of an XLSX (or a CSV), and the sheet row of each."""
    rows = importing.rule_sheet(data, filename, required=("code", "name", "condition", "targets"),
                                columns=TABLE_COLUMNS, limit=MAX_IMPORT_RULES)
    docs: list[Any] = []
    numbers: list[int] = []
    for i, cell in enumerate(rows):
        n = int(cell[ROW])
        doc: dict[str, Any] = {
            "code": cell["code"], "name": cell["name"],
            "condition": _cell_json(cell["condition"], f"$[{i}].condition", problems, n),
            "targets": _cell_json(cell["targets"], f"$[{i}].targets", problems, n),
        }
        for column in ("priority", "level"):
            if cell.get(column):
                doc[column] = cell[column]
        if cell.get("enabled"):
            doc["enabled"] = cell["enabled"].lower() in ("yes", "true", "1", "y", "是")
        docs.append(doc)
        numbers.append(n)
    return docs, numbers


def _pydantic_problems(exc: ValidationError, prefix: str, row: int | None) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
        problem: dict[str, Any] = {"path": f"{prefix}{loc}", "message": e["msg"], "code": "wrong_type"}
        if row is not None:
            problem["row"] = row
        out.append(problem)
    return out


def import_rules(uow: UnitOfWork, data: bytes, filename: str, actor: Actor, *,
                 now: datetime | None = None) -> ImportReport:
    """Create or update rules from a JSON, XLSX or CSV file, all or nothing.

    Every rule is checked before anything is stored; if any has a problem, nothing is stored and
    every problem is listed (``details``: path ``$[i]…`` by rule, and ``row`` for a sheet).  Rules
    not in the file are left alone.
    """
    authz.require(actor, RULE_WRITE)
    at = now or datetime.now(UTC)
    importing.check_size(data, MAX_IMPORT_BYTES)
    problems: list[dict[str, Any]] = []
    rows: list[int] | None = None
    if filename.lower().endswith((".xlsx", ".csv")):
        docs, rows = _read_table(data, filename, problems)
    else:
        docs = importing.json_list(data, "rules", limit=MAX_IMPORT_RULES)
    with uow:
        s = uow.session
        valid: list[NewRule] = []
        seen: dict[str, int] = {}
        areas: dict[str, str | None] = {}
        for i, doc in enumerate(docs):
            row = rows[i] if rows is not None else None
            if isinstance(doc, dict) and any(p.get("row") == row and row is not None for p in problems):
                continue  # its JSON cells already failed to parse
            try:
                cmd = NewRule.model_validate(doc)
            except ValidationError as exc:
                problems += _pydantic_problems(exc, f"$[{i}]", row)
                if isinstance(doc, dict):  # list the rule's other problems too, as far as they can be seen
                    found = validate_condition(doc.get("condition"), path=f"$[{i}].condition")
                    found += validate_targets(doc.get("targets"), path=f"$[{i}].targets")
                    problems += [{**p.as_dict(), **({"row": row} if row else {})} for p in found]
                continue
            if cmd.code in seen:
                problems.append({"path": f"$[{i}].code", "code": "duplicate",
                                 "message": f"code '{cmd.code}' also at $[{seen[cmd.code]}]",
                                 **({"row": row} if row else {})})
                continue
            seen[cmd.code] = i
            current = s.scalar(select(DispatchRule).where(DispatchRule.code == cmd.code))
            if current is not None and not actor.is_global and not authz.path_visible(actor, current.area_path):
                problems.append({"path": f"$[{i}].code", "code": "out_of_scope",
                                 "message": f"rule '{cmd.code}' belongs to another area",
                                 **({"row": row} if row else {})})
                continue
            try:
                areas[cmd.code] = rule_area(s, cmd, actor, current.area_path if current else None)
            except Invalid as exc:
                problems.append({"path": f"$[{i}].area_code", "code": "unknown_value", "message": exc.message,
                                 **({"row": row} if row else {})})
                continue
            for p in check_rule(s, cmd, prefix=f"$[{i}]", actor=actor, area_path=areas[cmd.code]):
                problems.append({**p.as_dict(), "rule": cmd.code, **({"row": row} if row else {})})
            valid.append(cmd)
        if problems:
            raise _invalid(problems, "the import")
        report = ImportReport()
        existing = {r.code: r for r in s.scalars(select(DispatchRule).where(DispatchRule.code.in_(seen)))}
        reason = f"import {filename}"
        for cmd in valid:
            rule = existing.get(cmd.code)
            before = _record(rule).document() if rule is not None else None
            if rule is None:
                _create(s, cmd, actor, at, reason, areas[cmd.code])
                report.created.append(cmd.code)
            elif _update(s, rule, cmd, rule.version, actor, at, reason, areas[cmd.code]):
                report.updated.append(cmd.code)
            else:
                report.unchanged.append(cmd.code)
                continue
            # each changed rule with what it was and what it became, like a change by form
            after = _document(cmd.code, cmd.name, cmd.priority, cmd.condition, cmd.targets, cmd.level, cmd.enabled,
                              areas[cmd.code])
            audit.record_change(s, actor, "rule.import", f"dispatch_rule:{cmd.code}", before, after,
                                file=filename[:150])
        audit.record(s, actor, "rule.import", f"file:{filename[:150]}",
                     {"created": report.created, "updated": report.updated}, at=at)
        _commit(uow)
        return report
