"""Plan runs: the run board (指挥看板), the list of runs, re-dispatch of a share, stand-down (解除响应).

* A predecessor returned or escalated keeps its dependants waiting (the board says why) until the
  centre re-dispatches the share (:func:`redispatch_step`).
* Stand-down (解除响应) cancels every open task of the run with the reason and ends the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shuzhi.adapters.db.tables import Area, Event, Task, Unit
from shuzhi.adapters.db.tables_plans import (
    PlanRun,
    PlanRunStep,
    PlanRunTrigger,
    PlanTemplateRow,
)
from shuzhi.domain import permissions as perm
from shuzhi.domain.events import ACTIVE_TASK_STATES, EventAction, EventState, TaskAction, TaskState
from shuzhi.domain.plan_runs import RunAction, RunState, StepAction, StepState
from shuzhi.domain.plans import BranchIndex
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.handling import load_event
from shuzhi.services.plans.activation import RUN_STATES, Decide, _Command, _load_run
from shuzhi.services.plans.shares import BLOCKING, DONE, dispatch_steps, unit_names
from shuzhi.services.plans.transitions import ensure_run_can, move_plan
from shuzhi.services.security import authz
from shuzhi.services.transitions import move_event, move_task, sync_event
from shuzhi.services.unit_of_work import UnitOfWork

# --- commands ------------------------------------------------------------------------------------


class StandDown(_Command):
    reason: str = Field(min_length=1, max_length=2000)
    expected_version: int | None = None


class Redispatch(_Command):
    """Send a returned or escalated share of a run again: to the same unit (the return was not
    accepted) or to another one."""

    unit_code: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=2000)


#: The board's filters (看板筛选): every task, the open ones, the overdue ones, those waiting for a predecessor.
BOARD_SHOWS = ("all", "open", "overdue", "waiting")
#: A task in one of these states needs nothing more from the run's desk ("open" leaves them out).
FINISHED = DONE | BLOCKING | {"cancelled"}
#: Tasks per page of the board: a city-wide run has thousands, and a page the desk reads has a few hundred.
BOARD_PAGE = 200


@dataclass(frozen=True)
class BoardTask:
    step_id: int
    task_key: str
    title: str
    role: str
    part: str
    unit_code: str
    unit_name: str
    unit_level: str
    area_code: str | None
    state: str  # waiting | the task's state | cancelled
    task_id: int | None
    after: list[str]
    checklist: list[str]
    dispatched_at: datetime | None
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    accepted_at: datetime | None
    reported_at: datetime | None
    seconds_left: float | None  # to the handling deadline; negative = overdue
    overdue: bool
    #: Why a waiting task cannot go on (a predecessor returned or escalated), or why it was cancelled.
    reason: str | None = None
    blocked_by: list[str] = field(default_factory=list)
    former_task_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BoardTrigger:
    """One trigger the run answers: the one that started it, or one that joined it later."""

    role: str  # started | attached
    kind: str
    trigger_key: str
    at: datetime
    warning_id: int | None
    warning_level: str | None
    event_number: str | None
    areas: list[str]
    new_areas: list[str]
    added_tasks: int


@dataclass(frozen=True)
class RunBoard:
    id: int
    template_code: str
    template_name: str
    template_version: int
    state: str
    trigger_kind: str
    trigger_key: str | None
    warning_id: int | None
    warning_level: str | None
    event_number: str | None
    event_state: str | None
    affected_areas: list[dict[str, str]]
    problems: list[dict[str, Any]]
    proposed_at: datetime | None
    started_at: datetime | None
    started_by: str | None
    ended_at: datetime | None
    end_reason: str | None
    version: int
    #: Tasks by state, over every task of the run the reader may see (not only this page).
    counts: dict[str, int]
    #: One page of the tasks that match ``show``: ``matched`` of them in all, from ``offset``.
    tasks: list[BoardTask]
    triggers: list[BoardTrigger] = field(default_factory=list)
    total_tasks: int = 0
    overdue: int = 0
    show: str = "all"
    matched: int = 0
    offset: int = 0
    limit: int = BOARD_PAGE


@dataclass(frozen=True)
class RunSummary:
    id: int
    template_code: str
    template_name: str
    state: str
    trigger_kind: str
    warning_id: int | None
    event_number: str | None
    affected_areas: list[str]
    started_at: datetime | None
    ended_at: datetime | None


def dismiss(uow: UnitOfWork, run_id: int, cmd: Decide, actor: Actor, *, now: datetime | None = None) -> RunBoard:
    """The duty officer declines a proposal; the episode keeps its (dismissed) run, so it is not proposed again."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor, to_change=True)
        event = s.get(Event, run.event_id) if run.event_id is not None else None
        move_plan(s, event, actor, at, run=run, action=RunAction.DISMISS, reason=cmd.reason or "值班员未启动")
        uow.commit()
    return board(uow, run_id, actor)


