"""Inboxes (消息中心): what supervision tells a person or a unit, read and unread.

A notification is addressed to a person or to a unit; a person sees their own and their unit's,
and nobody else's — whatever their role, an inbox is personal, so the scope here is the addressee,
not the area tree. Marking a unit's notification read marks it for the whole unit (one desk).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update

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
