"""Contingency plans (预案): templates, activation (一键智达), the run board, stand-down.

* Templates are checked by :mod:`shuzhi.domain.plans` (every problem with its JSON path, or its sheet,
  row and column for XLSX) and kept with every version.
* Activation hangs a run under an event — the event it was started from, the warning's event, or an
  event registered for the run (numbered, on the timeline) — resolves each template task's role per
  affected area, and dispatches every task whose predecessors are not in the run at once, in one
  transaction, as ordinary tasks of that event (same accept/report-back/verify loop, clocks, urging,
  escalation).  A task with predecessors on its branch of the area tree waits, and is dispatched
  when they have all reported back (:func:`_on_task_change`, a ``TASK_HOOKS`` entry).
* Triggers: a warning of an indicator (or any node above it) at or above a level
  (``WARNING_HOOKS``), an event class at or above an urgency (``EVENT_HOOKS``, on intake and
  reclassification).  A template set to ``propose`` records a proposal for the duty officer instead.
  The trigger key (``warning:<episode>:<plan>``, ``event:<id>:<plan>``) is unique: one run per episode.
* One response per situation: while a run of a template is active (or proposed), a further trigger of
  that template whose reach overlaps the run's joins it (``plan_run_triggers``, ``plan.trigger_added``
  on the run's timeline) and adds tasks only for areas the run did not cover yet
  (:func:`_open_run_for`, :func:`_attach`). A warning's reach is its district.
* A predecessor returned or escalated keeps its dependants waiting (the board says why) until the
  centre re-dispatches the share (:func:`redispatch_step`); a cancelled predecessor cancels them.
* Stand-down (解除响应) cancels every open task of the run with the reason and ends the run.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, TimelineEntry, Unit
from shuzhi.adapters.db.tables_plans import (
    PlanRun,
    PlanRunStep,
    PlanRunTrigger,
    PlanTemplateRow,
    PlanTemplateVersion,
)
from shuzhi.adapters.tabular import ROW, TabularError, read_table
from shuzhi.domain import permissions as perm
from shuzhi.domain.events import ACTIVE_TASK_STATES, EventAction, EventState, TaskAction, TaskState
from shuzhi.domain.plans import (
    Confirmation,
    InvalidTemplate,
    PlanTemplate,
    Problem,
    Role,
    TriggerKind,
    Vocabulary,
    checklist_text,
    overlaps,
    referenced,
    related,
    response_reach,
    validate_template,
)
from shuzhi.domain.time_limits import TimeLimit
from shuzhi.services import authz, hooks
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.areas_lookup import ancestors, centre_for, single_district_centre
from shuzhi.services.deadlines import default_calendar
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.handling import load_event
from shuzhi.services.intake import event_number
from shuzhi.services.transitions import move_event, move_task, note, sync_event
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
MAX_IMPORT_BYTES = 5_000_000
DONE = {TaskState.REPORTED_BACK.value, TaskState.VERIFIED.value}
#: A predecessor in one of these states went back to the centre: its dependants wait for a re-dispatch.
BLOCKING = {TaskState.RETURNED.value, TaskState.ESCALATED.value}
RUN_STATES = ("proposed", "active", "stood_down", "dismissed")
#: Runs a further trigger of the same template joins instead of starting another.
OPEN_RUN_STATES = ("proposed", "active")


# --- commands ------------------------------------------------------------------------------------


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Activate(_Command):
    """Start a plan: from an event (areas default to the event's), or manually for areas."""

    area_codes: list[str] = Field(default_factory=list, max_length=500)
    title: str | None = Field(default=None, max_length=200, description="title of the event created for the run")
    reason: str | None = Field(default=None, max_length=2000)


class StandDown(_Command):
    reason: str = Field(min_length=1, max_length=2000)
    expected_version: int | None = None


class Decide(_Command):
    reason: str | None = Field(default=None, max_length=2000)


class Redispatch(_Command):
    """Send a returned or escalated share of a run again: to the same unit (the return was not
    accepted) or to another one."""

    unit_code: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=2000)


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


