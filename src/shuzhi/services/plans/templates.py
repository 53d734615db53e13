"""Contingency plan templates (预案模板): check, save with every version, import and export (JSON, XLSX).

Templates are checked by :mod:`shuzhi.domain.plans` (every problem with its JSON path, or its sheet,
row and column for XLSX) and kept with every version.

A template belongs to an area (``area_code`` beside the document; by default its author's own area,
installation-wide for an administrator): it is written only by people whose scope covers that area,
read by those it governs (the area, the areas above and below it), starts only for events and
warnings inside it, and names only units that sit in or cover it (issue #15).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, EventClass, Unit
from shuzhi.adapters.db.tables_plans import (
    PlanTemplateRow,
    PlanTemplateVersion,
)
from shuzhi.adapters.tabular import ROW, TabularError, read_table, safe_row
from shuzhi.domain import permissions as perm
from shuzhi.domain.plans import (
    InvalidTemplate,
    PlanTemplate,
    Problem,
    Vocabulary,
    referenced,
    validate_template,
)
from shuzhi.services import importing
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

MAX_IMPORT_BYTES = 5_000_000


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateRecord:
    code: str
    name: str
    trigger_kind: str
    enabled: bool
    version: int
    document: dict[str, Any]
    created_by: str
    updated_at: datetime
    area_code: str | None = None


@dataclass(frozen=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


# --- templates -----------------------------------------------------------------------------------


def _vocabulary(s: Session, doc: Any) -> Vocabulary:
    classes, units, _indicators = referenced(doc)
    return Vocabulary(
        event_classes=frozenset(s.scalars(select(EventClass.code).where(EventClass.code.in_(classes))))
        if classes else frozenset(),
        units=frozenset(s.scalars(select(Unit.code).where(Unit.code.in_(units), Unit.active.is_(True))))
        if units else frozenset(),
        # No indicator table in this part of the product: codes are checked by format only.
        indicators=None,
    )


def _invalid(problems: Sequence[Problem | dict[str, Any]], what: str = "the plan template") -> Invalid:
    details = [p.as_dict() if isinstance(p, Problem) else p for p in problems]
    first = details[0]
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return Invalid(f"{what} is not valid: {first['path']}: {first['message']}{more}", field=first["path"],
                   details=details)


def check_template(s: Session, doc: Any) -> PlanTemplate:
    try:
        return validate_template(doc, _vocabulary(s, doc))
    except InvalidTemplate as exc:
        raise _invalid(exc.problems) from None


def area_code_of(path: str | None) -> str | None:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else None


def _record(r: PlanTemplateRow) -> TemplateRecord:
    return TemplateRecord(code=r.code, name=r.name, trigger_kind=r.trigger_kind, enabled=r.enabled,
                          version=r.version, document=r.document, created_by=r.created_by, updated_at=r.updated_at,
                          area_code=area_code_of(r.area_path))


def _split_area(doc: Any) -> tuple[Any, tuple[bool, Any]]:
    """The document without ``area_code``, and whether one was named (and which)."""
    if isinstance(doc, dict) and "area_code" in doc:
        rest = {k: v for k, v in doc.items() if k != "area_code"}
        return rest, (True, doc["area_code"])
    return doc, (False, None)


def _area_problems(s: Session, tpl: PlanTemplate, named: tuple[bool, Any], actor: Actor, prefix: str = "$"
                   ) -> tuple[str | None, list[dict[str, Any]]]:
    """The area the template is written for, and what is wrong with it: an unknown area, one outside
    the author's scope, a current template of an area he may not write, a unit outside the area."""
    row = s.scalar(select(PlanTemplateRow).where(PlanTemplateRow.code == tpl.code))
    if row is not None and not authz.config_readable(actor, row.area_path):
        # another town's template reads as unknown: the code is taken, by whom stays unsaid
        return None, [{"path": f"{prefix}.code", "message": f"the code '{tpl.code}' is taken", "code": "duplicate"}]
    if row is not None and actor.area_paths is not None and (
            row.area_path is None or not authz.path_visible(actor, row.area_path)):
        return None, [{"path": f"{prefix}.area_code", "message": f"template '{tpl.code}' belongs to "
                       f"{area_code_of(row.area_path) or 'the whole installation'}: it is changed there",
                       "code": "out_of_scope"}]
    given, value = named
    if given and value is not None and not isinstance(value, str):
        return None, [{"path": f"{prefix}.area_code", "message": "an area code is text", "code": "type"}]
    if given and value:
        path = s.scalar(select(Area.path).where(Area.code == value))
        if path is None:
            return None, [{"path": f"{prefix}.area_code", "message": f"unknown area '{value}'",
                           "code": "unknown_value"}]
    elif given or row is None:
        path = actor.area_paths[0] if actor.area_paths and not given else None
    else:
        path = row.area_path
    try:
        authz.ensure_config_area_writable(actor, path, "a plan template", field=f"{prefix}.area_code")
    except Invalid as exc:
        return None, [{"path": f"{prefix}.area_code", "message": exc.message, "code": "out_of_scope"}]
    problems: list[dict[str, Any]] = []
    if path is not None:
        from shuzhi.services.handling import unit_fits_area  # handling imports the plans' hooks' world

        for i, task in enumerate(tpl.tasks):
            if task.role.kind != "unit":
                continue
            unit = s.scalar(select(Unit).where(Unit.code == task.role.unit))
            if unit is not None and not unit_fits_area(s, unit, path):
                problems.append({"path": f"{prefix}.tasks[{i}].role", "message": f"unit '{unit.code}' neither "
                                 f"sits in nor covers the template's area ({area_code_of(path)})",
                                 "code": "out_of_scope"})
    return path, problems