# --- the board and stand-down --------------------------------------------------------------------


def board(uow: UnitOfWork, run_id: int, actor: Actor, *, now: datetime | None = None, show: str = "all",
          offset: int = 0, limit: int = BOARD_PAGE) -> RunBoard:
    """The run's board (指挥看板): its counts over every task the reader may see, and one page of those
    tasks (``show`` filters, ``offset``/``limit`` page) with unit, state and time left; the affected
    areas and triggers. A run of 5,000 tasks answers in one page, the rest on demand (issue #16)."""
    authz.require(actor, perm.PLAN_READ)
    if show not in BOARD_SHOWS:
        raise Invalid(f"show is one of {', '.join(BOARD_SHOWS)}", field="show")
    if offset < 0:
        raise Invalid("offset is 0 or more", field="offset")
    if not 1 <= limit <= 1000:
        raise Invalid("limit is between 1 and 1000", field="limit")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor)
        row = s.get(PlanTemplateRow, run.template_id)
        # the event's number and state only: the event itself would load every task of the run
        event = s.execute(select(Event.number, Event.state).where(Event.id == run.event_id)).one_or_none() \
            if run.event_id else None
        # every step in light columns (no JSON, no entities): the counts and the filter need only these
        rows = s.execute(
            select(PlanRunStep.id, PlanRunStep.task_key, PlanRunStep.unit_path, PlanRunStep.unit_id,
                   PlanRunStep.task_id, func.coalesce(Task.state, PlanRunStep.state).label("state"),
                   Task.handle_due_at, Unit.code)
            .join(Unit, Unit.id == PlanRunStep.unit_id).outerjoin(Task, Task.id == PlanRunStep.task_id)
            .where(PlanRunStep.run_id == run_id).order_by(PlanRunStep.sort_order, Unit.code)
        ).all()
        trigger_rows = s.execute(
            select(PlanRunTrigger, Event.number, Event.area_path, Event.owner_unit_id)
            .outerjoin(Event, Event.id == PlanRunTrigger.event_id)
            .where(PlanRunTrigger.run_id == run_id).order_by(PlanRunTrigger.id)).all()
        seen = _scope_of(s, actor, run, [r[0] for r in trigger_rows])
        context = _BoardContext(
            at, BranchIndex(rows, key=lambda r: r.task_key, path=lambda r: r.unit_path),
            {r.task_id: r.state for r in rows if r.task_id is not None}, {r.id: r.code for r in rows})
        if seen is not None:
            # a step is where its unit sits: a town sees its centre's, villages' and grids' steps, not
            # another town's nor a district department's
            unit_paths = dict(s.execute(select(Unit.id, Area.path).join(Area, Area.id == Unit.area_id)
                                        .where(Unit.id.in_({r.unit_id for r in rows}))).all())
            rows = [r for r in rows
                    if authz.path_visible(actor, unit_paths.get(r.unit_id)) or r.unit_id == actor.unit_id]
        counts: dict[str, int] = {}
        overdue = 0
        shown = []
        for r in rows:
            counts[r.state] = counts.get(r.state, 0) + 1
            left = _seconds_left(r.state, r.handle_due_at, at)
            late = left is not None and left < 0
            overdue += late
            if _shown(show, r.state, late):
                shown.append(r.id)
        # the page's steps in full
        page = shown[offset:offset + limit]
        full = {r[0].id: r for r in s.execute(
            select(PlanRunStep, Unit.code, Unit.name, Unit.level, Task)
            .join(Unit, Unit.id == PlanRunStep.unit_id).outerjoin(Task, Task.id == PlanRunStep.task_id)
            .where(PlanRunStep.id.in_(page))).all()} if page else {}
        tasks = [_board_task(full[step_id], context) for step_id in page]
        names = dict(s.execute(select(Area.code, Area.name).where(Area.code.in_(run.affected_areas))).all())
        triggers = _board_triggers(trigger_rows, seen)
        affected = [c for c in run.affected_areas if seen is None or seen.area(c)]
        return RunBoard(
            id=run.id, template_code=run.template_code, template_name=row.name if row else run.template_code,
            template_version=run.template_version, state=run.state, trigger_kind=run.trigger_kind,
            trigger_key=run.trigger_key, warning_id=run.warning_id, warning_level=run.warning_level,
            event_number=event.number if event else None, event_state=event.state if event else None,
            affected_areas=[{"code": c, "name": names.get(c, "")} for c in affected],
            problems=list(run.problems or []), proposed_at=run.proposed_at, started_at=run.started_at,
            started_by=run.started_by, ended_at=run.ended_at, end_reason=run.end_reason, version=run.version,
            counts=counts, tasks=tasks, triggers=triggers, total_tasks=len(rows), overdue=overdue, show=show,
            matched=len(shown), offset=offset, limit=limit)


