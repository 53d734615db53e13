"""What starts a contingency plan, and what a plan task's move means for the tasks waiting on it.

* Triggers: a warning of an indicator (or any node above it) at or above a level
  (``WARNING_HOOKS``), an event class at or above an urgency (``EVENT_HOOKS``, on intake and
  reclassification).  A template set to ``propose`` records a proposal for the duty officer instead.
  The trigger key (``warning:<episode>:<plan>``, ``event:<id>:<plan>``) is unique: one run per episode.
* A task with predecessors waits, and is dispatched when they have all reported back
  (:func:`on_task_change`, a ``TASK_HOOKS`` entry); a cancelled predecessor cancels its dependants.

The hooks are registered by :func:`shuzhi.services.bootstrap.bootstrap`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.tables import Area, Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_plans import (
    PlanRun,
    PlanRunStep,
    PlanRunTrigger,
    PlanTemplateRow,
)
from shuzhi.domain.events import TaskAction
from shuzhi.domain.plan_runs import RunState, StepAction, StepState
from shuzhi.domain.plans import (
    Confirmation,
    PlanTemplate,
    TriggerKind,
    related,
    validate_template,
)
from shuzhi.services import hooks
from shuzhi.services.actors import SYSTEM
from shuzhi.services.errors import Conflict, Invalid
from shuzhi.services.plans.activation import (
    _add_trigger,
    _attach,
    _new_run,
    _open_run_for,
    _register_event,
    _start,
    _trigger_run,
    _warning_text,
    template_reaches,
)
from shuzhi.services.plans.shares import DONE, dispatch_steps, predecessors, step_index, unit_names
from shuzhi.services.plans.templates import _event_triggers
from shuzhi.services.plans.transitions import move_plan
from shuzhi.services.transitions import note

log = logging.getLogger(__name__)

# --- triggers ------------------------------------------------------------------------------------


_parsed: dict[tuple[str, int, str], PlanTemplate] = {}


def _parse(s: Session, row: PlanTemplateRow) -> PlanTemplate:
    """Stored templates were checked when saved; parsed once per (database, id, version) — intake
    calls the event trigger for every new event."""
    key = (database_key(s), row.id, json.dumps(row.document, sort_keys=True))
    if key not in _parsed:
        _parsed[key] = validate_template(row.document)
    return _parsed[key]


def _trigger_templates(s: Session, kind: TriggerKind) -> list[tuple[PlanTemplateRow, PlanTemplate]]:
    rows = s.scalars(select(PlanTemplateRow).where(PlanTemplateRow.trigger_kind == kind.value,
                                                   PlanTemplateRow.enabled.is_(True))).all()
    return [(r, _parse(s, r)) for r in rows]


def _auto(s: Session, row: PlanTemplateRow, tpl: PlanTemplate, key: str, kind: str, areas: list[Area],
          event: Event | None, at: datetime, warning: hooks.WarningChange | None = None) -> None:
    """Start (or propose) one triggered run inside the caller's transaction; a plan that cannot start
    is left as a proposal carrying the reason, and never breaks the caller's work.

    A trigger whose reach overlaps an open run of the template joins that run (:func:`_attach`)."""
    if _trigger_run(s, key) is not None:
        return
    joined = _open_run_for(s, row, [a.path for a in areas], warning=warning is not None)
    if joined is not None:
        try:
            with s.begin_nested():
                _attach(s, tpl, joined, key, kind, areas, event, SYSTEM, at, warning)
        except (Invalid, Conflict) as exc:
            log.warning("plan %s: trigger %s could not join run %s: %s", tpl.code, key, joined.id, exc.message)
        return
    run = _new_run(row, tpl, key, kind, at, [a.code for a in areas],
                   warning.warning_id if warning else None, warning.level if warning else None)
    run.event_id = event.id if event is not None else None
    own = event.id if event is not None else None  # the trigger's own event (a warning's), if any
    try:
        with s.begin_nested():
            s.add(run)
            s.flush()
            if tpl.confirmation is Confirmation.AUTO:
                if event is None:
                    event = _register_event(s, tpl, areas, SYSTEM, at, "sensor_warning", None,
                                            f"{_warning_text(warning)}自动启动预案")
                done = _start(s, row, tpl, run, event, areas, SYSTEM, at, f"触发条件满足，自动启动预案：{tpl.name}")
                _add_trigger(s, run, key, kind, "started", at, run.affected_areas, warning=warning,
                             event_id=own, new_areas=run.affected_areas, added=done.tasks + done.waiting)
            else:
                _add_trigger(s, run, key, kind, "started", at, run.affected_areas, warning=warning,
                             event_id=own, new_areas=run.affected_areas)
                if event is not None:
                    note(s, event, SYSTEM, "plan.proposed", at, payload={"plan": tpl.code, "plan_run": run.id})
    except (Invalid, Conflict) as exc:
        log.warning("plan %s could not start for %s: %s", tpl.code, key, exc.message)
        with s.begin_nested():
            failed = _new_run(row, tpl, key, kind, at, [a.code for a in areas],
                              warning.warning_id if warning else None, warning.level if warning else None)
            failed.problems = [{"task": None, "area": None, "message": exc.message}]
            s.add(failed)
            s.flush()
            _add_trigger(s, failed, key, kind, "started", at, failed.affected_areas, warning=warning,
                         event_id=own, new_areas=failed.affected_areas)


def on_warning(s: Session, change: hooks.WarningChange) -> None:
    """WARNING_HOOKS: a warning at or above a template's level starts (or proposes) it once per episode."""
    if change.level is None:
        _note_resolved(s, change)
        return
    matching = [(r, t) for r, t in _warning_templates(s)
                if t.trigger.matches_warning(change.indicator_lineage, change.level)]
    if not matching:
        return
    area = s.scalar(select(Area).where(Area.code == change.area_code))
    if area is None:
        log.warning("warning %s names unknown area %s", change.warning_id, change.area_code)
        return
    # a town's template answers its town's warnings only (issue #15)
    matching = [(r, t) for r, t in matching if template_reaches(r, area.path)]
    event = s.get(Event, change.event_id) if change.event_id else None
    for row, tpl in matching:
        _auto(s, row, tpl, f"warning:{change.episode_key}:{tpl.code}", "warning", [area], event, change.at, change)


