"""Configuration naming a retired area, re-pointed to its successor in the change's transaction (issue #20).

An area change retires versions (new codes, new paths); configuration written against the old ones —
dispatch rules, threshold rules, risk points, plan templates, supervision rules, copy lists, scoring
schemes, warning silences, webhook subscriptions, sensing devices and the areas an indicator is measured
in, service windows and enterprises, 五长制 contacts — would otherwise keep a path that no new event
carries. Each row naming a retired area (its path, under it, or its code) is re-pointed:

* a **path** goes to the named successor's path (the deepest retired prefix decides, the tail is kept:
  :func:`shuzhi.domain.area_changes.repoint_path`);
* a **list of codes** (a dispatch rule's ``area within``) names the same ground: every new version the
  retired one's ground went to (:func:`~shuzhi.domain.area_changes.repoint_codes`);
* a **thing with a point** (a risk point, a device) goes to the new grid containing it, else to the
  successor (``rule: geometry`` / ``successor``), as open events do;
* a **unit** of a retired village or grid (a risk point's responsible unit, a window's unit) is the
  successor's unit;
* where the successor already has its own (one threshold rule per indicator and area, one set of
  supervision rules per area, one active scoring scheme per area) the row is left as it was and listed
  ``rule: decide`` for the district to settle: merging two villages that each had one is a choice.

Every re-pointing is an audit entry ``area.repoint`` (actor, time, the change's reason, from and to); a
dispatch rule also gets a new version (``change: repoint``). The change's preview and report list them
as moves ``what: config`` with the kind of configuration in ``ref``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from shuzhi.adapters.db.tables import Area, DispatchRule, DispatchRuleVersion, Unit
from shuzhi.adapters.db.tables_desk import CopyList
from shuzhi.adapters.db.tables_evaluation import EvaluationScheme
from shuzhi.adapters.db.tables_plans import PlanTemplateRow
from shuzhi.adapters.db.tables_public_services import ServiceEnterprise, ServiceWindow
from shuzhi.adapters.db.tables_sensing import Device, IndicatorArea, RiskPoint
from shuzhi.adapters.db.tables_supervision import SupervisionRules, WebhookSubscription
from shuzhi.adapters.db.tables_town import AreaContact
from shuzhi.adapters.db.tables_warnings import ThresholdRuleRow, WarningSilence
from shuzhi.adapters.geo import GridIndex
from shuzhi.domain import area_changes as d
from shuzhi.services.actors import Actor
from shuzhi.services.security import audit

#: (created areas by code, new units by area code) → nothing: the write, done when the change applies.
Write = Callable[[dict[str, Area], dict[str, Unit]], None]


@dataclass
class Repoint:
    kind: str  # dispatch_rule|threshold_rule|risk_point|…
    ref: str
    label: str
    from_code: str
    to_code: str | None
    rule: str  # successor|geometry|decide
    write: Write | None = None
    before: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ground:
    """What the change does to the map, as the re-pointing needs it."""

    retired: list[Area]
    successor: dict[str, str]
    successors_of: dict[str, set[str]]
    new_paths: dict[str, str]
    new_grids: GridIndex
    #: retired unit id → the new area code whose unit takes its place
    unit_to: dict[int, str]
    actor_label: str = "system"
    at: datetime | None = None
    by_path: dict[str, str] = field(init=False)
    by_id: dict[int, Area] = field(init=False)

    def __post_init__(self) -> None:
        self.by_path = {a.path: self.successor[a.code] for a in self.retired}
        self.by_id = {a.id: a for a in self.retired}

    def under(self, column: InstrumentedAttribute[Any]) -> Any:
        return or_(*[column.startswith(p, autoescape=True) for p in self.by_path])

    def path(self, path: str) -> tuple[str, str, str] | None:
        """(retired code, new code, new path) for a path in or under a retired area."""
        new_path = d.repoint_path(path, self.by_path, self.new_paths)
        if new_path is None:
            return None
        best = max((p for p in self.by_path if path.startswith(p)), key=len)
        return best.rstrip("/").rsplit("/", 1)[-1], self.by_path[best], new_path

    def placed(self, area: Area, lon: float | None, lat: float | None) -> tuple[str, str]:
        point = self.new_grids.locate(lon, lat) if lon is not None and lat is not None else None
        return d.successor(point, self.successor[area.code], self.successors_of[area.code])


def plan(s: Session, g: Ground) -> list[Repoint]:
    """Every row of configuration naming a retired area, and what it becomes (nothing written)."""
    if not g.retired:
        return []
    out: list[Repoint] = []
    out += _dispatch_rules(s, g)
    out += _threshold_rules(s, g)
    out += _by_point(s, g, "risk_point", RiskPoint, lambda r: r.code, lambda r: r.name, unit="responsible_unit_id")
    out += _by_point(s, g, "device", Device, lambda r: r.code, lambda r: r.name)
    out += _by_path(s, g, "plan_template", PlanTemplateRow, lambda r: r.code, lambda r: r.name)
    out += _by_path(s, g, "copy_list", CopyList, lambda r: str(r.id), lambda r: r.name)
    out += _by_path(s, g, "webhook", WebhookSubscription, lambda r: str(r.id), lambda r: r.name, code_attr="area_code")
    out += _by_path(s, g, "warning_silence", WarningSilence, lambda r: str(r.id), lambda r: r.comment[:60],
                    where=[WarningSilence.ends_at > g.at] if g.at is not None else [])
    out += _by_path(s, g, "supervision_rules", SupervisionRules, lambda r: str(r.id), lambda r: r.area_path,
                    unique=lambda r, path: select(SupervisionRules.id).where(SupervisionRules.area_path == path))
    out += _by_path(s, g, "evaluation_scheme", EvaluationScheme, lambda r: r.code, lambda r: r.name,
                    unique=lambda r, path: None if not r.active else select(EvaluationScheme.id).where(
                        EvaluationScheme.area_path == path, EvaluationScheme.active.is_(True)))
    out += _by_path(s, g, "service_window", ServiceWindow, lambda r: r.code, lambda r: r.name, id_attr="area_id",
                    unit="unit_id")
    out += _by_id(s, g, "service_enterprise", ServiceEnterprise, lambda r: r.credit_code, lambda r: r.name)
    out += _by_id(s, g, "area_contact", AreaContact, lambda r: str(r.id), lambda r: r.place)
    out += _indicator_areas(s, g)
    return out


def apply(s: Session, items: Iterable[Repoint], created: dict[str, Area], new_units: dict[str, Unit],
          actor: Actor, at: datetime, change_id: int, reason: str) -> None:
    for r in items:
        if r.write is None:
            continue
        r.write(created, new_units)
        audit.record(s, actor, "area.repoint", f"{r.kind}:{r.ref}", {
            "change_id": change_id, "reason": reason, "rule": r.rule, "from": r.from_code, "to": r.to_code,
            "before": r.before}, at=at)


# --- per kind of configuration ------------------------------------------------------------------------


def _unit_writer(row: Any, attr: str | None, g: Ground) -> Callable[[dict[str, Unit]], None]:
    def write(new_units: dict[str, Unit]) -> None:
        if attr is None:
            return
        old = getattr(row, attr)
        if old in g.unit_to and g.unit_to[old] in new_units:
            setattr(row, attr, new_units[g.unit_to[old]].id)
    return write


def _by_path(s: Session, g: Ground, kind: str, model: Any, ref: Callable[[Any], str], label: Callable[[Any], str],
             *, code_attr: str | None = None, id_attr: str | None = None, unit: str | None = None,
             where: list[Any] | None = None, unique: Callable[[Any, str], Any] | None = None) -> list[Repoint]:
    out: list[Repoint] = []
    taken: set[str] = set()
    for row in s.scalars(select(model).where(g.under(model.area_path), *(where or [])).order_by(model.id)):
        old_code, new_code, new_path = g.path(row.area_path)  # type: ignore[misc]
        check = unique(row, new_path) if unique is not None else None
        if check is not None and (new_path in taken or s.scalar(check.limit(1)) is not None):
            out.append(Repoint(kind, ref(row), label(row), old_code, new_code, "decide"))
            continue
        if check is not None:
            taken.add(new_path)
        units = _unit_writer(row, unit, g)

        def write(created: dict[str, Area], new_units: dict[str, Unit], row: Any = row, new_path: str = new_path,
                  new_code: str = new_code, units: Callable[[dict[str, Unit]], None] = units) -> None:
            row.area_path = new_path
            if code_attr is not None:
                setattr(row, code_attr, new_path.rstrip("/").rsplit("/", 1)[-1])
            if id_attr is not None and new_path == created[new_code].path:
                setattr(row, id_attr, created[new_code].id)
            units(new_units)

        out.append(Repoint(kind, ref(row), label(row), old_code, new_code, "successor", write,
                           {"area_path": row.area_path}))
    return out


def _by_id(s: Session, g: Ground, kind: str, model: Any, ref: Callable[[Any], str],
           label: Callable[[Any], str]) -> list[Repoint]:
    out: list[Repoint] = []
    for row in s.scalars(select(model).where(model.area_id.in_(list(g.by_id))).order_by(model.id)):
        area = g.by_id[row.area_id]
        to = g.successor[area.code]

        def write(created: dict[str, Area], new_units: dict[str, Unit], row: Any = row, to: str = to) -> None:
            row.area_id = created[to].id

        out.append(Repoint(kind, ref(row), label(row), area.code, to, "successor", write, {"area": area.code}))
    return out


def _by_point(s: Session, g: Ground, kind: str, model: Any, ref: Callable[[Any], str],
              label: Callable[[Any], str], *, unit: str | None = None) -> list[Repoint]:
    out: list[Repoint] = []
    for row in s.scalars(select(model).where(model.area_id.in_(list(g.by_id))).order_by(model.id)):
        area = g.by_id[row.area_id]
        to, rule = g.placed(area, row.lon, row.lat)
        units = _unit_writer(row, unit, g)

        def write(created: dict[str, Area], new_units: dict[str, Unit], row: Any = row, to: str = to,
                  units: Callable[[dict[str, Unit]], None] = units) -> None:
            row.area_id = created[to].id
            if hasattr(row, "area_path"):
                row.area_path = created[to].path
            units(new_units)

        out.append(Repoint(kind, ref(row), label(row), area.code, to, rule, write, {"area": area.code}))
    return out


def _dispatch_rules(s: Session, g: Ground) -> list[Repoint]:
    """A rule of a retired area's (``area_path``), or one whose condition names a retired area."""
    out: list[Repoint] = []
    retired_codes = {a.code for a in g.retired}
    for rule in s.scalars(select(DispatchRule).order_by(DispatchRule.id)):
        at_path = g.path(rule.area_path) if rule.area_path else None
        condition = d.repoint_condition(rule.condition, g.successors_of)
        if at_path is None and condition == rule.condition:
            continue
        named = sorted(c for c in retired_codes if c in repr(rule.condition))
        old_code = at_path[0] if at_path else ",".join(named)
        new_code = at_path[1] if at_path else ",".join(d.repoint_codes(named, g.successors_of))

        def write(created: dict[str, Area], new_units: dict[str, Unit], rule: DispatchRule = rule,
                  condition: Any = condition, at_path: tuple[str, str, str] | None = at_path) -> None:
            if at_path is not None:
                rule.area_path = at_path[2]
            rule.condition = condition
            rule.version += 1
            rule.updated_at = g.at or rule.updated_at
            s.add(DispatchRuleVersion(
                rule_id=rule.id, rule_code=rule.code, version=rule.version, change="repoint",
                snapshot={"code": rule.code, "name": rule.name, "priority": rule.priority, "level": rule.level,
                          "enabled": rule.enabled, "condition": rule.condition, "targets": rule.targets,
                          "area_code": rule.area_path.rstrip("/").rsplit("/", 1)[-1] if rule.area_path else None},
                changed_by=g.actor_label, changed_at=rule.updated_at, reason="区域变更，配置改指接续区域"))

        out.append(Repoint("dispatch_rule", rule.code, rule.name, old_code, new_code, "successor", write,
                           {"area_path": rule.area_path, "condition": rule.condition}))
    return out


