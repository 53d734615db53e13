"""Coordination across levels (三级贯通): push down, hand sideways, escalate, and each centre's views.

What the dispatch already did: any unit can be given a lead or assisting task on an event, and a
centre holding a task can dispatch further (a town centre to its grids), each task remembering the
unit that dispatched it (``tasks.dispatched_by_unit_id``).  What this adds:

* **纵向交办 push down** — to a *lower centre* whose area contains the event, refused otherwise;
* **横向分拨 hand sideways** — to *departments* only (a department's duty is never pushed down to a
  grassroots unit: 职能部门职责任务不得下派, so this route refuses villages and grids);
* **上报 escalate** — a centre that cannot handle the event hands it to its parent centre: ownership
  (首接负责) passes up, the escalating centre's open tasks are cancelled with the reason, and the
  event goes back to the upper centre for dispatch when no lead task is left;
* the views *owned* (events I answer for), *pushed down* / *sideways* (tasks I gave to lower
  centres / to departments), *from above* (tasks higher centres gave me), and an event's chain.

Every step is on the event's timeline with ``coordination`` and the from/to units in its payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Event, Task, Unit
from shuzhi.domain import permissions as perm
from shuzhi.domain.events import ACTIVE_TASK_STATES, TaskAction, TaskRole, TaskState
from shuzhi.services import commands as c
from shuzhi.services import handling
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid
from shuzhi.services.security import authz
from shuzhi.services.transitions import move_task, note, sync_event
from shuzhi.services.unit_of_work import UnitOfWork

LEVELS = ("city", "district", "town", "village", "grid")
VIEWS = ("owned", "pushed_down", "sideways", "from_above")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PushDown(_Command):
    centre_code: str = Field(min_length=1, max_length=40)
    instruction: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None


class HandSideways(_Command):
    units: list[c.UnitAssignment] = Field(min_length=1, max_length=50)
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None


class Escalate(_Command):
    reason: str = Field(min_length=1, max_length=2000)
    expected_version: int | None = None


@dataclass(frozen=True)
class Item:
    event_number: str
    event_title: str
    event_state: str
    task_id: int | None
    task_state: str | None
    from_unit: str | None
    to_unit: str | None
    to_unit_name: str | None
    dispatched_at: datetime | None
    handle_due_at: datetime | None


@dataclass(frozen=True)
class Link:
    task_id: int
    from_unit: str | None
    from_level: str | None
    to_unit: str
    to_unit_name: str
    to_level: str
    direction: str  # down | sideways | up | same
    role: str
    state: str
    dispatched_at: datetime


def _rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def direction(from_level: str | None, from_kind: str | None, to_level: str, to_kind: str) -> str:
    """down when the receiver sits lower, sideways to a department of the same level, up when higher."""
    if from_level is None:
        return "down"
    if to_kind == "department" and _rank(to_level) == _rank(from_level):
        return "sideways"
    if _rank(to_level) > _rank(from_level):
        return "down"
    if _rank(to_level) < _rank(from_level):
        return "up"
    return "same"


def _acting_unit(s: Session, actor: Actor) -> Unit:
    if actor.unit_id is None:
        raise Invalid("this action needs a person of a centre as the actor", field="actor")
    unit = s.get(Unit, actor.unit_id)
    assert unit is not None
    return unit


def _check(s: Session, ref: str, actor: Actor) -> Event:
    authz.require(actor, perm.EVENT_DISPATCH)
    event = handling.load_event(s, ref)
    authz.ensure_visible(actor, event.area_path, [event.owner_unit_id, *(t.unit_id for t in event.tasks)],
                         what=f"event {ref}")
    return event


def push_down(uow: UnitOfWork, ref: str, cmd: PushDown, actor: Actor, *, now: datetime | None = None) -> Event:
    """纵向交办 to a lower centre whose area contains the event; it becomes a lead task of that centre."""
    with uow:
        s = uow.session
        event = _check(s, ref, actor)
        authz.ensure_can_act_on_event(actor, event)
        target = s.scalar(select(Unit).where(Unit.code == cmd.centre_code, Unit.active.is_(True)))
        if target is None or target.kind != "centre":
            raise Invalid(f"'{cmd.centre_code}' is not an active centre", field="centre_code")
        me = s.get(Unit, actor.unit_id) if actor.unit_id is not None else None
        if me is not None and _rank(target.level) <= _rank(me.level):
            raise Invalid(f"{target.name} is not below {me.name}: push down goes to a lower centre",
                          field="centre_code")
        if event.area_path is None or not event.area_path.startswith(target.area.path):
            raise Invalid(f"the event is not in {target.name}'s area", field="centre_code")
    body = c.Dispatch(units=[c.UnitAssignment(unit_code=target.code, role=TaskRole.LEAD, instruction=cmd.instruction)],
                      reason=cmd.reason or f"交办{target.name}", expected_version=cmd.expected_version)
    return handling.dispatch(uow, ref, body, actor, now=now, record={
        "coordination": "push_down", "from_unit": me.code if me else None, "to_unit": target.code})


def hand_sideways(uow: UnitOfWork, ref: str, cmd: HandSideways, actor: Actor, *,
                  now: datetime | None = None) -> Event:
    """横向分拨 to departments (lead and assisting)."""
    with uow:
        s = uow.session
        authz.ensure_can_act_on_event(actor, _check(s, ref, actor))
        for i, a in enumerate(cmd.units):
            unit = s.scalar(select(Unit).where(Unit.code == a.unit_code, Unit.active.is_(True)))
            if unit is None:
                raise Invalid(f"unknown or inactive unit '{a.unit_code}'", field=f"units[{i}].unit_code")
            if unit.kind != "department":
                raise Invalid(f"{unit.name} is not a department: hand sideways goes to departments "
                              "(use push down for a lower centre)", field=f"units[{i}].unit_code")
        me = s.get(Unit, actor.unit_id) if actor.unit_id is not None else None
    body = c.Dispatch(units=cmd.units, reason=cmd.reason or "横向分拨", expected_version=cmd.expected_version)
    return handling.dispatch(uow, ref, body, actor, now=now, record={
        "coordination": "sideways", "from_unit": me.code if me else None,
        "to_units": [a.unit_code for a in cmd.units]})


def escalate(uow: UnitOfWork, ref: str, cmd: Escalate, actor: Actor, *, now: datetime | None = None) -> Event:
    """上报: the acting centre hands the event to its parent centre (see the module docstring)."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        event = _check(s, ref, actor)
        if cmd.expected_version is not None and cmd.expected_version != event.version:
            raise Conflict(f"the event is at version {event.version}, you had {cmd.expected_version}",
                           field="expected_version")
        me = _acting_unit(s, actor)
        if me.kind != "centre":
            raise Invalid("only a centre escalates; a unit returns a task it cannot handle (退单)", field="actor")
        mine = [t for t in event.tasks if t.unit_id == me.id and TaskState(t.state) in ACTIVE_TASK_STATES]
        if event.owner_unit_id != me.id and not mine:
            raise Conflict(f"{me.name} neither owns this event nor holds an open task on it")
        upper = s.get(Unit, me.parent_id) if me.parent_id is not None else None
        if upper is None or upper.kind != "centre":
            raise Conflict(f"{me.name} has no upper centre to escalate to")
        note(s, event, actor, "event.escalate", at, reason=cmd.reason, payload={
            "coordination": "escalate", "from_unit": me.code, "to_unit": upper.code,
            "owner_before": event.owner_unit_id})
        if event.owner_unit_id == me.id:
            event.owner_unit_id = upper.id
        for task in mine:
            move_task(s, event, task, TaskAction.CANCEL, actor, at, reason=f"上报{upper.name}：{cmd.reason}")
            task.ended_at, task.end_reason = at, f"上报：{cmd.reason}"
        event.updated_at = at
        sync_event(s, event, actor, at, reason=f"上报{upper.name}")
        uow.commit()
        return event


