"""Areas that change (issue #20): merge villages (村社撤并) or grids, split a grid, move a boundary —
previewed before anything is written, then applied in one transaction.

A change retires the area versions it replaces and creates new ones (new codes: a code names one
version for ever), with their governing units; the history is never rewritten. Open work moves by the
rule of :mod:`shuzhi.domain.area_changes`: open events to the new grid containing their point, else to
the named successor, keeping where they happened (``origin_area_*``: figures group by it); open tasks
of the retired units to the successor's unit; the people of those units with them (a split lists them
for the town to decide, and meanwhile they serve the larger part). Every move is a timeline line with
actor, time, reason, from and to; the change itself is in ``area_changes`` and the audit log. After the
commit the point → grid index is rebuilt beside the old one and swapped in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db import citus
from shuzhi.adapters.db.tables import Area, AreaChange, Event, Person, Task, Unit, UnitCoverage, UnitDuty
from shuzhi.adapters.db.tables_supervision import SupervisionClock
from shuzhi.adapters.geo import GridIndex, reshape_pair, split_by_line
from shuzhi.domain import area_changes as d
from shuzhi.domain.areas import AreaLevel
from shuzhi.domain.events import ACTIVE_TASK_STATES
from shuzhi.domain.permissions import REFERENCE_WRITE
from shuzhi.services import area_repoint, geo_index
from shuzhi.services.actors import Actor, forget_people
from shuzhi.services.areas import json_safe
from shuzhi.services.errors import Invalid
from shuzhi.services.security import audit, authz
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork

_LIVE_TASKS = [s.value for s in ACTIVE_TASK_STATES]
_OPEN_EVENTS = [s.value for s in d.REHOMED_EVENT_STATES]


class ChangeIn(BaseModel):
    """A change as asked: ``area_codes`` are the areas it retires; ``boundary`` is the cutting line of a
    split (GeoJSON LineString) or the first grid's new shape when a boundary moves (GeoJSON Polygon)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["merge", "split", "move_boundary"]
    area_codes: list[str] = Field(min_length=1, max_length=50)
    name: str | None = Field(default=None, max_length=100)
    names: list[str] | None = Field(default=None, max_length=2)
    boundary: dict[str, Any] | None = None
    effective_at: datetime | None = None
    reason: str = Field(min_length=2, max_length=2000)


@dataclass
class _New:
    code: str
    name: str
    level: str
    parent_code: str
    geometry: BaseGeometry
    predecessors: list[str]
    area: Area | None = None


@dataclass
class Move:
    what: str  # event|task|person|unit|config (configuration naming a retired area: services/area_repoint.py)
    ref: str
    label: str
    from_code: str
    to_code: str | None
    rule: str  # geometry|successor|decide


@dataclass
class Plan:
    kind: d.ChangeKind
    effective_at: datetime
    reason: str
    retired: list[Area]
    created: list[_New]
    #: retired code → the one version that answers for it
    successor: dict[str, str]
    #: retired code → every new version its ground went to
    successors_of: dict[str, set[str]]
    moves: list[Move] = field(default_factory=list)
    repoints: list[area_repoint.Repoint] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        count: dict[str, int] = defaultdict(int)
        for m in self.moves:
            count[m.what] += 1
        return {
            "kind": self.kind.value,
            "effective_at": self.effective_at.isoformat(),
            "reason": self.reason,
            "retired": [{"code": a.code, "name": a.name, "level": a.level} for a in self.retired],
            "created": [{"code": n.code, "name": n.name, "level": n.level, "parent_code": n.parent_code,
                         "predecessors": n.predecessors, "boundary": json_safe(mapping(n.geometry))}
                        for n in self.created],
            "successors": dict(self.successor),
            "counts": {"events": count["event"], "tasks": count["task"], "people": count["person"],
                       "units": count["unit"], "configuration": count["config"],
                       "people_to_decide": sum(1 for m in self.moves if m.what == "person" and m.rule == "decide")},
            "moves": [m.__dict__ for m in self.moves],
        }