def _shown(show: str, state: str, late: bool) -> bool:
    return (show == "all" or (show == "open" and state not in FINISHED)
            or (show == "waiting" and state == "waiting") or (show == "overdue" and late))


def _seconds_left(state: str, due: datetime | None, at: datetime) -> float | None:
    """Seconds to the handling deadline of a running task (negative: overdue); None when no clock runs."""
    if due is None or state == "waiting" or state == "cancelled":
        return None
    if TaskState(state) not in ACTIVE_TASK_STATES or state in DONE:
        return None
    return (due - at).total_seconds()


@dataclass(frozen=True)
class _BoardContext:
    """What a page's task needs from the whole run: the moment, its steps by branch, task states, units."""

    at: datetime
    index: BranchIndex[Any]
    task_states: dict[int, str]
    unit_codes: dict[int, str]


def _board_task(r: Any, c: _BoardContext) -> BoardTask:
    st, code, name, level, task = r
    state = task.state if task is not None else st.state
    blocked_by = [f"{o.task_key}@{c.unit_codes[o.id]}" for o in c.index.related(st.after, st.unit_path)
                  if o.id != st.id and o.task_id is not None and c.task_states.get(o.task_id) in BLOCKING
                  ] if st.state == "waiting" else []
    reason = st.end_reason if st.state == "cancelled" else ("前置任务已退单或上报，等待改派" if blocked_by else None)
    left = _seconds_left(state, task.handle_due_at, c.at) if task is not None else None
    return BoardTask(
        step_id=st.id, task_key=st.task_key, title=st.title, role=st.role, part=st.part, unit_code=code,
        unit_name=name, unit_level=level, area_code=st.area_code, state=state,
        task_id=st.task_id, after=list(st.after), checklist=list(st.checklist),
        dispatched_at=task.dispatched_at if task else None,
        accept_due_at=task.accept_due_at if task else None, handle_due_at=task.handle_due_at if task else None,
        accepted_at=task.accepted_at if task else None, reported_at=task.reported_at if task else None,
        seconds_left=left, overdue=left is not None and left < 0, reason=reason, blocked_by=blocked_by,
        former_task_ids=list(st.former_task_ids or []))


def _board_triggers(trigger_rows: Sequence[Any], seen: _Seen | None) -> list[BoardTrigger]:
    triggers = []
    for trig, found_number, path, owner in trigger_rows:
        number: str | None = found_number
        areas, new_areas = list(trig.areas), list(trig.new_areas)
        if seen is not None:
            event_seen = number is not None and seen.event(path, owner)
            areas = [a for a in areas if seen.area(a)]
            new_areas = [a for a in new_areas if seen.area(a)]
            if not areas and not event_seen:
                continue  # another town's trigger: not even that it happened
            number = number if event_seen else None
        triggers.append(BoardTrigger(
            role=trig.role, kind=trig.kind, trigger_key=trig.trigger_key, at=trig.at, warning_id=trig.warning_id,
            warning_level=trig.warning_level, event_number=number, areas=areas, new_areas=new_areas,
            added_tasks=trig.added_tasks))
    return triggers


