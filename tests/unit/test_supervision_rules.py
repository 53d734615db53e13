"""Supervision rules: when reminders, overdue, urges and cards fall due, and where escalation goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.domain.calendar import SHANGHAI, DayTable, OfficeHours, WorkingCalendar
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.supervision import (
    PlannedStep,
    StepKind,
    SupervisionRules,
    TaskClock,
    UnitRef,
    due_now,
    escalation_target,
    fraction_point,
    next_working_day_start,
    plan,
    plan_from_json,
    plan_to_json,
    take_due,
)
from shuzhi.domain.time_limits import LimitUnit, TimeLimit

CAL = WorkingCalendar(OfficeHours.parse("09:00-12:00,14:00-18:00"), DayTable())
RULES = SupervisionRules()


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


def clock(**kw: object) -> TaskClock:
    base: dict[str, object] = dict(state=TaskState.ACCEPTED, role=TaskRole.LEAD, dispatched_at=sh(2026, 11, 23, 10),
                                   accept_due_at=sh(2026, 11, 23, 12), handle_due_at=sh(2026, 11, 30, 10),
                                   handle_unit=LimitUnit.WORKING_DAYS, since=sh(2026, 11, 23, 10))
    base.update(kw)
    return TaskClock(**base)  # type: ignore[arg-type]


def test_default_plan_of_a_five_working_day_task() -> None:
    # Monday 23 Nov 2026 10:00 + 5wd (35 working hours) = Monday 30 Nov 10:00.
    # 70 % = 24.5 h: Mon 6 h, Tue 7, Wed 7 (=20), Thu 09–12 (=23) and 14:00 + 1.5 h → Thu 15:30.
    # 90 % = 31.5 h: the rest of Thursday (2.5 h, =27 at 18:00), Fri 09–12 (=30), 14:00 + 1.5 h → Fri 15:30.
    steps = plan(clock(), RULES, CAL)
    got = {s.step: s.due_at for s in steps}
    assert got["remind_70"] == sh(2026, 11, 26, 15, 30)
    assert got["remind_90"] == sh(2026, 11, 27, 15, 30)
    assert got["overdue"] == sh(2026, 11, 30, 10)
    # 催办: the start of the next working day after the deadline's day
    assert got["urge"] == sh(2026, 12, 1, 9)
    # yellow: 1 working day after the deadline; red: 5 more working days
    assert got["yellow_card"] == sh(2026, 12, 1, 10)
    assert got["red_card"] == sh(2026, 12, 8, 10)
    assert [s.step for s in steps] == ["remind_70", "remind_90", "overdue", "urge", "yellow_card", "red_card"]
    assert all(s.deadline == sh(2026, 11, 30, 10) for s in steps)


def test_a_dispatched_task_is_escalated_when_its_accept_deadline_passes() -> None:
    steps = plan(clock(state=TaskState.DISPATCHED), RULES, CAL)
    assert steps[0] == PlannedStep("accept_timeout", sh(2026, 11, 23, 12), sh(2026, 11, 23, 12))
    assert "accept_timeout" not in {s.step for s in plan(clock(), RULES, CAL)}  # accepted: no escalation
    no_escalation = SupervisionRules(escalate_unaccepted=False)
    assert "accept_timeout" not in {s.step for s in plan(clock(state=TaskState.DISPATCHED), no_escalation, CAL)}


@pytest.mark.parametrize("state", [TaskState.SUSPENDED, TaskState.REPORTED_BACK, TaskState.VERIFIED,
                                   TaskState.RETURNED, TaskState.CANCELLED, TaskState.ESCALATED,
                                   TaskState.NOTIFIED, TaskState.READ])
def test_stopped_or_finished_tasks_have_no_plan(state: TaskState) -> None:
    assert plan(clock(state=state), RULES, CAL) == []


def test_notify_tasks_have_no_plan() -> None:
    assert plan(clock(role=TaskRole.NOTIFY, state=TaskState.DISPATCHED), RULES, CAL) == []


def test_steps_already_done_for_the_same_deadline_are_left_out_but_a_new_deadline_starts_afresh() -> None:
    full = plan(clock(), RULES, CAL)
    done = frozenset(s.key() for s in full[:3])
    rest = plan(clock(done=done), RULES, CAL)
    assert [s.step for s in rest] == [s.step for s in full[3:]]
    moved = plan(clock(done=done, handle_due_at=sh(2026, 12, 7, 10)), RULES, CAL)
    assert "overdue" in {s.step for s in moved}


def test_reminders_already_past_when_the_task_changed_are_not_planned() -> None:
    # an extension approved on Friday: the 70 % point of the new window lies before Friday
    steps = plan(clock(handle_due_at=sh(2026, 12, 4, 10), since=sh(2026, 11, 27, 16)), RULES, CAL)
    assert all(s.due_at >= sh(2026, 11, 27, 16) for s in steps if s.kind is StepKind.REMIND)
    assert "overdue" in {s.step for s in steps}


def test_calendar_hour_limits_remind_in_calendar_time() -> None:
    start = sh(2026, 11, 28, 22)  # Saturday night: an emergency does not wait for Monday
    due = start + timedelta(hours=10)
    steps = plan(clock(dispatched_at=start, handle_due_at=due, handle_unit=LimitUnit.CALENDAR_HOURS,
                       since=start), RULES, CAL)
    got = {s.step: s.due_at for s in steps}
    assert got["remind_70"] == start + timedelta(hours=7)
    assert got["remind_90"] == start + timedelta(hours=9)


def test_missed_sweep_catches_up_every_due_step() -> None:
    steps = plan(clock(), RULES, CAL)
    due, rest = due_now(steps, sh(2026, 12, 2, 9))
    assert [s.step for s in due] == ["remind_70", "remind_90", "overdue", "urge", "yellow_card"]
    assert [s.step for s in rest] == ["red_card"]


def test_the_sweep_takes_the_due_head_of_a_stored_plan_as_the_full_rule_would() -> None:
    steps = plan(clock(), RULES, CAL)
    for now in (sh(2026, 11, 24, 9), sh(2026, 11, 26, 17), sh(2026, 12, 2, 9), sh(2027, 1, 1)):
        due, n = take_due(plan_to_json(steps), now)
        assert due == due_now(steps, now)[0] and n == len(due)


def test_an_accept_timeout_ends_the_due_head() -> None:
    """When the task rises to the centre above, the unit's reminders no longer apply to it."""
    steps = plan(clock(state=TaskState.DISPATCHED), RULES, CAL)
    due, n = take_due(plan_to_json(steps), sh(2026, 12, 2, 9))
    assert [s.step for s in due] == ["accept_timeout"] and n == 1