# --- who may ---------------------------------------------------------------------------------------


def _codes(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def _may_change(actor: Actor, areas: list[Area]) -> None:
    """A district administrator (``reference.write`` with a district-wide or wider scope) changes the
    areas of his district; a town's administrator may not."""
    authz.require(actor, REFERENCE_WRITE)
    if actor.area_paths is None:
        return
    wide = [p for p in actor.area_paths if len(_codes(p)) <= 2]
    if not wide:
        raise authz.Forbidden("areas are changed by the district's administrator")
    for a in areas:
        if not any(a.path.startswith(p) for p in wide):
            raise Invalid(f"area {a.code} is outside your district", field="area_codes")


# --- planning (nothing written) --------------------------------------------------------------------


def _shape(a: Area) -> BaseGeometry:
    if not a.boundary:
        raise Invalid(f"area {a.code} has no boundary", field="area_codes")
    return shape(a.boundary)


def _taken(s: Session, parent: Area) -> list[str]:
    return list(s.scalars(select(Area.code).where(Area.parent_id == parent.id)))


def _parent(s: Session, a: Area) -> Area:
    parent = s.get(Area, a.parent_id) if a.parent_id else None
    if parent is None:
        raise Invalid(f"area {a.code} has no parent", field="area_codes")
    return parent


def _current_children(s: Session, a: Area) -> list[Area]:
    return list(s.scalars(select(Area).where(Area.parent_id == a.id, Area.valid_to.is_(None)).order_by(Area.code)))


def _layout(s: Session, cmd: ChangeIn, kind: d.ChangeKind, areas: list[Area]) -> tuple[
        list[_New], dict[str, str], dict[str, set[str]], list[Area]]:
    """The new versions, the named successor of each retired one, where each one's ground went, and
    every retired version (a merged village's grids are re-coded under the new village, so retired too)."""
    parent = _parent(s, areas[0])
    retired = list(areas)
    if kind is d.ChangeKind.MERGE:
        if not cmd.name:
            raise Invalid("a merge names the new area", field="name")
        [code] = d.next_codes(parent.code, _taken(s, parent), 1)
        union = shapely.union_all([_shape(a) for a in areas])
        merged = _New(code, cmd.name, areas[0].level, parent.code, union, [a.code for a in areas])
        created = [merged]
        successor = {a.code: code for a in areas}
        if areas[0].level == AreaLevel.VILLAGE.value:
            grids = [g for a in areas for g in _current_children(s, a)]
            for g, gcode in zip(grids, d.next_codes(code, [], len(grids)), strict=True):
                created.append(_New(gcode, g.name, g.level, code, _shape(g), [g.code]))
                successor[g.code] = gcode
                retired.append(g)
        return created, successor, {old: {new} for old, new in successor.items()}, retired
    if kind is d.ChangeKind.SPLIT:
        [grid] = areas
        try:
            first, second = split_by_line(_shape(grid), cmd.boundary)
        except ValueError as exc:
            raise Invalid(str(exc), field="boundary") from None
        names = cmd.names or [f"{grid.name}（一）", f"{grid.name}（二）"]
        if len(names) != 2 or not all(names):
            raise Invalid("a split names its two parts", field="names")
        c1, c2 = d.next_codes(parent.code, _taken(s, parent), 2)
        created = [_New(c1, names[0], grid.level, parent.code, first, [grid.code]),
                   _New(c2, names[1], grid.level, parent.code, second, [grid.code])]
        return created, {grid.code: c1}, {grid.code: {c1, c2}}, retired
    a, b = areas
    try:
        new_a, new_b = reshape_pair(_shape(a), _shape(b), cmd.boundary)
    except ValueError as exc:
        raise Invalid(str(exc), field="boundary") from None
    c1, c2 = d.next_codes(parent.code, _taken(s, parent), 2)
    created = [_New(c1, a.name, a.level, parent.code, new_a, [a.code]),
               _New(c2, b.name, b.level, parent.code, new_b, [b.code])]
    return created, {a.code: c1, b.code: c2}, {a.code: {c1, c2}, b.code: {c1, c2}}, retired


def _plan(s: Session, cmd: ChangeIn, actor: Actor, now: datetime) -> tuple[Plan, dict[str, Any]]:
    authz.require(actor, REFERENCE_WRITE)
    kind = d.ChangeKind(cmd.kind)
    effective_at = (cmd.effective_at or now)
    if effective_at.tzinfo is None:
        raise Invalid("effective_at needs a time zone (e.g. +08:00)", field="effective_at")
    effective_at = effective_at.astimezone(UTC)
    codes = list(cmd.area_codes)
    rows = {a.code: a for a in s.scalars(select(Area).where(Area.code.in_(codes)))}
    parents = {a.id: a.code for a in s.scalars(select(Area).where(Area.id.in_(
        [a.parent_id for a in rows.values() if a.parent_id])))}
    facts = {c: d.AreaFacts(a.code, AreaLevel(a.level), parents.get(a.parent_id or 0), a.valid_to is not None)
             for c, a in rows.items()}
    problems = d.check(kind, codes, facts, effective_at, now)
    if problems:
        raise Invalid(problems[0].message, field=problems[0].field,
                      details={"errors": [{"field": p.field, "message": p.message} for p in problems]})
    areas = [rows[c] for c in codes]
    _may_change(actor, areas)
    created, successor, successors_of, retired = _layout(s, cmd, kind, areas)
    plan = Plan(kind, effective_at, cmd.reason or "", retired, created, successor, successors_of)
    context = _moves(s, plan)
    ground = area_repoint.Ground(plan.retired, plan.successor, plan.successors_of, _new_paths(s, plan),
                                 GridIndex([(n.code, n.geometry) for n in plan.created
                                            if n.level == AreaLevel.GRID.value]),
                                 context["unit_to"], actor_label=actor.label, at=now)
    plan.repoints = area_repoint.plan(s, ground)
    plan.moves += [Move("config", f"{r.kind}:{r.ref}", r.label[:60], r.from_code, r.to_code, r.rule)
                   for r in plan.repoints]
    return plan, context


def _moves(s: Session, plan: Plan) -> dict[str, Any]:
    """Fill ``plan.moves`` with every event, task, person and unit that moves, and return what applying
    needs to do it (the rows, the new area each goes to)."""
    by_id = {a.id: a for a in plan.retired}
    new_by_code = {n.code: n for n in plan.created}
    new_grids = GridIndex([(n.code, n.geometry) for n in plan.created if n.level == AreaLevel.GRID.value])
    new_paths = _new_paths(s, plan)

    events = list(s.scalars(select(Event).where(Event.area_id.in_(list(by_id)), Event.state.in_(_OPEN_EVENTS))
                            .order_by(Event.id)))
    event_to: dict[int, tuple[str, str]] = {}
    for ev in events:
        old = by_id[ev.area_id or 0]
        point = new_grids.locate(ev.lon, ev.lat) if ev.lon is not None and ev.lat is not None else None
        to, rule = d.successor(point, plan.successor[old.code], plan.successors_of[old.code])
        event_to[ev.id] = (to, rule)
        plan.moves.append(Move("event", ev.number, ev.title[:60], old.code, to, rule))

    units = list(s.scalars(select(Unit).where(Unit.area_id.in_(list(by_id)), Unit.active.is_(True),
                                              Unit.kind.in_(["village", "grid"])).order_by(Unit.code)))
    unit_to: dict[int, str] = {}  # retired unit → the new area whose unit takes its place (by name)
    templates: dict[str, Unit] = {}  # new area → the unit its new unit is modelled on
    for u in units:
        area = by_id[u.area_id]
        unit_to[u.id] = plan.successor[area.code]
        for new in plan.successors_of[area.code]:
            templates.setdefault(new, u)
    new_unit_code = {new: _unit_code(t, by_id[t.area_id].code, new) for new, t in templates.items()}
    for u in units:
        plan.moves.append(Move("unit", u.code, u.name, u.code, new_unit_code.get(unit_to[u.id]), "successor"))

    tasks = list(s.scalars(select(Task).where(Task.unit_id.in_(list(unit_to)), Task.state.in_(_LIVE_TASKS))
                           .order_by(Task.id))) if unit_to else []
    task_to: dict[int, str] = {}
    for t in tasks:
        old_unit = next(u for u in units if u.id == t.unit_id)
        old_area = by_id[old_unit.area_id]
        target = plan.successor[old_area.code]
        rule = "successor"
        went = event_to.get(t.event_id)
        if went is not None:
            new_path = new_paths.get(went[0], "")
            for cand in sorted(plan.successors_of[old_area.code]):
                if cand in new_unit_code and new_path.startswith(new_paths[cand]):
                    target, rule = cand, went[1]
                    break
        if target not in new_unit_code:
            continue  # no unit governs the successor: the task stays, listed under the unit to decide
        task_to[t.id] = target
        plan.moves.append(Move("task", str(t.id), t.event.number, old_unit.code, new_unit_code[target], rule))

    people = list(s.scalars(select(Person).where(Person.unit_id.in_(list(unit_to)), Person.active.is_(True))
                            .order_by(Person.code))) if unit_to else []
    person_to: dict[int, str | None] = {}
    for p in people:
        old_unit = next(u for u in units if u.id == p.unit_id)
        area = by_id[old_unit.area_id]
        target = plan.successor[area.code]
        decide = len(plan.successors_of[area.code]) > 1 and plan.kind is d.ChangeKind.SPLIT
        person_to[p.id] = target if target in new_unit_code else None
        plan.moves.append(Move("person", p.code, p.name, old_unit.code, new_unit_code.get(target),
                               "decide" if decide or target not in new_unit_code else "successor"))
    return {"events": events, "event_to": event_to, "units": units, "unit_to": unit_to, "templates": templates,
            "new_unit_code": new_unit_code, "tasks": tasks, "task_to": task_to, "people": people,
            "person_to": person_to, "new_by_code": new_by_code}


def _new_paths(s: Session, plan: Plan) -> dict[str, str]:
    paths: dict[str, str] = {}
    for n in plan.created:
        parent_path = paths.get(n.parent_code) or s.scalar(select(Area.path).where(Area.code == n.parent_code)) or "/"
        paths[n.code] = f"{parent_path}{n.code}/"
    return paths


def _unit_code(template: Unit, old_area_code: str, new_area_code: str) -> str:
    if template.code.endswith(old_area_code):
        return template.code[: -len(old_area_code)] + new_area_code
    return f"{template.code}-{new_area_code}"[:40]


def _unit_name(template: Unit, old_area: str, new_area: str) -> str:
    return (new_area + template.name[len(old_area):]) if template.name.startswith(old_area) else new_area


# --- the use cases ---------------------------------------------------------------------------------


def preview(uow: UnitOfWork, cmd: ChangeIn, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """What the change would do — areas retired and created, events, tasks, people and units that move —
    with nothing written."""
    with uow:
        plan, _ = _plan(uow.session, cmd, actor, now or datetime.now(UTC))
        uow.session.rollback()
        return plan.summary()


def apply(uow: UnitOfWork, cmd: ChangeIn, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """Make the change: new versions and units, retired ones closed, open work re-homed with timeline
    lines, the change logged and audited; then the grid index is rebuilt beside the old one."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        # the cases' paths change across districts, then the areas (reference tables on Citus)
        citus.one_connection_per_node(s.connection())
        plan, ctx = _plan(s, cmd, actor, at)
        change = AreaChange(kind=plan.kind.value, effective_at=plan.effective_at, reason=plan.reason,
                            actor_id=actor.person_id, actor=actor.label, details={}, created_at=at)
        s.add(change)
        s.flush()
        created = _create_areas(s, plan)
        by_id = {a.id: a for a in plan.retired}
        for a in plan.retired:
            a.valid_to = plan.effective_at
            a.successor_id = created[plan.successor[a.code]].id
        new_units = _create_units(s, plan, ctx, created, by_id)
        _rehome_events(s, plan, ctx, created, actor, at, change.id)
        _rehome_tasks(s, plan, ctx, new_units, actor, at, change.id)
        _move_people_and_units(s, plan, ctx, new_units, by_id, created)
        area_repoint.apply(s, plan.repoints, created, new_units, actor, at, change.id, plan.reason)
        summary = plan.summary()
        summary["change_id"] = change.id
        change.details = {k: summary[k] for k in ("retired", "successors", "counts", "moves")} | {
            "created": [{k: v for k, v in c.items() if k != "boundary"} for c in summary["created"]],
            "paths": [a.path for a in plan.retired]}
        audit.record(s, actor, "area.change", plan.kind.value, {
            "change_id": change.id, "reason": plan.reason, "retired": [a.code for a in plan.retired],
            "created": [n.code for n in plan.created], "counts": summary["counts"]}, at=at)
        uow.commit()
        geo_index.rebuild(s)  # beside the old index, swapped in: lookups are answered throughout
    forget_people()
    return summary


def _create_areas(s: Session, plan: Plan) -> dict[str, Area]:
    out: dict[str, Area] = {}
    for n in plan.created:
        parent = out.get(n.parent_code) or s.scalar(select(Area).where(Area.code == n.parent_code))
        assert parent is not None
        point = n.geometry.representative_point()
        area = Area(code=n.code, name=n.name, level=n.level, parent_id=parent.id, path=f"{parent.path}{n.code}/",
                    boundary=json_safe(mapping(n.geometry)), centroid_lon=round(point.x, 6),
                    centroid_lat=round(point.y, 6), valid_from=plan.effective_at)
        s.add(area)
        s.flush()
        out[n.code] = area
    return out


def _create_units(s: Session, plan: Plan, ctx: dict[str, Any], created: dict[str, Area],
                  by_id: dict[int, Area]) -> dict[str, Unit]:
    """A unit for each new version whose predecessor had one, modelled on it (kind, level, duties);
    a merged village's grid units hang under the new village's unit."""
    out: dict[str, Unit] = {}
    old_to_new_unit: dict[int, Unit] = {}
    # villages before grids, so that a grid unit finds its new parent
    for code in sorted(ctx["templates"], key=len):
        t: Unit = ctx["templates"][code]
        old_area = by_id[t.area_id]
        parent_id = t.parent_id
        if parent_id is not None and parent_id in {u.id for u in ctx["units"]}:
            parent_unit = next(u for u in ctx["units"] if u.id == parent_id)
            new_parent = out.get(ctx["unit_to"][parent_unit.id])
            parent_id = new_parent.id if new_parent is not None else parent_id
        unit = Unit(code=ctx["new_unit_code"][code], name=_unit_name(t, old_area.name, created[code].name),
                    kind=t.kind, level=t.level, area_id=created[code].id, parent_id=parent_id, phone=t.phone,
                    active=True, valid_from=plan.effective_at)
        s.add(unit)
        s.flush()
        out[code] = unit
        old_to_new_unit[t.id] = unit
        duties = s.scalars(select(UnitDuty.event_class_id).where(UnitDuty.unit_id == t.id)).all()
        s.add_all(UnitDuty(unit_id=unit.id, event_class_id=c) for c in duties)
        s.add(UnitCoverage(unit_id=unit.id, area_id=created[code].id))
    return out


def _rehome_events(s: Session, plan: Plan, ctx: dict[str, Any], created: dict[str, Area], actor: Actor,
                   at: datetime, change_id: int) -> None:
    for ev in ctx["events"]:
        to_code, rule = ctx["event_to"][ev.id]
        old = ev.area
        new = created[to_code]
        if ev.origin_area_id is None:
            ev.origin_area_id, ev.origin_area_path = ev.area_id, ev.area_path
        ev.area_id, ev.area_path, ev.area, ev.updated_at = new.id, new.path, new, at
        # the supervision clocks carry the event's area (their thresholds are the area's)
        s.execute(update(SupervisionClock).where(SupervisionClock.event_id == ev.id).values(area_path=new.path))
        note(s, ev, actor, "event.rehome", at, reason=plan.reason, payload={
            "change_id": change_id, "kind": plan.kind.value, "rule": rule,
            "from": {"code": old.code if old else None, "name": old.name if old else None},
            "to": {"code": new.code, "name": new.name}})


def _rehome_tasks(s: Session, plan: Plan, ctx: dict[str, Any], new_units: dict[str, Unit], actor: Actor,
                  at: datetime, change_id: int) -> None:
    for t in ctx["tasks"]:
        if t.id not in ctx["task_to"]:
            continue
        old_unit, new_unit = t.unit, new_units[ctx["task_to"][t.id]]
        t.unit_id, t.unit, t.updated_at = new_unit.id, new_unit, at
        # the task's clock reminds its unit: the successor's from now on
        s.execute(update(SupervisionClock).where(SupervisionClock.task_id == t.id).values(unit_id=new_unit.id))
        note(s, t.event, actor, "task.rehome", at, task=t, reason=plan.reason, payload={
            "change_id": change_id, "kind": plan.kind.value,
            "from": {"code": old_unit.code, "name": old_unit.name},
            "to": {"code": new_unit.code, "name": new_unit.name}})


def _move_people_and_units(s: Session, plan: Plan, ctx: dict[str, Any], new_units: dict[str, Unit],
                           by_id: dict[int, Area], created: dict[str, Area]) -> None:
    for p in ctx["people"]:
        target = ctx["person_to"].get(p.id)
        if target is not None and target in new_units:
            p.unit_id = new_units[target].id
    retired_unit_ids = {u.id for u in ctx["units"]}
    for u in ctx["units"]:
        u.active, u.valid_to = False, plan.effective_at
        new = new_units.get(ctx["unit_to"][u.id])
        if new is None:
            continue
        for ev in s.scalars(select(Event).where(Event.owner_unit_id == u.id, Event.state.in_(_OPEN_EVENTS))):
            ev.owner_unit_id = new.id
        for child in s.scalars(select(Unit).where(Unit.parent_id == u.id, Unit.active.is_(True))):
            if child.id not in retired_unit_ids:
                child.parent_id = new.id
    # units that serve a retired area (a department covering a village) serve its successors
    covering = s.execute(select(UnitCoverage.unit_id, UnitCoverage.area_id)
                         .where(UnitCoverage.area_id.in_(list(by_id)))).all()
    have = {(u, a) for u, a in s.execute(select(UnitCoverage.unit_id, UnitCoverage.area_id).where(
        UnitCoverage.area_id.in_([a.id for a in created.values()]))).all()}
    for unit_id, area_id in covering:
        if unit_id in retired_unit_ids:
            continue
        for new_code in plan.successors_of[by_id[area_id].code]:
            pair = (unit_id, created[new_code].id)
            if pair not in have:
                s.add(UnitCoverage(unit_id=unit_id, area_id=pair[1]))
                have.add(pair)


def history(uow: UnitOfWork, actor: Actor, limit: int = 100) -> list[dict[str, Any]]:
    """The area changes made, newest first (who, when, why, what moved)."""
    authz.require(actor, REFERENCE_WRITE)
    with uow:
        rows = uow.session.scalars(select(AreaChange).order_by(AreaChange.id.desc()).limit(limit)).all()
        return [{"id": c.id, "kind": c.kind, "effective_at": c.effective_at.isoformat(), "reason": c.reason,
                 "actor": c.actor, "created_at": c.created_at.isoformat(),
                 "retired": c.details.get("retired", []), "created": c.details.get("created", []),
                 "counts": c.details.get("counts", {})}
                for c in rows if actor.area_paths is None or _visible(actor, c.details)]


def _visible(actor: Actor, details: dict[str, Any]) -> bool:
    return any(authz.path_visible(actor, p) for p in details.get("paths", []))
