"""The dispatching centre's desk: tasks waiting for its decision (extension requests, 延期审批).

An extension is asked by the unit and decided by the centre (``task.decide``); the centre needs the
open requests in one list, in its scope (the same rule as the event list, ``authz.event_clause``),
the nearest current deadline first — a request decided after the deadline is a late decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Event, EventClass, Task, TimelineEntry, Unit
from shuzhi.domain import permissions as P
from shuzhi.domain.events import TaskState
from shuzhi.services.actors import Actor
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PendingDecision:
    task_id: int
    task_state: str
    task_version: int
    unit_code: str
    unit_name: str
    handle_due_at: datetime | None
    extension_requested_until: datetime | None
    reason: str | None
    number: str
    title: str
    urgency: str
    class_name: str | None


def pending_decisions(uow: UnitOfWork, actor: Actor, limit: int = 200) -> list[PendingDecision]:
    """Extension requests in the actor's scope, the nearest current deadline first, with the reason
    the unit gave (from the timeline line of the request)."""
    authz.require(actor, P.TASK_DECIDE)
    with uow:
        s = uow.session
        # an alias, so that the scope's "has a task for my unit" subquery is not correlated with this task
        t = aliased(Task)
        rows: Any = s.execute(
            select(t.id, t.state, t.version, Unit.code, Unit.name, t.handle_due_at,
                   t.extension_requested_until, Event.number, Event.title, Event.urgency, EventClass.name)
            .join(Event, same_case(t)).join(Unit, Unit.id == t.unit_id)
            .outerjoin(EventClass, EventClass.id == Event.event_class_id)
            .where(t.state == TaskState.EXTENSION_REQUESTED.value, authz.event_clause(actor))
            .order_by(t.handle_due_at.is_(None), t.handle_due_at, t.id).limit(limit)).all()
        reasons = _request_reasons(s, [r[0] for r in rows])
        return [PendingDecision(task_id=r[0], task_state=r[1], task_version=r[2], unit_code=r[3], unit_name=r[4],
                                handle_due_at=r[5], extension_requested_until=r[6], reason=reasons.get(r[0]),
                                number=r[7], title=r[8], urgency=r[9], class_name=r[10]) for r in rows]


def _request_reasons(s: Session, task_ids: list[int]) -> dict[int, str | None]:
    if not task_ids:
        return {}
    out: dict[int, str | None] = {}
    lines = s.execute(select(TimelineEntry.task_id, TimelineEntry.reason)
                      .where(TimelineEntry.task_id.in_(task_ids), TimelineEntry.action == "task.request_extension")
                      .order_by(TimelineEntry.id)).all()
    for task_id, reason in lines:
        if task_id is not None:
            out[task_id] = reason  # the newest request wins
    return out
