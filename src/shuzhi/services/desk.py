"""The centre's desk in the browser: which desk actions a person may take on an event now, and the
desk inbox of a unit (tasks and copies coming down from above, work coming up from below).

The event's own ``allowed_actions`` answer "what does the state allow"; a page must also know what
*this person* may do (role, standing on the event, the unit's place in the centre tree), or it shows
buttons that end in a 403. :func:`desk_actions` asks the same questions the services ask before they
act (:mod:`shuzhi.services.security.authz`, :mod:`shuzhi.domain.standing`), without acting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Area, Event, Task, Unit
from shuzhi.adapters.db.tables_supervision import Escalation, Notification
from shuzhi.domain import permissions as P
from shuzhi.domain import standing
from shuzhi.domain.events import (
    ACTIVE_TASK_STATES,
    EventAction,
    EventState,
    TaskRole,
    TaskState,
    allowed_event_actions,
)
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.handling import load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

#: The desk actions a page may offer, in the order the event page shows them.
DESK_ACTIONS = ("copy", "dispatch", "auto_dispatch", "override", "urge", "push_down", "hand_sideways",
                "escalate", "verify", "close", "callback", "reclassify", "merge", "cancel", "withdraw")

#: Task states an urge presses on (a notify copy has no clock and is never urged).
_URGEABLE = {TaskState.DISPATCHED, TaskState.ACCEPTED, TaskState.EXTENSION_REQUESTED}
_LEVELS = ("city", "district", "town", "village", "grid")


@dataclass
class DeskActions:
    number: str
    state: str
    version: int
    actions: list[str] = field(default_factory=list)
    #: lower centres this person may push the event down to (纵向交办), by code and name
    push_down_to: list[dict[str, str]] = field(default_factory=list)
    #: the centre an escalation (上报) goes to
    escalate_to: dict[str, str] | None = None


def _rank(level: str | None) -> int:
    return _LEVELS.index(level) if level in _LEVELS else -1


def desk_actions(uow: UnitOfWork, ref: str, actor: Actor) -> DeskActions:
    """What ``actor`` may do on the event now; an event outside the scope is not found (404)."""
    authz.require(actor, P.EVENT_READ)
    with uow:
        s = uow.session
        event = load_visible_event(s, ref, actor)
        return _desk_actions(s, event, actor)


def _desk_actions(s: Session, event: Event, actor: Actor) -> DeskActions:
    out = DeskActions(number=event.number, state=event.state, version=event.version)
    who = standing.Who(unit_id=actor.unit_id, area_paths=actor.area_paths)
    if not standing.may_act_on_event(who, authz.event_facts(event)):
        return out  # a unit sees its own task's event; its work is on the task, not here
    state = EventState(event.state)
    by_state = set(allowed_event_actions(state))
    can = actor.permissions.__contains__
    acts: set[str] = set()
    if can(P.EVENT_DISPATCH):
        if EventAction.NOTIFY in by_state:
            acts.add("copy")
        if EventAction.DISPATCH in by_state:
            if state in (EventState.REGISTERED, EventState.NOTIFYING):
                acts.add("dispatch")  # from a copy (notifying) this turns it into a case
            if state is EventState.REGISTERED:
                acts.add("auto_dispatch")  # the rules decide for a registered event only
            acts.add("override")
        for a, name in ((EventAction.RECLASSIFY, "reclassify"), (EventAction.MERGE, "merge"),
                        (EventAction.CANCEL, "cancel"), (EventAction.WITHDRAW, "withdraw")):
            if a in by_state:
                acts.add(name)
        me = s.get(Unit, actor.unit_id) if actor.unit_id is not None else None
        open_for_moves = state in (EventState.REGISTERED, EventState.NOTIFYING, EventState.DISPATCHED,
                                   EventState.HANDLING)
        if open_for_moves and EventAction.DISPATCH in by_state:
            acts.add("hand_sideways")
            if me is not None and me.kind == "centre" and event.area_path:
                out.push_down_to = [{"code": u.code, "name": u.name} for u in _lower_centres(s, me, event.area_path)]
                if out.push_down_to:
                    acts.add("push_down")
        if open_for_moves and me is not None and me.kind == "centre" and me.parent_id is not None:
            upper = s.get(Unit, me.parent_id)
            mine = any(t.unit_id == me.id and TaskState(t.state) in ACTIVE_TASK_STATES for t in event.tasks)
            if upper is not None and upper.kind == "centre" and (event.owner_unit_id == me.id or mine):
                acts.add("escalate")
                out.escalate_to = {"code": upper.code, "name": upper.name}
    if can(P.EVENT_URGE) and any(TaskState(t.state) in _URGEABLE and t.role != TaskRole.NOTIFY.value
                                 for t in event.tasks):
        acts.add("urge")
    if can(P.EVENT_VERIFY):
        for a, name in ((EventAction.VERIFY, "verify"), (EventAction.CLOSE, "close"),
                        (EventAction.CALLBACK_SATISFIED, "callback")):
            if a in by_state:
                acts.add(name)
    out.actions = [a for a in DESK_ACTIONS if a in acts]
    return out


def _lower_centres(s: Session, me: Unit, area_path: str) -> list[Unit]:
    """The active centres below ``me`` whose area holds the event: only the areas on the event's own
    path are asked for (a city has 1,031 town centres; the event lies in one of them)."""
    parts = [p for p in area_path.split("/") if p]
    on_path = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
    lower = [lv for lv in _LEVELS if _rank(lv) > _rank(me.level)]
    return list(s.scalars(select(Unit).join(Area, Area.id == Unit.area_id)
                          .where(Unit.kind == "centre", Unit.active.is_(True), Unit.level.in_(lower),
                                 Area.path.in_(on_path))
                          .order_by(Unit.level, Unit.code)))


# --- the desk inbox -------------------------------------------------------------------------------

#: ``down``: what came from above to my unit (copies to read, tasks to sign for and handle);
#: ``up``: what came from below and waits for my unit (reported back, returned, extension asked,
#: escalated to us beyond the lower unit's capacity); ``mine``: the open tasks assigned to me by name
#: (事件责任人, issue #20), whichever unit holds them.
BOXES = ("down", "up", "mine")
_WAITING_UP = (TaskState.REPORTED_BACK.value, TaskState.EXTENSION_REQUESTED.value, TaskState.RETURNED.value)


@dataclass
class InboxItem:
    kind: str  # copy | task | reported_back | extension_requested | returned | escalated
    box: str
    unread: bool
    event_number: str
    event_title: str
    event_state: str
    at: datetime
    task_id: int | None = None
    task_state: str | None = None
    role: str | None = None
    unit_name: str | None = None
    dispatched_by: str | None = None
    handle_due_at: datetime | None = None


def _my_unit(actor: Actor) -> int:
    if actor.unit_id is None:
        raise Invalid("an inbox belongs to a person of a unit", field="actor")
    return actor.unit_id


def _down_query(unit_id: int, unread: bool | None) -> Any:
    # a copy is unread until acknowledged (已阅); a task is unread until signed for (签收)
    unread_states = (TaskState.NOTIFIED.value, TaskState.DISPATCHED.value)
    live = [st.value for st in ACTIVE_TASK_STATES] + [TaskState.READ.value]
    q = select(Task, Event).join(Event, same_case(Task)).where(Task.unit_id == unit_id)
    if unread is True:
        q = q.where(Task.state.in_(unread_states))
    elif unread is False:
        q = q.where(Task.state.in_([x for x in live if x not in unread_states]))
    else:
        q = q.where(Task.state.in_(live))
    return q


def _up_query(unit_id: int) -> Any:
    # a returned task waits only while its event waits for re-dispatch; so does a task a lower unit
    # escalated to us (上报, beyond its capacity) until we dispatch the event again
    waiting = Event.state == EventState.REGISTERED.value
    escalated_to_us = exists().where(Escalation.task_id == Task.id, Escalation.district_code == Task.district_code,
                                            Escalation.to_unit_id == unit_id)
    return (select(Task, Event).join(Event, same_case(Task))
            .where(Task.unit_id != unit_id,
                   or_(and_(Task.dispatched_by_unit_id == unit_id,
                            or_(Task.state.in_(_WAITING_UP[:2]),
                                and_(Task.state == TaskState.RETURNED.value, waiting))),
                       and_(Task.state == TaskState.ESCALATED.value, waiting, escalated_to_us))))


def _mine_query(actor: Actor) -> Any:
    if actor.person_id is None:
        raise Invalid("tasks are assigned to a person: sign in as one", field="actor")
    return (select(Task, Event).join(Event, same_case(Task))
            .where(Task.assignee_id == actor.person_id, Task.state.in_([st.value for st in ACTIVE_TASK_STATES])))


def inbox(uow: UnitOfWork, actor: Actor, *, box: str = "down", unread: bool | None = None,
          before_id: int | None = None, limit: int = 50) -> list[InboxItem]:
    """The actor's unit's desk inbox, newest first; ``before_id`` (a task id) pages on."""
    authz.require(actor, P.EVENT_READ)
    if box not in BOXES:
        raise Invalid(f"box must be one of {', '.join(BOXES)}", field="box")
    if not 1 <= limit <= 200:
        raise Invalid("limit must be between 1 and 200", field="limit")
    if box == "mine":
        q = _mine_query(actor)
    else:
        unit_id = _my_unit(actor)
        q = _down_query(unit_id, unread) if box == "down" else _up_query(unit_id)
    if before_id is not None:
        q = q.where(Task.id < before_id)
    q = q.order_by(Task.id.desc()).limit(limit)
    with uow:
        rows = uow.session.execute(q).all()
        items = []
        for task, event in rows:
            if box == "mine":
                kind, is_unread, by = "assigned", task.state == TaskState.DISPATCHED.value, task.dispatched_by
            elif box == "down":
                kind = "copy" if task.role == TaskRole.NOTIFY.value else "task"
                is_unread = task.state in (TaskState.NOTIFIED.value, TaskState.DISPATCHED.value)
                by = task.dispatched_by
            else:
                kind = task.state
                is_unread = True
                by = task.unit.name
            items.append(InboxItem(kind=kind, box=box, unread=is_unread, event_number=event.number,
                                   event_title=event.title, event_state=event.state,
                                   at=task.updated_at or task.dispatched_at, task_id=task.id, task_state=task.state,
                                   role=task.role, unit_name=task.unit.name, dispatched_by=by,
                                   handle_due_at=task.handle_due_at))
        return items


@dataclass
class Counts:
    unread_copies: int
    tasks_waiting: int
    from_below: int
    unread_messages: int
    #: open tasks assigned to me by name (事件责任人)
    assigned_to_me: int = 0


def counts(uow: UnitOfWork, actor: Actor) -> Counts:
    """The header's figures: unread copies, tasks to sign for, work waiting from below, unread messages.

    Counted on ``ix_tasks_unit_state`` (unit, state), so a district desk with 100,000 unread copies
    counts one index range, not its rows' events."""
    authz.require(actor, P.EVENT_READ)
    if actor.unit_id is None:
        return Counts(0, 0, 0, _messages(uow, actor))
    unit_id = actor.unit_id
    with uow:
        s = uow.session
        mine = int(s.scalar(select(func.count()).select_from(_mine_query(actor).subquery())) or 0) \
            if actor.person_id is not None else 0
        by_state = dict(s.execute(select(Task.state, func.count(Task.id))
                                  .where(Task.unit_id == unit_id,
                                         Task.state.in_((TaskState.NOTIFIED.value, TaskState.DISPATCHED.value)))
                                  .group_by(Task.state)).all())
        up = s.scalar(select(func.count()).select_from(_up_query(unit_id).subquery())) or 0
    return Counts(unread_copies=int(by_state.get(TaskState.NOTIFIED.value, 0)),
                  tasks_waiting=int(by_state.get(TaskState.DISPATCHED.value, 0)),
                  from_below=int(up), unread_messages=_messages(uow, actor), assigned_to_me=mine)


def _messages(uow: UnitOfWork, actor: Actor) -> int:
    if actor.person_id is None:
        return 0
    terms: list[Any] = [Notification.person_id == actor.person_id]
    if actor.unit_id is not None:
        terms.append(Notification.unit_id == actor.unit_id)
    with uow:
        return int(uow.session.scalar(select(func.count(Notification.id))
                                      .where(or_(*terms), Notification.read_at.is_(None))) or 0)
