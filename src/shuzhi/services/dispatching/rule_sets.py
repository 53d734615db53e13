"""Dispatch rules (分拨规则) as data: created, changed, deleted, each version kept.

Rules are data (:mod:`shuzhi.domain.rules`): each change is validated before it is stored (a bad rule is
refused with the JSON path of every problem) and kept as a version, so the history of "why did this go
there last March" survives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import CursorResult, Executable, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import (
    Area,
    DispatchRule,
    DispatchRuleVersion,
    EventClass,
    Unit,
    UnitDuty,
)
from shuzhi.domain.conditions import GRASSROOTS, RuleProblem, Vocabulary, required_values, validate_condition
from shuzhi.domain.permissions import RULE_READ, RULE_WRITE
from shuzhi.domain.rules import Selector, validate_level, validate_targets
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

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
    area_code: str | None = Field(
        default=None, max_length=20,
        description="the area whose events the rule routes (a town's rule, the district's …); by default "
                    "the author's own area, or the rule's current one when it is changed")


class NewRule(RuleBody):
    code: str = Field(min_length=1, max_length=40, pattern=_CODE)
    reason: str | None = Field(default=None, max_length=2000)


class ChangeRule(RuleBody):
    expected_version: int | None = None
    reason: str | None = Field(default=None, max_length=2000)


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
    area_path: str | None
    created_at: datetime
    updated_at: datetime

    def document(self) -> dict[str, Any]:
        """The rule as exported and imported."""
        return _document(self.code, self.name, self.priority, self.condition, self.targets, self.level,
                         self.enabled, self.area_path)

    @property
    def area_code(self) -> str | None:
        return _code_of(self.area_path)


@dataclass(frozen=True)
class VersionRecord:
    version: int
    change: str
    snapshot: dict[str, Any]
    changed_by: str
    changed_at: datetime
    reason: str | None


# --- helpers -------------------------------------------------------------------------------------


def _code_of(path: str | None) -> str | None:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else None


def _document(code: str, name: str, priority: int, condition: Any, targets: Any, level: str | None,
              enabled: bool, area_path: str | None) -> dict[str, Any]:
    return {"code": code, "name": name, "priority": priority, "level": level, "enabled": enabled,
            "condition": condition, "targets": targets, "area_code": _code_of(area_path)}


def _record(r: DispatchRule) -> RuleRecord:
    return RuleRecord(id=r.id, code=r.code, name=r.name, priority=r.priority, condition=r.condition,
                      targets=r.targets, level=r.level, enabled=r.enabled, version=r.version,
                      created_by=r.created_by, created_at=r.created_at, updated_at=r.updated_at,
                      area_path=r.area_path)


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


def rule_area(s: Session, body: RuleBody, actor: Actor, current: str | None = None) -> str | None:
    """The area path a rule governs: the one named, else the rule's current one, else the author's own
    area (``None``: installation-wide, for an installation-wide author only). An unknown code → 422."""
    if body.area_code:
        path = s.scalar(select(Area.path).where(Area.code == body.area_code))
        if path is None:
            raise Invalid(f"unknown area '{body.area_code}'", field="area_code")
        return path
    if current is not None:
        return current
    return actor.area_paths[0] if actor.area_paths else None


def _scope_problems(s: Session, area_path: str | None, fixed: dict[str, Unit], actor: Actor,
                    prefix: str, body: RuleBody) -> list[RuleProblem]:
    """A rule routes only events of its area, and its author writes rules for his own area only: a
    town's rule never names another town's area or sends events to another town's units."""
    problems: list[RuleProblem] = []
    if not actor.is_global and (area_path is None or not authz.path_visible(actor, area_path)):
        problems.append(RuleProblem(f"{prefix}.area_code", "a rule may only govern an area inside its author's "
                                    f"own ({', '.join(_code_of(p) or '' for p in actor.area_paths or ())})",
                                    "out_of_scope"))
        return problems
    if area_path is None:
        return problems
    from shuzhi.services.handling import unit_fits_area  # handling imports the dispatching package

    for path, sel, raw in _selectors(body.targets, f"{prefix}.targets"):
        unit = fixed.get(sel.unit or "")
        if unit is not None and not unit_fits_area(s, unit, area_path):
            at = f"{path}.unit" if isinstance(raw, dict) else path
            problems.append(RuleProblem(at, f"unit '{unit.code}' neither sits in nor covers the rule's area "
                                        f"({_code_of(area_path)}): a rule never moves events out of its area",
                                        "out_of_scope"))
    return problems


