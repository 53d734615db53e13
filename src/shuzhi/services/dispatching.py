"""Rule-based automatic dispatch (自动分拨) with manual override (手动分拨), and how accurate it was.

* Rules are data (:mod:`shuzhi.domain.rules`): created, changed, deleted, imported and exported here,
  each change validated before it is stored (a bad rule is refused with the JSON path of every
  problem) and kept as a version, so the history of "why did this go there last March" survives.
* :func:`dry_run` answers "where would this event go, and why" and creates nothing.
* :func:`auto_dispatch` decides and dispatches through :func:`shuzhi.services.handling.dispatch`,
  writing the rule and the leaves that held on the timeline; :func:`override` is the duty officer's
  own choice with a mandatory reason, refused for a unit that has nothing to do with the event's area.
* :func:`dispatch_accuracy`: a dispatched task later returned (退单) counts as inaccurate — the
  准确派遣率 of the evaluation rules (dispatched without return / dispatched), by rule.

Compiled rules are cached per process and database; the cache key is the size and newest id of the
append-only ``dispatch_rule_versions`` table, which every change writes to, so a change made by any
process (another API worker, an import) is seen by the next decision.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import CursorResult, Executable, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import (
    Area,
    DispatchRule,
    DispatchRuleVersion,
    Event,
    EventClass,
    Task,
    TimelineEntry,
    Unit,
    UnitCoverage,
    UnitDuty,
)
from shuzhi.adapters.tabular import ROW, TabularError, read_table, write_xlsx
from shuzhi.domain.dispatch import Candidate
from shuzhi.domain.events import ACTIVE_TASK_STATES, EventState, TaskRole, TaskState
from shuzhi.domain.permissions import EVENT_DISPATCH, RULE_READ, RULE_WRITE
from shuzhi.domain.rules import (
    GRASSROOTS,
    Decision,
    EventFacts,
    Rule,
    RuleProblem,
    RuleSet,
    Selector,
    Vocabulary,
    decide,
    required_values,
    validate_condition,
    validate_level,
    validate_targets,
)
from shuzhi.domain.time_limits import Urgency
from shuzhi.services import audit, authz, handling
from shuzhi.services import commands as c
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import ancestors, area_by_code
from shuzhi.services.deadlines import default_calendar
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.unit_of_work import UnitOfWork

MAX_IMPORT_BYTES = 5_000_000
MAX_IMPORT_RULES = 10_000
TABLE_COLUMNS = ("code", "name", "priority", "level", "enabled", "condition", "targets")
_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


# --- commands ------------------------------------------------------------------------------------


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RuleBody(_Command):
    """A rule's content.  ``condition`` and ``targets`` are checked by the domain (with JSON paths),
    not here, so that every problem of a rule is reported at once and by its place in the tree."""

    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=100, ge=0, le=1_000_000, description="smaller is tried first")
    condition: Any = Field(
        description='e.g. {"and": [{"field": "event_class", "op": "in", "value": ["0101"]}]}')
    targets: Any = Field(description='e.g. {"lead": {"responsible": true, "level": "town"}, "assist": []}')
    level: str | None = Field(default=None, max_length=10, description="the level selectors look at")
    enabled: bool = True


class NewRule(RuleBody):
    code: str = Field(min_length=1, max_length=40, pattern=_CODE)
    reason: str | None = Field(default=None, max_length=2000)


class ChangeRule(RuleBody):
    expected_version: int | None = None
    reason: str | None = Field(default=None, max_length=2000)


class FactsIn(_Command):
    """An event described by hand, for a dry run (nothing is stored)."""

    event_class_code: str | None = Field(default=None, max_length=20)
    source: c.Source | None = None
    request_type: c.RequestType | None = None
    urgency: Urgency | None = None
    area_code: str | None = Field(default=None, max_length=15)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=10_000)
    received_at: datetime | None = Field(default=None, description="default: now")

    @field_validator("received_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2024-06-13T22:30:00+08:00)")
        return v


class DryRun(_Command):
    """Either a stored event's number or the facts of an imagined one."""

    number: str | None = Field(default=None, max_length=40)
    facts: FactsIn | None = None

    @model_validator(mode="after")
    def _one(self) -> DryRun:
        if (self.number is None) == (self.facts is None):
            raise ValueError("give either 'number' or 'facts'")
        return self


class AutoDispatch(_Command):
    expected_version: int | None = None


