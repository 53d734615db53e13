"""The closed loop after intake, the centre's side: triage, dispatch, verify, close, call back, merge, cancel.

One function per use case; each opens a unit of work, checks the optimistic version, applies the
transition tables through :mod:`shuzhi.services.transitions` (which writes the timeline) and commits.
A unit's side of the loop (its task: accept, return, extension, suspend, report back) is
:mod:`shuzhi.services.task_handling`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from shuzhi.adapters.db import bulk
from shuzhi.adapters.db.districts import of_number
from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, TimelineEntry, Unit, UnitCoverage, UnitDuty
from shuzhi.domain import standing
from shuzhi.domain.dispatch import Candidate
from shuzhi.domain.events import (
    ACTIVE_TASK_STATES,
    EventAction,
    EventMode,
    EventState,
    TaskAction,
    TaskRole,
    TaskState,
)
from shuzhi.domain.permissions import EVENT_DISPATCH, EVENT_VERIFY, TASK_HANDLE
from shuzhi.domain.time_limits import Stage
from shuzhi.services import commands as c
from shuzhi.services import copy_lists, hooks
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import unit_by_code
from shuzhi.services.calendars import calendar_for
from shuzhi.services.deadlines import due_at
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import authz
from shuzhi.services.supervision_clock import insert_copy_clocks, read_deadlines
from shuzhi.services.transitions import move_event, move_task, note
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.urgency import follow_urgency

R = TypeVar("R")


def load_event(session: Session, ref: str | int) -> Event:
    """An event by number (``500111-20240613-000123``) or numeric id."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        # '²'.isdigit() is true but int() refuses it; ids beyond BIGINT would make the database refuse
        event = session.get(Event, int(ref)) if int(ref) < 2**63 else None
    else:
        # the number starts with the district: on Citus the lookup goes to that district's one shard
        # instead of every shard of events; a number that does not (an imported one) is looked up alone
        event = session.scalar(select(Event).where(Event.number == ref, Event.district_code == of_number(ref)))
        if event is None:
            event = session.scalar(select(Event).where(Event.number == ref))
    if event is None:
        raise NotFound(f"event {ref} not found")
    return event


def load_visible_event(session: Session, ref: str | int, actor: Actor) -> Event:
    """An event the actor may see; one outside its scope is *not found*, worded exactly like a
    missing one, so that its existence does not leak."""
    event = load_event(session, ref)
    try:
        authz.ensure_event_visible(actor, event)
    except NotFound:
        raise NotFound(f"event {ref} not found") from None
    return event


def load_actable_event(session: Session, ref: str | int, actor: Actor) -> Event:
    """An event the actor may act on: visible (else 404) and with an event-level role on it — its
    area's centre or its owner (else 403, see :mod:`shuzhi.domain.standing`)."""
    event = load_visible_event(session, ref, actor)
    authz.ensure_can_act_on_event(actor, event)
    return event


def _load_task(session: Session, event: Event, task_id: int) -> Task:
    for task in event.tasks:
        if task.id == task_id:
            return task
    raise NotFound(f"task {task_id} of event {event.number} not found")


def _check_version(obj: Event | Task, expected: int | None) -> None:
    if expected is not None and obj.version != expected:
        raise Conflict(
            f"it was changed by someone else (version {obj.version}, you had {expected}); reload and retry",
            field="expected_version",
        )