def _save(s: Session, tpl: PlanTemplate, doc: dict[str, Any], actor: Actor, at: datetime,
          area_path: str | None) -> str:
    row = s.scalar(select(PlanTemplateRow).where(PlanTemplateRow.code == tpl.code))
    before = _audited(row.document, row.area_path) if row is not None else None
    if row is None:
        last = s.scalar(select(func.max(PlanTemplateVersion.version))
                        .where(PlanTemplateVersion.template_code == tpl.code)) or 0
        row = PlanTemplateRow(code=tpl.code, name=tpl.name, trigger_kind=tpl.trigger.kind.value, document=doc,
                              enabled=True, version=last + 1, created_by=actor.label, created_at=at, updated_at=at,
                              area_path=area_path)
        s.add(row)
        change = "created"
    elif row.document == doc and row.area_path == area_path:
        return "unchanged"
    else:
        row.document, row.name, row.trigger_kind = doc, tpl.name, tpl.trigger.kind.value
        row.area_path = area_path
        row.version += 1
        row.updated_at = at
        change = "updated"
    s.add(PlanTemplateVersion(template_code=tpl.code, version=row.version, document=doc, changed_by=actor.label,
                              changed_at=at))
    audit.record_change(s, actor, f"plan_template.{'create' if change == 'created' else 'update'}",
                        f"plan_template:{tpl.code}", before, _audited(doc, area_path), version=row.version)
    _event_triggers.clear()
    return change


def _audited(doc: dict[str, Any], area_path: str | None) -> dict[str, Any]:
    return {**doc, "area_code": area_code_of(area_path)}


def save_template(uow: UnitOfWork, doc: Any, actor: Actor, *, now: datetime | None = None) -> TemplateRecord:
    """Create or change a template (a new version when anything changed); refused with every problem.

    ``doc`` may name the template's ``area_code`` (see the module docstring)."""
    authz.require(actor, perm.PLAN_WRITE)
    at = now or datetime.now(UTC)
    doc, named = _split_area(doc)
    with uow:
        s = uow.session
        tpl = check_template(s, doc)
        area_path, problems = _area_problems(s, tpl, named, actor)
        if problems:
            raise _invalid(problems)
        _save(s, tpl, dict(doc), actor, at, area_path)
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict("the template was changed by someone else at the same time; retry") from None
        return _record(_template_row(s, tpl.code))


def _template_row(s: Session, code: str, actor: Actor | None = None) -> PlanTemplateRow:
    """The template; with ``actor``, only one that governs his area or an area inside it (else 404)."""
    row = s.scalar(select(PlanTemplateRow).where(PlanTemplateRow.code == code))
    if row is None or (actor is not None and not authz.config_readable(actor, row.area_path)):
        raise NotFound(f"plan template '{code}' not found")
    return row


def list_templates(uow: UnitOfWork, actor: Actor) -> list[TemplateRecord]:
    """The templates that govern the actor's area (the district's, his town's, his villages')."""
    authz.require(actor, perm.PLAN_READ)
    with uow:
        return [_record(r) for r in uow.session.scalars(
            select(PlanTemplateRow).where(authz.config_read_clause(actor, PlanTemplateRow.area_path))
            .order_by(PlanTemplateRow.code))]


def get_template(uow: UnitOfWork, code: str, actor: Actor, version: int | None = None) -> TemplateRecord:
    authz.require(actor, perm.PLAN_READ)
    with uow:
        s = uow.session
        row = _template_row(s, code, actor)
        if version is None or version == row.version:
            return _record(row)
        old = s.scalar(select(PlanTemplateVersion).where(PlanTemplateVersion.template_code == code,
                                                         PlanTemplateVersion.version == version))
        if old is None:
            raise NotFound(f"plan template '{code}' has no version {version}")
        return TemplateRecord(code=code, name=old.document.get("name", ""), trigger_kind=row.trigger_kind,
                              enabled=row.enabled, version=version, document=old.document,
                              created_by=old.changed_by, updated_at=old.changed_at,
                              area_code=area_code_of(row.area_path))


