"""The duty roster's rules: spans, one desk per person, one leader on duty per centre, gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain.duty import DutyRole, Shift, check_shift, day_span, gaps, on_duty

T0 = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # 08:30 in Chongqing
H = timedelta(hours=1)
OFFICER, LEADER = DutyRole.OFFICER, DutyRole.LEADER_ON_DUTY


def shift(person: int, role: DutyRole = OFFICER, start: datetime = T0, hours: float = 24, unit: int = 1,
          id: int | None = None) -> Shift:
    return Shift(unit, person, role, start, start + timedelta(hours=hours), id=id)


def test_a_24_hour_day_from_the_handover_time() -> None:
    start, end = day_span(date(2026, 12, 7), time(8, 30))
    assert start == T0 and end == T0 + 24 * H


@pytest.mark.parametrize(("new", "field"), [
    (shift(1, hours=0), "ends_at"),
    (shift(1, hours=-2), "ends_at"),
    (shift(1, hours=27), "ends_at"),
])
def test_bad_spans_are_refused(new: Shift, field: str) -> None:
    problems = check_shift(new, [])
    assert [p.field for p in problems] == [field]


def test_a_naive_time_is_refused() -> None:
    naive = Shift(1, 1, OFFICER, datetime(2026, 12, 7, 8, 30), datetime(2026, 12, 8, 8, 30))
    assert [p.field for p in check_shift(naive, [])] == ["starts_at"]


def test_nobody_sits_at_two_desks_at_once_even_at_another_centre() -> None:
    stored = [shift(1, start=T0 + 12 * H, unit=2, id=7)]
    problems = check_shift(shift(1), stored)
    assert [(p.field, p.clash_id) for p in problems] == [("person", 7)]
    assert "已有班次" in problems[0].message


def test_one_leader_on_duty_at_a_time_but_many_officers() -> None:
    stored = [shift(1, LEADER, id=1), shift(2, OFFICER, id=2)]
    assert [p.field for p in check_shift(shift(3, LEADER, start=T0 + 6 * H), stored)] == ["role"]
    assert check_shift(shift(3, OFFICER, start=T0 + 6 * H), stored) == []
    # another centre's leader on duty is no clash
    assert check_shift(shift(3, LEADER, unit=2), stored) == []


def test_back_to_back_shifts_do_not_overlap() -> None:
    stored = [shift(1, LEADER, id=1)]
    assert check_shift(shift(1, LEADER, start=T0 + 24 * H), stored) == []
    assert check_shift(shift(2, LEADER, start=T0 - 24 * H), stored) == []


def test_editing_a_shift_does_not_clash_with_itself() -> None:
    stored = [shift(1, LEADER, id=5)]
    assert check_shift(shift(1, LEADER, start=T0 + H, hours=20, id=5), stored) == []


def test_who_is_on_duty_and_where_the_roster_has_holes() -> None:
    shifts = [shift(1, LEADER), shift(2, OFFICER, hours=12), shift(3, OFFICER, start=T0 + 14 * H, hours=10)]
    now = on_duty(shifts, T0 + 13 * H)
    assert [s.person_id for s in now.leaders] == [1] and now.officers == ()
    assert [s.person_id for s in on_duty(shifts, T0).officers] == [2]
    assert not on_duty(shifts, T0 + 24 * H).anyone  # the end is not covered: the next shift has it
    assert gaps(shifts, T0, T0 + 24 * H) == [(T0 + 12 * H, T0 + 14 * H)]
    assert gaps(shifts, T0, T0 + 24 * H, LEADER) == []


@given(st.lists(st.tuples(st.integers(0, 47), st.integers(1, 26), st.integers(1, 3)), max_size=12))
def test_a_roster_built_through_the_rules_never_has_one_person_twice_at_once(
        entries: list[tuple[int, int, int]]) -> None:
    stored: list[Shift] = []
    for i, (start_h, hours, person) in enumerate(entries):
        new = shift(person, start=T0 + start_h * H, hours=hours, id=i)
        if not check_shift(new, stored):
            stored.append(new)
    for a in stored:
        for b in stored:
            if a.id != b.id and a.person_id == b.person_id:
                assert not a.overlaps(b)
    # an instant is covered by each accepted officer shift that contains it and nothing else
    for probe in range(0, 80, 7):
        at = T0 + probe * H
        assert {s.id for s in on_duty(stored, at).officers} == {s.id for s in stored if s.covers(at)}