def _run(uow: UnitOfWork, work: Callable[[Session], R]) -> R:
    """Run ``work`` in a transaction; a concurrent write to the same row becomes a 409, not a lost update."""
    with uow:
        try:
            result = work(uow.session)
            uow.commit()
        except StaleDataError:
            raise Conflict("the event was changed by someone else at the same time; reload and retry") from None
        return result


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _new_task(session: Session, event: Event, unit: Unit, role: TaskRole, actor: Actor, at: datetime,
              instruction: str | None = None, handle_due: datetime | None = None) -> Task:
    state = TaskState.NOTIFIED if role is TaskRole.NOTIFY else TaskState.DISPATCHED
    cal = None
    task = Task(event_id=event.id, unit_id=unit.id, unit=unit, role=role.value, state=state.value,
                dispatched_by_unit_id=actor.unit_id or event.owner_unit_id, dispatched_by=actor.label,
                instruction=instruction, dispatched_at=at)
    if role is TaskRole.NOTIFY:
        task.read_due_at = read_deadlines(session, event.event_class, event.urgency, at, [unit.id],
                                          event.area_path)[unit.id]
    else:
        cal = calendar_for(session, unit.id)
        task.accept_due_at = due_at(event.event_class, event.urgency, Stage.ACCEPT, at, cal)
        task.handle_due_at = due_at(event.event_class, event.urgency, Stage.HANDLE, at, cal)
        if handle_due is not None:
            # the dispatcher's own deadline; signing for it can never be due after the work itself
            task.handle_due_at = handle_due
            if task.accept_due_at is None or task.accept_due_at > handle_due:
                task.accept_due_at = handle_due
    event.tasks.append(task)
    session.flush()
    note(session, event, actor, "task.create", at, task=task, to_state=task.state, payload={
        "unit": unit.code, "unit_name": unit.name, "role": role.value,
        "accept_due_at": task.accept_due_at.isoformat() if task.accept_due_at else None,
        "handle_due_at": task.handle_due_at.isoformat() if task.handle_due_at else None,
        # years the clock runs through whose holidays nobody has published yet (weekends-only for now)
        "provisional_years": list(cal.provisional_years(at, task.handle_due_at))
        if cal is not None and task.handle_due_at else [],
    })
    return task


def _live_tasks(event: Event) -> list[Task]:
    return [t for t in event.tasks if TaskState(t.state) in ACTIVE_TASK_STATES]


def _cancel_live_tasks(session: Session, event: Event, actor: Actor, at: datetime, reason: str) -> None:
    for task in _live_tasks(event):
        move_task(session, event, task, TaskAction.CANCEL, actor, at, reason=reason)
        task.ended_at = at
        task.end_reason = reason


# --- triage and dispatch -------------------------------------------------------------------------


def unit_fits_area(s: Session, unit: Unit, area_path: str | None) -> bool:
    """A unit may be sent an event if it sits in the event's area or covers it; for an event with no
    place, only district- and city-level units (which cannot be checked against a place) may be.
    The same rule for a dispatch by hand, by the rules and by override: a town's event never goes to
    another town's units, whoever sends it."""
    if area_path is None:
        return unit.level in ("district", "city")
    if unit.area.path.startswith(area_path) or area_path.startswith(unit.area.path):
        return True
    coverage = s.scalars(select(Area.path).join(UnitCoverage, UnitCoverage.area_id == Area.id)
                         .where(UnitCoverage.unit_id == unit.id)).all()
    return any(area_path.startswith(p) for p in coverage)


