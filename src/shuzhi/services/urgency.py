"""Raising an event's urgency (升级): the timeline says so, and its open tasks' deadlines follow.

The limits of a class depend on the urgency (domain brief §4: an emergency is counted in calendar
hours, a normal case in working days), so a task dispatched under the old urgency would otherwise
keep a deadline the new urgency does not allow. The rule:

* a running task (dispatched, accepted, extension asked) whose deadline came from the class's limits
  gets the new urgency's limit **counted from the raise** — the unit can only hurry from the moment it
  is told — and never a later deadline than it had (a raise never gives more time);
* the accept deadline moves only while the task is not yet signed for;
* a deadline a person chose (an approved extension, a leader's urge with a date) or a contingency
  plan set (the template's own limits) stays: it was not the class's limit in the first place;
* a suspended task keeps its stopped clock (the time left is counted again when it resumes).

Each moved task gets a ``task.deadline_moved`` line (``why: urgency``, from/to, the reason); a
calendar recompute later keeps that date, as it keeps every moved deadline. The supervision clock
follows by itself (it is recomputed whenever a task's deadline changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, TimelineEntry
from shuzhi.domain.events import RUNNING_TASK_STATES, TaskRole, TaskState
from shuzhi.domain.time_limits import Stage, Urgency
from shuzhi.services.actors import Actor
from shuzhi.services.deadlines import limit_for
from shuzhi.services.transitions import note

#: ``task.deadline_moved`` reasons that still count the class's limit (the clock only moved).
_CLASS_LIMIT_MOVES = {"suspension", "urgency"}


def raise_urgency(s: Session, event: Event, to: Urgency, actor: Actor, at: datetime, reason: str,
                  payload: dict[str, Any] | None = None) -> int:
    """Raise the event's urgency to ``to`` (no-op unless higher), write ``event.urgency_raise`` and
    move the open tasks' deadlines; returns how many tasks' deadlines moved."""
    before = event.urgency
    if to <= Urgency(before):
        return 0
    event.urgency = to.value
    event.updated_at = at
    note(s, event, actor, "event.urgency_raise", at, reason=reason, payload={**(payload or {}), "from": before,
                                                                             "to": to.value})
    return follow_urgency(s, event, before, actor, at, reason)


def _set_by_class(entries: Sequence[TimelineEntry]) -> tuple[bool, bool]:
    """Whether the task's accept and handle deadlines still come from the class's limits."""
    accept = handle = True
    for e in entries:
        payload = e.payload or {}
        if e.action == "task.create" and payload.get("plan_task"):
            return False, False  # the plan template's limits
        if e.action == "task.deadline_moved" and payload.get("to") and payload.get("why") not in _CLASS_LIMIT_MOVES:
            handle = False  # a date a person chose
    return accept, handle


def follow_urgency(s: Session, event: Event, before: str, actor: Actor, at: datetime, reason: str) -> int:
    """Move the running tasks' deadlines to the event's (new) urgency — see the module docstring."""
    from shuzhi.services.calendars import calendar_for  # calendars → unit_of_work → … imports us

    accept_limit = limit_for(event.event_class, event.urgency, Stage.ACCEPT)
    handle_limit = limit_for(event.event_class, event.urgency, Stage.HANDLE)
    if accept_limit is None and handle_limit is None:
        return 0
    running = [t for t in event.tasks
               if TaskState(t.state) in RUNNING_TASK_STATES and t.role != TaskRole.NOTIFY.value]
    if not running:
        return 0
    s.flush()
    lines: dict[int, list[TimelineEntry]] = {}
    for e in s.scalars(select(TimelineEntry).where(TimelineEntry.task_id.in_([t.id for t in running]))
                       .order_by(TimelineEntry.id)):
        lines.setdefault(e.task_id or 0, []).append(e)
    moved = 0
    for task in running:
        by_class_accept, by_class_handle = _set_by_class(lines.get(task.id, []))
        cal = calendar_for(s, task.unit_id)
        accept_due, handle_due = task.accept_due_at, task.handle_due_at
        if (by_class_accept and accept_limit is not None and accept_due is not None
                and task.state == TaskState.DISPATCHED.value):
            accept_due = min(accept_due, cal.deadline(at, accept_limit))
        if by_class_handle and handle_limit is not None and handle_due is not None:
            handle_due = min(handle_due, cal.deadline(at, handle_limit))
        if (accept_due, handle_due) == (task.accept_due_at, task.handle_due_at):
            continue
        payload: dict[str, Any] = {"why": "urgency", "from_urgency": before, "to_urgency": event.urgency}
        if handle_due != task.handle_due_at:
            payload.update({"from": _iso(task.handle_due_at), "to": _iso(handle_due)})
        if accept_due != task.accept_due_at:
            payload.update({"accept_from": _iso(task.accept_due_at), "accept_to": _iso(accept_due)})
        note(s, event, actor, "task.deadline_moved", at, task=task, reason=reason, payload=payload)
        task.accept_due_at, task.handle_due_at = accept_due, handle_due
        task.updated_at = at
        moved += 1
    return moved


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
