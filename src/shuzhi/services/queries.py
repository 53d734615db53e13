"""Read-side use cases: event lists with filters, keyset (cursor) pagination, detail and timeline."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, TimelineEntry, Unit
from shuzhi.domain.events import RUNNING_TASK_STATES
from shuzhi.domain.permissions import EVENT_READ
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.handling import load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

SORTS = {
    "received_at": (Event.received_at, False),
    "-received_at": (Event.received_at, True),
    "updated_at": (Event.updated_at, False),
    "-updated_at": (Event.updated_at, True),
    "number": (Event.number, False),
    "-number": (Event.number, True),
}


@dataclass
class EventFilter:
    state: list[str] = field(default_factory=list)
    event_class: list[str] = field(default_factory=list)
    major_class: str | None = None
    source: list[str] = field(default_factory=list)
    area_code: str | None = None
    unit_code: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    q: str | None = None
    # the lists behind the cockpit's figures (dispatched / closed since, overdue now)
    dispatched_from: datetime | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    overdue_at: datetime | None = None


def _encode_cursor(value: Any, ident: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, ident])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, is_time: bool) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, ident = json.loads(base64.urlsafe_b64decode(padded))
        if is_time:
            value = datetime.fromisoformat(value)
        return value, int(ident)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise Invalid("the cursor is not one this API gave out", field="cursor") from None


def _apply_filter(s: Session, stmt: Select[Any], f: EventFilter) -> Select[Any]:
    if f.state:
        stmt = stmt.where(Event.state.in_(f.state))
    if f.source:
        stmt = stmt.where(Event.source.in_(f.source))
    if f.event_class or f.major_class:
        classes = select(EventClass.id)
        if f.event_class:
            classes = classes.where(EventClass.code.in_(f.event_class))
        if f.major_class:
            classes = classes.where(EventClass.major_code == f.major_class)
        stmt = stmt.where(Event.event_class_id.in_(classes))
    if f.area_code:
        found = s.execute(select(Area.path, Area.valid_to).where(Area.code == f.area_code)).first()
        if found is None:
            raise Invalid(f"unknown area '{f.area_code}'", field="area_code")
        path, retired = found
        where = Event.area_path.startswith(path, autoescape=True)
        if retired is not None:
            # a retired area's list keeps the events that happened in it, also those whose open work an
            # area change moved on (issue #20); only a retired area is ever an event's origin
            where = or_(where, Event.origin_area_path.startswith(path, autoescape=True))
        stmt = stmt.where(where)
    if f.unit_code:
        unit_id = s.scalar(select(Unit.id).where(Unit.code == f.unit_code))
        if unit_id is None:
            raise Invalid(f"unknown unit '{f.unit_code}'", field="unit_code")
        stmt = stmt.where(or_(
            Event.owner_unit_id == unit_id,
            exists().where(and_(same_case(Task), Task.unit_id == unit_id)),
        ))
    if f.received_from:
        stmt = stmt.where(Event.received_at >= f.received_from)
    if f.received_to:
        stmt = stmt.where(Event.received_at < f.received_to)
    if f.received_from and f.received_to and f.received_to <= f.received_from:
        raise Invalid("received_to must be after received_from", field="received_to")
    if f.dispatched_from:
        stmt = stmt.where(Event.dispatched_at >= f.dispatched_from)
    if f.closed_from:
        stmt = stmt.where(Event.closed_at >= f.closed_from)
    if f.closed_to:
        stmt = stmt.where(Event.closed_at < f.closed_to)
    if f.overdue_at:
        # an event with a task still owing work past its handling deadline (the cockpit's 超期 figure)
        stmt = stmt.where(exists().where(and_(
            same_case(Task), Task.state.in_(sorted(st.value for st in RUNNING_TASK_STATES)),
            Task.handle_due_at < f.overdue_at)))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(or_(Event.title.like(like), Event.number.like(like), Event.address.like(like)))
    return stmt


def list_events(
    uow: UnitOfWork, f: EventFilter, *, actor: Actor, sort: str = "-received_at", cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Event], str | None]:
    """A page of the events in the actor's scope and the cursor of the next page (None on the last one).

    Keyset pagination on (sort key, id) keeps every page as cheap as the first, however deep.
    """
    authz.require(actor, EVENT_READ)
    if sort not in SORTS:
        raise Invalid(f"sort must be one of {', '.join(SORTS)}", field="sort")
    column, desc = SORTS[sort]
    is_time = column is not Event.number
    with uow:
        s = uow.session
        stmt = _apply_filter(s, select(Event), f).where(authz.event_clause(actor))
        if cursor:
            value, ident = _decode_cursor(cursor, is_time)
            if desc:
                stmt = stmt.where(or_(column < value, and_(column == value, Event.id < ident)))
            else:
                stmt = stmt.where(or_(column > value, and_(column == value, Event.id > ident)))
        order = (column.desc(), Event.id.desc()) if desc else (column.asc(), Event.id.asc())
        rows = list(s.scalars(stmt.order_by(*order).limit(limit + 1)).unique())
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = _encode_cursor(getattr(last, column.key), last.id)
        return rows, next_cursor


def count_events(uow: UnitOfWork, f: EventFilter, *, actor: Actor) -> int:
    """How many events in the actor's scope match (counts never include what the actor cannot list)."""
    authz.require(actor, EVENT_READ)
    with uow:
        stmt = _apply_filter(uow.session, select(func.count()).select_from(Event), f).where(authz.event_clause(actor))
        return int(uow.session.scalar(stmt) or 0)


@dataclass(frozen=True)
class EventView:
    """An event as one person may read it: ``tasks`` are the tasks he may see — all of them, or, for a
    unit whose task was returned or cancelled, its own tasks only (issue #15)."""

    event: Event
    tasks: list[Task]


def get_event(uow: UnitOfWork, ref: str, actor: Actor) -> EventView:
    """One event in the actor's scope (404 otherwise), with the tasks he may see."""
    authz.require(actor, EVENT_READ)
    with uow:
        event = load_visible_event(uow.session, ref, actor)
        own = authz.history_task_ids(actor, event)
        tasks = list(event.tasks) if own is None else [t for t in event.tasks if t.id in own]
        return EventView(event, tasks)


def timeline(uow: UnitOfWork, ref: str, actor: Actor) -> list[TimelineEntry]:
    """Every change of an event in the actor's scope, oldest first."""
    authz.require(actor, EVENT_READ)
    with uow:
        event = load_visible_event(uow.session, ref, actor)
        stmt = select(TimelineEntry).where(TimelineEntry.event_id == event.id).order_by(TimelineEntry.id)
        own = authz.history_task_ids(actor, event)
        if own is not None:
            # a unit whose task ended reads its own part of the record only (#15)
            stmt = stmt.where(TimelineEntry.task_id.in_(own or [0]))
        return list(uow.session.scalars(stmt))
