"""Applying the domain's transition tables to stored events and tasks, with a timeline line each.

Every state change goes through :func:`move_event` or :func:`move_task`, so no change can escape the
timeline (时间线): the table refuses what it does not allow, and the entry records actor, time,
from, to, reason and payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, Task, TimelineEntry
from shuzhi.domain.events import (
    EventAction,
    EventState,
    IllegalTransition,
    TaskAction,
    TaskRole,
    TaskState,
    event_action_after_task_change,
    next_event_state,
    next_task_state,
)
from shuzhi.services import hooks
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict


def note(
    session: Session,
    event: Event,
    actor: Actor,
    action: str,
    at: datetime,
    *,
    task: Task | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one immutable timeline entry (also for actions that change no state, like urging)."""
    entry = TimelineEntry(
        event_id=event.id,
        task_id=task.id if task is not None else None,
        at=at,
        actor_id=actor.person_id,
        actor=actor.label,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        payload=payload or {},
    )
    session.add(entry)
    return entry


def move_event(
    session: Session,
    event: Event,
    action: EventAction,
    actor: Actor,
    at: datetime,
    *,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    before = EventState(event.state)
    try:
        after = next_event_state(before, action)
    except IllegalTransition as exc:
        raise Conflict(str(exc), details={"state": before.value, "action": action.value}) from None
    event.state = after.value
    event.updated_at = at
    note(session, event, actor, f"event.{action.value}", at, from_state=before.value, to_state=after.value,
         reason=reason, payload=payload)


def move_task(
    session: Session,
    event: Event,
    task: Task,
    action: TaskAction,
    actor: Actor,
    at: datetime,
    *,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    before = TaskState(task.state)
    try:
        after = next_task_state(before, action)
    except IllegalTransition as exc:
        raise Conflict(str(exc), details={"state": before.value, "action": action.value}) from None
    task.state = after.value
    task.updated_at = at
    body = {"unit": task.unit.code if task.unit is not None else None, "role": task.role}
    body.update(payload or {})
    note(session, event, actor, f"task.{action.value}", at, task=task, from_state=before.value,
         to_state=after.value, reason=reason, payload=body)
    for hook in hooks.TASK_HOOKS:
        hook(session, event, task, action.value)


def sync_event(session: Session, event: Event, actor: Actor, at: datetime, reason: str | None = None) -> None:
    """Move the event as far as its tasks now take it (accepted, reported back, all returned …)."""
    for _ in range(4):  # each step changes the state; four is more than any chain needs
        action = event_action_after_task_change(
            EventState(event.state), [(TaskRole(t.role), TaskState(t.state)) for t in event.tasks]
        )
        if action is None:
            return
        if action is EventAction.RETURN:
            event.return_count += 1
        if action is EventAction.REPORT_BACK:
            event.reported_at = at
        if action is EventAction.ALL_READ:
            # A notify-only event closes when its last unit has read it; without the moment, closure
            # figures (cockpit, searches by closing time) would miss it.
            event.closed_at = at
        move_event(session, event, action, actor, at, reason=reason)