class Override(_Command):
    """The duty officer's own choice of units, replacing the automatic one (手动分拨)."""

    units: list[c.UnitAssignment] = Field(min_length=1, max_length=50)
    reason: c.Reason
    #: Withdraw the open tasks first (e.g. the automatic dispatch went to the wrong unit).
    replace: bool = False
    expected_version: int | None = None

    @field_validator("units")
    @classmethod
    def _distinct(cls, v: list[c.UnitAssignment]) -> list[c.UnitAssignment]:
        codes = [u.unit_code for u in v]
        if len(set(codes)) != len(codes):
            raise ValueError("a unit is named twice")
        if any(u.role is TaskRole.NOTIFY for u in v):
            raise ValueError("use the notify action for units that only need to know")
        return v


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRecord:
    id: int
    code: str
    name: str
    priority: int
    condition: dict[str, Any]
    targets: dict[str, Any]
    level: str | None
    enabled: bool
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    def document(self) -> dict[str, Any]:
        """The rule as exported and imported."""
        return _document(self.code, self.name, self.priority, self.condition, self.targets, self.level,
                         self.enabled)


@dataclass(frozen=True)
class VersionRecord:
    version: int
    change: str
    snapshot: dict[str, Any]
    changed_by: str
    changed_at: datetime
    reason: str | None


@dataclass(frozen=True)
class UnitView:
    code: str
    name: str
    kind: str
    level: str


@dataclass(frozen=True)
class DecisionView:
    """A decision with unit names, as shown to the duty officer."""

    lead: UnitView | None
    assist: list[UnitView]
    rule: str | None
    rule_name: str | None
    rule_version: int | None
    why: list[dict[str, Any]]
    fallback: bool
    message: str
    passed_over: list[dict[str, str]]
    facts: dict[str, Any]


