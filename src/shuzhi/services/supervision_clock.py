"""Keeping every task's supervision clock in step with the task, in the same transaction.

Whatever changes a task — dispatch, accept, extension, suspension, rework, a leader's urge, a plan
creating tasks — the task's row in ``supervision_clocks`` is recomputed when the session flushes
(an ``after_flush`` hook on every session), so the durable scheduler can never act on a stale
deadline and no caller has to remember to tell it. The clock also carries what the sweep writes about
its task and event (unit, number, title, area, class); a change of the event's class reaches the
clocks of its tasks by the same hook. The hook only reads what the flush has just
written and writes the clock with plain SQL on the same connection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, bindparam, delete, insert, inspect, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import of_number
from shuzhi.adapters.db.tables import Event, EventClass, Task, UTCDateTime
from shuzhi.adapters.db.tables_supervision import SupervisionClock, SupervisionRules, SupervisionStep
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.supervision import SupervisionRules as Rules
from shuzhi.domain.supervision import TaskClock, plan, plan_to_json, read_deadline, rules_for
from shuzhi.domain.time_limits import Stage, TimeLimits, Urgency
from shuzhi.services.calendars import calendar_for
from shuzhi.services.ttl_cache import TTLCache

_rules: TTLCache[tuple[tuple[str | None, Rules], ...]] = TTLCache(ttl=30)
_WATCHED = ("state", "accept_due_at", "handle_due_at", "dispatched_at", "unit_id", "dispatched_by_unit_id",
            "read_due_at")
#: The task's column a clock carries besides those it is planned from (see ``SupervisionClock``).
_ASSIGNEE = ("assignee_id",)
#: The event's columns a clock carries (see ``SupervisionClock``).
_EVENT_WATCHED = ("number", "title", "area_path", "event_class_id")


def rule_sets(conn: Connection) -> tuple[tuple[str | None, Rules], ...]:
    """Every area's own thresholds (and the installation-wide ones, area ``None``); cached 30 s."""

    def load() -> tuple[tuple[str | None, Rules], ...]:
        rows = conn.execute(select(SupervisionRules.area_path, SupervisionRules.rules)).all()
        return tuple((path, Rules.from_mapping(rules)) for path, rules in rows)

    sets = _rules.get(str(conn.engine.url), load)
    assert sets is not None
    return sets


def load_rules(conn: Connection, area_path: str | None = None) -> Rules:
    """The thresholds in force for tasks in ``area_path`` (see :func:`shuzhi.domain.supervision.rules_for`):
    the deepest area's own at or above it, else the installation-wide ones, else the defaults."""
    return rules_for(rule_sets(conn), area_path)


def forget_rules() -> None:
    _rules.clear()


def _event_rows(conn: Connection, event_ids: set[int]) -> dict[int, Any]:
    """Per event id, the columns the clock carries, with its urgency and its class's time limits."""
    return {r.id: r for r in conn.execute(
        select(Event.id, Event.number, Event.title, Event.area_path, Event.event_class_id, Event.urgency,
               EventClass.time_limits)
        .select_from(Event).outerjoin(EventClass, EventClass.id == Event.event_class_id)
        .where(Event.id.in_(event_ids)))}


def _handle_unit(ev: Any) -> Any:
    if ev is None or not ev.time_limits:
        return None
    try:
        limit = TimeLimits.from_mapping(ev.time_limits).get(Urgency(ev.urgency), Stage.HANDLE)
    except ValueError:
        return None
    return None if limit is None else limit.unit


def sync(session: Session, task: Task, since: datetime) -> None:
    """Recompute the task's plan and store it (or drop the clock when nothing is left to supervise)."""
    sync_many(session, [(task, since)])


