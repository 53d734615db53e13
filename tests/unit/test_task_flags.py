"""The pages read whether a task's clock runs and whether a unit works on it from the API, which derives
both from the domain's one set of states each (issue #17: one vocabulary per concept)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from shuzhi.domain.events import WORKING_TASK_STATES, TaskState
from shuzhi.domain.supervision import RUNNING
from shuzhi.entrypoints.api.schemas import TaskOut


def _task(state: TaskState) -> SimpleNamespace:
    at = datetime(2026, 12, 7, tzinfo=UTC)
    return SimpleNamespace(
        id=1, unit=SimpleNamespace(code="D500111-CGJ", name="城管"), role="lead", state=state.value,
        instruction=None, dispatched_by=None, dispatched_at=at, accept_due_at=None, handle_due_at=None,
        accepted_at=None, reported_at=None, verified_at=None, read_at=None, ended_at=None, end_reason=None,
        result=None, extension_requested_until=None, suspended_at=None, rework_count=0, version=1,
        assignee_if_loaded=None, assigned_at=None)


@pytest.mark.parametrize("state", list(TaskState))
def test_the_task_says_whether_its_clock_runs_and_whether_it_is_worked_on(state: TaskState) -> None:
    out = TaskOut.of(_task(state))  # type: ignore[arg-type]
    assert out.clock_running is (state in RUNNING)
    assert out.working is (state in WORKING_TASK_STATES)


def test_a_copy_for_information_is_not_worked_on_and_a_suspended_task_has_no_clock() -> None:
    assert TaskState.NOTIFIED not in WORKING_TASK_STATES and TaskState.SUSPENDED in WORKING_TASK_STATES
    assert TaskState.SUSPENDED not in RUNNING and TaskState.ACCEPTED in RUNNING