_WARNING_TEMPLATES = "shuzhi.plans.warning_templates"


def _warning_templates(s: Session) -> list[tuple[PlanTemplateRow, PlanTemplate]]:
    """The enabled warning-triggered templates, read once per transaction: a batch of readings can
    change thousands of warnings, and each asked the database for the same (usually empty) list."""
    txn = s.get_transaction()
    held = s.info.get(_WARNING_TEMPLATES)
    if held is not None and txn is not None and held[0] is txn:
        return held[1]  # type: ignore[no-any-return]
    found = _trigger_templates(s, TriggerKind.WARNING)
    s.info[_WARNING_TEMPLATES] = (txn, found)
    return found


# The runs an episode's warning triggered or joined: their ids by one Core statement built once (the
# prefix is a parameter, escaped as ``startswith(..., autoescape=True)`` escapes it) — almost always
# none, and a warning that resolves must not pay for loading ORM objects to learn that.
_runs, _triggers = PlanRun.__table__.c, PlanRunTrigger.__table__.c
_EPISODE_RUN_IDS = select(_runs.id).where(
    _runs.id.in_(select(_triggers.run_id).where(_triggers.trigger_key.like(bindparam("prefix"), escape="/")))
    | _runs.trigger_key.like(bindparam("prefix"), escape="/"))


def _like_prefix(prefix: str) -> str:
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _note_resolved(s: Session, change: hooks.WarningChange) -> None:
    ids = s.scalars(_EPISODE_RUN_IDS, {"prefix": _like_prefix(f"warning:{change.episode_key}:")}).all()
    runs = s.scalars(select(PlanRun).where(PlanRun.id.in_(ids)).order_by(PlanRun.id)).all() if ids else ()
    for run in runs:
        event = s.get(Event, run.event_id) if run.event_id else None
        if event is not None and run.state == RunState.ACTIVE:
            # Standing down stays a person's decision; the board shows the warning has ended.
            note(s, event, SYSTEM, "plan.warning_resolved", change.at,
                 payload={"plan_run": run.id, "warning": change.warning_id})


def _starts_on(tpl: PlanTemplate, change: hooks.EventChange) -> bool:
    if change.event_class_code is None or not tpl.trigger.matches_event(change.event_class_code, change.urgency):
        return False
    # A reclassification that already matched before is the same episode, nothing new starts.
    return not (change.previous_urgency is not None
                and tpl.trigger.matches_event(change.previous_class_code, change.previous_urgency))


def on_event(s: Session, change: hooks.EventChange) -> None:
    """EVENT_HOOKS: an event of a template's class at or above its urgency starts (or proposes) it."""
    if change.event_class_code is None:
        return
    triggers = _event_triggers.get(database_key(s),
                                   lambda: tuple(tpl for _, tpl in _trigger_templates(s, TriggerKind.EVENT_CLASS)))
    if not any(_starts_on(tpl, change) for tpl in triggers or ()):
        return
    matching = [(row, tpl) for row, tpl in _trigger_templates(s, TriggerKind.EVENT_CLASS) if _starts_on(tpl, change)]
    if not matching:
        return
    event = s.get(Event, change.event_id)
    if event is None or event.area is None:
        return
    for row, tpl in matching:
        if not template_reaches(row, event.area.path):
            continue  # a town's template never starts for another town's events
        _auto(s, row, tpl, f"event:{event.id}:{tpl.code}", "event_class", [event.area], event, change.at)