def check_rule(s: Session, body: RuleBody, *, prefix: str = "$", actor: Actor | None = None,
               area_path: str | None = None) -> list[RuleProblem]:
    """Every problem of a rule, with JSON paths under ``prefix``: shape and types (domain), unknown
    classes, areas and units, department tasks pushed down to grassroots units, and (with ``actor``)
    a rule outside its author's area or sending events out of its own area."""
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
    if actor is not None:
        problems += _scope_problems(s, area_path, fixed, actor, prefix, body)
    return problems


def ensure_rule_in_scope(actor: Actor, rule: DispatchRule) -> None:
    """Rules are read by all who hold ``rule.read``; changed only inside one's own area (403)."""
    authz.ensure_config_in_scope(actor, rule.area_path, what=f"dispatch rule '{rule.code}'")


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


def _create(s: Session, cmd: NewRule, actor: Actor, at: datetime, reason: str | None,
            area_path: str | None) -> DispatchRule:
    version = _next_version(s, cmd.code)
    rule = DispatchRule(code=cmd.code, name=cmd.name, priority=cmd.priority, condition=cmd.condition,
                        targets=cmd.targets, level=cmd.level, enabled=cmd.enabled, version=version,
                        created_by=actor.label, created_at=at, updated_at=at, area_path=area_path)
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
        area_path = rule_area(s, cmd, actor)
        problems = check_rule(s, cmd, actor=actor, area_path=area_path)
        if problems:
            raise _invalid(problems)
        rule = _create(s, cmd, actor, at, cmd.reason, area_path)
        audit.record(s, actor, "rule.create", f"dispatch_rule:{cmd.code}", {
            "version": rule.version, "reason": cmd.reason, "before": None,
            "after": _record(rule).document()}, at=at)
        _commit(uow)
        return _record(rule)


def _update(s: Session, rule: DispatchRule, body: RuleBody, seen: int, actor: Actor, at: datetime,
            reason: str | None, area_path: str | None) -> bool:
    doc = _document(rule.code, body.name, body.priority, body.condition, body.targets, body.level,
                    body.enabled, area_path)
    if doc == _record(rule).document():
        return False
    # Conditional on the version read: a concurrent change makes this match no row → 409.
    changed = _rowcount(s,
        update(DispatchRule).where(DispatchRule.id == rule.id, DispatchRule.version == seen)
        .values(name=body.name, priority=body.priority, condition=body.condition, targets=body.targets,
                level=body.level, enabled=body.enabled, version=seen + 1, updated_at=at, area_path=area_path)
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
        ensure_rule_in_scope(actor, rule)
        if cmd.expected_version is not None and cmd.expected_version != rule.version:
            raise Conflict(f"the rule is at version {rule.version}, you had {cmd.expected_version}; "
                           "reload and retry", field="expected_version")
        area_path = rule_area(s, cmd, actor, rule.area_path)
        problems = check_rule(s, cmd, actor=actor, area_path=area_path)
        if problems:
            raise _invalid(problems)
        before = _record(rule).document()
        if _update(s, rule, cmd, rule.version, actor, at, cmd.reason, area_path):
            s.refresh(rule)
            audit.record(s, actor, "rule.update", f"dispatch_rule:{code}", {
                "version": rule.version, "reason": cmd.reason, "before": before,
                "after": _record(rule).document()}, at=at)
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
        ensure_rule_in_scope(actor, rule)
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
        audit.record(s, actor, "rule.delete", f"dispatch_rule:{code}", {
            "version": seen + 1, "reason": reason, "before": doc, "after": None}, at=at)
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
