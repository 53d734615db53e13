"""The plan-run and plan-step tables, row by row, and random walks that must keep the run's invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.domain.events import IllegalTransition
from shuzhi.domain.plan_runs import (
    FINAL_RUN_STATES,
    FINAL_STEP_STATES,
    OPEN_RUN_STATES,
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    RunAction,
    RunState,
    StepAction,
    StepState,
    initial_step_state,
    next_run_state,
    next_step_state,
)

R, RA, S, SA = RunState, RunAction, StepState, StepAction


@pytest.mark.parametrize(("state", "action", "expected"), [(s, a, t) for (s, a), t in RUN_TRANSITIONS.items()])
def test_run_table_row(state: RunState, action: RunAction, expected: RunState) -> None:
    assert next_run_state(state, action) is expected


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in R for a in RA if (s, a) not in RUN_TRANSITIONS])
def test_run_forbidden_pair_names_state_and_action(state: RunState, action: RunAction) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot {action.value}: the plan run is {state.value}$"):
        next_run_state(state, action)


@pytest.mark.parametrize(("state", "action", "expected"), [(s, a, t) for (s, a), t in STEP_TRANSITIONS.items()])
def test_step_table_row(state: StepState, action: StepAction, expected: StepState) -> None:
    assert next_step_state(state, action) is expected


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in S for a in SA if (s, a) not in STEP_TRANSITIONS])
def test_step_forbidden_pair_names_state_and_action(state: StepState, action: StepAction) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot {action.value}: the plan step is {state.value}$"):
        next_step_state(state, action)


def test_the_table_as_the_duty_officer_knows_it() -> None:
    # a proposal is started or dismissed, once; only a started run stands down; nothing ends twice
    assert next_run_state(R.PROPOSED, RA.START) is R.ACTIVE
    assert next_run_state(R.PROPOSED, RA.DISMISS) is R.DISMISSED
    for state, action in [(R.ACTIVE, RA.START), (R.ACTIVE, RA.DISMISS), (R.PROPOSED, RA.STAND_DOWN),
                          (R.STOOD_DOWN, RA.STAND_DOWN), (R.DISMISSED, RA.START)]:
        with pytest.raises(IllegalTransition):
            next_run_state(state, action)
    # a waiting share is released or cancelled; a dispatched one is only ever re-dispatched
    for state, action in [(S.DISPATCHED, SA.RELEASE), (S.DISPATCHED, SA.CANCEL), (S.CANCELLED, SA.RELEASE),
                          (S.WAITING, SA.REDISPATCH)]:
        with pytest.raises(IllegalTransition):
            next_step_state(state, action)


def test_final_states_allow_nothing_and_open_ones_something() -> None:
    assert set(R) == FINAL_RUN_STATES | OPEN_RUN_STATES and not FINAL_RUN_STATES & OPEN_RUN_STATES
    for state in FINAL_RUN_STATES:
        assert not [a for (s, a) in RUN_TRANSITIONS if s is state]
    for state in OPEN_RUN_STATES:
        assert [a for (s, a) in RUN_TRANSITIONS if s is state]
    for step_state in FINAL_STEP_STATES:
        assert not [a for (s, a) in STEP_TRANSITIONS if s is step_state]


def test_a_step_is_created_waiting_only_when_it_waits() -> None:
    assert initial_step_state(True) is S.WAITING
    assert initial_step_state(False) is S.DISPATCHED


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([R.PROPOSED]), st.lists(st.sampled_from(list(RA)), max_size=20))
def test_random_run_walk_keeps_invariants(start: RunState, actions: list[RunAction]) -> None:
    """Any sequence either moves along the table or is refused; a run leaves each state at most once,
    ends at most once, and stands down only after it was started."""
    state = start
    seen = [state]
    for action in actions:
        try:
            new = next_run_state(state, action)
        except IllegalTransition:
            continue
        assert state not in FINAL_RUN_STATES
        state = new
        seen.append(state)
    assert len(seen) == len(set(seen))
    assert len([s for s in seen if s in FINAL_RUN_STATES]) <= 1
    if R.STOOD_DOWN in seen:
        assert seen[seen.index(R.STOOD_DOWN) - 1] is R.ACTIVE
    if R.DISMISSED in seen:
        assert R.ACTIVE not in seen


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.lists(st.sampled_from(list(SA)), max_size=20))
def test_random_step_walk_never_dispatches_a_cancelled_share(waits: bool, actions: list[StepAction]) -> None:
    state = initial_step_state(waits)
    history = [state]
    for action in actions:
        try:
            state = next_step_state(state, action)
        except IllegalTransition:
            continue
        history.append(state)
    if S.CANCELLED in history:
        assert history[-1] is S.CANCELLED and S.DISPATCHED not in history
    if S.WAITING in history:
        assert history[0] is S.WAITING  # nothing goes back to waiting
