"""A unit's task (任务): read, accept, return, ask for more time, be suspended and resumed, report back.

One function per use case, each over a unit of work: the permission (the unit's own work needs
``task.handle``, decisions on its time ``task.decide``), the actor's right to this task, the optimistic
version, then the task's move through :mod:`shuzhi.services.transitions` (timeline, hooks) and the
event following its tasks (``sync_event``). The centre's side of the loop is :mod:`shuzhi.services.handling`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, Task
from shuzhi.domain.events import TaskAction
from shuzhi.domain.permissions import TASK_DECIDE, TASK_HANDLE
from shuzhi.services import commands as c
from shuzhi.services.actors import Actor
from shuzhi.services.calendars import calendar_for
from shuzhi.services.deadlines import resumed_due_at
from shuzhi.services.errors import Invalid
from shuzhi.services.handling import _check_version, _load_task, _now, _run, load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.transitions import move_task, note, sync_event
from shuzhi.services.unit_of_work import UnitOfWork

# --- a unit's task -------------------------------------------------------------------------------


#: Who may act on a task: the unit's own people for its work, the centre for its decisions.
_TASK_PERMISSION = {
    TaskAction.READ: TASK_HANDLE, TaskAction.ACCEPT: TASK_HANDLE, TaskAction.RETURN: TASK_HANDLE,
    TaskAction.REQUEST_EXTENSION: TASK_HANDLE, TaskAction.REPORT_BACK: TASK_HANDLE,
    TaskAction.APPROVE_EXTENSION: TASK_DECIDE, TaskAction.DENY_EXTENSION: TASK_DECIDE,
    TaskAction.SUSPEND: TASK_DECIDE, TaskAction.RESUME: TASK_DECIDE,
}


def _task_action(uow: UnitOfWork, ref: str, task_id: int, action: TaskAction, actor: Actor, at: datetime,
                 expected_version: int | None, reason: str | None = None,
                 before: Callable[[Session, Event, Task], None] | None = None,
                 after: Callable[[Session, Event, Task], None] | None = None) -> Event:
    permission = _TASK_PERMISSION[action]
    authz.require(actor, permission)

    def work(s: Session) -> Event:
        event = load_visible_event(s, ref, actor)
        task = _load_task(s, event, task_id)
        # a unit's work (accept, return, report back …) is done by the unit holding the live task or
        # recorded for it by the event's centre; decisions on its time are the deciding centre's
        if permission == TASK_HANDLE:
            authz.ensure_can_act_on_task(actor, event, task)
        else:
            authz.ensure_can_decide_task(actor, event, task)
        _check_version(task, expected_version)
        if before is not None:
            before(s, event, task)
        move_task(s, event, task, action, actor, at, reason=reason)
        if after is not None:
            after(s, event, task)
        sync_event(s, event, actor, at)
        return event

    return _run(uow, work)


def read_task(uow: UnitOfWork, ref: str, task_id: int, actor: Actor, *, now: datetime | None = None) -> Event:
    at = _now(now)

    def stamp(_s: Session, _e: Event, t: Task) -> None:
        t.read_at = at
        t.ended_at = at

    return _task_action(uow, ref, task_id, TaskAction.READ, actor, at, None, after=stamp)


def accept_task(uow: UnitOfWork, ref: str, task_id: int, cmd: c.OptionalReason, actor: Actor, *,
                now: datetime | None = None) -> Event:
    """Sign for a task (签收); the handling clock keeps running from dispatch."""
    at = _now(now)

    def stamp(_s: Session, _e: Event, t: Task) -> None:
        t.accepted_at = at

    return _task_action(uow, ref, task_id, TaskAction.ACCEPT, actor, at, cmd.expected_version, cmd.reason,
                        after=stamp)


def return_task(uow: UnitOfWork, ref: str, task_id: int, cmd: c.WithReason, actor: Actor, *,
                now: datetime | None = None) -> Event:
    """Return a misrouted task (退单) with a reason; it goes back to the centre that dispatched it."""
    at = _now(now)

    def stamp(_s: Session, _e: Event, t: Task) -> None:
        t.ended_at = at
        t.end_reason = cmd.reason

    return _task_action(uow, ref, task_id, TaskAction.RETURN, actor, at, cmd.expected_version, cmd.reason,
                        after=stamp)


def request_extension(uow: UnitOfWork, ref: str, task_id: int, cmd: c.RequestExtension, actor: Actor, *,
                      now: datetime | None = None) -> Event:
    """Ask for more time (延期申请) — only before the deadline, and only for a later one."""
    at = _now(now)

    def check(_s: Session, _e: Event, t: Task) -> None:
        if t.handle_due_at is not None and at >= t.handle_due_at:
            raise Invalid("an extension must be asked before the deadline; this task is already overdue",
                          field="until")
        if t.handle_due_at is not None and cmd.until <= t.handle_due_at:
            raise Invalid("the new deadline must be later than the current one", field="until")
        if cmd.until <= at:
            raise Invalid("the new deadline must be in the future", field="until")
        t.extension_requested_until = cmd.until.astimezone(UTC)

    return _task_action(uow, ref, task_id, TaskAction.REQUEST_EXTENSION, actor, at, cmd.expected_version,
                        cmd.reason, before=check)


def decide_extension(uow: UnitOfWork, ref: str, task_id: int, cmd: c.DecideExtension, actor: Actor, *,
                     now: datetime | None = None) -> Event:
    """The centre approves (the deadline moves) or denies an extension request."""
    at = _now(now)
    action = TaskAction.APPROVE_EXTENSION if cmd.approve else TaskAction.DENY_EXTENSION

    def check(_s: Session, _e: Event, t: Task) -> None:
        if cmd.until is None:
            return
        if cmd.until <= at:
            raise Invalid("the new deadline must be in the future", field="until")
        if t.handle_due_at is not None and cmd.until <= t.handle_due_at:
            raise Invalid("the new deadline must be later than the current one", field="until")

    def apply(s: Session, e: Event, t: Task) -> None:
        granted = (cmd.until.astimezone(UTC) if cmd.until is not None else t.extension_requested_until)
        if cmd.approve and granted is not None:
            note(s, e, actor, "task.deadline_moved", at, task=t, payload={
                "from": t.handle_due_at.isoformat() if t.handle_due_at else None,
                "to": granted.isoformat(), "asked": t.extension_requested_until.isoformat()
                if t.extension_requested_until else None})
            t.handle_due_at = granted
        t.extension_requested_until = None

    return _task_action(uow, ref, task_id, action, actor, at, cmd.expected_version, cmd.reason, before=check,
                        after=apply)


def suspend_task(uow: UnitOfWork, ref: str, task_id: int, cmd: c.WithReason, actor: Actor, *,
                 now: datetime | None = None) -> Event:
    """Stop the clock (挂起), e.g. waiting for weather or a court ruling."""
    at = _now(now)

    def stamp(_s: Session, _e: Event, t: Task) -> None:
        t.suspended_at = at

    return _task_action(uow, ref, task_id, TaskAction.SUSPEND, actor, at, cmd.expected_version, cmd.reason,
                        after=stamp)


def resume_task(uow: UnitOfWork, ref: str, task_id: int, cmd: c.OptionalReason, actor: Actor, *,
                now: datetime | None = None) -> Event:
    """Restart the clock: the deadline moves by the working time the task was suspended."""
    at = _now(now)

    def apply(s: Session, e: Event, t: Task) -> None:
        if t.suspended_at is not None and t.handle_due_at is not None:
            new_due = resumed_due_at(e.event_class, e.urgency, t.handle_due_at, t.suspended_at, at,
                                     calendar_for(s, t.unit_id))
            note(s, e, actor, "task.deadline_moved", at, task=t, payload={
                "from": t.handle_due_at.isoformat(), "to": new_due.isoformat(), "why": "suspension"})
            t.handle_due_at = new_due
        t.suspended_at = None

    return _task_action(uow, ref, task_id, TaskAction.RESUME, actor, at, cmd.expected_version, cmd.reason,
                        after=apply)


def report_back(uow: UnitOfWork, ref: str, task_id: int, cmd: c.ReportBack, actor: Actor, *,
                now: datetime | None = None) -> Event:
    """The unit reports what it did (处置反馈)."""
    at = _now(now)

    def stamp(_s: Session, _e: Event, t: Task) -> None:
        t.reported_at = at
        t.result = cmd.result

    return _task_action(uow, ref, task_id, TaskAction.REPORT_BACK, actor, at, cmd.expected_version, None,
                        after=stamp)
