"""Review (复盘) of a closed event or a finished plan run: rebuilt timeline, stage times against
their limits, who was late and by how much, returns and reworks, and editable lessons learned.

The arithmetic is :mod:`shuzhi.domain.review`; this module gathers the facts from the timeline and
the tasks, in the actor's scope, and stores the notes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_plans import PlanRun, PlanTemplateRow, ReviewNote
from shuzhi.domain import permissions as perm
from shuzhi.domain import review as rv
from shuzhi.domain.plan_runs import RunState
from shuzhi.domain.review import Incident, LateRow, Line, Notes, Review, StageRow, TaskStageRow
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.handling import load_event
from shuzhi.services.plans.runs import run_task_ids
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

CLOSED = ("closed", "called_back")
MAX_NOTES = 50_000


def _notes(s: Session, kind: str, subject_id: int) -> Notes:
    row = s.scalar(select(ReviewNote).where(ReviewNote.subject_kind == kind, ReviewNote.subject_id == subject_id))
    if row is None:
        return Notes("", 0, None, None)
    return Notes(row.notes, row.version, row.updated_by, row.updated_at)


def _build(s: Session, kind: str, subject: str, subject_id: int, event: Event, entries: list[TimelineEntry],
           tasks: list[Task], start: datetime, until: datetime, plan: tuple[str, str] | None) -> Review:
    moves = [rv.Move(e.at, e.to_state) for e in entries if e.action.startswith("event.") and e.to_state]
    stages = rv.event_stages(moves, until)
    clocks = [rv.TaskClock(task_id=t.id, unit_code=t.unit.code, unit_name=t.unit.name, role=t.role, state=t.state,
                           dispatched_at=t.dispatched_at, accept_due_at=t.accept_due_at, accepted_at=t.accepted_at,
                           handle_due_at=t.handle_due_at, reported_at=t.reported_at, ended_at=t.ended_at)
              for t in tasks]
    task_stages = rv.task_stages(clocks, until)
    late = rv.late_units(task_stages)

    def unit(e: TimelineEntry) -> str | None:
        return (e.payload or {}).get("unit")

    returns = [Incident(e.at, unit(e), e.reason) for e in entries if e.action == "task.return"]
    reworks = [Incident(e.at, unit(e), e.reason) for e in entries
               if e.action in ("task.rework", "event.callback_dissatisfied")]
    return Review(
        kind=kind, subject=subject, title=event.title, event_number=event.number, event_state=event.state,
        plan_code=plan[0] if plan else None, plan_name=plan[1] if plan else None, started_at=start, ended_at=until,
        total_seconds=(until - start).total_seconds(), tasks=len(clocks),
        late_tasks=len({st.task_id for st in task_stages if st.late}),
        timeline=[Line(e.at, e.actor, e.action, e.from_state, e.to_state, unit(e), e.reason) for e in entries],
        stages=[StageRow(st.stage, st.label, st.seconds, st.visits) for st in stages],
        task_stages=[TaskStageRow(st.task_id, st.unit_code, st.unit_name, st.stage, st.seconds, st.limit_seconds,
                                  st.late_seconds, st.finished_at) for st in task_stages],
        late=[LateRow(*row) for row in late], returns=returns, reworks=reworks, notes=_notes(s, kind, subject_id))


def _entries(s: Session, event_id: int) -> list[TimelineEntry]:
    return list(s.scalars(select(TimelineEntry).where(TimelineEntry.event_id == event_id)
                          .order_by(TimelineEntry.id)))


def _closed_at(event: Event, entries: list[TimelineEntry]) -> datetime:
    if event.closed_at is not None:
        return event.closed_at
    closes = [e.at for e in entries if e.to_state == "closed"]
    return closes[-1] if closes else entries[-1].at


def _visible_event(s: Session, ref: str, actor: Actor) -> Event:
    event = load_event(s, ref)
    authz.ensure_visible(actor, event.area_path, [event.owner_unit_id, *(t.unit_id for t in event.tasks)],
                         what=f"event {ref}")
    return event


def review_event(uow: UnitOfWork, ref: str, actor: Actor) -> Review:
    """The review of a closed (or called-back) event."""
    authz.require(actor, perm.REPORT_READ)
    with uow:
        s = uow.session
        event = _visible_event(s, ref, actor)
        if event.state not in CLOSED:
            raise Conflict(f"a review is for a closed event; {event.number} is {event.state}",
                           details={"state": event.state})
        entries = _entries(s, event.id)
        until = _closed_at(event, entries)
        return _build(s, "event", event.number, event.id, event, entries, list(event.tasks), event.received_at,
                      until, None)


def _finished_run(s: Session, run_id: int, actor: Actor) -> tuple[PlanRun, Event]:
    run = s.get(PlanRun, run_id)
    if run is None or run.event_id is None:
        raise NotFound(f"plan run {run_id} not found")
    event = s.get(Event, run.event_id)
    assert event is not None
    authz.ensure_visible(actor, event.area_path, [event.owner_unit_id], what=f"plan run {run_id}")
    if run.state != RunState.STOOD_DOWN and event.state not in CLOSED:
        raise Conflict(f"a review is for a finished run (stood down, or its event closed); run {run_id} is "
                       f"{run.state} and its event {event.state}", details={"state": run.state})
    return run, event


def review_run(uow: UnitOfWork, run_id: int, actor: Actor) -> Review:
    """The review of a plan run: its tasks only, from its start to its stand-down or the event's close."""
    authz.require(actor, perm.REPORT_READ)
    with uow:
        s = uow.session
        run, event = _finished_run(s, run_id, actor)
        ids = run_task_ids(s, run.id)
        start = run.started_at or run.created_at
        entries = _entries(s, event.id)
        until = run.ended_at if run.state == RunState.STOOD_DOWN and run.ended_at else _closed_at(event, entries)
        mine = [e for e in entries if e.at >= start and (e.task_id is None or e.task_id in ids)]
        tasks = [t for t in event.tasks if t.id in ids]
        name = s.scalar(select(PlanTemplateRow.name).where(PlanTemplateRow.id == run.template_id)) or run.template_code
        return _build(s, "run", f"run-{run.id}", run.id, event, mine, tasks, start, until, (run.template_code, name))