def dispatch_in(s: Session, ref: str | int, cmd: c.Dispatch, actor: Actor, at: datetime, *,
                record: dict[str, Any] | None = None, copy_codes: list[str] | None = None,
                automatic: bool = False) -> Event:
    """:func:`dispatch` inside the caller's transaction (e.g. a sensor warning's event, dispatched in
    the transaction that opened it).

    ``automatic``: chosen by the rules, not by a person — then a notify-only event is refused (409)
    rather than turned into a case: only a person turns a copy into a case (issue 18)."""
    event = load_actable_event(s, ref, actor)
    _check_version(event, cmd.expected_version)
    to_case = event.mode == EventMode.NOTIFY.value and event.state in (EventState.REGISTERED.value,
                                                                       EventState.NOTIFYING.value)
    if to_case and automatic:
        raise Conflict("a notify-only event (抄送知悉) is never made a case automatically: copy it, or let "
                       "the duty officer dispatch it by hand", field="mode")
    if to_case:
        # the duty officer overrides the class's notify default, or turns a copy into a case (copy →
        # handle): the copies stay as they are (read or not), the history is kept, a lead unit takes it
        event.mode = EventMode.HANDLE.value
        record = {**(record or {}), "to_case": True}
    # a copied unit may be made the lead or an assisting unit: its copy is information, not a task
    live_units = {t.unit_id for t in _live_tasks(event) if t.role != TaskRole.NOTIFY.value}
    has_live_lead = any(t.role == TaskRole.LEAD.value for t in _live_tasks(event))
    units = [(unit_by_code(s, a.unit_code, f"units[{i}].unit_code"), a) for i, a in enumerate(cmd.units)]
    if not has_live_lead and all(a.role is not TaskRole.LEAD for _, a in units):
        raise Invalid("the event has no lead unit yet: name one with role 'lead'", field="units")
    for i, (unit, _) in enumerate(units):
        if not unit_fits_area(s, unit, event.area_path):
            where = event.area.name if event.area else "no place"
            raise Invalid(f"{unit.code} ({unit.name}) neither sits in nor covers the event's area ({where})",
                          field=f"units[{i}].unit_code")
        if unit.id in live_units:
            raise Invalid(f"unit '{unit.code}' already has an open task for this event",
                          field=f"units[{i}].unit_code")
    if cmd.due_at is not None and cmd.due_at <= at:
        raise Invalid("the deadline must be in the future", field="due_at")
    move_event(s, event, EventAction.DISPATCH, actor, at, reason=cmd.reason,
               payload={"units": [{"unit": u.code, "role": a.role.value} for u, a in units],
                        **({"due_at": cmd.due_at.isoformat()} if cmd.due_at is not None else {}),
                        **(record or {})})
    event.dispatched_at = event.dispatched_at or at
    for unit, a in units:
        _new_task(s, event, unit, a.role, actor, at, a.instruction, handle_due=cmd.due_at)
    if copy_codes:
        # units a rule copies for information alongside the handling units (never twice)
        taken = {t.unit_id for t in _live_tasks(event)}
        _copy_to(s, event, [u for u in copy_lists.units_by_codes(s, copy_codes, "copy") if u.id not in taken],
                 actor, at)
    return event


def dispatch(uow: UnitOfWork, ref: str, cmd: c.Dispatch, actor: Actor, *, now: datetime | None = None,
             record: dict[str, Any] | None = None, copy_codes: list[str] | None = None,
             automatic: bool = False) -> Event:
    """Send the event to one or more units (lead 主办 / assisting 协办).

    ``record`` is how the units were chosen (rule, why, override, reason — see
    :mod:`shuzhi.services.dispatching`), written on the dispatch's timeline entry; ``copy_codes``
    are units copied for information in the same step (a rule's ``copy`` targets).
    """
    authz.require(actor, EVENT_DISPATCH)
    at = _now(now)
    return _run(uow, lambda s: dispatch_in(s, ref, cmd, actor, at, record=record, copy_codes=copy_codes,
                                           automatic=automatic))


def notify(uow: UnitOfWork, ref: str, cmd: c.Notify, actor: Actor, *, now: datetime | None = None) -> Event:
    """Triage as notify-only (抄送知悉): the units read it and the event closes when all have.

    The units are the named ones plus every unit on the named copy lists (a unit on two lists is copied
    once). Built for a notice to a whole city's 1,031 towns: the units load in one query, the tasks are
    inserted in one batch and their timeline entries in another.
    """
    authz.require(actor, EVENT_DISPATCH)
    at = _now(now)
    return _run(uow, lambda s: notify_in(s, ref, cmd, actor, at))