def _threshold_rules(s: Session, g: Ground) -> list[Repoint]:
    """One rule per indicator and area: a second one re-pointed to the same successor is left to decide."""
    from shuzhi.services.sensing.warning_config import bump

    out: list[Repoint] = []
    rows = list(s.scalars(select(ThresholdRuleRow).where(g.under(ThresholdRuleRow.area_path))
                          .order_by(ThresholdRuleRow.id)))
    taken = {(r.indicator_id, r.area_key) for r in s.scalars(select(ThresholdRuleRow))}
    for row in rows:
        assert row.area_path is not None
        old_code, new_code, new_path = g.path(row.area_path)  # type: ignore[misc]
        key_code = new_path.rstrip("/").rsplit("/", 1)[-1]
        if (row.indicator_id, key_code) in taken:
            out.append(Repoint("threshold_rule", row.code, row.name, old_code, new_code, "decide"))
            continue
        taken.add((row.indicator_id, key_code))

        def write(created: dict[str, Area], new_units: dict[str, Unit], row: ThresholdRuleRow = row,
                  new_path: str = new_path, key_code: str = key_code) -> None:
            row.area_key, row.area_path = key_code, new_path
            row.area_id = s.scalar(select(Area.id).where(Area.path == new_path)) or row.area_id
            row.document = {**row.document, "area": key_code}
            row.version += 1
            bump(s)

        out.append(Repoint("threshold_rule", row.code, row.name, old_code, new_code, "successor", write,
                           {"area_path": row.area_path, "area": row.area_key}))
    return out


def _indicator_areas(s: Session, g: Ground) -> list[Repoint]:
    """An indicator measured in a retired area is measured in every new version of its ground."""
    out: list[Repoint] = []
    for row in s.scalars(select(IndicatorArea).where(IndicatorArea.area_id.in_(list(g.by_id)))):
        area = g.by_id[row.area_id]
        targets = sorted(g.successors_of[area.code])

        def write(created: dict[str, Area], new_units: dict[str, Unit], row: IndicatorArea = row,
                  targets: list[str] = targets) -> None:
            have = set(s.scalars(select(IndicatorArea.area_id).where(IndicatorArea.indicator_id == row.indicator_id)))
            for code in targets:
                if created[code].id not in have:
                    s.add(IndicatorArea(indicator_id=row.indicator_id, area_id=created[code].id))
                    have.add(created[code].id)

        out.append(Repoint("indicator_area", str(row.indicator_id), "", area.code, ",".join(targets), "successor",
                           write, {"area": area.code}))
    return out
