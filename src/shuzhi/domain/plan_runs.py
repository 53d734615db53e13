"""The life of a plan run (预案响应) and of its steps, as two explicit transition tables.

A *run* is one activation of a template; a *step* is one unit's share of one template task in it
(:mod:`shuzhi.domain.plans` resolves the shares).  A run is proposed when a trigger asks the duty
officer first (提请确认), or is created and started at once; the duty officer starts or dismisses a
proposal; an active run ends when it stands down (解除响应).  A step that waits for nobody is created
dispatched (its task's ``task.create`` line records it); one that waits is released when its
predecessors have reported back, cancelled when one of them is (or the run stands down), and a
dispatched step whose task came back (returned, escalated) is re-dispatched (改派).

The service applies the tables through one door (:func:`shuzhi.services.plans.transitions.move_plan`),
which writes the timeline line; nothing here touches a database.
"""

from __future__ import annotations

from enum import StrEnum

from shuzhi.domain.events import IllegalTransition


class RunState(StrEnum):
    PROPOSED = "proposed"  # 待确认 — a trigger asked the duty officer first (or could not start)
    ACTIVE = "active"  # 响应中
    STOOD_DOWN = "stood_down"  # 已解除响应
    DISMISSED = "dismissed"  # 未启动 — the duty officer declined the proposal


class RunAction(StrEnum):
    START = "start"
    DISMISS = "dismiss"
    STAND_DOWN = "stand_down"


class StepState(StrEnum):
    WAITING = "waiting"  # 等待前置任务
    DISPATCHED = "dispatched"  # 已派发 (its task tells how far it got)
    CANCELLED = "cancelled"  # 已取消 — never dispatched


class StepAction(StrEnum):
    RELEASE = "release"  # every predecessor on its branch reported back
    CANCEL = "cancel"  # a predecessor was cancelled, or the run stood down
    REDISPATCH = "redispatch"  # its task was returned or escalated: a new task goes out


R, RA, S, SA = RunState, RunAction, StepState, StepAction

RUN_TRANSITIONS: dict[tuple[RunState, RunAction], RunState] = {
    (R.PROPOSED, RA.START): R.ACTIVE,
    (R.PROPOSED, RA.DISMISS): R.DISMISSED,
    (R.ACTIVE, RA.STAND_DOWN): R.STOOD_DOWN,
}

STEP_TRANSITIONS: dict[tuple[StepState, StepAction], StepState] = {
    (S.WAITING, SA.RELEASE): S.DISPATCHED,
    (S.WAITING, SA.CANCEL): S.CANCELLED,
    # a dispatched step whose task was cancelled stays dispatched: the task carries the cancellation
    (S.DISPATCHED, SA.REDISPATCH): S.DISPATCHED,
}

#: Runs a further trigger of the same template joins instead of starting another.
OPEN_RUN_STATES = frozenset({R.PROPOSED, R.ACTIVE})
FINAL_RUN_STATES = frozenset({R.STOOD_DOWN, R.DISMISSED})
FINAL_STEP_STATES = frozenset({S.CANCELLED})


def initial_step_state(waits: bool) -> StepState:
    """A new step waits when a predecessor has a share on its branch; otherwise it goes out at once."""
    return S.WAITING if waits else S.DISPATCHED


def next_run_state(state: RunState, action: RunAction) -> RunState:
    """The state a run reaches by ``action``, or :class:`IllegalTransition`."""
    try:
        return RUN_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition("plan run", state.value, action.value) from None


def next_step_state(state: StepState, action: StepAction) -> StepState:
    """The state a step reaches by ``action``, or :class:`IllegalTransition`."""
    try:
        return STEP_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition("plan step", state.value, action.value) from None