@dataclass(frozen=True)
class _Seen:
    """What of a run a scoped person may see: areas in his subtrees, events in his scope (issue #15)."""

    actor: Actor
    paths: dict[str, str]

    def area(self, code: str | None) -> bool:
        return code is not None and authz.path_visible(self.actor, self.paths.get(code))

    def event(self, path: str | None, owner_unit_id: int | None) -> bool:
        return authz.path_visible(self.actor, path) or (
            owner_unit_id is not None and owner_unit_id == self.actor.unit_id)


def _scope_of(s: Session, actor: Actor, run: PlanRun, triggers: Sequence[PlanRunTrigger]) -> _Seen | None:
    """``None`` for a person who sees the whole district; else the paths of every area the board names.
    A town officer reading the district's run sees his towns' tasks, areas and events, not the others'."""
    if actor.area_paths is None:
        return None
    codes = set(run.affected_areas)
    for t in triggers:
        codes.update(t.areas)
        codes.update(t.new_areas)
    paths = dict(s.execute(select(Area.code, Area.path).where(Area.code.in_(codes))).all()) if codes else {}
    return _Seen(actor, paths)


def stand_down(uow: UnitOfWork, run_id: int, cmd: StandDown, actor: Actor, *,
               now: datetime | None = None) -> RunBoard:
    """解除响应: every open task of the run is cancelled with the reason, waiting ones are dropped,
    and the event moves on as its remaining tasks take it (reported back work is still verified)."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor, to_change=True)
        if cmd.expected_version is not None and cmd.expected_version != run.version:
            raise Conflict(f"the run is at version {run.version}, you had {cmd.expected_version}; reload",
                           field="expected_version")
        ensure_run_can(run, RunAction.STAND_DOWN)
        event = s.get(Event, run.event_id)
        assert event is not None
        steps = s.scalars(select(PlanRunStep).where(PlanRunStep.run_id == run_id)).all()
        ids = {st.task_id for st in steps if st.task_id is not None}
        open_tasks = [task for task in event.tasks
                      if task.id in ids and TaskState(task.state) in ACTIVE_TASK_STATES and task.state not in DONE]
        # The run and its waiting shares first: cancelling their predecessors below must not cancel
        # them again with a "predecessor cancelled" reason — the run stood down.
        move_plan(s, event, actor, at, run=run, action=RunAction.STAND_DOWN,
                  steps=[st for st in steps if st.state == StepState.WAITING], step_action=StepAction.CANCEL,
                  reason=cmd.reason, payload={"cancelled": len(open_tasks)})
        for task in open_tasks:
            move_task(s, event, task, TaskAction.CANCEL, actor, at, reason=cmd.reason)
            task.ended_at, task.end_reason = at, cmd.reason
        sync_event(s, event, actor, at, reason=cmd.reason)
        uow.commit()
    return board(uow, run_id, actor, now=at)


def list_runs(uow: UnitOfWork, actor: Actor, *, event_ref: str | None = None, warning_id: int | None = None,
              state: str | None = None, limit: int = 100) -> list[RunSummary]:
    """Runs, newest first, in the actor's scope; under one event or one warning (runs nest under them)."""
    authz.require(actor, perm.PLAN_READ)
    if state is not None and state not in RUN_STATES:
        raise Invalid(f"state must be one of {', '.join(RUN_STATES)}", field="state")
    with uow:
        s = uow.session
        q = (select(PlanRun, Event.number, PlanTemplateRow.name).outerjoin(Event, Event.id == PlanRun.event_id)
             .join(PlanTemplateRow, PlanTemplateRow.id == PlanRun.template_id))
        if event_ref is not None:
            event = load_event(s, event_ref)
            authz.ensure_visible(actor, event.area_path, [event.owner_unit_id], what=f"event {event_ref}")
            # runs it started, and runs it joined (one response per situation)
            q = q.where((PlanRun.event_id == event.id) | PlanRun.id.in_(
                select(PlanRunTrigger.run_id).where(PlanRunTrigger.event_id == event.id)))
        if warning_id is not None:
            q = q.where((PlanRun.warning_id == warning_id) | PlanRun.id.in_(
                select(PlanRunTrigger.run_id).where(PlanRunTrigger.warning_id == warning_id)))
        if state is not None:
            q = q.where(PlanRun.state == state)
        if actor.area_paths is not None:
            # Proposals without an event are seen by whoever sees one of their areas (checked below).
            q = q.where((PlanRun.event_id.is_(None)) | authz.area_clause(actor, Event.area_path, Event.owner_unit_id))
        rows = s.execute(q.order_by(PlanRun.id.desc()).limit(min(max(limit, 1), 500))).all()
        out = []
        for run, number, name in rows:
            if run.event_id is None and actor.area_paths is not None:
                paths = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
                if not any(authz.path_visible(actor, p) for p in paths):
                    continue
            out.append(RunSummary(id=run.id, template_code=run.template_code, template_name=name, state=run.state,
                                  trigger_kind=run.trigger_kind, warning_id=run.warning_id, event_number=number,
                                  affected_areas=list(run.affected_areas), started_at=run.started_at,
                                  ended_at=run.ended_at))
        return out