def notify_in(s: Session, ref: str | int, cmd: c.Notify, actor: Actor, at: datetime) -> Event:
    """:func:`notify` inside the caller's transaction (a warning's notice, copied as it opens)."""
    event = load_actable_event(s, ref, actor)
    _check_version(event, cmd.expected_version)
    if len(set(cmd.unit_codes)) != len(cmd.unit_codes):
        raise Invalid("a unit is named twice", field="unit_codes")
    units = copy_lists.units_by_codes(s, cmd.unit_codes)
    if cmd.copy_lists:
        named = {u.code for u in units}
        extra = [code for code in dict.fromkeys(copy_lists.member_codes(s, cmd.copy_lists, actor))
                 if code not in named]
        units += copy_lists.units_by_codes(s, extra, "copy_lists")
    if not units:
        raise Invalid("the copy lists have no units", field="copy_lists")
    for i, unit in enumerate(units):
        if not may_address(actor, unit.area.path):
            field = f"unit_codes[{i}]" if i < len(cmd.unit_codes) else "copy_lists"
            raise Invalid(f"unit '{unit.code}' ({unit.name}) is outside the units you may copy", field=field)
    # a later round copies only the units not yet told: an event copies a unit once, read or not
    copied = {t.unit_id for t in event.tasks if t.role == TaskRole.NOTIFY.value}
    already = [u.code for u in units if u.id in copied]
    units = [u for u in units if u.id not in copied]
    if not units:
        raise Invalid(f"every unit named already has a copy of this event: {', '.join(already)}",
                      field="unit_codes")
    move_event(s, event, EventAction.NOTIFY, actor, at, reason=cmd.reason,
               payload={"units": [u.code for u in units], "copy_lists": cmd.copy_lists,
                        **({"already_copied": already} if already else {})})
    event.mode = EventMode.NOTIFY.value
    event.dispatched_at = event.dispatched_at or at  # the first round's time stays the event's
    _copy_to(s, event, units, actor, at)
    return event


def may_address(actor: Actor, path: str) -> bool:
    """A copy goes to units in the actor's area subtrees or up its own chain (a district centre informs
    the city centre), never sideways to another district's or town's units."""
    if actor.area_paths is None:
        return True
    return any(path.startswith(p) or p.startswith(path) for p in actor.area_paths)


def _copy_to(s: Session, event: Event, units: list[Unit], actor: Actor, at: datetime) -> None:
    """Notify tasks for ``units`` with their ``task.create`` entries: one batched INSERT each (a
    unit-of-work flush would insert the tasks one by one, as the table's version counter asks).

    The new ids come back unordered (ordered RETURNING makes SQLite insert row by row) and are matched
    by unit: an event copies a unit once. Each copy gets its read deadline (working time, see
    :func:`shuzhi.services.supervision_clock.read_deadlines`) and its clock, both computed once per
    calendar, not per unit."""
    if not units:
        return
    by = actor.unit_id or event.owner_unit_id
    s.flush()
    read_due = read_deadlines(s, event.event_class, event.urgency, at, [u.id for u in units], event.area_path)
    # unnest() of one array per column on PostgreSQL: a short statement whatever the number of units
    ids: dict[int, int] = {u_id: t_id for u_id, t_id in bulk.insert_rows(s.connection(), Task.__table__, [{
        "event_id": event.id, "district_code": event.district_code, "unit_id": u.id, "role": TaskRole.NOTIFY.value,
        "state": TaskState.NOTIFIED.value,
        "dispatched_by_unit_id": by, "dispatched_by": actor.label, "dispatched_at": at, "rework_count": 0,
        "updated_at": at, "version": 1, "read_due_at": read_due[u.id],
    } for u in units], returning=("unit_id", "id"))}
    bulk.insert_rows(s.connection(), TimelineEntry.__table__, [{
        "event_id": event.id, "district_code": event.district_code, "task_id": ids[u.id], "at": at,
        "actor_id": actor.person_id, "actor": actor.label,
        "action": "task.create", "from_state": None, "to_state": TaskState.NOTIFIED.value, "reason": None,
        "payload": {"unit": u.code, "unit_name": u.name, "role": TaskRole.NOTIFY.value,
                    "accept_due_at": None, "handle_due_at": None, "provisional_years": [],
                    "read_due_at": _iso(read_due[u.id])},
    } for u in units])  # COPY on PostgreSQL
    # the copies' clocks (read reminder, overdue) in one more INSERT: the flush hook never sees these rows
    insert_copy_clocks(s, event, [(ids[u.id], u.id, due) for u in units if (due := read_due[u.id]) is not None],
                       at, by)
    s.refresh(event, ["tasks"])  # read again with the new tasks and their units (one query)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def withdraw(uow: UnitOfWork, ref: str, cmd: c.WithReason, actor: Actor, *, now: datetime | None = None) -> Event:
    """The centre takes every open task back (to re-dispatch it elsewhere)."""
    authz.require(actor, EVENT_DISPATCH)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        move_event(s, event, EventAction.WITHDRAW, actor, at, reason=cmd.reason)
        _cancel_live_tasks(s, event, actor, at, cmd.reason)
        return event

    return _run(uow, work)