def sync_many(session: Session, tasks: Sequence[tuple[Task, datetime]]) -> None:
    """Recompute the plans of these tasks (each from its ``since``) and store them, in one pass.

    Each plan is exactly :func:`shuzhi.domain.supervision.plan` of the task's clock on its unit's working
    calendar (its centre's office hours, the entered years); what is shared — the steps already done,
    the events' columns, the calendars of the units, the deletes and inserts — is read and written once
    for all the tasks, so a bundle's eight tasks cost a handful of statements, not forty."""
    if not tasks:
        return
    conn = session.connection()
    ids = [task.id for task, _ in tasks]
    done: dict[int, set[tuple[str, Any]]] = defaultdict(set)
    for task_id, step, deadline in conn.execute(
            select(SupervisionStep.task_id, SupervisionStep.step, SupervisionStep.deadline)
            .where(SupervisionStep.task_id.in_(ids))):
        done[task_id].add((str(step), deadline))
    events = _event_rows(conn, {task.event_id for task, _ in tasks})
    calendars: dict[int | None, Any] = {}
    rows: list[dict[str, Any]] = []
    for task, since in tasks:
        ev = events.get(task.event_id)
        clock = TaskClock(
            state=TaskState(task.state), role=TaskRole(task.role), dispatched_at=task.dispatched_at,
            accept_due_at=task.accept_due_at, handle_due_at=task.handle_due_at,
            handle_unit=_handle_unit(ev) if task.handle_due_at is not None else None,
            since=since, done=frozenset(done.get(task.id, ())), read_due_at=task.read_due_at,
        )
        if clock.state.value not in _RUNNING:
            continue
        if task.unit_id not in calendars:
            with session.no_autoflush:
                calendars[task.unit_id] = calendar_for(session, task.unit_id)
        rules = load_rules(conn, ev.area_path if ev is not None else None)
        steps = plan(clock, rules, calendars[task.unit_id])
        if steps:
            assert ev is not None  # the task's event: a foreign key
            rows.append(dict(
                task_id=task.id, event_id=task.event_id, district_code=of_number(ev.number),
                next_due_at=steps[0].due_at, plan=plan_to_json(steps),
                failures=0, updated_at=since, unit_id=task.unit_id,
                dispatched_by_unit_id=task.dispatched_by_unit_id, event_number=ev.number,
                event_title=ev.title, area_path=ev.area_path or "", event_class_id=ev.event_class_id,
                assignee_id=task.assignee_id))
    conn.execute(delete(SupervisionClock).where(SupervisionClock.task_id.in_(ids)))
    if rows:
        conn.execute(insert(SupervisionClock), rows)


_RUNNING = {TaskState.DISPATCHED.value, TaskState.ACCEPTED.value, TaskState.EXTENSION_REQUESTED.value,
            TaskState.NOTIFIED.value}


def _changed(obj: Any, watched: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in watched)


def _sync_event(session: Session, ev: Event) -> None:
    """The event's columns on its tasks' clocks (a reclassification changes the class)."""
    # by the tasks' index on event_id and the clocks' key: an index on the clocks' event_id would cost
    # every sweep an index entry per due row (their updates are not HOT)
    tasks = select(Task.id).where(Task.event_id == ev.id).scalar_subquery()
    session.connection().execute(update(SupervisionClock).where(SupervisionClock.task_id.in_(tasks)).values(
        event_number=ev.number, event_title=ev.title, area_path=ev.area_path or "", event_class_id=ev.event_class_id))


def _sync_assignees(session: Session, tasks: Sequence[Task]) -> None:
    """The person each task is (re)assigned to, on its clock: his reminders follow him (the plan is the same)."""
    session.connection().execute(
        update(SupervisionClock).where(SupervisionClock.task_id == bindparam("t_id"))
        .values(assignee_id=bindparam("t_assignee")),
        [{"t_id": t.id, "t_assignee": t.assignee_id} for t in tasks])


def after_flush(session: Session, _context: Any) -> None:
    for ev in [o for o in session.dirty if isinstance(o, Event) and _changed(o, _EVENT_WATCHED)]:
        _sync_event(session, ev)
    reassigned = [o for o in session.dirty if isinstance(o, Task) and _changed(o, _ASSIGNEE)]
    if reassigned:
        _sync_assignees(session, reassigned)
    new = [o for o in session.new if isinstance(o, Task)]
    dirty = [o for o in session.dirty if isinstance(o, Task) and _changed(o, _WATCHED)]
    if not new and not dirty:
        return
    # one pass for all the tasks of the flush (a bundle dispatches eight at once)
    # move_task stamps updated_at with the action's time: reminders already past then are skipped
    sync_many(session, [(task, task.dispatched_at) for task in new
                        if task.role != TaskRole.NOTIFY.value or task.read_due_at is not None]
              + [(task, task.updated_at or task.dispatched_at) for task in dirty])


