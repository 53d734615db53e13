"""Applying the plan-run tables (:mod:`shuzhi.domain.plan_runs`) to stored runs and steps.

Every change of a run's or a step's state goes through :func:`move_plan`: the table refuses what it
does not allow, the moment, the actor and the reason are stamped, and one timeline line on the run's
event records the move (``plan.start``, ``plan.dismiss``, ``plan.stand_down`` for the run;
``plan.release``, ``plan.cancel_waiting``, ``plan.redispatch`` for steps), with the run's states
and the steps moved in its payload.  A proposal that has no event yet (a warning without one) has no
timeline: its dismissal stays on the run (``ended_at``, ``end_reason``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_plans import PlanRun, PlanRunStep
from shuzhi.domain.events import IllegalTransition
from shuzhi.domain.plan_runs import (
    RunAction,
    RunState,
    StepAction,
    StepState,
    next_run_state,
    next_step_state,
)
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict
from shuzhi.services.transitions import note

#: The timeline line of a move of steps alone (a run move is ``plan.<action>``).
STEP_LINES: dict[StepAction, str] = {
    StepAction.RELEASE: "plan.release",
    StepAction.CANCEL: "plan.cancel_waiting",
    StepAction.REDISPATCH: "plan.redispatch",
}


def ensure_run_can(run: PlanRun, action: RunAction) -> None:
    """Refuse early (before any other work of the use case) what the run table does not allow."""
    try:
        next_run_state(RunState(run.state), action)
    except IllegalTransition as exc:
        raise Conflict(f"plan run {run.id}: {exc}", details={"state": run.state, "action": action.value}) from None


def move_plan(
    session: Session,
    event: Event | None,
    actor: Actor,
    at: datetime,
    *,
    run: PlanRun,
    action: RunAction | None = None,
    steps: Sequence[PlanRunStep] = (),
    step_action: StepAction | None = None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Move the run by ``action`` and/or ``steps`` by ``step_action``, and write one timeline line.

    A stand-down moves both (the run ends, its waiting steps are cancelled) and is one line."""
    if action is None and step_action is None:
        raise ValueError("move_plan needs a run action or a step action")
    if steps and step_action is None:
        raise ValueError("steps move only by a step action")
    body: dict[str, Any] = {"plan_run": run.id, "plan": run.template_code}
    if action is not None:
        ensure_run_can(run, action)
        before = RunState(run.state)
        after = next_run_state(before, action)
        run.state = after.value
        if action is RunAction.START:
            run.started_at, run.started_by = at, actor.label
        else:
            run.ended_at, run.end_reason = at, reason
        body["run"] = {"from": before.value, "to": after.value}
    if step_action is not None:
        moved = []
        for st in steps:
            try:
                after_step = next_step_state(StepState(st.state), step_action)
            except IllegalTransition as exc:
                raise Conflict(f"plan run {run.id}, step {st.task_key}: {exc}",
                               details={"state": st.state, "action": step_action.value}) from None
            st.state = after_step.value
            if step_action is StepAction.CANCEL:
                st.end_reason = reason[:2000] if reason else None
            moved.append(st.id)
        body["steps"] = {"action": step_action.value, "ids": moved}
    body.update(payload or {})
    if event is not None:
        line = f"plan.{action.value}" if action is not None else STEP_LINES[step_action]  # type: ignore[index]
        note(session, event, actor, line, at, reason=reason[:2000] if reason else None, payload=body)