# --- the centre closes the loop ------------------------------------------------------------------


def self_handle(uow: UnitOfWork, ref: str, cmd: c.SelfHandle, actor: Actor, *, now: datetime | None = None) -> Event:
    """A grid worker fixed it on the spot (自行处置): a lead task for their unit, already reported back."""
    authz.require(actor, TASK_HANDLE)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        if actor.unit_id is None:
            raise Invalid("self-handling needs a person of a unit as the actor", field="actor")
        unit = s.get(Unit, actor.unit_id)
        assert unit is not None
        move_event(s, event, EventAction.SELF_HANDLE, actor, at, reason=cmd.result)
        task = _new_task(s, event, unit, TaskRole.LEAD, actor, at)
        task.state = TaskState.REPORTED_BACK.value
        task.accepted_at = task.reported_at = at
        task.result = cmd.result
        event.self_handled = True
        event.dispatched_at = event.reported_at = at
        return event

    return _run(uow, work)


def verify(uow: UnitOfWork, ref: str, cmd: c.Verify, actor: Actor, *, now: datetime | None = None) -> Event:
    """Check the reported work (核查): pass → verified; fail → rework (返工) of the reported tasks."""
    authz.require(actor, EVENT_VERIFY)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        reported = [t for t in event.tasks if t.state == TaskState.REPORTED_BACK.value]
        _ensure_not_own_loop(s, event, reported, actor)
        if cmd.passed:
            move_event(s, event, EventAction.VERIFY, actor, at, reason=cmd.reason)
            for t in reported:
                move_task(s, event, t, TaskAction.VERIFY, actor, at, reason=cmd.reason)
                t.verified_at = t.ended_at = at
        else:
            move_event(s, event, EventAction.REWORK, actor, at, reason=cmd.reason)
            event.rework_count += 1
            for t in reported:
                move_task(s, event, t, TaskAction.REWORK, actor, at, reason=cmd.reason)
                t.rework_count += 1
                t.reported_at = None
        return event

    return _run(uow, work)


def _ensure_not_own_loop(s: Session, event: Event, reported: list[Task], actor: Actor) -> None:
    """403 when the verifier last reported back on one of the tasks, or handled the case himself on the
    spot and the class wants someone else to verify it (:func:`shuzhi.domain.standing.closes_own_loop`)."""
    if actor.person_id is None or not reported:
        return
    ids = [t.id for t in reported]
    rows = s.execute(select(TimelineEntry.task_id, TimelineEntry.actor_id)
                     .where(TimelineEntry.event_id == event.id, TimelineEntry.task_id.in_(ids),
                            TimelineEntry.action == "task.report_back")
                     .order_by(TimelineEntry.id)).all()
    last = {task_id: person for task_id, person in rows}  # the latest report per task wins
    self_handler = None
    if event.self_handled:
        self_handler = s.scalar(select(TimelineEntry.actor_id).where(
            TimelineEntry.event_id == event.id, TimelineEntry.action == "event.self_handle")
            .order_by(TimelineEntry.id.desc()).limit(1))
    separate = event.event_class.separate_verifier if event.event_class is not None else True
    if standing.closes_own_loop(actor.person_id, list(last.values()), self_handler, separate):
        raise authz.Forbidden(f"{actor.label} reported back on (or handled) this case himself; someone else "
                              "verifies it (one person does not close his own loop)")