def on_task_change(s: Session, event: Event, task: Task, action: str) -> None:
    """TASK_HOOKS: what a plan task's move means for the tasks waiting on it.

    * reported back (or verified): the waiting tasks whose predecessors are all done are dispatched;
    * cancelled (withdrawn, the event cancelled, merged or reclassified, a centre escalating): the
      tasks waiting on it on its branch — and those waiting on them — are cancelled with the reason;
    * returned or escalated: the share is back with the centre; its dependants keep waiting and the
      timeline says so, until the centre re-dispatches it (:func:`redispatch_step`).
    """
    if action in (TaskAction.REPORT_BACK.value, TaskAction.VERIFY.value):
        _release(s, event, task)
    elif action == TaskAction.CANCEL.value:
        _cancel_dependants(s, event, task)
    elif action in (TaskAction.RETURN.value, TaskAction.ESCALATE.value):
        _note_blocked(s, event, task, action)


def _run_steps_of(s: Session, task: Task, *, waiting_only: bool = False) -> tuple[PlanRunStep,
                                                                                   list[PlanRunStep]] | None:
    """The task's step and the steps of its run (only the waiting ones when that is all the caller
    needs: a stand-down cancels hundreds of tasks, each must not load the whole run)."""
    step = s.scalar(select(PlanRunStep).where(PlanRunStep.task_id == task.id))
    if step is None:
        return None
    s.flush()
    q = select(PlanRunStep).where(PlanRunStep.run_id == step.run_id)
    if waiting_only:
        q = q.where(PlanRunStep.state == StepState.WAITING.value)
    return step, list(s.scalars(q))


def _dependants(step: PlanRunStep, steps: Sequence[PlanRunStep]) -> list[PlanRunStep]:
    """Waiting steps that wait on ``step`` on its branch, and those waiting on them, in order."""
    out: list[PlanRunStep] = []
    frontier = [step]
    while frontier:
        cur = frontier.pop(0)
        for st in steps:
            if (st.state == StepState.WAITING and cur.task_key in st.after and related(cur.unit_path, st.unit_path)
                    and st not in out):
                out.append(st)
                frontier.append(st)
    return out


def _task_reason(s: Session, task: Task, action: str) -> str | None:
    """The reason given with the move the hook is told about, from its timeline line (callers stamp
    ``end_reason`` only after the move)."""
    s.flush()
    reason = s.scalar(select(TimelineEntry.reason).where(TimelineEntry.task_id == task.id,
                                                         TimelineEntry.action == f"task.{action}")
                      .order_by(TimelineEntry.id.desc()).limit(1))
    return reason or task.end_reason


def _cancel_dependants(s: Session, event: Event, task: Task) -> None:
    found = _run_steps_of(s, task, waiting_only=True)
    if found is None:
        return
    step, steps = found
    doomed = _dependants(step, steps)
    if not doomed:
        return
    unit = unit_names(s, {step.unit_id}).get(step.unit_id, ("", ""))[1]
    why = _task_reason(s, task, TaskAction.CANCEL.value)
    reason = f"前置任务「{step.title}」（{unit}）已取消" + (f"：{why}" if why else "")
    run = s.get(PlanRun, step.run_id)
    assert run is not None
    move_plan(s, event, SYSTEM, task.updated_at, run=run, steps=doomed, step_action=StepAction.CANCEL,
              reason=reason[:2000], payload={"after_task": task.id, "cancelled": [st.task_key for st in doomed],
        "units": sorted(unit_names(s, {st.unit_id for st in doomed})[st.unit_id][0] for st in doomed),
        "tasks": len(doomed)})


def _note_blocked(s: Session, event: Event, task: Task, action: str) -> None:
    found = _run_steps_of(s, task, waiting_only=True)
    if found is None:
        return
    step, steps = found
    blocked = _dependants(step, steps)
    if not blocked:
        return
    what = "退单" if action == TaskAction.RETURN.value else "上报"
    note(s, event, SYSTEM, "plan.blocked", task.updated_at,
         reason=f"前置任务「{step.title}」已{what}，后续任务等待改派后继续", payload={
             "plan_run": step.run_id, "after_task": task.id, "step": step.id,
             "waiting": [st.task_key for st in blocked], "tasks": len(blocked)})


def _release(s: Session, event: Event, task: Task) -> None:
    """A plan task reported back releases the waiting tasks whose predecessors are all done."""
    found = _run_steps_of(s, task)
    if found is None:
        return
    _step_of_task, steps = found
    run_id = _step_of_task.run_id
    waiting = [st for st in steps if st.state == StepState.WAITING]
    if not waiting:
        return
    ids = [st.task_id for st in steps if st.task_id is not None]
    states = dict(s.execute(select(Task.id, Task.state).where(Task.id.in_(ids))).all())
    index = step_index(steps)
    ready = [st for st in waiting
             if all(o.task_id is not None and states.get(o.task_id) in DONE for o in predecessors(st, index))]
    if not ready:
        return
    run = s.get(PlanRun, run_id)
    assert run is not None
    at = task.updated_at  # the moment of the report-back (move_task stamps it before the hooks run)
    move_plan(s, event, SYSTEM, at, run=run, steps=ready, step_action=StepAction.RELEASE, payload={
        "after_task": task.id, "released": [st.task_key for st in ready], "tasks": len(ready)})
    dispatch_steps(s, event, ready, unit_names(s, {st.unit_id for st in ready}), SYSTEM, at,
                    f"预案:{run.template_code}")