# --- copies (抄送): their read deadline and clock, for a batch of units at once --------------------


def read_deadlines(session: Session, event_class: EventClass | None, urgency: str, at: datetime,
                   unit_ids: Sequence[int], area_path: str | None = None) -> dict[int, datetime | None]:
    """Each unit's read deadline for a copy sent at ``at``: the class's ``read`` limit, else the
    supervision rules' ``read_within_wh`` (those of the event's ``area_path``), on the unit's working
    calendar. Computed once per distinct office hours (a notice to 1,031 towns is one or two calendar
    walks, not 1,031)."""
    from shuzhi.services.calendars import calendar_for, office_hours_for
    from shuzhi.services.deadlines import limit_for

    rules = load_rules(session.connection(), area_path)
    limit = limit_for(event_class, urgency, Stage.READ)
    by_hours: dict[Any, datetime | None] = {}
    out: dict[int, datetime | None] = {}
    for unit_id in unit_ids:
        hours = office_hours_for(session, unit_id)
        if hours not in by_hours:
            by_hours[hours] = read_deadline(calendar_for(session, unit_id), rules, at, limit)
        out[unit_id] = by_hours[hours]
    return out


def insert_copy_clocks(session: Session, event: Event, tasks: Sequence[tuple[int, int, datetime]],
                       dispatched_at: datetime, dispatched_by_unit_id: int | None) -> None:
    """Clocks of new copies ``(task_id, unit_id, read_due_at)`` of one event, set-based: the plan of
    :func:`shuzhi.domain.supervision.plan` is the same for every copy with the same deadline and calendar,
    so it is computed once per (office hours, deadline) and written by one ``INSERT … SELECT`` over the
    event's new copies — a notice to 1,031 towns is one statement, not 1,031 rows sent one by one."""
    from shuzhi.services.calendars import calendar_for, office_hours_for

    if not tasks:
        return
    conn = session.connection()
    rules = load_rules(conn, event.area_path)
    groups: dict[tuple[Any, datetime], list[int]] = defaultdict(list)
    calendars: dict[Any, Any] = {}
    for _task_id, unit_id, due in tasks:
        hours = office_hours_for(session, unit_id)
        if hours not in calendars:
            calendars[hours] = calendar_for(session, unit_id)
        groups[(hours, due)].append(unit_id)
    for (hours, due), unit_ids in groups.items():
        clock = TaskClock(state=TaskState.NOTIFIED, role=TaskRole.NOTIFY, dispatched_at=dispatched_at,
                          accept_due_at=None, handle_due_at=None, handle_unit=None, since=dispatched_at,
                          read_due_at=due)
        steps = plan(clock, rules, calendars[hours])
        if not steps:
            continue
        which = [Task.event_id == event.id, Task.role == TaskRole.NOTIFY.value,
                 Task.state == TaskState.NOTIFIED.value, Task.dispatched_at == dispatched_at, Task.read_due_at == due]
        if len(groups) > 1:
            which.append(Task.unit_id.in_(unit_ids))
        source = select(
            Task.id, Task.event_id, literal(steps[0].due_at, UTCDateTime()).label("next_due_at"),
            literal(plan_to_json(steps), JSON()).label("plan"), literal(0).label("failures"),
            literal(dispatched_at, UTCDateTime()).label("updated_at"), Task.unit_id,
            literal(dispatched_by_unit_id, Integer()).label("dispatched_by_unit_id"),
            literal(event.number).label("event_number"), literal(event.title).label("event_title"),
            literal(of_number(event.number), String()).label("district_code"),
            literal(event.area_path or "").label("area_path"),
            literal(event.event_class_id, Integer()).label("event_class_id"), Task.assignee_id,
        ).where(*which)
        conn.execute(insert(SupervisionClock).from_select(
            ["task_id", "event_id", "next_due_at", "plan", "failures", "updated_at", "unit_id",
             "dispatched_by_unit_id", "event_number", "event_title", "district_code", "area_path", "event_class_id",
             "assignee_id"],
            source))