# XLSX: sheet "plans" (one row per template) and sheet "tasks" (one row per task), lists split by ";".
PLAN_COLUMNS = ["code", "name", "description", "trigger_kind", "trigger_codes", "trigger_at_least", "confirmation",
                "event_class", "event_urgency", "event_title", "accept_within", "area_code"]
TASK_COLUMNS = ["plan_code", "key", "title", "role", "instruction", "deadline", "accept_within", "after",
                "checklist", "order", "part"]


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("；", ";").split(";") if p.strip()]


def _docs_from_workbook(data: bytes, filename: str) -> tuple[list[dict[str, Any]], dict[tuple[int, str], str]]:
    """Documents from the two sheets, and where each document path came from (for error messages)."""
    try:
        plans = read_table(data, filename, sheet="plans")
        tasks = read_table(data, filename, sheet="tasks")
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None
    docs: list[dict[str, Any]] = []
    where: dict[tuple[int, str], str] = {}
    index: dict[str, int] = {}
    for row in plans:
        n = len(docs)
        code = row.get("code", "")
        kind = row.get("trigger_kind", "") or "manual"
        trigger: dict[str, Any] = {"kind": kind}
        if kind == "warning":
            trigger.update(indicators=_split(row.get("trigger_codes", "")), at_least=row.get("trigger_at_least", ""))
        elif kind == "event_class":
            trigger.update(classes=_split(row.get("trigger_codes", "")),
                           at_least=row.get("trigger_at_least", "") or "normal")
        doc: dict[str, Any] = {"code": code, "name": row.get("name", ""), "trigger": trigger,
                               "confirmation": row.get("confirmation", "") or "propose", "tasks": []}
        if row.get("description"):
            doc["description"] = row["description"]
        event = {k: row[f"event_{k}"] for k in ("class", "urgency", "title") if row.get(f"event_{k}")}
        if event:
            doc["event"] = event
        if row.get("accept_within"):
            doc["accept_within"] = row["accept_within"]
        if row.get("area_code"):
            doc["area_code"] = row["area_code"]
        for column in PLAN_COLUMNS:
            where[(n, column)] = f"plans row {row[ROW]} column {column}"
        where[(n, "")] = f"plans row {row[ROW]}"
        index[code] = n
        docs.append(doc)
    for row in tasks:
        code = row.get("plan_code", "")
        if code not in index:
            raise Invalid(f"tasks row {row[ROW]} column plan_code: no plan '{code}' in the plans sheet",
                          field=f"tasks[{row[ROW]}].plan_code")
        n = index[code]
        t: dict[str, Any] = {k: row.get(k, "") for k in ("key", "title", "role", "instruction", "deadline")}
        if row.get("accept_within"):
            t["accept_within"] = row["accept_within"]
        if row.get("after"):
            t["after"] = _split(row["after"])
        if row.get("checklist"):
            t["checklist"] = _split(row["checklist"])
        if row.get("order"):
            t["order"] = int(row["order"]) if row["order"].lstrip("-").isdigit() else row["order"]
        if row.get("part"):
            t["part"] = row["part"]
        i = len(docs[n]["tasks"])
        for column in TASK_COLUMNS:
            where[(n, f"tasks[{i}].{column}")] = f"tasks row {row[ROW]} column {column}"
        docs[n]["tasks"].append(t)
    return docs, where


def _place(where: dict[tuple[int, str], str], n: int, path: str) -> str:
    """``$.tasks[2].after[0]`` of document n → "tasks row 5 column after"."""
    rel = path[2:] if path.startswith("$.") else ""
    m = re.match(r"tasks\[(\d+)\]\.(\w+)", rel)
    if m and (n, f"tasks[{m[1]}].{m[2]}") in where:
        return where[(n, f"tasks[{m[1]}].{m[2]}")]
    if rel.startswith("trigger."):
        column = "trigger_at_least" if rel.startswith("trigger.at_least") else (
            "trigger_kind" if rel.startswith("trigger.kind") else "trigger_codes")
    elif rel.startswith("event."):
        column = "event_" + rel.split(".")[1].split("[")[0]
    else:
        column = rel.split(".")[0].split("[")[0]
    return where.get((n, column), where.get((n, ""), f"plan {n + 1}"))