def test_an_unknown_step_in_a_stored_plan_is_refused() -> None:
    with pytest.raises(ValueError):
        take_due([["no_such_step", sh(2026, 11, 23, 10).isoformat(), sh(2026, 11, 23, 10).isoformat()]],
                 sh(2026, 11, 24, 9))


def test_plan_survives_json() -> None:
    steps = plan(clock(state=TaskState.DISPATCHED), RULES, CAL)
    assert plan_from_json(plan_to_json(steps)) == steps


@pytest.mark.parametrize(("data", "message"), [
    ({"remind_at": [0.9, 0.7]}, "increasing"),
    ({"remind_at": [0.7, 1.0]}, "remind_at[1]"),
    ({"remind_at": "0.7"}, "remind_at"),
    ({"yellow_after_wd": 0}, "yellow_after_wd"),
    ({"red_after_wd": True}, "red_after_wd"),
    ({"colour": "red"}, "colour: unknown setting"),
    ({"escalate_unaccepted": "yes"}, "escalate_unaccepted"),
])
def test_bad_rules_are_refused_with_the_setting_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SupervisionRules.from_mapping(data)


def test_rules_round_trip_and_custom_thresholds() -> None:
    rules = SupervisionRules.from_mapping({"remind_at": [0.5], "yellow_after_wd": 2, "red_after_wd": 3})
    assert SupervisionRules.from_mapping(rules.to_mapping()) == rules
    got = {s.step: s.due_at for s in plan(clock(), rules, CAL)}
    assert set(got) == {"remind_50", "overdue", "urge", "yellow_card", "red_card"}
    assert got["yellow_card"] == sh(2026, 12, 2, 10)
    assert got["red_card"] == sh(2026, 12, 7, 10)


def test_next_working_day_skips_weekends_and_holidays() -> None:
    assert next_working_day_start(CAL, sh(2026, 11, 27, 17)) == sh(2026, 11, 30, 9)  # Friday → Monday
    # 30 Sep 2026 → the National Day holiday runs to 7 Oct; 8 Oct (Thursday) is the next working day
    assert next_working_day_start(CAL, sh(2026, 9, 30, 15)) == sh(2026, 10, 8, 9)


