"""How accurate automatic dispatch was (准确派遣率).

:func:`dispatch_accuracy`: a dispatched task later returned (退单) counts as inaccurate — the
准确派遣率 of the evaluation rules (dispatched without return / dispatched), by rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from shuzhi.adapters.db.tables import (
    Event,
    Task,
    TimelineEntry,
)
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.permissions import RULE_READ
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


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
