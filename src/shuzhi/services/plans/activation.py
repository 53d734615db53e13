"""Starting a contingency plan (一键智达): activation, confirmation of a proposal, joining an open run.

* Activation hangs a run under an event — the event it was started from, the warning's event, or an
  event registered for the run (numbered, on the timeline) — resolves each template task's role per
  affected area (:mod:`shuzhi.services.plans.shares`), and dispatches every task whose predecessors
  are not in the run at once, in one transaction, as ordinary tasks of that event (same
  accept/report-back/verify loop, clocks, urging, escalation).  A task with predecessors on its
  branch of the area tree waits, and is dispatched when they have all reported back
  (:mod:`shuzhi.services.plans.triggers`).
* One response per situation: while a run of a template is active (or proposed), a further trigger of
  that template whose reach overlaps the run's joins it (``plan_run_triggers``, ``plan.trigger_added``
  on the run's timeline) and adds tasks only for areas the run did not cover yet
  (:func:`_open_run_for`, :func:`_attach`). A warning's reach is its district.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, Unit
from shuzhi.adapters.db.tables_plans import (
    PlanRun,
    PlanRunStep,
    PlanRunTrigger,
    PlanTemplateRow,
)
from shuzhi.domain import permissions as perm
from shuzhi.domain.events import EventAction, EventState
from shuzhi.domain.plan_runs import OPEN_RUN_STATES, RunAction, RunState, StepState, initial_step_state
from shuzhi.domain.plans import (
    PlanTemplate,
    overlaps,
    response_reach,
    validate_template,
)
from shuzhi.services import hooks
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import ancestors, centre_for, single_district_centre
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.handling import load_event
from shuzhi.services.intake import event_number, scoped_intake_key
from shuzhi.services.plans.shares import (
    DONE,
    dispatch_steps,
    new_step,
    predecessors,
    resolve,
    share_index,
    step_index,
    unit_names,
    waits,
)
from shuzhi.services.plans.templates import _template_row
from shuzhi.services.plans.transitions import ensure_run_can, move_plan
from shuzhi.services.security import authz
from shuzhi.services.transitions import move_event, note
from shuzhi.services.unit_of_work import UnitOfWork

RUN_STATES = tuple(st.value for st in RunState)


# --- commands ------------------------------------------------------------------------------------


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Activate(_Command):
    """Start a plan: from an event (areas default to the event's), or manually for areas."""

    area_codes: list[str] = Field(default_factory=list, max_length=500)
    title: str | None = Field(default=None, max_length=200, description="title of the event created for the run")
    reason: str | None = Field(default=None, max_length=2000)


class Decide(_Command):
    reason: str | None = Field(default=None, max_length=2000)


@dataclass(frozen=True)
class Activation:
    run_id: int
    event_number: str | None
    state: str
    created: bool
    tasks: int
    waiting: int


# --- activation ----------------------------------------------------------------------------------


def _areas(s: Session, codes: Sequence[str], actor: Actor, field: str = "area_codes") -> list[Area]:
    if len(set(codes)) != len(codes):
        raise Invalid("an area is named twice", field=field)
    found = {a.code: a for a in s.scalars(select(Area).where(Area.code.in_(codes)))} if codes else {}
    out = []
    for i, code in enumerate(codes):
        area = found.get(code)
        # An area outside the actor's scope reads as unknown: its existence does not leak.
        if area is None or not authz.path_visible(actor, area.path):
            raise Invalid(f"unknown area '{code}'", field=f"{field}[{i}]")
        out.append(area)
    return out


def _common_area(s: Session, areas: Sequence[Area]) -> Area:
    chains = [ancestors(a.path) for a in areas]
    common: list[str] = []
    for codes in zip(*chains, strict=False):
        if len(set(codes)) != 1:
            break
        common.append(codes[0])
    if not common:
        raise Invalid("the affected areas share no district or city", field="area_codes")
    area = s.scalar(select(Area).where(Area.code == common[-1]))
    assert area is not None
    return area


def _register_event(s: Session, tpl: PlanTemplate, areas: Sequence[Area], actor: Actor, at: datetime, source: str,
                    title: str | None, description: str) -> Event:
    """A numbered event for a run that has none (a warning without an event, a manual start), with
    its first timeline line, as intake registers one."""
    place = _common_area(s, areas)
    owner = None
    if actor.unit_id is not None:
        unit = s.get(Unit, actor.unit_id)
        owner = unit if unit is not None and unit.kind == "centre" else None
    owner = owner or centre_for(s, place.path) or single_district_centre(s)
    codes = ancestors(place.path)
    district = codes[1] if len(codes) >= 2 else codes[0]
    cls = s.scalar(select(EventClass).where(EventClass.code == tpl.event.event_class)) if tpl.event.event_class \
        else None
    names = "、".join(a.name for a in areas[:5]) + ("等" if len(areas) > 5 else "")
    event = Event(number=event_number(s, district, at), source=source, request_type="report",
                  event_class_id=cls.id if cls else None, title=(title or tpl.event.title or
                                                                 f"{tpl.name}（{names}）")[:200],
                  description=description, area_id=place.id, area_path=place.path, urgency=tpl.event.urgency.value,
                  mode="handle", state=EventState.REGISTERED.value, owner_unit_id=owner.id if owner else None,
                  self_handled=False, rework_count=0, return_count=0, received_at=at, updated_at=at)
    s.add(event)
    s.flush()
    note(s, event, actor, "event.register", at, to_state=EventState.REGISTERED.value,
         payload={"source": source, "owner": owner.code if owner else None, "plan": tpl.code,
                  "areas": [a.code for a in areas]})
    return event


def _start(s: Session, row: PlanTemplateRow, tpl: PlanTemplate, run: PlanRun, event: Event, areas: Sequence[Area],
           actor: Actor, at: datetime, reason: str | None) -> Activation:
    """Resolve, store the steps and dispatch every step that waits for nobody — one transaction."""
    ensure_run_can(run, RunAction.START)
    if EventState(event.state) not in (EventState.REGISTERED, EventState.DISPATCHED, EventState.HANDLING):
        raise Conflict(f"a plan can start on a registered, dispatched or handling event; {event.number} is "
                       f"{event.state}", details={"state": event.state})
    shares, problems = resolve(s, tpl, areas)
    if not shares:
        raise Invalid("no unit was found for any task of the plan in the affected areas", field="area_codes",
                      details=problems)
    run.event_id = event.id
    run.problems = problems
    run.affected_areas = [a.code for a in areas]
    s.flush()
    index = share_index(shares)
    steps = [new_step(run, tpl, sh, waits=waits(tpl, sh, index)) for sh in shares]
    ready = [st for st in steps if st.state == StepState.DISPATCHED]
    move_event(s, event, EventAction.DISPATCH, actor, at, reason=reason or f"启动预案：{tpl.name}", payload={
        "plan": tpl.code, "plan_version": row.version, "plan_run": run.id, "tasks": len(ready),
        "waiting": len(steps) - len(ready), "areas": run.affected_areas})
    event.dispatched_at = event.dispatched_at or at
    # the run's line follows the event's dispatch (what the run did to the event comes first)
    move_plan(s, event, actor, at, run=run, action=RunAction.START, reason=reason or f"启动预案：{tpl.name}",
              payload={"plan_version": row.version, "tasks": len(ready), "waiting": len(steps) - len(ready)})
    units = unit_names(s, {st.unit_id for st in ready})
    dispatch_steps(s, event, ready, units, actor, at, f"预案:{tpl.code}")
    s.add_all(steps)
    s.flush()
    started = hooks.PlanStarted(run.id, tpl.code, tpl.name, event.id, tuple(st.unit_id for st in ready), at)
    for hook in list(hooks.PLAN_HOOKS):
        hook(s, started)
    return Activation(run.id, event.number, run.state, True, len(ready), len(steps) - len(ready))


# --- one response per situation --------------------------------------------------------------------


def _trigger_run(s: Session, key: str | None) -> PlanRun | None:
    """The run a trigger episode already belongs to (started it or joined it)."""
    if key is None:
        return None
    run_id = s.scalar(select(PlanRunTrigger.run_id).where(PlanRunTrigger.trigger_key == key))
    if run_id is None:  # a run stored before triggers had their own table
        run_id = s.scalar(select(PlanRun.id).where(PlanRun.trigger_key == key))
    return s.get(PlanRun, run_id) if run_id is not None else None


def _add_trigger(s: Session, run: PlanRun, key: str | None, kind: str, role: str, at: datetime,
                 areas: Sequence[str], *, warning: hooks.WarningChange | None = None, event_id: int | None = None,
                 new_areas: Sequence[str] = (), added: int = 0) -> None:
    s.add(PlanRunTrigger(
        run_id=run.id, trigger_key=key or f"{kind}:{uuid.uuid4().hex}:{run.template_code}", kind=kind, role=role,
        warning_id=warning.warning_id if warning else None, warning_level=warning.level if warning else None,
        event_id=event_id, areas=list(areas), new_areas=list(new_areas), added_tasks=added, at=at))


def _open_run_for(s: Session, row: PlanTemplateRow, paths: Sequence[str], *, warning: bool) -> PlanRun | None:
    """The active (or proposed) run of this template whose reach overlaps the trigger's, if any.

    Activations of one template take turns — a row lock on the template on PostgreSQL (SQLite's
    writers queue anyway) — so two warnings of one storm arriving together cannot both start a run.
    """
    s.execute(select(PlanTemplateRow.id).where(PlanTemplateRow.id == row.id).with_for_update())
    open_states = sorted(st.value for st in OPEN_RUN_STATES)
    runs = s.scalars(select(PlanRun).where(PlanRun.template_id == row.id, PlanRun.state.in_(open_states))
                     .order_by(PlanRun.id)).all()
    if not runs:
        return None
    mine = response_reach(paths, district_wide=warning)
    for run in runs:
        kinds = set(s.scalars(select(PlanRunTrigger.kind).where(PlanRunTrigger.run_id == run.id))) | {
            run.trigger_kind}
        theirs = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
        if overlaps(response_reach(theirs, district_wide="warning" in kinds), mine):
            return run
    return None


def _cover(s: Session, codes: Sequence[str]) -> list[str]:
    """The areas, without those lying inside another of them, in the order given."""
    paths = dict(s.execute(select(Area.code, Area.path).where(Area.code.in_(codes))).all())
    return [c for c in dict.fromkeys(codes)
            if not any(o != c and paths.get(c, "").startswith(paths.get(o, "\0")) for o in codes)]


def _trigger_text(kind: str, warning: hooks.WarningChange | None, event: Event | None) -> str:
    if warning is not None:
        return _warning_text(warning).rstrip("，")
    if event is not None and kind != "manual":
        return f"事件 {event.number}"
    return "手动启动"


def _attach(s: Session, tpl: PlanTemplate, run: PlanRun, key: str | None, kind: str, areas: Sequence[Area],
            trigger_event: Event | None, actor: Actor, at: datetime,
            warning: hooks.WarningChange | None = None) -> Activation:
    """A further trigger joins the run: recorded on the run (and on the run's timeline); the areas the
    run did not cover yet are added, with their tasks (roles of named units are never repeated)."""
    known = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
    new = [a for a in areas if not any(a.path.startswith(p) for p in known)]
    added = waiting = 0
    event = s.get(Event, run.event_id) if run.event_id else None
    if new:
        run.affected_areas = _cover(s, [*run.affected_areas, *(a.code for a in new)])
        if run.state == RunState.ACTIVE and event is not None:
            added, waiting = _extend(s, tpl, run, event, new, actor, at, key)
    _add_trigger(s, run, key, kind, "attached", at, [a.code for a in areas], warning=warning,
                 event_id=trigger_event.id if trigger_event else None, new_areas=[a.code for a in new],
                 added=added + waiting)
    what = _trigger_text(kind, warning, trigger_event)
    if event is not None:
        note(s, event, actor, "plan.trigger_added", at, reason=f"{what}，并入正在进行的预案响应：{tpl.name}",
             payload={"plan_run": run.id, "plan": tpl.code, "trigger": key, "kind": kind,
                      "warning_id": warning.warning_id if warning else None,
                      "level": warning.level if warning else None,
                      "event": trigger_event.number if trigger_event else None,
                      "areas": [a.code for a in areas], "new_areas": [a.code for a in new],
                      "tasks": added, "waiting": waiting})
    if trigger_event is not None and (event is None or trigger_event.id != event.id):
        note(s, trigger_event, actor, "plan.attached", at, reason=f"已并入预案响应：{tpl.name}",
             payload={"plan_run": run.id, "plan": tpl.code, "run_event": event.number if event else None})
    s.flush()
    return _summary(s, run)


def _extend(s: Session, tpl: PlanTemplate, run: PlanRun, event: Event, areas: Sequence[Area], actor: Actor,
            at: datetime, key: str | None) -> tuple[int, int]:
    """Resolve the roles for newly affected areas; dispatch the new shares whose predecessors on their
    branch are all done (or absent), keep the others waiting. Returns (dispatched, waiting)."""
    existing = s.scalars(select(PlanRunStep).where(PlanRunStep.run_id == run.id)).all()
    have = {(st.task_key, st.unit_id) for st in existing}
    shares, problems = resolve(s, tpl, areas)
    shares = [sh for sh in shares if (sh.task_key, sh.unit.unit_id) not in have]
    if problems:
        run.problems = [*(run.problems or []), *problems]
    if not shares:
        return 0, 0
    if EventState(event.state) not in (EventState.REGISTERED, EventState.DISPATCHED, EventState.HANDLING):
        run.problems = [*(run.problems or []), {
            "task": None, "area": ",".join(a.code for a in areas),
            "message": f"the run's event is {event.state}: no tasks were added for the new areas"}]
        return 0, 0
    steps = [new_step(run, tpl, sh, waits=True) for sh in shares]
    ids = [st.task_id for st in existing if st.task_id is not None]
    states = dict(s.execute(select(Task.id, Task.state).where(Task.id.in_(ids))).all()) if ids else {}
    pool = step_index([*existing, *steps])
    ready = [st for st in steps
             if all(o.task_id is not None and states.get(o.task_id) in DONE for o in predecessors(st, pool))]
    for st in ready:
        # still being created (not yet in the session): whether a new step waits depends on the whole
        # pool, old steps and new, so it is settled once the pool is known
        st.state = initial_step_state(waits=False).value
    s.add_all(steps)
    if ready:
        move_event(s, event, EventAction.DISPATCH, actor, at, reason=f"预案响应范围扩大：{tpl.name}", payload={
            "plan": tpl.code, "plan_run": run.id, "trigger": key, "tasks": len(ready),
            "waiting": len(steps) - len(ready), "areas": sorted({a.code for a in areas})})
        dispatch_steps(s, event, ready, unit_names(s, {st.unit_id for st in ready}), actor, at,
                        f"预案:{tpl.code}")
    s.flush()
    return len(ready), len(steps) - len(ready)


def _summary(s: Session, run: PlanRun) -> Activation:
    number = s.scalar(select(Event.number).where(Event.id == run.event_id)) if run.event_id else None
    counts = dict(s.execute(select(PlanRunStep.state, func.count()).where(PlanRunStep.run_id == run.id)
                            .group_by(PlanRunStep.state)).all())
    return Activation(run.id, number, run.state, False, int(counts.get(StepState.DISPATCHED.value, 0)),
                      int(counts.get(StepState.WAITING.value, 0)))


def _existing(s: Session, key: str | None) -> Activation | None:
    run = _trigger_run(s, key)
    return _summary(s, run) if run is not None else None


def _new_run(row: PlanTemplateRow, tpl: PlanTemplate, key: str | None, kind: str, at: datetime,
             areas: Sequence[str], warning_id: int | None = None, warning_level: str | None = None) -> PlanRun:
    return PlanRun(template_id=row.id, template_code=tpl.code, template_version=row.version,
                   state=RunState.PROPOSED.value,
                   trigger_key=key, trigger_kind=kind, warning_id=warning_id, warning_level=warning_level,
                   affected_areas=list(areas), problems=[], proposed_at=at, created_at=at)


def _usable(s: Session, code: str, actor: Actor) -> tuple[PlanTemplateRow, PlanTemplate]:
    row = _template_row(s, code, actor)
    if not row.enabled:
        raise Conflict(f"plan template '{code}' is disabled")
    return row, validate_template(row.document)


def template_reaches(row: PlanTemplateRow, path: str | None) -> bool:
    """A template belonging to an area starts only for places inside it (``None``: anywhere)."""
    return row.area_path is None or (path is not None and path.startswith(row.area_path))


def _ensure_reach(row: PlanTemplateRow, areas: Sequence[Area], field: str = "area_codes") -> None:
    """A town's template never sends tasks into another town (422 with the area's field)."""
    for i, area in enumerate(areas):
        if not template_reaches(row, area.path):
            owner = (row.area_path or "").rstrip("/").rsplit("/", 1)[-1]
            raise Invalid(f"plan template '{row.code}' belongs to {owner} and does not reach {area.code}",
                          field=f"{field}[{i}]" if field == "area_codes" else field)


def _commit_run(uow: UnitOfWork, key: str | None) -> Activation | None:
    """Commit; when a concurrent activation of the same episode won the unique key, answer with its run."""
    try:
        uow.commit()
        return None
    except IntegrityError:
        uow.session.rollback()
        found = _existing(uow.session, key)
        if found is None:
            raise
        return found


def activate_on_event(uow: UnitOfWork, ref: str, code: str, cmd: Activate, actor: Actor, *,
                      now: datetime | None = None) -> Activation:
    """One click from an event (一键启动): the run hangs under it; the areas default to the event's.

    Clicking twice (or a class trigger having started it already) answers with the first run.
    """
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        event = load_event(s, ref)
        authz.ensure_visible(actor, event.area_path, [event.owner_unit_id, *(t.unit_id for t in event.tasks)],
                             what=f"event {ref}")
        authz.ensure_can_act_on_event(actor, event)
        row, tpl = _usable(s, code, actor)
        key = f"event:{event.id}:{tpl.code}"
        found = _existing(s, key)
        if found is not None:
            return found
        if cmd.area_codes:
            areas = _areas(s, cmd.area_codes, actor)
            _ensure_reach(row, areas)
        elif event.area is not None:
            areas = [event.area]
            _ensure_reach(row, areas, field="ref")
        else:
            raise Invalid("the event has no place: name the affected areas", field="area_codes")
        joined = _open_run_for(s, row, [a.path for a in areas], warning=False)
        if joined is not None:
            done = _attach(s, tpl, joined, key, "event", areas, event, actor, at)
            return _commit_run(uow, key) or done
        run = _new_run(row, tpl, key, "event", at, [a.code for a in areas])
        s.add(run)
        done = _start(s, row, tpl, run, event, areas, actor, at, cmd.reason)
        _add_trigger(s, run, key, "event", "started", at, run.affected_areas, event_id=event.id,
                     new_areas=run.affected_areas, added=done.tasks + done.waiting)
        return _commit_run(uow, key) or done


def activate_manual(uow: UnitOfWork, code: str, cmd: Activate, actor: Actor, *, now: datetime | None = None,
                    idempotency_key: str | None = None) -> Activation:
    """Start a plan by hand for the named areas; an event is registered for the run."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    if not cmd.area_codes:
        raise Invalid("name at least one affected area", field="area_codes")
    with uow:
        s = uow.session
        row, tpl = _usable(s, code, actor)
        # scoped to the caller, as intake's keys are: another person's key never answers with his run
        key = f"manual:{scoped_intake_key(actor, idempotency_key)}:{tpl.code}" if idempotency_key else None
        found = _existing(s, key)
        if found is not None:
            return found
        areas = _areas(s, cmd.area_codes, actor)
        _ensure_reach(row, areas)
        joined = _open_run_for(s, row, [a.path for a in areas], warning=False)
        if joined is not None:
            done = _attach(s, tpl, joined, key, "manual", areas, None, actor, at)
            return _commit_run(uow, key) or done
        event = _register_event(s, tpl, areas, actor, at, "duty_officer", cmd.title, cmd.reason or "")
        run = _new_run(row, tpl, key, "manual", at, [a.code for a in areas])
        s.add(run)
        done = _start(s, row, tpl, run, event, areas, actor, at, cmd.reason)
        _add_trigger(s, run, key, "manual", "started", at, run.affected_areas, event_id=event.id,
                     new_areas=run.affected_areas, added=done.tasks + done.waiting)
        return _commit_run(uow, key) or done


def _load_run(s: Session, run_id: int, actor: Actor, *, to_change: bool = False) -> PlanRun:
    """The run, if the actor may read it (``to_change``: decide on it).

    Reading: the run's event is in his scope or his unit's, or the run reaches one of his areas or has
    a step for his unit — each town reads the district's run, and the board shows it its own part
    (``runs.board``). Deciding (confirm, dismiss, stand down, redispatch) needs more: the run's event
    in his scope, or, before there is one (a proposal), every area the run touches — a proposal over
    several towns is decided by the centre that covers them all (issue #15)."""
    run = s.get(PlanRun, run_id)
    if run is None:
        raise NotFound(f"plan run {run_id} not found")
    if actor.area_paths is None:
        return run
    if run.event_id is not None:
        # two columns, not the event: loading it would load its tasks (thousands on a city-wide run)
        path, owner = s.execute(select(Event.area_path, Event.owner_unit_id).where(Event.id == run.event_id)).one()
        if authz.path_visible(actor, path) or owner == actor.unit_id:
            return run
    paths = s.scalars(select(Area.path).where(Area.code.in_(run.affected_areas))).all()
    if to_change:
        if run.event_id is None and paths and all(authz.path_visible(actor, p) for p in paths):
            return run
        _load_run(s, run_id, actor)  # 404 when he may not even read it
        # he reads his part of it, but it is not his to decide
        raise authz.Forbidden(f"{actor.label} may not decide plan run {run_id}: it reaches beyond his area",
                        field="run")
    if any(authz.path_visible(actor, p) for p in paths):
        return run
    if actor.unit_id is not None and s.scalar(select(PlanRunStep.id).where(
            PlanRunStep.run_id == run.id, PlanRunStep.unit_id == actor.unit_id).limit(1)) is not None:
        return run
    raise NotFound(f"plan run {run_id} not found")


def confirm(uow: UnitOfWork, run_id: int, cmd: Decide, actor: Actor, *, now: datetime | None = None) -> Activation:
    """The duty officer starts a proposed run (提请确认 → 启动)."""
    authz.require(actor, perm.PLAN_ACTIVATE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        run = _load_run(s, run_id, actor, to_change=True)
        ensure_run_can(run, RunAction.START)
        row = s.get(PlanTemplateRow, run.template_id)
        assert row is not None
        tpl = validate_template(row.document)
        areas = list(s.scalars(select(Area).where(Area.code.in_(run.affected_areas))))
        if run.event_id is not None:
            event = s.get(Event, run.event_id)
            assert event is not None
        else:
            level = f"（{run.warning_level}预警）" if run.warning_level else ""
            event = _register_event(s, tpl, areas, actor, at, "sensor_warning" if run.warning_id else "duty_officer",
                                    None, f"预警触发预案{level}")
        run.template_version = row.version
        done = _start(s, row, tpl, run, event, areas, actor, at, cmd.reason or f"值班员确认启动预案：{tpl.name}")
        uow.commit()
        return done


def _warning_text(w: hooks.WarningChange | None) -> str:
    if w is None:
        return ""
    from shuzhi.domain.plans import WARNING_LEVEL_LABELS

    return f"{w.indicator_code}{WARNING_LEVEL_LABELS.get(w.level or '', '')}预警，"