# --- properties -------------------------------------------------------------------------------------

starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC))
limits = st.builds(TimeLimit, st.floats(min_value=0.25, max_value=60), st.sampled_from(list(LimitUnit)))


@settings(max_examples=150, deadline=None)
@given(start=starts, limit=limits)
def test_plan_properties(start: datetime, limit: TimeLimit) -> None:
    due = CAL.deadline(start, limit)
    steps = plan(clock(dispatched_at=start, handle_due_at=due, handle_unit=limit.unit, since=start,
                       accept_due_at=None), RULES, CAL)
    by = {s.step: s for s in steps}
    # in time order; reminders before the deadline and in threshold order; overdue exactly at it
    assert [s.due_at for s in steps] == sorted(s.due_at for s in steps)
    assert by["overdue"].due_at == due
    assert start <= by.get("remind_70", by["overdue"]).due_at <= by.get("remind_90", by["overdue"]).due_at <= due
    # cards come after the deadline, the red one after the yellow; every card falls in working time
    # or at the end of a working interval
    assert due < by["yellow_card"].due_at < by["red_card"].due_at
    assert by["urge"].due_at > due
    assert CAL.is_working_time(by["urge"].due_at)
    if limit.unit is not LimitUnit.CALENDAR_HOURS and "remind_70" in by:
        used = CAL.working_seconds_between(start, by["remind_70"].due_at)
        total = CAL.working_seconds_between(start, due)
        assert abs(used - 0.7 * total) < 1.0


@settings(max_examples=100, deadline=None)
@given(start=starts, hours=st.floats(min_value=1, max_value=200), f=st.floats(min_value=0.05, max_value=0.95))
def test_fraction_point_is_monotonic_in_the_fraction(start: datetime, hours: float, f: float) -> None:
    due = CAL.deadline(start, TimeLimit(hours, LimitUnit.WORKING_HOURS))
    a = fraction_point(CAL, start, due, f * 0.5, LimitUnit.WORKING_HOURS)
    b = fraction_point(CAL, start, due, f, LimitUnit.WORKING_HOURS)
    assert a is not None and b is not None and a <= b <= due


# --- escalation along the area tree ---------------------------------------------------------------------

CITY = UnitRef(1, "centre", "/500000/")
DISTRICT = UnitRef(2, "centre", "/500000/500111/")
TOWN = UnitRef(3, "centre", "/500000/500111/500111001/")
OTHER_TOWN = UnitRef(4, "centre", "/500000/500111/500111002/")
CENTRES = [CITY, DISTRICT, TOWN, OTHER_TOWN]


@pytest.mark.parametrize(("unit", "expected"), [
    (UnitRef(10, "grid", "/500000/500111/500111001/500111001001/500111001001001/"), TOWN),
    (UnitRef(11, "village", "/500000/500111/500111001/500111001001/"), TOWN),
    (TOWN, DISTRICT),
    (UnitRef(12, "department", "/500000/500111/"), DISTRICT),  # a district department → its centre
    (DISTRICT, CITY),
    (CITY, None),
    (UnitRef(13, "grid", "/500000/500111/500111002/500111002001/500111002001001/"), OTHER_TOWN),
])
def test_escalation_climbs_the_area_tree_one_centre_at_a_time(unit: UnitRef, expected: UnitRef | None) -> None:
    assert escalation_target(unit, CENTRES) == expected


def test_a_task_follows_the_deepest_areas_own_thresholds_and_never_another_towns() -> None:
    from shuzhi.domain.supervision import rules_for

    everywhere, district = SupervisionRules(remind_at=(0.8,)), SupervisionRules(remind_at=(0.6,))
    town_a = SupervisionRules(remind_at=(0.5,))
    sets = [("/500000/500111/500111001/", town_a), (None, everywhere), ("/500000/500111/", district)]
    assert rules_for(sets, "/500000/500111/500111001/500111001001/") is town_a
    assert rules_for(sets, "/500000/500111/500111002/") is district  # town B: the district's, not town A's
    assert rules_for(sets, "/500000/") is everywhere and rules_for(sets, None) is everywhere
    assert rules_for(sets[:1], "/500000/500111/500111002/") == SupervisionRules()  # the defaults