def view(uow: UnitOfWork, which: str, actor: Actor, unit_code: str | None = None, *, open_only: bool = True,
         limit: int = 200) -> list[Item]:
    """A centre's view: ``owned``, ``pushed_down``, ``sideways`` or ``from_above`` (default: my unit)."""
    authz.require(actor, perm.EVENT_READ)
    if which not in VIEWS:
        raise Invalid(f"view must be one of {', '.join(VIEWS)}", field="view")
    with uow:
        s = uow.session
        if unit_code is None:
            me = _acting_unit(s, actor)
        else:
            found = s.scalar(select(Unit).where(Unit.code == unit_code))
            if found is None or not (authz.path_visible(actor, found.area.path) or found.id == actor.unit_id):
                raise Invalid(f"unknown unit '{unit_code}'", field="unit_code")
            me = found
        scope = authz.area_clause(actor, Event.area_path, Event.owner_unit_id)
        open_states = [st.value for st in ACTIVE_TASK_STATES]
        if which == "owned":
            owned = select(Event).where(Event.owner_unit_id == me.id, scope)
            if open_only:
                owned = owned.where(Event.state.notin_(("closed", "called_back", "merged", "cancelled")))
            events = s.scalars(owned.order_by(Event.received_at.desc()).limit(limit)).unique().all()
            return [Item(e.number, e.title, e.state, None, None, None, None, None, e.dispatched_at, None)
                    for e in events]
        giver, taker = aliased(Unit), aliased(Unit)
        q = (select(Task, Event, giver, taker).join(Event, same_case(Task))
             .join(taker, taker.id == Task.unit_id).outerjoin(giver, giver.id == Task.dispatched_by_unit_id)
             .where(scope))
        if which == "from_above":
            q = q.where(Task.unit_id == me.id, giver.kind == "centre", giver.id != me.id)
        else:
            q = q.where(Task.dispatched_by_unit_id == me.id, Task.unit_id != me.id)
            q = q.where(taker.kind == "department") if which == "sideways" else q.where(taker.kind != "department")
        if open_only:
            q = q.where(Task.state.in_(open_states))
        out = []
        for task, event, g, t in s.execute(q.order_by(Task.dispatched_at.desc()).limit(limit * 2)).all():
            if which == "from_above" and g is not None and _rank(g.level) >= _rank(me.level):
                continue
            if which == "pushed_down" and _rank(t.level) <= _rank(me.level):
                continue
            out.append(Item(event.number, event.title, event.state, task.id, task.state, g.code if g else None,
                            t.code, t.name, task.dispatched_at, task.handle_due_at))
        return out[:limit]


def chain(uow: UnitOfWork, ref: str, actor: Actor) -> list[Link]:
    """Who gave which unit its task on this event, with the direction (一贯到底, and back up)."""
    authz.require(actor, perm.EVENT_READ)
    with uow:
        s = uow.session
        event = handling.load_event(s, ref)
        authz.ensure_visible(actor, event.area_path, [event.owner_unit_id, *(t.unit_id for t in event.tasks)],
                             what=f"event {ref}")
        ids = {t.dispatched_by_unit_id for t in event.tasks if t.dispatched_by_unit_id is not None}
        givers: dict[int, Any] = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}
        out = []
        for t in event.tasks:
            g = givers.get(t.dispatched_by_unit_id) if t.dispatched_by_unit_id else None
            out.append(Link(task_id=t.id, from_unit=g.code if g else None, from_level=g.level if g else None,
                            to_unit=t.unit.code, to_unit_name=t.unit.name, to_level=t.unit.level,
                            direction=direction(g.level if g else None, g.kind if g else None, t.unit.level,
                                                t.unit.kind),
                            role=t.role, state=t.state, dispatched_at=t.dispatched_at))
        return out

