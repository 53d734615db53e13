"""Inboxes (消息中心): what supervision tells a person or a unit, read and unread.

A notification is addressed to a person or to a unit; a person sees their own and their unit's,
and nobody else's — whatever their role, an inbox is personal, so the scope here is the addressee,
not the area tree. Marking a unit's notification read marks it for the whole unit (one desk).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import permissions as P
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


def _mine(actor: Actor) -> ColumnElement[bool]:
    if actor.person_id is None:
        raise Invalid("an inbox belongs to a person: name one", field="actor")
    terms: list[Any] = [Notification.person_id == actor.person_id]
    if actor.unit_id is not None:
        terms.append(Notification.unit_id == actor.unit_id)
    return or_(*terms)


def list_notifications(uow: UnitOfWork, actor: Actor, *, unread: bool | None = None, kind: Sequence[str] = (),
                       event_id: int | None = None, before_id: int | None = None, limit: int = 50
                       ) -> list[Notification]:
    """Newest first; ``before_id`` pages on (the last id of the previous page)."""
    authz.require(actor, P.EVENT_READ)
    q = select(Notification).where(_mine(actor)).order_by(Notification.id.desc()).limit(limit)
    if unread is True:
        q = q.where(Notification.read_at.is_(None))
    elif unread is False:
        q = q.where(Notification.read_at.is_not(None))
    if kind:
        q = q.where(Notification.kind.in_(list(kind)))
    if event_id is not None:
        q = q.where(Notification.event_id == event_id)
    if before_id is not None:
        q = q.where(Notification.id < before_id)
    with uow:
        return list(uow.session.scalars(q))


def unread_count(uow: UnitOfWork, actor: Actor) -> int:
    authz.require(actor, P.EVENT_READ)
    with uow:
        return int(uow.session.scalar(select(func.count(Notification.id))
                                      .where(_mine(actor), Notification.read_at.is_(None))) or 0)


def mark_read(uow: UnitOfWork, actor: Actor, ids: Sequence[int] | None, *, now: datetime | None = None) -> int:
    """Mark the given notifications (or, with ``ids=None``, all of the actor's) read; returns how many
    changed. Ids that are not the actor's are ignored, never revealed."""
    authz.require(actor, P.EVENT_READ)
    at = now or datetime.now(UTC)
    stmt = update(Notification).where(_mine(actor), Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    with uow:
        result: Any = uow.session.execute(stmt.values(read_at=at, read_by=actor.label))
        changed = result.rowcount
        uow.commit()
        return int(changed or 0)


# --- copies (抄送) -------------------------------------------------------------------------------


@dataclass
class CopyItem:
    task_id: int
    number: str
    title: str
    class_name: str | None
    urgency: str
    dispatched_at: datetime
    dispatched_by: str | None
    read_due_at: datetime | None
    read_at: datetime | None
    task_version: int
    #: Past its read deadline and still unread (逾期未阅).
    overdue: bool = False


@dataclass
class CopyPage:
    items: list[CopyItem]
    #: The unit's unread copies, all of them (the header's count).
    unread: int
    #: Of those, past their read deadline.
    unread_overdue: int
    next_before_id: int | None


def copies(uow: UnitOfWork, actor: Actor, *, unread: bool = True, before_id: int | None = None, limit: int = 50,
           now: datetime | None = None) -> CopyPage:
    """The copies (抄送) sent to the actor's unit, newest first, with the unit's unread count.

    Built for a district centre holding 100,000 unread copies: the page and the count read only the
    partial index of unread copies (``ix_tasks_unit_unread``), the page by ``before_id`` (keyset), so
    nothing is sorted and no page costs more than the first."""
    from shuzhi.adapters.db.tables import Event, EventClass, Task
    from shuzhi.domain.events import TaskRole, TaskState
    from shuzhi.services.cockpit import UNREAD_COPY

    authz.require(actor, P.EVENT_READ)
    if actor.unit_id is None:
        raise Invalid("copies are sent to a unit: sign in as a person of one", field="actor")
    if not 1 <= limit <= 200:
        raise Invalid("limit must be between 1 and 200", field="limit")
    at = now or datetime.now(UTC)
    mine = Task.unit_id == actor.unit_id
    which = UNREAD_COPY if unread else and_(Task.role == TaskRole.NOTIFY.value,
                                             Task.state == TaskState.READ.value)
    q = (select(Task.id, Event.number, Event.title, EventClass.name, Event.urgency, Task.dispatched_at,
                Task.dispatched_by, Task.read_due_at, Task.read_at, Task.version)
         .join(Event, same_case(Task)).outerjoin(EventClass, EventClass.id == Event.event_class_id)
         .where(mine, which).order_by(Task.id.desc()).limit(limit))
    if before_id is not None:
        q = q.where(Task.id < before_id)
    with uow:
        s = uow.session
        rows = s.execute(q).all()
        count = int(s.scalar(select(func.count()).select_from(Task).where(mine, UNREAD_COPY)) or 0)
        late = int(s.scalar(select(func.count()).select_from(Task).where(
            mine, UNREAD_COPY, Task.read_due_at < at)) or 0)
    items = [CopyItem(*r) for r in rows]
    for item in items:
        item.overdue = unread and item.read_due_at is not None and item.read_due_at < at
    return CopyPage(items=items, unread=count, unread_overdue=late,
                    next_before_id=items[-1].task_id if len(items) == limit else None)