def close(uow: UnitOfWork, ref: str, cmd: c.OptionalReason, actor: Actor, *, now: datetime | None = None) -> Event:
    """Close the case (结案) once verified."""
    authz.require(actor, EVENT_VERIFY)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        move_event(s, event, EventAction.CLOSE, actor, at, reason=cmd.reason)
        event.closed_at = at
        return event

    return _run(uow, work)


def callback(uow: UnitOfWork, ref: str, cmd: c.Callback, actor: Actor, *, now: datetime | None = None) -> Event:
    """Call the reporter back (回访): satisfied ends the loop, dissatisfied reopens it for redo."""
    authz.require(actor, EVENT_VERIFY)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        if event.mode == EventMode.NOTIFY.value:
            raise Conflict("a notify-only event has no call-back", field="satisfied")
        event.satisfied = cmd.satisfied
        event.called_back_at = at
        if cmd.satisfied:
            move_event(s, event, EventAction.CALLBACK_SATISFIED, actor, at, reason=cmd.comment)
            return event
        move_event(s, event, EventAction.CALLBACK_DISSATISFIED, actor, at, reason=cmd.comment)
        event.rework_count += 1
        event.closed_at = None
        verified = {t.unit_id: t for t in event.tasks
                    if t.role == TaskRole.LEAD.value and t.state == TaskState.VERIFIED.value}
        if not verified:
            raise Conflict("no verified lead unit to send the redo to; dispatch it anew", field="satisfied")
        redo = f"回访不满意，重新办理：{cmd.comment or ''}"
        # imported here: assignees builds on this module
        from shuzhi.services.assignees import is_member

        for done in verified.values():
            task = _new_task(s, event, done.unit, TaskRole.LEAD, actor, at, instruction=redo)
            if done.assignee_id is not None and is_member(s, done.unit_id, done.assignee_id):
                # the person who answered for the work answers for its redo (事件责任人)
                task.assignee_id, task.assigned_at = done.assignee_id, at
                set_committed_value(task, "assignee", done.assignee)
                note(s, event, actor, "task.assign", at, task=task, reason=redo, payload={
                    "unit": done.unit.code, "from": None, "carried_from_task": done.id,
                    "to": {"code": done.assignee.code, "name": done.assignee.name} if done.assignee else None})
        return event

    return _run(uow, work)


def merge(uow: UnitOfWork, ref: str, cmd: c.Merge, actor: Actor, *, now: datetime | None = None) -> Event:
    """Merge a repeated report into its master case (重复件合并)."""
    authz.require(actor, EVENT_DISPATCH)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        master = load_actable_event(s, cmd.master_number, actor)
        if master.id == event.id:
            raise Invalid("an event cannot be merged into itself", field="master_number")
        if EventState(master.state) in (EventState.MERGED, EventState.CANCELLED):
            raise Invalid(f"the master event {master.number} is {master.state}", field="master_number")
        move_event(s, event, EventAction.MERGE, actor, at, reason=cmd.reason, payload={"master": master.number})
        event.master_event_id = master.id
        _cancel_live_tasks(s, event, actor, at, f"merged into {master.number}")
        note(s, master, actor, "event.merged_in", at, reason=cmd.reason, payload={"duplicate": event.number})
        return event

    return _run(uow, work)


def cancel(uow: UnitOfWork, ref: str, cmd: c.WithReason, actor: Actor, *, now: datetime | None = None) -> Event:
    """Cancel an invalid case (无效案卷作废) with a reason."""
    authz.require(actor, EVENT_DISPATCH)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        move_event(s, event, EventAction.CANCEL, actor, at, reason=cmd.reason)
        _cancel_live_tasks(s, event, actor, at, cmd.reason)
        return event

    return _run(uow, work)