def save_notes(uow: UnitOfWork, kind: str, ref: str, text: str, actor: Actor, expected_version: int | None = None,
               *, now: datetime | None = None) -> Notes:
    """Write the lessons learned (经验教训); a stale ``expected_version`` is refused (409)."""
    authz.require(actor, perm.REVIEW_WRITE)
    at = now or datetime.now(UTC)
    if len(text) > MAX_NOTES:
        raise Invalid(f"notes are limited to {MAX_NOTES} characters", field="notes")
    with uow:
        s = uow.session
        if kind == "event":
            event = _visible_event(s, ref, actor)
            if event.state not in CLOSED:
                raise Conflict(f"a review is for a closed event; {event.number} is {event.state}")
            subject_id = event.id
        else:
            if not ref.isdigit():
                raise NotFound(f"plan run {ref} not found")
            run, _event = _finished_run(s, int(ref), actor)
            subject_id = run.id
        row = s.scalar(select(ReviewNote).where(ReviewNote.subject_kind == kind, ReviewNote.subject_id == subject_id))
        current = row.version if row is not None else 0
        if expected_version is not None and expected_version != current:
            raise Conflict(f"the notes are at version {current}, you had {expected_version}; reload and retry",
                           field="expected_version")
        if row is None:
            row = ReviewNote(subject_kind=kind, subject_id=subject_id, notes=text, updated_by=actor.label,
                             updated_at=at, version=1)
            s.add(row)
        else:
            row.notes, row.updated_by, row.updated_at, row.version = text, actor.label, at, row.version + 1
        uow.commit()
        return Notes(row.notes, row.version, row.updated_by, row.updated_at)
