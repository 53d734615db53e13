"""The town's rules (domain/town.py, issue #20): who assigns a task to a named person, to whom a leaving
person's tasks return, the boards' defaults; and the assignee's standing on his task (domain/standing.py)."""

from __future__ import annotations

import pytest

from shuzhi.domain import standing
from shuzhi.domain import town as d

UNIT, OTHER = 10, 20


def _who(person: int = 1, unit: int | None = UNIT, role: str | None = "leader", superior: bool = False) -> d.Assigner:
    return d.Assigner(person_id=person, unit_id=unit, role=role, superior_centre=superior)


@pytest.mark.parametrize(("who", "board_leader", "allowed"), [
    (_who(), None, True),  # the unit's own leader
    (_who(role="handler"), None, False),  # a member who is no leader
    (_who(unit=OTHER), None, False),  # another unit's leader
    (_who(person=7, unit=OTHER, role="leader"), 7, True),  # the board's town leader in charge, seated elsewhere
    (_who(person=8, unit=OTHER, role="handler"), 7, False),
    (_who(unit=OTHER, role="duty_officer", superior=True), None, True),  # a superior centre
])
def test_only_the_units_leader_the_boards_leader_or_a_superior_centre_assigns(
        who: d.Assigner, board_leader: int | None, allowed: bool) -> None:
    assert d.may_assign(who, UNIT, board_leader) is allowed


def test_tasks_return_to_the_boards_leader_then_the_units_leaders_never_to_the_one_leaving() -> None:
    assert d.leader_to_return_to(5, [6, 7], leaving_id=1) == 5
    assert d.leader_to_return_to(None, [6, 7], leaving_id=1) == 6
    assert d.leader_to_return_to(6, [6, 7], leaving_id=6) == 7  # the leader himself leaves
    assert d.leader_to_return_to(None, [1], leaving_id=1) is None  # nobody left: the unit as a whole


def test_the_four_boards_of_the_seeds_are_the_default_and_keys_are_checked() -> None:
    assert [n for _, n in d.DEFAULT_BOARDS] == ["党的建设", "经济发展", "平安法治", "民生服务"]
    assert all(d.board_key_problem(k) is None for k, _ in d.DEFAULT_BOARDS)
    assert d.board_key_problem("Bad Key") and d.board_key_problem("x")
    assert d.board_unit_code("500111001", "safety_law") == "B500111001-safety_law"


def test_the_assignee_works_on_his_live_task_whatever_his_unit_and_nothing_else() -> None:
    task = standing.TaskFacts(id=1, unit_id=UNIT, live=True, assignee_id=9)
    event = standing.EventFacts(area_path="/1/2/", owner_unit_id=None, tasks=(task,))
    him = standing.Who(unit_id=OTHER, area_paths=("/9/",), person_id=9)
    assert standing.may_work_on_task(him, event, task)
    assert standing.standing_on_event(him, event) is standing.Standing.TASK
    assert not standing.may_act_on_event(him, event)
    ended = standing.TaskFacts(id=1, unit_id=UNIT, live=False, assignee_id=9)
    assert not standing.may_work_on_task(him, standing.EventFacts("/1/2/", None, (ended,)), ended)
    someone = standing.Who(unit_id=OTHER, area_paths=("/9/",), person_id=8)
    assert not standing.may_work_on_task(someone, event, task)
