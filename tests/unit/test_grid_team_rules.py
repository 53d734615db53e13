"""The grid's people as plain rules (issue #20): teams "1+3+N", duty periods and completion, 五长制, layers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shuzhi.domain import grid_teams as d

ROLES = {k for k, _ in d.DEFAULT_ROLES} | {"volunteer"}


def test_the_city_keeps_the_four_of_1_plus_3_and_adds_its_n() -> None:
    keys = [k for k, _ in d.DEFAULT_ROLES]
    assert d.roles_problem([*keys, "volunteer", "courier"]) is None
    assert d.roles_problem([*keys[1:], "volunteer"]) == (4, 'the roles of "1+3" stay: grid_leader missing')
    assert d.roles_problem([*keys, "Bad Key"])[0] == 4  # type: ignore[index]
    assert d.roles_problem([*keys, "full_time"]) == (4, "role 'full_time' is named twice")


def test_a_grid_has_one_leader_and_a_person_holds_a_role_once() -> None:
    ok = [d.MemberLine(1, "grid_leader"), d.MemberLine(2, "full_time"), d.MemberLine(2, "volunteer")]
    assert d.team_problem(ok, ROLES) is None
    assert d.team_problem([*ok, d.MemberLine(3, "grid_leader")], ROLES) == (3, "role", "a grid has one 网格长")
    assert d.team_problem([*ok, d.MemberLine(2, "full_time")], ROLES)[:2] == (3, "person_code")  # type: ignore[index]
    assert d.team_problem([d.MemberLine(1, "astronaut")], ROLES)[:2] == (0, "role")  # type: ignore[index]


@pytest.mark.parametrize(("current", "grids", "asked", "expected"), [
    (None, [5, 3], None, 3),      # nothing chosen: his first (lowest) grid
    (5, [5, 3], None, 5),         # kept while he still serves there
    (5, [5, 3], 3, 3),            # asked for: moves
    (7, [5, 3], None, 3),         # left his primary grid: the first remaining
    (5, [], None, None),          # serves nowhere
    (5, [5, 3], 9, 5),            # asking for a grid he does not serve in changes nothing
])
def test_a_person_has_exactly_one_primary_membership(current: int | None, grids: list[int], asked: int | None,
                                                     expected: int | None) -> None:
    assert d.primary_grid(current, grids, asked) == expected


def test_periods_are_local_days_iso_weeks_and_months() -> None:
    # 2026-12-06 17:00 UTC is Monday 2026-12-07 01:00 in Shanghai
    at = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
    day = d.period_of("daily", at)
    assert (day.start, day.due) == (datetime(2026, 12, 6, 16, tzinfo=UTC), datetime(2026, 12, 7, 16, tzinfo=UTC))
    week = d.period_of("weekly", at)
    assert week.start_day.isoformat() == "2026-12-07" and week.due - week.start == timedelta(days=7)
    month = d.period_of("monthly", datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    assert month.start_day.isoformat() == "2026-12-01" and month.due == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert d.period_of("monthly", datetime(2026, 12, 31, 16, 0, tzinfo=UTC)).start_day.isoformat() == "2027-01-01"
    with pytest.raises(ValueError):
        d.period_of("hourly", at)


def test_an_item_is_done_late_overdue_or_open_and_the_rate_is_on_time_over_fallen_due() -> None:
    due = datetime(2026, 12, 7, 16, tzinfo=UTC)
    assert d.item_state(due, due, due + timedelta(days=1)) == "done"
    assert d.item_state(due, due + timedelta(seconds=1), due + timedelta(days=1)) == "late"
    assert d.item_state(due, None, due) == "overdue"
    assert d.item_state(due, None, due - timedelta(seconds=1)) == "open"
    assert d.completion_rate(3, 1) == 0.3333 and d.completion_rate(0, 0) is None


def test_a_duty_is_done_the_way_it_says() -> None:
    assert d.done_problem("patrol", False, "走访") == ("patrol_id", "this duty is done on a patrol: give the patrol")
    assert d.done_problem("patrol", True, "") is None
    assert d.done_problem("visit", True, " ")[0] == "note"  # type: ignore[index]
    assert d.done_problem("visit", False, "张大爷") is None
    assert d.done_problem("either", False, "")[0] == "note"  # type: ignore[index]
    assert d.done_problem("either", True, "") is None


def test_a_patrol_does_an_item_when_it_ran_in_its_period() -> None:
    p = d.period_of("daily", datetime(2026, 12, 7, 2, tzinfo=UTC))
    now = p.due + timedelta(days=2)
    assert d.patrol_fits(p, p.start + timedelta(hours=1), p.start + timedelta(hours=2), now)
    assert d.patrol_fits(p, p.start - timedelta(hours=1), p.start + timedelta(minutes=5), now)  # over midnight
    assert not d.patrol_fits(p, p.start - timedelta(hours=3), p.start - timedelta(hours=1), now)  # the day before
    assert not d.patrol_fits(p, p.due, p.due + timedelta(hours=1), now)  # the day after
    assert d.patrol_fits(p, p.start + timedelta(hours=3), None, p.start + timedelta(hours=4))  # still running


@pytest.mark.parametrize(("link", "parent", "ok"), [
    ("community", None, True), ("grid", "community", True), ("block", "grid", True),
    ("building", "block", True), ("property", "building", True), ("building", None, True),
    ("building", "grid", False), ("property", "block", False), ("community", "grid", False),
    ("tower", None, False),
])
def test_the_chain_of_five_leaders_hangs_each_link_under_the_one_above(link: str, parent: str | None,
                                                                       ok: bool) -> None:
    assert (d.chain_problem(link, parent) is None) is ok


def test_layers_are_the_governance_grid_and_special_purpose_ones() -> None:
    assert d.layer_problem("governance") is None and d.layer_problem("flood") is None
    assert d.layer_problem("moon") is not None