def run_task_ids(s: Session, run_id: int) -> set[int]:
    """Every task the run has had: the current one of each share and those it replaced (returned or
    escalated, then re-dispatched) — a review counts the returns."""
    out: set[int] = set()
    for task_id, former in s.execute(select(PlanRunStep.task_id, PlanRunStep.former_task_ids)
                                     .where(PlanRunStep.run_id == run_id)):
        if task_id is not None:
            out.add(task_id)
        out.update(former or [])
    return out


def redispatch_step(uow: UnitOfWork, run_id: int, step_id: int, cmd: Redispatch, actor: Actor, *,
                    now: datetime | None = None) -> RunBoard:
    """改派: a share whose task was returned (退单) or escalated goes out again, to the same unit (the
    return was not accepted) or to the one named; its clocks start again from now, and the tasks
    waiting on it are released when the new task reports back."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor, to_change=True)
        if run.state != RunState.ACTIVE:
            raise Conflict(f"plan run {run_id} is {run.state}; only an active run re-dispatches",
                           details={"state": run.state})
        step = s.get(PlanRunStep, step_id)
        if step is None or step.run_id != run.id:
            raise NotFound(f"plan run {run_id} has no task {step_id}")
        old = s.get(Task, step.task_id) if step.task_id is not None else None
        if old is None or old.state not in BLOCKING:
            raise Conflict("only a returned or escalated task of the run can be re-dispatched",
                           details={"state": old.state if old is not None else step.state})
        event = s.get(Event, run.event_id)
        assert event is not None
        if EventState(event.state) not in (EventState.REGISTERED, EventState.DISPATCHED, EventState.HANDLING):
            raise Conflict(f"the run's event {event.number} is {event.state}", details={"state": event.state})
        if cmd.unit_code is not None:
            found = s.execute(select(Unit.id, Area.path).join(Area, Area.id == Unit.area_id)
                              .where(Unit.code == cmd.unit_code, Unit.active.is_(True))).first()
            if found is None:
                raise Invalid(f"unknown unit '{cmd.unit_code}'", field="unit_code")
            step.unit_id, step.unit_path = found[0], found[1]
        step.former_task_ids = [*(step.former_task_ids or []), old.id]
        units = unit_names(s, {step.unit_id})
        move_plan(s, event, actor, at, run=run, steps=[step], step_action=StepAction.REDISPATCH, reason=cmd.reason,
                  payload={"plan_task": step.task_key, "replaces_task": old.id, "unit": units[step.unit_id][0]})
        move_event(s, event, EventAction.DISPATCH, actor, at, reason=cmd.reason or f"预案任务改派：{step.title}",
                   payload={"plan": run.template_code, "plan_run": run.id, "plan_task": step.task_key,
                            "replaces_task": old.id, "unit": units[step.unit_id][0], "tasks": 1})
        event.dispatched_at = event.dispatched_at or at
        dispatch_steps(s, event, [step], units, actor, at, f"预案:{run.template_code}")
        sync_event(s, event, actor, at)
        try:
            uow.commit()
        except StaleDataError:
            raise Conflict("the run was changed by someone else at the same time; reload and retry") from None
    return board(uow, run_id, actor, now=at)