@dataclass(frozen=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Activation:
    run_id: int
    event_number: str | None
    state: str
    created: bool
    tasks: int
    waiting: int


@dataclass(frozen=True)
class BoardTask:
    step_id: int
    task_key: str
    title: str
    role: str
    part: str
    unit_code: str
    unit_name: str
    unit_level: str
    area_code: str | None
    state: str  # waiting | the task's state | cancelled
    task_id: int | None
    after: list[str]
    checklist: list[str]
    dispatched_at: datetime | None
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    accepted_at: datetime | None
    reported_at: datetime | None
    seconds_left: float | None  # to the handling deadline; negative = overdue
    overdue: bool
    #: Why a waiting task cannot go on (a predecessor returned or escalated), or why it was cancelled.
    reason: str | None = None
    blocked_by: list[str] = field(default_factory=list)
    former_task_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BoardTrigger:
    """One trigger the run answers: the one that started it, or one that joined it later."""

    role: str  # started | attached
    kind: str
    trigger_key: str
    at: datetime
    warning_id: int | None
    warning_level: str | None
    event_number: str | None
    areas: list[str]
    new_areas: list[str]
    added_tasks: int


@dataclass(frozen=True)
class RunBoard:
    id: int
    template_code: str
    template_name: str
    template_version: int
    state: str
    trigger_kind: str
    trigger_key: str | None
    warning_id: int | None
    warning_level: str | None
    event_number: str | None
    event_state: str | None
    affected_areas: list[dict[str, str]]
    problems: list[dict[str, Any]]
    proposed_at: datetime | None
    started_at: datetime | None
    started_by: str | None
    ended_at: datetime | None
    end_reason: str | None
    version: int
    counts: dict[str, int]
    tasks: list[BoardTask]
    triggers: list[BoardTrigger] = field(default_factory=list)


@dataclass(frozen=True)
class RunSummary:
    id: int
    template_code: str
    template_name: str
    state: str
    trigger_kind: str
    warning_id: int | None
    event_number: str | None
    affected_areas: list[str]
    started_at: datetime | None
    ended_at: datetime | None


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


def _record(r: PlanTemplateRow) -> TemplateRecord:
    return TemplateRecord(code=r.code, name=r.name, trigger_kind=r.trigger_kind, enabled=r.enabled,
                          version=r.version, document=r.document, created_by=r.created_by, updated_at=r.updated_at)


def _save(s: Session, tpl: PlanTemplate, doc: dict[str, Any], actor: Actor, at: datetime) -> str:
    row = s.scalar(select(PlanTemplateRow).where(PlanTemplateRow.code == tpl.code))
    if row is None:
        last = s.scalar(select(func.max(PlanTemplateVersion.version))
                        .where(PlanTemplateVersion.template_code == tpl.code)) or 0
        row = PlanTemplateRow(code=tpl.code, name=tpl.name, trigger_kind=tpl.trigger.kind.value, document=doc,
                              enabled=True, version=last + 1, created_by=actor.label, created_at=at, updated_at=at)
        s.add(row)
        change = "created"
    elif row.document == doc:
        return "unchanged"
    else:
        row.document, row.name, row.trigger_kind = doc, tpl.name, tpl.trigger.kind.value
        row.version += 1
        row.updated_at = at
        change = "updated"
    s.add(PlanTemplateVersion(template_code=tpl.code, version=row.version, document=doc, changed_by=actor.label,
                              changed_at=at))
    _event_triggers.clear()
    return change


def save_template(uow: UnitOfWork, doc: Any, actor: Actor, *, now: datetime | None = None) -> TemplateRecord:
    """Create or change a template (a new version when anything changed); refused with every problem."""
    authz.require(actor, perm.PLAN_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        tpl = check_template(s, doc)
        _save(s, tpl, dict(doc), actor, at)
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict("the template was changed by someone else at the same time; retry") from None
        return _record(_template_row(s, tpl.code))


def _template_row(s: Session, code: str) -> PlanTemplateRow:
    row = s.scalar(select(PlanTemplateRow).where(PlanTemplateRow.code == code))
    if row is None:
        raise NotFound(f"plan template '{code}' not found")
    return row


def list_templates(uow: UnitOfWork, actor: Actor) -> list[TemplateRecord]:
    authz.require(actor, perm.PLAN_READ)
    with uow:
        return [_record(r) for r in uow.session.scalars(select(PlanTemplateRow).order_by(PlanTemplateRow.code))]


def get_template(uow: UnitOfWork, code: str, actor: Actor, version: int | None = None) -> TemplateRecord:
    authz.require(actor, perm.PLAN_READ)
    with uow:
        s = uow.session
        row = _template_row(s, code)
        if version is None or version == row.version:
            return _record(row)
        old = s.scalar(select(PlanTemplateVersion).where(PlanTemplateVersion.template_code == code,
                                                         PlanTemplateVersion.version == version))
        if old is None:
            raise NotFound(f"plan template '{code}' has no version {version}")
        return TemplateRecord(code=code, name=old.document.get("name", ""), trigger_kind=row.trigger_kind,
                              enabled=row.enabled, version=version, document=old.document,
                              created_by=old.changed_by, updated_at=old.changed_at)


# XLSX: sheet "plans" (one row per template) and sheet "tasks" (one row per task), lists split by ";".
PLAN_COLUMNS = ["code", "name", "description", "trigger_kind", "trigger_codes", "trigger_at_least", "confirmation",
                "event_class", "event_urgency", "event_title", "accept_within"]
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
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB", field="file")
    where: dict[tuple[int, str], str] | None = None
    if filename.lower().endswith(".xlsx"):
        docs, where = _docs_from_workbook(data, filename)
    else:
        try:
            loaded = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(f"not a JSON file: {exc}", field="file") from None
        docs = loaded if isinstance(loaded, list) else [loaded]
    if not docs:
        raise Invalid("the file holds no plan template", field="file")
    with uow:
        s = uow.session
        problems: list[dict[str, Any]] = []
        checked: list[tuple[PlanTemplate, dict[str, Any]]] = []
        seen: dict[str, int] = {}
        for n, doc in enumerate(docs):
            try:
                tpl = validate_template(doc, _vocabulary(s, doc))
            except InvalidTemplate as exc:
                for p in exc.problems:
                    path = f"[{n}]{p.path[1:]}" if where is None else _place(where, n, p.path)
                    problems.append({"path": path, "message": p.message, "code": p.code})
                continue
            if tpl.code in seen:
                problems.append({"path": f"[{n}].code" if where is None else _place(where, n, "$.code"),
                                 "message": f"'{tpl.code}' is also template {seen[tpl.code] + 1} of the file",
                                 "code": "duplicate"})
            seen[tpl.code] = n
            checked.append((tpl, dict(doc)))
        if problems:
            raise _invalid(problems, "the file")
        report = ImportReport()
        for tpl, doc in checked:
            getattr(report, _save(s, tpl, doc, actor, at)).append(tpl.code)
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict("templates were changed by someone else at the same time; retry") from None
        return report


def export_templates(uow: UnitOfWork, actor: Actor, fmt: str = "json") -> bytes:
    """Every template as JSON (a list of documents) or XLSX (the two sheets the importer reads)."""
    authz.require(actor, perm.PLAN_READ)
    if fmt not in ("json", "xlsx"):
        raise Invalid("format must be json or xlsx", field="format")
    with uow:
        docs = [r.document for r in uow.session.scalars(select(PlanTemplateRow).order_by(PlanTemplateRow.code))]
    if fmt == "json":
        return json.dumps(docs, ensure_ascii=False, indent=2).encode()
    from openpyxl import Workbook

    wb = Workbook()
    plans_ws = wb.active
    assert plans_ws is not None
    plans_ws.title = "plans"
    plans_ws.append(PLAN_COLUMNS)
    tasks_ws = wb.create_sheet("tasks")
    tasks_ws.append(TASK_COLUMNS)
    for d in docs:
        trig = d.get("trigger") or {"kind": "manual"}
        ev = d.get("event") or {}
        codes = trig.get("indicators") or trig.get("classes") or []
        plans_ws.append([d["code"], d["name"], d.get("description", ""), trig["kind"], ";".join(codes),
                         trig.get("at_least", ""), d.get("confirmation", "propose"), ev.get("class", ""),
                         ev.get("urgency", ""), ev.get("title", ""), d.get("accept_within", "")])
        for t in d["tasks"]:
            tasks_ws.append([d["code"], t["key"], t["title"], t["role"], t["instruction"], t["deadline"],
                             t.get("accept_within", ""), ";".join(t.get("after", [])),
                             ";".join(t.get("checklist", [])), t.get("order", ""), t.get("part", "")])
    import io

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- resolving roles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    unit_id: int
    code: str
    path: str


@dataclass(frozen=True)
class _Share:
    """One unit's share of one template task: a step of the run."""

    task_key: str
    unit: _Target
    area_code: str | None


def _units_of(s: Session, kind: str, level: str | None, areas: Sequence[Area]) -> dict[str, list[_Target]]:
    """Units of ``kind`` (and ``level``) sitting in or above each affected area, by area code."""
    prefixes = [a.path for a in areas]
    above = sorted({c for a in areas for c in ancestors(a.path)})
    q = (select(Unit.id, Unit.code, Area.path).join(Area, Area.id == Unit.area_id)
         .where(Unit.kind == kind, Unit.active.is_(True)))
    if level is not None:
        q = q.where(Unit.level == level)
    from sqlalchemy import or_

    q = q.where(or_(Area.code.in_(above), *[Area.path.startswith(p, autoescape=True) for p in prefixes]))
    rows = [_Target(r[0], r[1], r[2]) for r in s.execute(q).all()]
    return {a.code: [u for u in rows if related(u.path, a.path)] for a in areas}


def _resolve(s: Session, tpl: PlanTemplate, areas: Sequence[Area]) -> tuple[list[_Share], list[dict[str, Any]]]:
    shares: list[_Share] = []
    problems: list[dict[str, Any]] = []
    cache: dict[str, dict[str, list[_Target]]] = {}
    kinds = {"town_centre": ("centre", "town"), "district_centre": ("centre", "district"),
             "village_units": ("village", None), "grid_units": ("grid", None)}
    for task in tpl.tasks:
        role: Role = task.role
        seen: set[int] = set()
        if role.kind == "unit":
            row = s.execute(select(Unit.id, Unit.code, Area.path).join(Area, Area.id == Unit.area_id)
                            .where(Unit.code == role.unit, Unit.active.is_(True))).first()
            if row is None:
                problems.append({"task": task.key, "area": None, "message": f"unit {role.unit} is gone or inactive"})
                continue
            shares.append(_Share(task.key, _Target(row[0], row[1], row[2]), None))
            continue
        if role.kind not in cache:
            kind, level = kinds[role.kind]
            cache[role.kind] = _units_of(s, kind, level, areas)
        for area in areas:
            found = cache[role.kind].get(area.code, [])
            if not found:
                problems.append({"task": task.key, "area": area.code,
                                 "message": f"no {role.label} for {area.name}"})
            for unit in found:
                if unit.unit_id not in seen:
                    seen.add(unit.unit_id)
                    shares.append(_Share(task.key, unit, area.code))
    return shares, problems


def _waits(tpl: PlanTemplate, share: _Share, shares: Sequence[_Share]) -> bool:
    """A share waits when a predecessor task has a share on its branch of the area tree."""
    after = set(tpl.task(share.task_key).after)
    return any(o.task_key in after and related(o.unit.path, share.unit.path) for o in shares)


# --- dispatching tasks ---------------------------------------------------------------------------


class _Deadlines:
    """Deadlines of one moment, memoised: 500 tasks share a handful of limits."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.memo: dict[str, datetime] = {}

    def __call__(self, text: str | None) -> datetime | None:
        if not text:
            return None
        if text not in self.memo:
            self.memo[text] = default_calendar().deadline(self.at, TimeLimit.parse(text))
        return self.memo[text]


def _dispatch_steps(s: Session, event: Event, steps: Sequence[PlanRunStep], units: dict[int, tuple[str, str]],
                    actor: Actor, at: datetime, dispatched_by: str) -> None:
    """Create the tasks of ``steps`` with plain bulk INSERTs (a 500-task plan in one statement), link
    them to their steps and write one timeline line per task."""
    if not steps:
        return
    s.flush()  # the dispatch line goes on the timeline before its tasks' lines
    due = _Deadlines(at)
    by_unit = event.owner_unit_id if actor.unit_id is None else actor.unit_id
    rows: list[dict[str, Any]] = [{
        "event_id": event.id, "unit_id": st.unit_id, "role": st.part, "state": TaskState.DISPATCHED.value,
        "dispatched_by_unit_id": by_unit, "dispatched_by": dispatched_by,
        "instruction": checklist_text(f"【{st.title}】{st.instruction}", st.checklist), "dispatched_at": at,
        "accept_due_at": due(st.accept_within), "handle_due_at": due(st.deadline), "rework_count": 0,
        "updated_at": at, "version": 1,
    } for st in steps]
    ids = s.execute(insert(Task).returning(Task.id, sort_by_parameter_order=True), rows).scalars().all()
    entries = []
    for st, task_id, row in zip(steps, ids, rows, strict=True):
        st.task_id = task_id
        st.state = "dispatched"
        st.released_at = at
        code, name = units[st.unit_id]
        entries.append({
            "event_id": event.id, "task_id": task_id, "at": at, "actor_id": actor.person_id, "actor": actor.label,
            "action": "task.create", "from_state": None, "to_state": TaskState.DISPATCHED.value, "reason": None,
            "payload": {"unit": code, "unit_name": name, "role": st.part, "plan_run": st.run_id,
                        "plan_task": st.task_key, "limits": {"accept": st.accept_within, "handle": st.deadline},
                        "accept_due_at": row["accept_due_at"].isoformat() if row["accept_due_at"] else None,
                        "handle_due_at": row["handle_due_at"].isoformat() if row["handle_due_at"] else None}})
    s.execute(insert(TimelineEntry), entries)
    # Reloaded (not just expired): callers hand the event to the API after the session closes.
    s.refresh(event, ["tasks"])


def _unit_names(s: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    return {r[0]: (r[1], r[2]) for r in s.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(ids)))}


# --- activation ----------------------------------------------------------------------------------


def _areas(s: Session, codes: Sequence[str], actor: Actor, field: str = "area_codes") -> list[Area]:
    if len(set(codes)) != len(codes):
        raise Invalid("an area is named twice", field=field)
    found = {a.code: a for a in s.scalars(select(Area).where(Area.code.in_(codes)))} if codes else {}
    out = []
    for i, code in enumerate(codes):
        area = found.get(code)
        # An area outside the actor's scope reads as unknown: its existence does not leak.
        if area is None or not authz.path_visible(actor, area.path):
            raise Invalid(f"unknown area '{code}'", field=f"{field}[{i}]")
        out.append(area)
    return out


def _common_area(s: Session, areas: Sequence[Area]) -> Area:
    chains = [ancestors(a.path) for a in areas]
    common: list[str] = []
    for codes in zip(*chains, strict=False):
        if len(set(codes)) != 1:
            break
        common.append(codes[0])
    if not common:
        raise Invalid("the affected areas share no district or city", field="area_codes")
    area = s.scalar(select(Area).where(Area.code == common[-1]))
    assert area is not None
    return area


def _register_event(s: Session, tpl: PlanTemplate, areas: Sequence[Area], actor: Actor, at: datetime, source: str,
                    title: str | None, description: str) -> Event:
    """A numbered event for a run that has none (a warning without an event, a manual start), with
    its first timeline line, as intake registers one."""
    place = _common_area(s, areas)
    owner = None
    if actor.unit_id is not None:
        unit = s.get(Unit, actor.unit_id)
        owner = unit if unit is not None and unit.kind == "centre" else None
    owner = owner or centre_for(s, place.path) or single_district_centre(s)
    codes = ancestors(place.path)
    district = codes[1] if len(codes) >= 2 else codes[0]
    cls = s.scalar(select(EventClass).where(EventClass.code == tpl.event.event_class)) if tpl.event.event_class \
        else None
    names = "、".join(a.name for a in areas[:5]) + ("等" if len(areas) > 5 else "")
    event = Event(number=event_number(s, district, at), source=source, request_type="report",
                  event_class_id=cls.id if cls else None, title=(title or tpl.event.title or
                                                                 f"{tpl.name}（{names}）")[:200],
                  description=description, area_id=place.id, area_path=place.path, urgency=tpl.event.urgency.value,
                  mode="handle", state=EventState.REGISTERED.value, owner_unit_id=owner.id if owner else None,
                  self_handled=False, rework_count=0, return_count=0, received_at=at, updated_at=at)
    s.add(event)
    s.flush()
    note(s, event, actor, "event.register", at, to_state=EventState.REGISTERED.value,
         payload={"source": source, "owner": owner.code if owner else None, "plan": tpl.code,
                  "areas": [a.code for a in areas]})
    return event


def _start(s: Session, row: PlanTemplateRow, tpl: PlanTemplate, run: PlanRun, event: Event, areas: Sequence[Area],
           actor: Actor, at: datetime, reason: str | None) -> Activation:
    """Resolve, store the steps and dispatch every step that waits for nobody — one transaction."""
    if EventState(event.state) not in (EventState.REGISTERED, EventState.DISPATCHED, EventState.HANDLING):
        raise Conflict(f"a plan can start on a registered, dispatched or handling event; {event.number} is "
                       f"{event.state}", details={"state": event.state})
    shares, problems = _resolve(s, tpl, areas)
    if not shares:
        raise Invalid("no unit was found for any task of the plan in the affected areas", field="area_codes",
                      details=problems)
    run.event_id = event.id
    run.state = "active"
    run.started_at = at
    run.started_by = actor.label
    run.problems = problems
    run.affected_areas = [a.code for a in areas]
    s.flush()
    steps = [_step(run, tpl, sh) for sh in shares]
    ready = [st for st, sh in zip(steps, shares, strict=True) if not _waits(tpl, sh, shares)]
    move_event(s, event, EventAction.DISPATCH, actor, at, reason=reason or f"启动预案：{tpl.name}", payload={
        "plan": tpl.code, "plan_version": row.version, "plan_run": run.id, "tasks": len(ready),
        "waiting": len(steps) - len(ready), "areas": run.affected_areas})
    event.dispatched_at = event.dispatched_at or at
    units = _unit_names(s, {st.unit_id for st in ready})
    _dispatch_steps(s, event, ready, units, actor, at, f"预案:{tpl.code}")
    s.add_all(steps)
    s.flush()
    return Activation(run.id, event.number, run.state, True, len(ready), len(steps) - len(ready))


def _step(run: PlanRun, tpl: PlanTemplate, sh: _Share) -> PlanRunStep:
    t = tpl.task(sh.task_key)
    return PlanRunStep(
        run_id=run.id, task_key=t.key, title=t.title, role=str(t.role), part=t.part, sort_order=t.order,
        unit_id=sh.unit.unit_id, unit_path=sh.unit.path, area_code=sh.area_code, after=list(t.after),
        instruction=t.instruction, checklist=list(t.checklist), deadline=str(t.deadline),
        accept_within=str(t.accept_within) if t.accept_within else None, state="waiting", former_task_ids=[])


# --- one response per situation --------------------------------------------------------------------


def _trigger_run(s: Session, key: str | None) -> PlanRun | None:
    """The run a trigger episode already belongs to (started it or joined it)."""
    if key is None:
        return None
    run_id = s.scalar(select(PlanRunTrigger.run_id).where(PlanRunTrigger.trigger_key == key))
    if run_id is None:  # a run stored before triggers had their own table
        run_id = s.scalar(select(PlanRun.id).where(PlanRun.trigger_key == key))
    return s.get(PlanRun, run_id) if run_id is not None else None


def _add_trigger(s: Session, run: PlanRun, key: str | None, kind: str, role: str, at: datetime,
                 areas: Sequence[str], *, warning: hooks.WarningChange | None = None, event_id: int | None = None,
                 new_areas: Sequence[str] = (), added: int = 0) -> None:
    s.add(PlanRunTrigger(
        run_id=run.id, trigger_key=key or f"{kind}:{uuid.uuid4().hex}:{run.template_code}", kind=kind, role=role,
        warning_id=warning.warning_id if warning else None, warning_level=warning.level if warning else None,
        event_id=event_id, areas=list(areas), new_areas=list(new_areas), added_tasks=added, at=at))


def _open_run_for(s: Session, row: PlanTemplateRow, paths: Sequence[str], *, warning: bool) -> PlanRun | None:
    """The active (or proposed) run of this template whose reach overlaps the trigger's, if any.

    Activations of one template take turns — a row lock on the template on PostgreSQL (SQLite's
    writers queue anyway) — so two warnings of one storm arriving together cannot both start a run.
    """
    s.execute(select(PlanTemplateRow.id).where(PlanTemplateRow.id == row.id).with_for_update())
    runs = s.scalars(select(PlanRun).where(PlanRun.template_id == row.id, PlanRun.state.in_(OPEN_RUN_STATES))
                     .order_by(PlanRun.id)).all()
    if not runs:
        return None
    mine = response_reach(paths, district_wide=warning)
    for run in runs:
        kinds = set(s.scalars(select(PlanRunTrigger.kind).where(PlanRunTrigger.run_id == run.id))) | {
            run.trigger_kind}
        theirs = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
        if overlaps(response_reach(theirs, district_wide="warning" in kinds), mine):
            return run
    return None


def _cover(s: Session, codes: Sequence[str]) -> list[str]:
    """The areas, without those lying inside another of them, in the order given."""
    paths = dict(s.execute(select(Area.code, Area.path).where(Area.code.in_(codes))).all())
    return [c for c in dict.fromkeys(codes)
            if not any(o != c and paths.get(c, "").startswith(paths.get(o, "\0")) for o in codes)]


def _trigger_text(kind: str, warning: hooks.WarningChange | None, event: Event | None) -> str:
    if warning is not None:
        return _warning_text(warning).rstrip("，")
    if event is not None and kind != "manual":
        return f"事件 {event.number}"
    return "手动启动"


def _attach(s: Session, tpl: PlanTemplate, run: PlanRun, key: str | None, kind: str, areas: Sequence[Area],
            trigger_event: Event | None, actor: Actor, at: datetime,
            warning: hooks.WarningChange | None = None) -> Activation:
    """A further trigger joins the run: recorded on the run (and on the run's timeline); the areas the
    run did not cover yet are added, with their tasks (roles of named units are never repeated)."""
    known = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
    new = [a for a in areas if not any(a.path.startswith(p) for p in known)]
    added = waiting = 0
    event = s.get(Event, run.event_id) if run.event_id else None
    if new:
        run.affected_areas = _cover(s, [*run.affected_areas, *(a.code for a in new)])
        if run.state == "active" and event is not None:
            added, waiting = _extend(s, tpl, run, event, new, actor, at, key)
    _add_trigger(s, run, key, kind, "attached", at, [a.code for a in areas], warning=warning,
                 event_id=trigger_event.id if trigger_event else None, new_areas=[a.code for a in new],
                 added=added + waiting)
    what = _trigger_text(kind, warning, trigger_event)
    if event is not None:
        note(s, event, actor, "plan.trigger_added", at, reason=f"{what}，并入正在进行的预案响应：{tpl.name}",
             payload={"plan_run": run.id, "plan": tpl.code, "trigger": key, "kind": kind,
                      "warning_id": warning.warning_id if warning else None,
                      "level": warning.level if warning else None,
                      "event": trigger_event.number if trigger_event else None,
                      "areas": [a.code for a in areas], "new_areas": [a.code for a in new],
                      "tasks": added, "waiting": waiting})
    if trigger_event is not None and (event is None or trigger_event.id != event.id):
        note(s, trigger_event, actor, "plan.attached", at, reason=f"已并入预案响应：{tpl.name}",
             payload={"plan_run": run.id, "plan": tpl.code, "run_event": event.number if event else None})
    s.flush()
    return _summary(s, run)


def _extend(s: Session, tpl: PlanTemplate, run: PlanRun, event: Event, areas: Sequence[Area], actor: Actor,
            at: datetime, key: str | None) -> tuple[int, int]:
    """Resolve the roles for newly affected areas; dispatch the new shares whose predecessors on their
    branch are all done (or absent), keep the others waiting. Returns (dispatched, waiting)."""
    existing = s.scalars(select(PlanRunStep).where(PlanRunStep.run_id == run.id)).all()
    have = {(st.task_key, st.unit_id) for st in existing}
    shares, problems = _resolve(s, tpl, areas)
    shares = [sh for sh in shares if (sh.task_key, sh.unit.unit_id) not in have]
    if problems:
        run.problems = [*(run.problems or []), *problems]
    if not shares:
        return 0, 0
    if EventState(event.state) not in (EventState.REGISTERED, EventState.DISPATCHED, EventState.HANDLING):
        run.problems = [*(run.problems or []), {
            "task": None, "area": ",".join(a.code for a in areas),
            "message": f"the run's event is {event.state}: no tasks were added for the new areas"}]
        return 0, 0
    steps = [_step(run, tpl, sh) for sh in shares]
    ids = [st.task_id for st in existing if st.task_id is not None]
    states = dict(s.execute(select(Task.id, Task.state).where(Task.id.in_(ids))).all()) if ids else {}
    pool = [*existing, *steps]
    ready = [st for st in steps
             if all(o.task_id is not None and states.get(o.task_id) in DONE for o in _predecessors(st, pool))]
    s.add_all(steps)
    if ready:
        move_event(s, event, EventAction.DISPATCH, actor, at, reason=f"预案响应范围扩大：{tpl.name}", payload={
            "plan": tpl.code, "plan_run": run.id, "trigger": key, "tasks": len(ready),
            "waiting": len(steps) - len(ready), "areas": sorted({a.code for a in areas})})
        _dispatch_steps(s, event, ready, _unit_names(s, {st.unit_id for st in ready}), actor, at,
                        f"预案:{tpl.code}")
    s.flush()
    return len(ready), len(steps) - len(ready)


def _predecessors(step: PlanRunStep, steps: Sequence[PlanRunStep]) -> list[PlanRunStep]:
    """The instances of the step's predecessors on its branch of the area tree."""
    return [o for o in steps if o is not step and o.task_key in step.after and related(o.unit_path, step.unit_path)]


def _summary(s: Session, run: PlanRun) -> Activation:
    number = s.scalar(select(Event.number).where(Event.id == run.event_id)) if run.event_id else None
    counts = dict(s.execute(select(PlanRunStep.state, func.count()).where(PlanRunStep.run_id == run.id)
                            .group_by(PlanRunStep.state)).all())
    return Activation(run.id, number, run.state, False, int(counts.get("dispatched", 0)),
                      int(counts.get("waiting", 0)))


def _existing(s: Session, key: str | None) -> Activation | None:
    run = _trigger_run(s, key)
    return _summary(s, run) if run is not None else None


def _new_run(row: PlanTemplateRow, tpl: PlanTemplate, key: str | None, kind: str, at: datetime,
             areas: Sequence[str], warning_id: int | None = None, warning_level: str | None = None) -> PlanRun:
    return PlanRun(template_id=row.id, template_code=tpl.code, template_version=row.version, state="proposed",
                   trigger_key=key, trigger_kind=kind, warning_id=warning_id, warning_level=warning_level,
                   affected_areas=list(areas), problems=[], proposed_at=at, created_at=at)


def _usable(s: Session, code: str) -> tuple[PlanTemplateRow, PlanTemplate]:
    row = _template_row(s, code)
    if not row.enabled:
        raise Conflict(f"plan template '{code}' is disabled")
    return row, validate_template(row.document)


def _commit_run(uow: UnitOfWork, key: str | None) -> Activation | None:
    """Commit; when a concurrent activation of the same episode won the unique key, answer with its run."""
    try:
        uow.commit()
        return None
    except IntegrityError:
        uow.session.rollback()
        found = _existing(uow.session, key)
        if found is None:
            raise
        return found


def activate_on_event(uow: UnitOfWork, ref: str, code: str, cmd: Activate, actor: Actor, *,
                      now: datetime | None = None) -> Activation:
    """One click from an event (一键启动): the run hangs under it; the areas default to the event's.

    Clicking twice (or a class trigger having started it already) answers with the first run.
    """
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        event = load_event(s, ref)
        authz.ensure_visible(actor, event.area_path, [event.owner_unit_id, *(t.unit_id for t in event.tasks)],
                             what=f"event {ref}")
        row, tpl = _usable(s, code)
        key = f"event:{event.id}:{tpl.code}"
        found = _existing(s, key)
        if found is not None:
            return found
        if cmd.area_codes:
            areas = _areas(s, cmd.area_codes, actor)
        elif event.area is not None:
            areas = [event.area]
        else:
            raise Invalid("the event has no place: name the affected areas", field="area_codes")
        joined = _open_run_for(s, row, [a.path for a in areas], warning=False)
        if joined is not None:
            done = _attach(s, tpl, joined, key, "event", areas, event, actor, at)
            return _commit_run(uow, key) or done
        run = _new_run(row, tpl, key, "event", at, [a.code for a in areas])
        s.add(run)
        done = _start(s, row, tpl, run, event, areas, actor, at, cmd.reason)
        _add_trigger(s, run, key, "event", "started", at, run.affected_areas, event_id=event.id,
                     new_areas=run.affected_areas, added=done.tasks + done.waiting)
        return _commit_run(uow, key) or done


def activate_manual(uow: UnitOfWork, code: str, cmd: Activate, actor: Actor, *, now: datetime | None = None,
                    idempotency_key: str | None = None) -> Activation:
    """Start a plan by hand for the named areas; an event is registered for the run."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    if not cmd.area_codes:
        raise Invalid("name at least one affected area", field="area_codes")
    with uow:
        s = uow.session
        row, tpl = _usable(s, code)
        key = f"manual:{idempotency_key}:{tpl.code}" if idempotency_key else None
        found = _existing(s, key)
        if found is not None:
            return found
        areas = _areas(s, cmd.area_codes, actor)
        joined = _open_run_for(s, row, [a.path for a in areas], warning=False)
        if joined is not None:
            done = _attach(s, tpl, joined, key, "manual", areas, None, actor, at)
            return _commit_run(uow, key) or done
        event = _register_event(s, tpl, areas, actor, at, "duty_officer", cmd.title, cmd.reason or "")
        run = _new_run(row, tpl, key, "manual", at, [a.code for a in areas])
        s.add(run)
        done = _start(s, row, tpl, run, event, areas, actor, at, cmd.reason)
        _add_trigger(s, run, key, "manual", "started", at, run.affected_areas, event_id=event.id,
                     new_areas=run.affected_areas, added=done.tasks + done.waiting)
        return _commit_run(uow, key) or done


def _load_run(s: Session, run_id: int, actor: Actor) -> PlanRun:
    run = s.get(PlanRun, run_id)
    if run is None:
        raise NotFound(f"plan run {run_id} not found")
    if run.event_id is not None:
        event = s.get(Event, run.event_id)
        assert event is not None
        authz.ensure_visible(actor, event.area_path, [event.owner_unit_id], what=f"plan run {run_id}")
    else:
        paths = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
        if not any(authz.path_visible(actor, p) for p in paths):
            raise NotFound(f"plan run {run_id} not found")
    return run


def confirm(uow: UnitOfWork, run_id: int, cmd: Decide, actor: Actor, *, now: datetime | None = None) -> Activation:
    """The duty officer starts a proposed run (提请确认 → 启动)."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor)
        if run.state != "proposed":
            raise Conflict(f"plan run {run_id} is {run.state}, not proposed", details={"state": run.state})
        row = s.get(PlanTemplateRow, run.template_id)
        assert row is not None
        tpl = validate_template(row.document)
        areas = list(s.scalars(select(Area).where(Area.code.in_(run.affected_areas))))
        if run.event_id is not None:
            event = s.get(Event, run.event_id)
            assert event is not None
        else:
            level = f"（{run.warning_level}预警）" if run.warning_level else ""
            event = _register_event(s, tpl, areas, actor, at, "sensor_warning" if run.warning_id else "duty_officer",
                                    None, f"预警触发预案{level}")
        run.template_version = row.version
        done = _start(s, row, tpl, run, event, areas, actor, at, cmd.reason or f"值班员确认启动预案：{tpl.name}")
        uow.commit()
        return done


def dismiss(uow: UnitOfWork, run_id: int, cmd: Decide, actor: Actor, *, now: datetime | None = None) -> RunBoard:
    """The duty officer declines a proposal; the episode keeps its (dismissed) run, so it is not proposed again."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor)
        if run.state != "proposed":
            raise Conflict(f"plan run {run_id} is {run.state}, not proposed", details={"state": run.state})
        run.state, run.ended_at, run.end_reason = "dismissed", at, cmd.reason or "值班员未启动"
        uow.commit()
    return board(uow, run_id, actor)


# --- triggers ------------------------------------------------------------------------------------


_parsed: dict[tuple[str, int, str], PlanTemplate] = {}


def _parse(s: Session, row: PlanTemplateRow) -> PlanTemplate:
    """Stored templates were checked when saved; parsed once per (database, id, version) — intake
    calls the event trigger for every new event."""
    key = (database_key(s), row.id, json.dumps(row.document, sort_keys=True))
    if key not in _parsed:
        _parsed[key] = validate_template(row.document)
    return _parsed[key]


def _trigger_templates(s: Session, kind: TriggerKind) -> list[tuple[PlanTemplateRow, PlanTemplate]]:
    rows = s.scalars(select(PlanTemplateRow).where(PlanTemplateRow.trigger_kind == kind.value,
                                                   PlanTemplateRow.enabled.is_(True))).all()
    return [(r, _parse(s, r)) for r in rows]


def _auto(s: Session, row: PlanTemplateRow, tpl: PlanTemplate, key: str, kind: str, areas: list[Area],
          event: Event | None, at: datetime, warning: hooks.WarningChange | None = None) -> None:
    """Start (or propose) one triggered run inside the caller's transaction; a plan that cannot start
    is left as a proposal carrying the reason, and never breaks the caller's work.

    A trigger whose reach overlaps an open run of the template joins that run (:func:`_attach`)."""
    if _trigger_run(s, key) is not None:
        return
    joined = _open_run_for(s, row, [a.path for a in areas], warning=warning is not None)
    if joined is not None:
        try:
            with s.begin_nested():
                _attach(s, tpl, joined, key, kind, areas, event, SYSTEM, at, warning)
        except (Invalid, Conflict) as exc:
            log.warning("plan %s: trigger %s could not join run %s: %s", tpl.code, key, joined.id, exc.message)
        return
    run = _new_run(row, tpl, key, kind, at, [a.code for a in areas],
                   warning.warning_id if warning else None, warning.level if warning else None)
    run.event_id = event.id if event is not None else None
    own = event.id if event is not None else None  # the trigger's own event (a warning's), if any
    try:
        with s.begin_nested():
            s.add(run)
            s.flush()
            if tpl.confirmation is Confirmation.AUTO:
                if event is None:
                    event = _register_event(s, tpl, areas, SYSTEM, at, "sensor_warning", None,
                                            f"{_warning_text(warning)}自动启动预案")
                done = _start(s, row, tpl, run, event, areas, SYSTEM, at, f"触发条件满足，自动启动预案：{tpl.name}")
                _add_trigger(s, run, key, kind, "started", at, run.affected_areas, warning=warning,
                             event_id=own, new_areas=run.affected_areas, added=done.tasks + done.waiting)
            else:
                _add_trigger(s, run, key, kind, "started", at, run.affected_areas, warning=warning,
                             event_id=own, new_areas=run.affected_areas)
                if event is not None:
                    note(s, event, SYSTEM, "plan.proposed", at, payload={"plan": tpl.code, "plan_run": run.id})
    except (Invalid, Conflict) as exc:
        log.warning("plan %s could not start for %s: %s", tpl.code, key, exc.message)
        with s.begin_nested():
            failed = _new_run(row, tpl, key, kind, at, [a.code for a in areas],
                              warning.warning_id if warning else None, warning.level if warning else None)
            failed.problems = [{"task": None, "area": None, "message": exc.message}]
            s.add(failed)
            s.flush()
            _add_trigger(s, failed, key, kind, "started", at, failed.affected_areas, warning=warning,
                         event_id=own, new_areas=failed.affected_areas)


def _warning_text(w: hooks.WarningChange | None) -> str:
    if w is None:
        return ""
    from shuzhi.domain.plans import WARNING_LEVEL_LABELS

    return f"{w.indicator_code}{WARNING_LEVEL_LABELS.get(w.level or '', '')}预警，"


def on_warning(s: Session, change: hooks.WarningChange) -> None:
    """WARNING_HOOKS: a warning at or above a template's level starts (or proposes) it once per episode."""
    if change.level is None:
        _note_resolved(s, change)
        return
    matching = [(r, t) for r, t in _trigger_templates(s, TriggerKind.WARNING)
                if t.trigger.matches_warning(change.indicator_lineage, change.level)]
    if not matching:
        return
    area = s.scalar(select(Area).where(Area.code == change.area_code))
    if area is None:
        log.warning("warning %s names unknown area %s", change.warning_id, change.area_code)
        return
    event = s.get(Event, change.event_id) if change.event_id else None
    for row, tpl in matching:
        _auto(s, row, tpl, f"warning:{change.episode_key}:{tpl.code}", "warning", [area], event, change.at, change)


def _note_resolved(s: Session, change: hooks.WarningChange) -> None:
    ids = s.scalars(select(PlanRunTrigger.run_id).where(
        PlanRunTrigger.trigger_key.startswith(f"warning:{change.episode_key}:", autoescape=True))).all()
    runs = s.scalars(select(PlanRun).where(PlanRun.id.in_(ids) | PlanRun.trigger_key.startswith(
        f"warning:{change.episode_key}:", autoescape=True))).all()
    for run in runs:
        event = s.get(Event, run.event_id) if run.event_id else None
        if event is not None and run.state == "active":
            # Standing down stays a person's decision; the board shows the warning has ended.
            note(s, event, SYSTEM, "plan.warning_resolved", change.at,
                 payload={"plan_run": run.id, "warning": change.warning_id})


#: The parsed event-class triggers of the enabled templates, per database, for a few seconds: intake
#: asks on every new event, and the answer is almost always "none matches", which must not cost a
#: query each time. A match is re-read from the database before anything starts; a template saved in
#: another process is seen by this one within the TTL (at once in the saving process, see _save).
_event_triggers: TTLCache[tuple[PlanTemplate, ...]] = TTLCache(ttl=5)


def _starts_on(tpl: PlanTemplate, change: hooks.EventChange) -> bool:
    if change.event_class_code is None or not tpl.trigger.matches_event(change.event_class_code, change.urgency):
        return False
    # A reclassification that already matched before is the same episode, nothing new starts.
    return not (change.previous_urgency is not None
                and tpl.trigger.matches_event(change.previous_class_code, change.previous_urgency))


def on_event(s: Session, change: hooks.EventChange) -> None:
    """EVENT_HOOKS: an event of a template's class at or above its urgency starts (or proposes) it."""
    if change.event_class_code is None:
        return
    triggers = _event_triggers.get(database_key(s),
                                   lambda: tuple(tpl for _, tpl in _trigger_templates(s, TriggerKind.EVENT_CLASS)))
    if not any(_starts_on(tpl, change) for tpl in triggers or ()):
        return
    matching = [(row, tpl) for row, tpl in _trigger_templates(s, TriggerKind.EVENT_CLASS) if _starts_on(tpl, change)]
    if not matching:
        return
    event = s.get(Event, change.event_id)
    if event is None or event.area is None:
        return
    for row, tpl in matching:
        _auto(s, row, tpl, f"event:{event.id}:{tpl.code}", "event_class", [event.area], event, change.at)


def _on_task_change(s: Session, event: Event, task: Task, action: str) -> None:
    """TASK_HOOKS: what a plan task's move means for the tasks waiting on it.

    * reported back (or verified): the waiting tasks whose predecessors are all done are dispatched;
    * cancelled (withdrawn, the event cancelled, merged or reclassified, a centre escalating): the
      tasks waiting on it on its branch — and those waiting on them — are cancelled with the reason;
    * returned or escalated: the share is back with the centre; its dependants keep waiting and the
      timeline says so, until the centre re-dispatches it (:func:`redispatch_step`).
    """
    if action in (TaskAction.REPORT_BACK.value, TaskAction.VERIFY.value):
        _release(s, event, task)
    elif action == TaskAction.CANCEL.value:
        _cancel_dependants(s, event, task)
    elif action in (TaskAction.RETURN.value, TaskAction.ESCALATE.value):
        _note_blocked(s, event, task, action)


def _run_steps_of(s: Session, task: Task, *, waiting_only: bool = False) -> tuple[PlanRunStep,
                                                                                   list[PlanRunStep]] | None:
    """The task's step and the steps of its run (only the waiting ones when that is all the caller
    needs: a stand-down cancels hundreds of tasks, each must not load the whole run)."""
    step = s.scalar(select(PlanRunStep).where(PlanRunStep.task_id == task.id))
    if step is None:
        return None
    s.flush()
    q = select(PlanRunStep).where(PlanRunStep.run_id == step.run_id)
    if waiting_only:
        q = q.where(PlanRunStep.state == "waiting")
    return step, list(s.scalars(q))


def _dependants(step: PlanRunStep, steps: Sequence[PlanRunStep]) -> list[PlanRunStep]:
    """Waiting steps that wait on ``step`` on its branch, and those waiting on them, in order."""
    out: list[PlanRunStep] = []
    frontier = [step]
    while frontier:
        cur = frontier.pop(0)
        for st in steps:
            if (st.state == "waiting" and cur.task_key in st.after and related(cur.unit_path, st.unit_path)
                    and st not in out):
                out.append(st)
                frontier.append(st)
    return out


def _task_reason(s: Session, task: Task, action: str) -> str | None:
    """The reason given with the move the hook is told about, from its timeline line (callers stamp
    ``end_reason`` only after the move)."""
    s.flush()
    reason = s.scalar(select(TimelineEntry.reason).where(TimelineEntry.task_id == task.id,
                                                         TimelineEntry.action == f"task.{action}")
                      .order_by(TimelineEntry.id.desc()).limit(1))
    return reason or task.end_reason


def _cancel_dependants(s: Session, event: Event, task: Task) -> None:
    found = _run_steps_of(s, task, waiting_only=True)
    if found is None:
        return
    step, steps = found
    doomed = _dependants(step, steps)
    if not doomed:
        return
    unit = _unit_names(s, {step.unit_id}).get(step.unit_id, ("", ""))[1]
    why = _task_reason(s, task, TaskAction.CANCEL.value)
    reason = f"前置任务「{step.title}」（{unit}）已取消" + (f"：{why}" if why else "")
    for st in doomed:
        st.state = "cancelled"
        st.end_reason = reason[:2000]
    note(s, event, SYSTEM, "plan.cancel_waiting", task.updated_at, reason=reason[:2000], payload={
        "plan_run": step.run_id, "after_task": task.id, "cancelled": [st.task_key for st in doomed],
        "units": sorted(_unit_names(s, {st.unit_id for st in doomed})[st.unit_id][0] for st in doomed),
        "tasks": len(doomed)})


def _note_blocked(s: Session, event: Event, task: Task, action: str) -> None:
    found = _run_steps_of(s, task, waiting_only=True)
    if found is None:
        return
    step, steps = found
    blocked = _dependants(step, steps)
    if not blocked:
        return
    what = "退单" if action == TaskAction.RETURN.value else "上报"
    note(s, event, SYSTEM, "plan.blocked", task.updated_at,
         reason=f"前置任务「{step.title}」已{what}，后续任务等待改派后继续", payload={
             "plan_run": step.run_id, "after_task": task.id, "step": step.id,
             "waiting": [st.task_key for st in blocked], "tasks": len(blocked)})


def _release(s: Session, event: Event, task: Task) -> None:
    """A plan task reported back releases the waiting tasks whose predecessors are all done."""
    found = _run_steps_of(s, task)
    if found is None:
        return
    _step_of_task, steps = found
    run_id = _step_of_task.run_id
    waiting = [st for st in steps if st.state == "waiting"]
    if not waiting:
        return
    ids = [st.task_id for st in steps if st.task_id is not None]
    states = dict(s.execute(select(Task.id, Task.state).where(Task.id.in_(ids))).all())
    ready = [st for st in waiting
             if all(o.task_id is not None and states.get(o.task_id) in DONE for o in _predecessors(st, steps))]
    if not ready:
        return
    run = s.get(PlanRun, run_id)
    assert run is not None
    at = task.updated_at  # the moment of the report-back (move_task stamps it before the hooks run)
    note(s, event, SYSTEM, "plan.release", at, payload={
        "plan_run": run_id, "after_task": task.id, "released": [st.task_key for st in ready], "tasks": len(ready)})
    _dispatch_steps(s, event, ready, _unit_names(s, {st.unit_id for st in ready}), SYSTEM, at,
                    f"预案:{run.template_code}")


hooks.WARNING_HOOKS.append(on_warning)
hooks.EVENT_HOOKS.append(on_event)
hooks.TASK_HOOKS.append(_on_task_change)


# --- the board and stand-down --------------------------------------------------------------------


def board(uow: UnitOfWork, run_id: int, actor: Actor, *, now: datetime | None = None) -> RunBoard:
    """Every task of the run with its unit, state and time left, and the affected areas (指挥看板)."""
    authz.require(actor, perm.PLAN_READ)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor)
        row = s.get(PlanTemplateRow, run.template_id)
        event = s.get(Event, run.event_id) if run.event_id else None
        rows = s.execute(
            select(PlanRunStep, Unit.code, Unit.name, Unit.level, Task)
            .join(Unit, Unit.id == PlanRunStep.unit_id).outerjoin(Task, Task.id == PlanRunStep.task_id)
            .where(PlanRunStep.run_id == run_id).order_by(PlanRunStep.sort_order, Unit.code)
        ).all()
        names = dict(s.execute(select(Area.code, Area.name).where(Area.code.in_(run.affected_areas))).all())
        steps = [r[0] for r in rows]
        task_states = {r[4].id: r[4].state for r in rows if r[4] is not None}
        unit_codes = {r[0].id: r[1] for r in rows}
        tasks = []
        counts: dict[str, int] = {}
        for st, code, name, level, task in rows:
            state = task.state if task is not None else st.state
            blocked_by = [f"{o.task_key}@{unit_codes[o.id]}" for o in _predecessors(st, steps)
                          if st.state == "waiting" and o.task_id is not None and task_states.get(o.task_id) in BLOCKING]
            reason = st.end_reason if st.state == "cancelled" else (
                "前置任务已退单或上报，等待改派" if blocked_by else None)
            counts[state] = counts.get(state, 0) + 1
            due = task.handle_due_at if task is not None else None
            running = task is not None and TaskState(task.state) in ACTIVE_TASK_STATES and task.state not in DONE
            left = (due - at).total_seconds() if due is not None and running else None
            tasks.append(BoardTask(
                step_id=st.id, task_key=st.task_key, title=st.title, role=st.role, part=st.part, unit_code=code,
                unit_name=name, unit_level=level, area_code=st.area_code, state=state,
                task_id=st.task_id, after=list(st.after), checklist=list(st.checklist),
                dispatched_at=task.dispatched_at if task else None,
                accept_due_at=task.accept_due_at if task else None, handle_due_at=due,
                accepted_at=task.accepted_at if task else None, reported_at=task.reported_at if task else None,
                seconds_left=left, overdue=left is not None and left < 0, reason=reason, blocked_by=blocked_by,
                former_task_ids=list(st.former_task_ids or [])))
        triggers = [
            BoardTrigger(role=t.role, kind=t.kind, trigger_key=t.trigger_key, at=t.at, warning_id=t.warning_id,
                         warning_level=t.warning_level, event_number=number, areas=list(t.areas),
                         new_areas=list(t.new_areas), added_tasks=t.added_tasks)
            for t, number in s.execute(
                select(PlanRunTrigger, Event.number).outerjoin(Event, Event.id == PlanRunTrigger.event_id)
                .where(PlanRunTrigger.run_id == run_id).order_by(PlanRunTrigger.id))]
        return RunBoard(
            id=run.id, template_code=run.template_code, template_name=row.name if row else run.template_code,
            template_version=run.template_version, state=run.state, trigger_kind=run.trigger_kind,
            trigger_key=run.trigger_key, warning_id=run.warning_id, warning_level=run.warning_level,
            event_number=event.number if event else None, event_state=event.state if event else None,
            affected_areas=[{"code": c, "name": names.get(c, "")} for c in run.affected_areas],
            problems=list(run.problems or []), proposed_at=run.proposed_at, started_at=run.started_at,
            started_by=run.started_by, ended_at=run.ended_at, end_reason=run.end_reason, version=run.version,
            counts=counts, tasks=tasks, triggers=triggers)


def stand_down(uow: UnitOfWork, run_id: int, cmd: StandDown, actor: Actor, *,
               now: datetime | None = None) -> RunBoard:
    """解除响应: every open task of the run is cancelled with the reason, waiting ones are dropped,
    and the event moves on as its remaining tasks take it (reported back work is still verified)."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor)
        if cmd.expected_version is not None and cmd.expected_version != run.version:
            raise Conflict(f"the run is at version {run.version}, you had {cmd.expected_version}; reload",
                           field="expected_version")
        if run.state != "active":
            raise Conflict(f"plan run {run_id} is {run.state}; only an active run stands down",
                           details={"state": run.state})
        event = s.get(Event, run.event_id)
        assert event is not None
        steps = s.scalars(select(PlanRunStep).where(PlanRunStep.run_id == run_id)).all()
        ids = {st.task_id for st in steps if st.task_id is not None}
        # Waiting shares first: cancelling their predecessors below must not cancel them again with
        # a "predecessor cancelled" reason — the run stood down.
        for st in steps:
            if st.state == "waiting":
                st.state = "cancelled"
                st.end_reason = cmd.reason
        cancelled = 0
        for task in event.tasks:
            if task.id in ids and TaskState(task.state) in ACTIVE_TASK_STATES and task.state not in DONE:
                move_task(s, event, task, TaskAction.CANCEL, actor, at, reason=cmd.reason)
                task.ended_at, task.end_reason = at, cmd.reason
                cancelled += 1
        run.state, run.ended_at, run.end_reason = "stood_down", at, cmd.reason
        note(s, event, actor, "plan.stand_down", at, reason=cmd.reason,
             payload={"plan_run": run.id, "plan": run.template_code, "cancelled": cancelled})
        sync_event(s, event, actor, at, reason=cmd.reason)
        uow.commit()
    return board(uow, run_id, actor, now=at)


def list_runs(uow: UnitOfWork, actor: Actor, *, event_ref: str | None = None, warning_id: int | None = None,
              state: str | None = None, limit: int = 100) -> list[RunSummary]:
    """Runs, newest first, in the actor's scope; under one event or one warning (runs nest under them)."""
    authz.require(actor, perm.PLAN_READ)
    if state is not None and state not in RUN_STATES:
        raise Invalid(f"state must be one of {', '.join(RUN_STATES)}", field="state")
    with uow:
        s = uow.session
        q = (select(PlanRun, Event.number, PlanTemplateRow.name).outerjoin(Event, Event.id == PlanRun.event_id)
             .join(PlanTemplateRow, PlanTemplateRow.id == PlanRun.template_id))
        if event_ref is not None:
            event = load_event(s, event_ref)
            authz.ensure_visible(actor, event.area_path, [event.owner_unit_id], what=f"event {event_ref}")
            # runs it started, and runs it joined (one response per situation)
            q = q.where((PlanRun.event_id == event.id) | PlanRun.id.in_(
                select(PlanRunTrigger.run_id).where(PlanRunTrigger.event_id == event.id)))
        if warning_id is not None:
            q = q.where((PlanRun.warning_id == warning_id) | PlanRun.id.in_(
                select(PlanRunTrigger.run_id).where(PlanRunTrigger.warning_id == warning_id)))
        if state is not None:
            q = q.where(PlanRun.state == state)
        if actor.area_paths is not None:
            # Proposals without an event are seen by whoever sees one of their areas (checked below).
            q = q.where((PlanRun.event_id.is_(None)) | authz.area_clause(actor, Event.area_path, Event.owner_unit_id))
        rows = s.execute(q.order_by(PlanRun.id.desc()).limit(min(max(limit, 1), 500))).all()
        out = []
        for run, number, name in rows:
            if run.event_id is None and actor.area_paths is not None:
                paths = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
                if not any(authz.path_visible(actor, p) for p in paths):
                    continue
            out.append(RunSummary(id=run.id, template_code=run.template_code, template_name=name, state=run.state,
                                  trigger_kind=run.trigger_kind, warning_id=run.warning_id, event_number=number,
                                  affected_areas=list(run.affected_areas), started_at=run.started_at,
                                  ended_at=run.ended_at))
        return out


def run_task_ids(s: Session, run_id: int) -> set[int]:
    """Every task the run has had: the current one of each share and those it replaced (returned or
    escalated, then re-dispatched) — a review counts the returns."""
    out: set[int] = set()
    for task_id, former in s.execute(select(PlanRunStep.task_id, PlanRunStep.former_task_ids)
                                     .where(PlanRunStep.run_id == run_id)):
        if task_id is not None:
            out.add(task_id)
        out.update(former or [])
    return out


def redispatch_step(uow: UnitOfWork, run_id: int, step_id: int, cmd: Redispatch, actor: Actor, *,
                    now: datetime | None = None) -> RunBoard:
    """改派: a share whose task was returned (退单) or escalated goes out again, to the same unit (the
    return was not accepted) or to the one named; its clocks start again from now, and the tasks
    waiting on it are released when the new task reports back."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor)
        if run.state != "active":
            raise Conflict(f"plan run {run_id} is {run.state}; only an active run re-dispatches",
                           details={"state": run.state})
        step = s.get(PlanRunStep, step_id)
        if step is None or step.run_id != run.id:
            raise NotFound(f"plan run {run_id} has no task {step_id}")
        old = s.get(Task, step.task_id) if step.task_id is not None else None
        if old is None or old.state not in BLOCKING:
            raise Conflict("only a returned or escalated task of the run can be re-dispatched",
                           details={"state": old.state if old is not None else step.state})
        event = s.get(Event, run.event_id)
        assert event is not None
        if EventState(event.state) not in (EventState.REGISTERED, EventState.DISPATCHED, EventState.HANDLING):
            raise Conflict(f"the run's event {event.number} is {event.state}", details={"state": event.state})
        if cmd.unit_code is not None:
            found = s.execute(select(Unit.id, Area.path).join(Area, Area.id == Unit.area_id)
                              .where(Unit.code == cmd.unit_code, Unit.active.is_(True))).first()
            if found is None:
                raise Invalid(f"unknown unit '{cmd.unit_code}'", field="unit_code")
            step.unit_id, step.unit_path = found[0], found[1]
        step.former_task_ids = [*(step.former_task_ids or []), old.id]
        units = _unit_names(s, {step.unit_id})
        move_event(s, event, EventAction.DISPATCH, actor, at, reason=cmd.reason or f"预案任务改派：{step.title}",
                   payload={"plan": run.template_code, "plan_run": run.id, "plan_task": step.task_key,
                            "replaces_task": old.id, "unit": units[step.unit_id][0], "tasks": 1})
        event.dispatched_at = event.dispatched_at or at
        _dispatch_steps(s, event, [step], units, actor, at, f"预案:{run.template_code}")
        sync_event(s, event, actor, at)
        try:
            uow.commit()
        except StaleDataError:
            raise Conflict("the run was changed by someone else at the same time; reload and retry") from None
    return board(uow, run_id, actor, now=at)