def import_templates(uow: UnitOfWork, data: bytes, filename: str, actor: Actor, *,
                     now: datetime | None = None) -> ImportReport:
    """Import templates from JSON (one document or a list) or XLSX (sheets ``plans`` and ``tasks``).

    All or nothing: any problem in any template refuses the whole file, each problem named by its
    JSON path (``[1].tasks[0].role``) or its sheet, row and column.
    """
    authz.require(actor, perm.PLAN_WRITE)
    at = now or datetime.now(UTC)
    importing.check_size(data, MAX_IMPORT_BYTES)
    where: dict[tuple[int, str], str] | None = None
    if filename.lower().endswith(".xlsx"):
        docs, where = _docs_from_workbook(data, filename)
    else:
        loaded = importing.json_document(data)
        docs = loaded if isinstance(loaded, list) else [loaded]
    if not docs:
        raise Invalid("the file holds no plan template", field="file")
    with uow:
        s = uow.session
        problems: list[dict[str, Any]] = []
        checked: list[tuple[PlanTemplate, dict[str, Any], str | None]] = []
        seen: dict[str, int] = {}
        for n, given in enumerate(docs):
            doc, named = _split_area(given)
            try:
                tpl = validate_template(doc, _vocabulary(s, doc))
            except InvalidTemplate as exc:
                for p in exc.problems:
                    path = f"[{n}]{p.path[1:]}" if where is None else _place(where, n, p.path)
                    problems.append({"path": path, "message": p.message, "code": p.code})
                continue
            area_path, wrong = _area_problems(s, tpl, named, actor)
            for w in wrong:
                place = f"[{n}]{w['path'][1:]}" if where is None else _place(where, n, w["path"])
                problems.append({**w, "path": place})
            if tpl.code in seen:
                problems.append({"path": f"[{n}].code" if where is None else _place(where, n, "$.code"),
                                 "message": f"'{tpl.code}' is also template {seen[tpl.code] + 1} of the file",
                                 "code": "duplicate"})
            seen[tpl.code] = n
            checked.append((tpl, dict(doc), area_path))
        if problems:
            raise _invalid(problems, "the file")
        report = ImportReport()
        for tpl, doc, area_path in checked:
            getattr(report, _save(s, tpl, doc, actor, at, area_path)).append(tpl.code)
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict("templates were changed by someone else at the same time; retry") from None
        return report


def export_templates(uow: UnitOfWork, actor: Actor, fmt: str = "json") -> bytes:
    """The templates the actor reads, as JSON (a list of documents, each with its ``area_code``) or
    XLSX (the two sheets the importer reads)."""
    authz.require(actor, perm.PLAN_READ)
    if fmt not in ("json", "xlsx"):
        raise Invalid("format must be json or xlsx", field="format")
    with uow:
        docs = [{**r.document, **({"area_code": area_code_of(r.area_path)} if r.area_path else {})}
                for r in uow.session.scalars(
                    select(PlanTemplateRow).where(authz.config_read_clause(actor, PlanTemplateRow.area_path))
                    .order_by(PlanTemplateRow.code))]
        audit.record(uow.session, actor, "export", "plan_templates", {"format": fmt, "rows": len(docs)})
        uow.commit()
    if fmt == "json":
        return json.dumps(docs, ensure_ascii=False, indent=2).encode()
    from openpyxl import Workbook

    wb = Workbook()
    plans_ws = wb.active
    assert plans_ws is not None
    plans_ws.title = "plans"
    plans_ws.append(safe_row(PLAN_COLUMNS))
    tasks_ws = wb.create_sheet("tasks")
    tasks_ws.append(safe_row(TASK_COLUMNS))
    for d in docs:
        trig = d.get("trigger") or {"kind": "manual"}
        ev = d.get("event") or {}
        codes = trig.get("indicators") or trig.get("classes") or []
        plans_ws.append(safe_row([d["code"], d["name"], d.get("description", ""), trig["kind"], ";".join(codes),
                         trig.get("at_least", ""), d.get("confirmation", "propose"), ev.get("class", ""),
                         ev.get("urgency", ""), ev.get("title", ""), d.get("accept_within", ""),
                         d.get("area_code", "")]))
        for t in d["tasks"]:
            tasks_ws.append(safe_row([d["code"], t["key"], t["title"], t["role"], t["instruction"], t["deadline"],
                             t.get("accept_within", ""), ";".join(t.get("after", [])),
                             ";".join(t.get("checklist", [])), t.get("order", ""), t.get("part", "")]))
    import io

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


#: The parsed event-class triggers of the enabled templates, per database, for a few seconds: intake
#: asks on every new event, and the answer is almost always "none matches", which must not cost a
#: query each time. A match is re-read from the database before anything starts; a template saved in
#: another process is seen by this one within the TTL (at once in the saving process, see _save).
_event_triggers: TTLCache[tuple[PlanTemplate, ...]] = TTLCache(ttl=5)