def _candidates(s: Session, event_class_id: int) -> list[Candidate]:
    rows = s.execute(
        select(Unit.id, Unit.code, Unit.kind, Unit.level, Area.path)
        .join(UnitDuty, UnitDuty.unit_id == Unit.id)
        .join(UnitCoverage, UnitCoverage.unit_id == Unit.id)
        .join(Area, Area.id == UnitCoverage.area_id)
        .where(UnitDuty.event_class_id == event_class_id, Unit.active.is_(True))
    ).all()
    return [Candidate(unit_id=r[0], code=r[1], kind=r[2], level=r[3], coverage_path=r[4]) for r in rows]


def reclassify(uow: UnitOfWork, ref: str, cmd: c.Reclassify, actor: Actor, *, now: datetime | None = None) -> Event:
    """Change the class (and urgency); when the lead unit is not responsible for the new class, the
    open tasks are withdrawn and the event goes to the unit that is, or back to the centre if none is."""
    authz.require(actor, EVENT_DISPATCH)
    at = _now(now)

    def work(s: Session) -> Event:
        event = load_actable_event(s, ref, actor)
        _check_version(event, cmd.expected_version)
        new_class = s.scalar(select(EventClass).where(EventClass.code == cmd.event_class_code))
        if new_class is None:
            raise Invalid(f"unknown event class '{cmd.event_class_code}'", field="event_class_code")
        old = event.event_class.code if event.event_class else None
        move_event(s, event, EventAction.RECLASSIFY, actor, at, reason=cmd.reason, payload={
            "from_class": old, "to_class": new_class.code, "from_urgency": event.urgency,
            "to_urgency": (cmd.urgency or event.urgency)})
        event.event_class_id = new_class.id
        event.event_class = new_class
        changes.append(hooks.EventChange(
            event_id=event.id, event_class_code=new_class.code, urgency=(cmd.urgency or event.urgency),
            previous_class_code=old, previous_urgency=event.urgency, area_path=event.area_path, at=at,
            change="reclassified", district_code=event.district_code))
        before_urgency = event.urgency
        if cmd.urgency is not None:
            event.urgency = cmd.urgency.value

        def keep_tasks() -> Event:
            # the tasks stay: their deadlines follow the new class's and urgency's limits, counted from
            # now and never later than they were (the rule of an urgency raise, services/urgency.py)
            follow_urgency(s, event, before_urgency, actor, at, f"重新分类：{cmd.reason}")
            return event

        leads = [t for t in _live_tasks(event) if t.role == TaskRole.LEAD.value]
        if not leads:
            return keep_tasks()
        candidates = _candidates(s, new_class.id)
        responsible = {c.unit_id for c in candidates if event.area_path and event.area_path.startswith(c.coverage_path)}
        # The dispatch rules decide where it goes now (grid principle when none applies);
        # imported here because dispatching imports this module.
        from shuzhi.services.dispatching.deciding import decide_for_event

        decision = decide_for_event(s, event)
        if all(t.unit_id in responsible for t in leads) or (
            decision.lead is not None and decision.lead.unit_id in {t.unit_id for t in leads}
        ):
            return keep_tasks()
        move_event(s, event, EventAction.WITHDRAW, actor, at, reason=f"改派：{cmd.reason}")
        _cancel_live_tasks(s, event, actor, at, f"reclassified to {new_class.code}")
        if decision.lead is not None:
            chosen = [(decision.lead, TaskRole.LEAD)] + [(a, TaskRole.ASSIST) for a in decision.assist]
            units = [(s.get(Unit, cand.unit_id), role) for cand, role in chosen]
            move_event(s, event, EventAction.DISPATCH, actor, at, reason="重新分类后自动改派", payload={
                "units": [{"unit": u.code, "role": r.value} for u, r in units if u is not None],
                **decision.payload(), "override": False})
            for unit, role in units:
                assert unit is not None
                _new_task(s, event, unit, role, actor, at)
        return event

    changes: list[hooks.EventChange] = []

    def work_and_hooks(s: Session) -> Event:
        event = work(s)
        for change in changes:
            for hook in hooks.EVENT_HOOKS:
                hook(s, change)
        return event

    return _run(uow, work_and_hooks)