@dataclass(frozen=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AccuracyRow:
    """Dispatched tasks of one rule (or ``(grid principle)``, ``(override)``, ``(manual)``) and returns."""

    rule: str
    dispatched: int
    returned: int

    @property
    def accurate(self) -> int:
        return self.dispatched - self.returned

    @property
    def rate(self) -> float | None:
        """准确派遣率 = dispatched without return / dispatched."""
        return self.accurate / self.dispatched if self.dispatched else None


# --- helpers -------------------------------------------------------------------------------------


def _document(code: str, name: str, priority: int, condition: Any, targets: Any, level: str | None,
              enabled: bool) -> dict[str, Any]:
    return {"code": code, "name": name, "priority": priority, "level": level, "enabled": enabled,
            "condition": condition, "targets": targets}


def _record(r: DispatchRule) -> RuleRecord:
    return RuleRecord(id=r.id, code=r.code, name=r.name, priority=r.priority, condition=r.condition,
                      targets=r.targets, level=r.level, enabled=r.enabled, version=r.version,
                      created_by=r.created_by, created_at=r.created_at, updated_at=r.updated_at)


def _rule_by_code(s: Session, code: str) -> DispatchRule:
    rule = s.scalar(select(DispatchRule).where(DispatchRule.code == code))
    if rule is None:
        raise NotFound(f"dispatch rule '{code}' not found")
    return rule


def _invalid(problems: Sequence[RuleProblem | dict[str, Any]], what: str = "the rule") -> Invalid:
    details = [p.as_dict() if isinstance(p, RuleProblem) else p for p in problems]
    first = details[0]
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return Invalid(f"{what} is not valid: {first['path']}: {first['message']}{more}", field=first["path"],
                   details=details)


def _leaves(tree: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every leaf of a (possibly invalid) tree with its path, for the checks that need the database."""
    if not isinstance(tree, dict):
        return
    for key in ("and", "or"):
        if isinstance(tree.get(key), list):
            for i, child in enumerate(tree[key]):
                yield from _leaves(child, f"{path}.{key}[{i}]")
            return
    if "not" in tree:
        yield from _leaves(tree["not"], f"{path}.not")
        return
    if "field" in tree:
        yield path, tree


def _referenced(tree: Any, name: str) -> set[str]:
    out: set[str] = set()
    for _path, leaf in _leaves(tree, "$"):
        if leaf.get("field") == name:
            value = leaf.get("value")
            out.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return out


def _vocabulary(s: Session, condition: Any) -> Vocabulary:
    """The referenced codes that exist — only those, so a city's 60,000 areas are never all loaded."""
    classes = _referenced(condition, "event_class")
    majors = _referenced(condition, "major_class")
    areas = _referenced(condition, "area")
    return Vocabulary(
        event_classes=set(s.scalars(select(EventClass.code).where(EventClass.code.in_(classes)))) if classes
        else set(),
        major_classes=set(s.scalars(select(EventClass.major_code).where(EventClass.major_code.in_(majors))))
        if majors else set(),
        areas=set(s.scalars(select(Area.code).where(Area.code.in_(areas)))) if areas else set(),
    )


def _selectors(targets: dict[str, Any], path: str) -> Iterator[tuple[str, Selector, Any]]:
    yield f"{path}.lead", Selector.parse(targets["lead"]), targets["lead"]
    for i, raw in enumerate(targets.get("assist", [])):
        yield f"{path}.assist[{i}]", Selector.parse(raw), raw


def check_rule(s: Session, body: RuleBody, *, prefix: str = "$") -> list[RuleProblem]:
    """Every problem of a rule, with JSON paths under ``prefix``: shape and types (domain), unknown
    classes, areas and units, and department tasks pushed down to grassroots units."""
    problems = validate_condition(body.condition, path=f"{prefix}.condition",
                                  vocabulary=_vocabulary(s, body.condition))
    target_problems = validate_targets(body.targets, path=f"{prefix}.targets")
    problems += target_problems + validate_level(body.level, path=f"{prefix}.level")
    if target_problems:
        return problems
    fixed: dict[str, Unit] = {}
    for path, sel, raw in _selectors(body.targets, f"{prefix}.targets"):
        if sel.unit is None:
            continue
        unit = s.scalar(select(Unit).where(Unit.code == sel.unit))
        at = f"{path}.unit" if isinstance(raw, dict) else path
        if unit is None:
            problems.append(RuleProblem(at, f"unknown unit '{sel.unit}'", "unknown_value"))
        elif not unit.active:
            problems.append(RuleProblem(at, f"unit '{sel.unit}' is inactive", "unknown_value"))
        else:
            fixed[sel.unit] = unit
    if not problems:
        problems += _push_down_problems(s, body, fixed, prefix)
    return problems


def _push_down_problems(s: Session, body: RuleBody, fixed: dict[str, Unit], prefix: str) -> list[RuleProblem]:
    """职能部门职责任务不得下派: a rule limited to classes that a department holds may not send them to a
    village or grid unit that does not hold them itself.  (Rules open to every class are checked
    at decision time instead, where the class is known.)"""
    classes = required_values(body.condition, "event_class")
    majors = required_values(body.condition, "major_class")
    if classes is None and majors is not None:
        classes = frozenset(s.scalars(select(EventClass.code).where(EventClass.major_code.in_(majors))))
    if not classes:
        return []
    holders: dict[str, list[tuple[str, str, str, str]]] = {}
    for cls, code, kind, level in s.execute(
        select(EventClass.code, Unit.code, Unit.kind, Unit.level)
        .join(UnitDuty, UnitDuty.event_class_id == EventClass.id).join(Unit, Unit.id == UnitDuty.unit_id)
        .where(EventClass.code.in_(classes), Unit.active.is_(True))
    ).all():
        holders.setdefault(cls, []).append((cls, code, kind, level))
    out: list[RuleProblem] = []
    for path, sel, _raw in _selectors(body.targets, f"{prefix}.targets"):
        if sel.unit is not None:
            unit = fixed[sel.unit]
            if unit.kind not in GRASSROOTS and unit.level not in GRASSROOTS:
                continue
        elif not sel.lands_on_grassroots(body.level):
            continue
        for cls in sorted(classes):
            rows = holders.get(cls, [])
            departments = sorted(code for _, code, kind, _ in rows if kind == "department")
            if not departments:
                continue
            if sel.unit is not None:
                grassroots_hold = any(code == sel.unit for _, code, _, _ in rows)
            else:
                wanted = sel.kind or sel.level or body.level
                grassroots_hold = any(kind == wanted or level == wanted for _, _, kind, level in rows)
            if not grassroots_hold:
                out.append(RuleProblem(
                    path, f"class {cls} is in the duties of {departments[0]}; tasks that belong to a "
                          f"department are not pushed down to {sel.describe()} (职能部门职责任务不得下派)",
                    "pushed_down"))
                break
    return out


def _rowcount(s: Session, stmt: Executable) -> int:
    result = s.execute(stmt)
    return int(cast(CursorResult[Any], result).rowcount)


def _write_version(s: Session, rule_id: int | None, doc: dict[str, Any], version: int, change: str,
                   actor: Actor, at: datetime, reason: str | None) -> None:
    s.add(DispatchRuleVersion(rule_id=rule_id, rule_code=doc["code"], version=version, change=change,
                              snapshot=doc, changed_by=actor.label, changed_at=at, reason=reason))


def _next_version(s: Session, code: str) -> int:
    # A re-created code continues its history rather than restarting at 1 (versions are kept by code).
    last = s.scalar(select(func.max(DispatchRuleVersion.version))
                    .where(DispatchRuleVersion.rule_code == code))
    return (last or 0) + 1


def _commit(uow: UnitOfWork) -> None:
    try:
        uow.commit()
    except IntegrityError:
        # two writers raced on the same code or version: the loser reloads
        raise Conflict("the rule was changed by someone else at the same time; reload and retry") from None


# --- CRUD ----------------------------------------------------------------------------------------


def list_rules(uow: UnitOfWork, actor: Actor) -> list[RuleRecord]:
    """All rules in the order they are tried (priority, then code).

    Rules are the district's configuration, not case data: whoever holds ``rule.read`` reads all.
    """
    authz.require(actor, RULE_READ)
    with uow:
        rows = uow.session.scalars(select(DispatchRule).order_by(DispatchRule.priority, DispatchRule.code))
        return [_record(r) for r in rows]


def get_rule(uow: UnitOfWork, code: str, actor: Actor) -> RuleRecord:
    authz.require(actor, RULE_READ)
    with uow:
        return _record(_rule_by_code(uow.session, code))


def _create(s: Session, cmd: NewRule, actor: Actor, at: datetime, reason: str | None) -> DispatchRule:
    version = _next_version(s, cmd.code)
    rule = DispatchRule(code=cmd.code, name=cmd.name, priority=cmd.priority, condition=cmd.condition,
                        targets=cmd.targets, level=cmd.level, enabled=cmd.enabled, version=version,
                        created_by=actor.label, created_at=at, updated_at=at)
    s.add(rule)
    s.flush()
    _write_version(s, rule.id, _record(rule).document(), version, "create", actor, at, reason)
    return rule


def create_rule(uow: UnitOfWork, cmd: NewRule, actor: Actor, *, now: datetime | None = None) -> RuleRecord:
    """Store a new rule after checking it; a rule with problems is refused with all of them (422)."""
    authz.require(actor, RULE_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        if s.scalar(select(DispatchRule.id).where(DispatchRule.code == cmd.code)) is not None:
            raise Conflict(f"a dispatch rule '{cmd.code}' already exists", field="code")
        problems = check_rule(s, cmd)
        if problems:
            raise _invalid(problems)
        rule = _create(s, cmd, actor, at, cmd.reason)
        audit.record(s, actor, "rule.create", f"dispatch_rule:{cmd.code}", {"version": rule.version,
                                                                           "reason": cmd.reason}, at=at)
        _commit(uow)
        return _record(rule)


def _update(s: Session, rule: DispatchRule, body: RuleBody, seen: int, actor: Actor, at: datetime,
            reason: str | None) -> bool:
    doc = _document(rule.code, body.name, body.priority, body.condition, body.targets, body.level,
                    body.enabled)
    if doc == _record(rule).document():
        return False
    # Conditional on the version read: a concurrent change makes this match no row → 409.
    changed = _rowcount(s,
        update(DispatchRule).where(DispatchRule.id == rule.id, DispatchRule.version == seen)
        .values(name=body.name, priority=body.priority, condition=body.condition, targets=body.targets,
                level=body.level, enabled=body.enabled, version=seen + 1, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if changed != 1:
        raise Conflict("the rule was changed by someone else; reload and retry", field="expected_version")
    _write_version(s, rule.id, doc, seen + 1, "update", actor, at, reason)
    return True


def update_rule(uow: UnitOfWork, code: str, cmd: ChangeRule, actor: Actor, *,
                now: datetime | None = None) -> RuleRecord:
    """Change a rule; a stale ``expected_version`` is refused (409); an identical body is a no-op."""
    authz.require(actor, RULE_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        rule = _rule_by_code(s, code)
        if cmd.expected_version is not None and cmd.expected_version != rule.version:
            raise Conflict(f"the rule is at version {rule.version}, you had {cmd.expected_version}; "
                           "reload and retry", field="expected_version")
        problems = check_rule(s, cmd)
        if problems:
            raise _invalid(problems)
        if _update(s, rule, cmd, rule.version, actor, at, cmd.reason):
            audit.record(s, actor, "rule.update", f"dispatch_rule:{code}", {"version": rule.version + 1,
                                                                           "reason": cmd.reason}, at=at)
        _commit(uow)
    return get_rule(uow, code, actor)


def delete_rule(uow: UnitOfWork, code: str, actor: Actor, *, expected_version: int | None = None,
                reason: str | None = None, now: datetime | None = None) -> None:
    """Delete a rule; its history stays (a last version records the deletion)."""
    authz.require(actor, RULE_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        rule = _rule_by_code(s, code)
        seen = rule.version
        if expected_version is not None and expected_version != seen:
            raise Conflict(f"the rule is at version {seen}, you had {expected_version}; reload and retry",
                           field="expected_version")
        doc = _record(rule).document()
        s.execute(update(DispatchRuleVersion).where(DispatchRuleVersion.rule_id == rule.id)
                  .values(rule_id=None).execution_options(synchronize_session=False))
        gone = _rowcount(s, delete(DispatchRule)
                         .where(DispatchRule.id == rule.id, DispatchRule.version == seen)
                         .execution_options(synchronize_session=False))
        if gone != 1:
            raise Conflict("the rule was changed by someone else; reload and retry", field="expected_version")
        _write_version(s, None, doc, seen + 1, "delete", actor, at, reason)
        audit.record(s, actor, "rule.delete", f"dispatch_rule:{code}", {"version": seen + 1, "reason": reason},
                     at=at)
        _commit(uow)


def rule_versions(uow: UnitOfWork, code: str, actor: Actor) -> list[VersionRecord]:
    """Every saved state of a rule, oldest first (also after it was deleted)."""
    authz.require(actor, RULE_READ)
    with uow:
        rows = uow.session.scalars(select(DispatchRuleVersion).where(DispatchRuleVersion.rule_code == code)
                                   .order_by(DispatchRuleVersion.version)).all()
        if not rows:
            raise NotFound(f"dispatch rule '{code}' not found")
        return [VersionRecord(version=v.version, change=v.change, snapshot=v.snapshot,
                              changed_by=v.changed_by, changed_at=v.changed_at, reason=v.reason)
                for v in rows]


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
    try:
        rows = read_table(data, filename)
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None
    missing = [col for col in ("code", "name", "condition", "targets") if rows and col not in rows[0]]
    if missing:
        raise Invalid(f"the first row must name the columns {', '.join(TABLE_COLUMNS)}; missing: "
                      f"{', '.join(missing)}", field="file")
    if len(rows) > MAX_IMPORT_RULES:
        raise Invalid(f"at most {MAX_IMPORT_RULES} rules per import", field="file")
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
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB", field="file")
    problems: list[dict[str, Any]] = []
    rows: list[int] | None = None
    if filename.lower().endswith((".xlsx", ".csv")):
        docs, rows = _read_table(data, filename, problems)
    else:
        try:
            parsed = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(f"not a JSON file: {exc}", field="file") from None
        found = parsed.get("rules") if isinstance(parsed, dict) else parsed
        if not isinstance(found, list):
            raise Invalid('expected a list of rules or {"rules": [...]}', field="file")
        docs = found
        if len(docs) > MAX_IMPORT_RULES:
            raise Invalid(f"at most {MAX_IMPORT_RULES} rules per import", field="file")
    with uow:
        s = uow.session
        valid: list[NewRule] = []
        seen: dict[str, int] = {}
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
            for p in check_rule(s, cmd, prefix=f"$[{i}]"):
                problems.append({**p.as_dict(), "rule": cmd.code, **({"row": row} if row else {})})
            valid.append(cmd)
        if problems:
            raise _invalid(problems, "the import")
        report = ImportReport()
        existing = {r.code: r for r in s.scalars(select(DispatchRule).where(DispatchRule.code.in_(seen)))}
        reason = f"import {filename}"
        for cmd in valid:
            rule = existing.get(cmd.code)
            if rule is None:
                _create(s, cmd, actor, at, reason)
                report.created.append(cmd.code)
            elif _update(s, rule, cmd, rule.version, actor, at, reason):
                report.updated.append(cmd.code)
            else:
                report.unchanged.append(cmd.code)
        audit.record(s, actor, "rule.import", f"file:{filename[:150]}",
                     {"created": report.created, "updated": report.updated}, at=at)
        _commit(uow)
        return report


# --- deciding ------------------------------------------------------------------------------------


@dataclass
class _Cached:
    key: tuple[Any, ...]
    rules: RuleSet


_cache_lock = threading.Lock()
_cache: dict[str, _Cached] = {}


def rule_set(s: Session) -> RuleSet:
    """The enabled rules, compiled; recompiled only when a rule changed (in any process)."""
    url = str(s.get_bind().engine.url)
    # The versions table only grows, so its size, newest id and newest time change with every
    # committed change (the time also tells apart a database restored or emptied and refilled).
    key = tuple(s.execute(select(func.count(DispatchRuleVersion.id), func.max(DispatchRuleVersion.id),
                                 func.max(DispatchRuleVersion.changed_at))).one())
    cached = _cache.get(url)
    if cached is not None and cached.key == key:
        return cached.rules
    with _cache_lock:
        cached = _cache.get(url)
        if cached is not None and cached.key == key:
            return cached.rules
        rules = RuleSet(
            Rule(code=r.code, name=r.name, priority=r.priority, condition=r.condition, targets=r.targets,
                 level=r.level, enabled=r.enabled, id=r.id, version=r.version)
            for r in s.scalars(select(DispatchRule).where(DispatchRule.enabled.is_(True)))
        )
        _cache[url] = _Cached(key, rules)
        return rules


class SqlDirectory:
    """The :class:`shuzhi.domain.rules.UnitDirectory` over the unit tables, memoised for one decision."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._units: dict[str, Candidate | None] = {}
        self._holders: dict[tuple[str, str], list[Candidate]] = {}
        self._covering: dict[str, list[Candidate]] = {}

    def unit(self, code: str) -> Candidate | None:
        if code not in self._units:
            row = self.s.execute(select(Unit.id, Unit.code, Unit.kind, Unit.level, Area.path)
                                 .join(Area, Area.id == Unit.area_id)
                                 .where(Unit.code == code, Unit.active.is_(True))).first()
            self._units[code] = Candidate(*row) if row is not None else None
        return self._units[code]

    def duty_holders(self, event_class: str, area_path: str) -> Sequence[Candidate]:
        key = (event_class, area_path)
        if key not in self._holders:
            rows = self.s.execute(
                select(Unit.id, Unit.code, Unit.kind, Unit.level, Area.path)
                .join(UnitDuty, UnitDuty.unit_id == Unit.id)
                .join(EventClass, EventClass.id == UnitDuty.event_class_id)
                .join(UnitCoverage, UnitCoverage.unit_id == Unit.id)
                .join(Area, Area.id == UnitCoverage.area_id)
                .where(EventClass.code == event_class, Unit.active.is_(True),
                       Area.code.in_(ancestors(area_path)))
            ).all()
            self._holders[key] = [Candidate(*r) for r in rows]
        return self._holders[key]

    def covering(self, area_path: str) -> Sequence[Candidate]:
        if area_path not in self._covering:
            codes = ancestors(area_path)
            covered = select(Unit.id, Unit.code, Unit.kind, Unit.level, Area.path).join(
                UnitCoverage, UnitCoverage.unit_id == Unit.id).join(Area, Area.id == UnitCoverage.area_id)
            sits = select(Unit.id, Unit.code, Unit.kind, Unit.level, Area.path).join(
                Area, Area.id == Unit.area_id)
            found = {Candidate(r[0], r[1], r[2], r[3], r[4]) for q in (covered, sits)
                     for r in self.s.execute(q.where(Unit.active.is_(True), Area.code.in_(codes))).all()}
            self._covering[area_path] = sorted(found, key=lambda c: (c.coverage_path, c.code))
        return self._covering[area_path]


def _working(at: datetime) -> bool | None:
    try:
        return default_calendar().is_working_time(at)
    except Exception:  # a calendar problem must never stop dispatch: the leaf is just false
        return None


def facts_of(event: Event) -> EventFacts:
    """What the rules see of a stored event."""
    cl = event.event_class
    return EventFacts(
        event_class=cl.code if cl else None, major_class=cl.major_code if cl else None, source=event.source,
        request_type=event.request_type, urgency=event.urgency, area_path=event.area_path,
        area_level=event.area.level if event.area else None, title=event.title, description=event.description,
        received_at=event.received_at, is_working_time=_working(event.received_at),
    )


def _facts_from_input(s: Session, f: FactsIn) -> EventFacts:
    cl = None
    if f.event_class_code:
        cl = s.scalar(select(EventClass).where(EventClass.code == f.event_class_code))
        if cl is None:
            raise Invalid(f"unknown event class '{f.event_class_code}'", field="facts.event_class_code")
    area = area_by_code(s, f.area_code, "facts.area_code") if f.area_code else None
    at = f.received_at or datetime.now(UTC)
    urgency = f.urgency.value if f.urgency else (cl.default_urgency if cl else None)
    return EventFacts(
        event_class=cl.code if cl else None, major_class=cl.major_code if cl else None,
        source=f.source.value if f.source else None,
        request_type=f.request_type.value if f.request_type else None,
        urgency=urgency, area_path=area.path if area else None, area_level=area.level if area else None,
        title=f.title, description=f.description, received_at=at, is_working_time=_working(at),
    )


def decide_for_event(s: Session, event: Event) -> Decision:
    """The decision for a stored event, inside the caller's transaction (used by reclassify too)."""
    return decide(rule_set(s), facts_of(event), SqlDirectory(s))


def _facts_dict(f: EventFacts) -> dict[str, Any]:
    minute = f.minute_of_day
    return {"event_class": f.event_class, "major_class": f.major_class, "source": f.source,
            "request_type": f.request_type, "urgency": f.urgency, "area_path": f.area_path,
            "area_level": f.area_level, "received_at": f.received_at.isoformat() if f.received_at else None,
            "time_of_day": None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}",
            "weekday": f.weekday, "is_working_time": f.is_working_time}


def _view(s: Session, d: Decision, facts: EventFacts) -> DecisionView:
    ids = [u.unit_id for u in ([d.lead] if d.lead else []) + list(d.assist)]
    names = dict(s.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}

    def unit(cand: Candidate) -> UnitView:
        return UnitView(code=cand.code, name=names.get(cand.unit_id, ""), kind=cand.kind, level=cand.level)

    p = d.payload()
    return DecisionView(lead=unit(d.lead) if d.lead else None, assist=[unit(a) for a in d.assist],
                        rule=p["rule"], rule_name=p["rule_name"], rule_version=p["rule_version"],
                        why=p["why"], fallback=d.fallback, message=d.message, passed_over=p["passed_over"],
                        facts=_facts_dict(facts))


def dry_run(uow: UnitOfWork, cmd: DryRun, actor: Actor) -> DecisionView:
    """Where an event (stored and in the actor's scope, or described by its facts) would go, and why.
    Creates nothing."""
    authz.require(actor, RULE_READ)
    with uow:
        s = uow.session
        if cmd.facts is not None:
            facts = _facts_from_input(s, cmd.facts)
        else:
            facts = facts_of(handling.load_visible_event(s, cmd.number or "", actor))
        return _view(s, decide(rule_set(s), facts, SqlDirectory(s)), facts)


def _dispatch_record(d: Decision) -> dict[str, Any]:
    return {**d.payload(), "override": False, "reason": None}


def auto_dispatch(uow: UnitOfWork, ref: str, actor: Actor, cmd: AutoDispatch | None = None, *,
                  now: datetime | None = None) -> Event:
    """Dispatch a registered event by the rules (or the grid principle), recording the decision.

    Refused (409) when nothing can be chosen, or when the chosen lead unit has already returned this
    event: a returned task goes back to the centre for re-dispatch or arbitration by a person, not
    round the same loop again.
    """
    authz.require(actor, EVENT_DISPATCH)
    with uow:
        s = uow.session
        event = handling.load_visible_event(s, ref, actor)
        if event.state != EventState.REGISTERED.value:
            raise Conflict(f"automatic dispatch is for registered events; this one is {event.state}",
                           details={"state": event.state})
        if cmd is not None and cmd.expected_version is not None and cmd.expected_version != event.version:
            raise Conflict(f"the event is at version {event.version}, you had {cmd.expected_version}; reload "
                           "and retry", field="expected_version")
        decision = decide_for_event(s, event)
        if decision.lead is None:
            raise Conflict(decision.message, details=decision.payload())
        returned = {t.unit_id: t.end_reason for t in event.tasks if t.state == TaskState.RETURNED.value}
        if decision.lead.unit_id in returned:
            raise Conflict(f"{decision.lead.code} already returned this event "
                           f"({returned[decision.lead.unit_id]}); the centre re-dispatches it by hand "
                           "(override)",
                           details=decision.payload())
        version = event.version
        units = [c.UnitAssignment(unit_code=decision.lead.code, role=TaskRole.LEAD)]
        units += [c.UnitAssignment(unit_code=a.code, role=TaskRole.ASSIST) for a in decision.assist
                  if a.unit_id not in returned]
    dispatch = c.Dispatch(units=units, reason=decision.message[:2000], expected_version=version)
    return handling.dispatch(uow, ref, dispatch, actor, now=now,
                             record=_dispatch_record(decision))


def _unit_fits_area(s: Session, unit: Unit, area_path: str | None) -> bool:
    """A unit may be chosen by hand if it sits in the event's area or covers it; for an event with no
    place, only district- and city-level units (which cannot be checked against a place) may be."""
    if area_path is None:
        return unit.level in ("district", "city")
    if unit.area.path.startswith(area_path) or area_path.startswith(unit.area.path):
        return True
    coverage = s.scalars(select(Area.path).join(UnitCoverage, UnitCoverage.area_id == Area.id)
                         .where(UnitCoverage.unit_id == unit.id)).all()
    return any(area_path.startswith(p) for p in coverage)


def override(uow: UnitOfWork, ref: str, cmd: Override, actor: Actor, *, now: datetime | None = None) -> Event:
    """The duty officer dispatches by hand, with a reason, instead of (or after) the automatic choice.

    Each unit must sit in or cover the event's area (a unit of another town is refused, field
    ``units[i].unit_code``).  The timeline records ``override: true``, the reason, and what the rules
    would have chosen, so overrides can be reviewed against the rules.
    """
    authz.require(actor, EVENT_DISPATCH)
    with uow:
        s = uow.session
        event = handling.load_visible_event(s, ref, actor)
        if cmd.expected_version is not None and cmd.expected_version != event.version:
            raise Conflict(f"the event is at version {event.version}, you had {cmd.expected_version}; reload "
                           "and retry", field="expected_version")
        for i, a in enumerate(cmd.units):
            unit = s.scalar(select(Unit).where(Unit.code == a.unit_code))
            if unit is None or not unit.active:
                raise Invalid(f"unknown or inactive unit '{a.unit_code}'", field=f"units[{i}].unit_code")
            if not _unit_fits_area(s, unit, event.area_path):
                where = event.area.name if event.area else "no place"
                raise Invalid(f"{unit.code} ({unit.name}) neither sits in nor covers the event's area "
                              f"({where})", field=f"units[{i}].unit_code")
        suggested = decide_for_event(s, event)
        has_live = any(TaskState(t.state) in ACTIVE_TASK_STATES for t in event.tasks)
        version = event.version
    # What the rules would have done is kept beside the override, so overrides can be reviewed.
    record: dict[str, Any] = {
        "rule": None, "why": [], "fallback": None, "override": True, "reason": cmd.reason,
        "suggested": {"unit": suggested.lead.code if suggested.lead else None,
                      "rule": suggested.rule.code if suggested.rule else None, "message": suggested.message},
    }
    if cmd.replace and has_live:
        event = handling.withdraw(uow, ref, c.WithReason(reason=cmd.reason, expected_version=version), actor,
                                  now=now)
        version = event.version
    dispatch = c.Dispatch(units=cmd.units, reason=cmd.reason, expected_version=version)
    return handling.dispatch(uow, ref, dispatch, actor, now=now, record=record)


# --- accuracy ------------------------------------------------------------------------------------


def dispatch_accuracy(uow: UnitOfWork, since: datetime, until: datetime, actor: Actor) -> list[AccuracyRow]:
    """Tasks dispatched in ``[since, until)`` and how many were returned (退单), by the rule that sent them.

    A dispatch is matched to its tasks by event and time (the timeline entry and the tasks of one
    dispatch carry the same instant).  Buckets without a rule: ``(grid principle)`` for automatic
    fallbacks, ``(override)`` for the duty officer's choices, ``(manual)`` for plain dispatches.
    """
    authz.require(actor, RULE_READ)
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("give a time zone (e.g. 2024-06-01T00:00:00+08:00)", field="since")
    # Counted over the events in the actor's scope only: a town sees its own accuracy.
    scoped = select(Event.id).where(authz.event_clause(actor))
    with uow:
        s = uow.session
        entries = s.execute(select(TimelineEntry.event_id, TimelineEntry.at, TimelineEntry.payload)
                            .where(TimelineEntry.action == "event.dispatch", TimelineEntry.at >= since,
                                   TimelineEntry.at < until, TimelineEntry.event_id.in_(scoped))).all()
        tasks = s.execute(select(Task.event_id, Task.dispatched_at, Task.state)
                          .where(Task.role != TaskRole.NOTIFY.value, Task.dispatched_at >= since,
                                 Task.dispatched_at < until, Task.event_id.in_(scoped))).all()
    by_dispatch: dict[tuple[int, datetime], list[str]] = {}
    for event_id, at, state in tasks:
        by_dispatch.setdefault((event_id, at), []).append(state)
    counts: dict[str, list[int]] = {}
    for event_id, at, payload in entries:
        p = payload or {}
        if p.get("rule"):
            bucket = str(p["rule"])
        elif p.get("override"):
            bucket = "(override)"
        elif p.get("fallback"):
            bucket = "(grid principle)"
        else:
            bucket = "(manual)"
        states = by_dispatch.pop((event_id, at), [])
        row = counts.setdefault(bucket, [0, 0])
        row[0] += len(states)
        row[1] += sum(1 for st in states if st == TaskState.RETURNED.value)
    return [AccuracyRow(rule=k, dispatched=v[0], returned=v[1]) for k, v in sorted(counts.items())]

