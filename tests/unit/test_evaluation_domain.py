"""Periods, scoring schemes, bands, rankings and the O(1) working clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.domain.calendar import DayTable, WorkingCalendar
from shuzhi.domain.evaluation import Figures, WorkingClock
from shuzhi.domain.periods import PeriodError, PeriodKind, parse_period
from shuzhi.domain.scoring import DEFAULT_SCHEME, SchemeError, parse_scheme, rank


@pytest.mark.parametrize(("text", "kind", "start", "end"), [
    ("2024-06-13", PeriodKind.DAY, date(2024, 6, 13), date(2024, 6, 13)),
    ("2024-W24", PeriodKind.WEEK, date(2024, 6, 10), date(2024, 6, 16)),
    ("2024-02", PeriodKind.MONTH, date(2024, 2, 1), date(2024, 2, 29)),
    ("2024-Q4", PeriodKind.QUARTER, date(2024, 10, 1), date(2024, 12, 31)),
    ("2024", PeriodKind.YEAR, date(2024, 1, 1), date(2024, 12, 31)),
    ("2024-06-01..2024-06-20", PeriodKind.RANGE, date(2024, 6, 1), date(2024, 6, 20)),
])
def test_periods(text: str, kind: PeriodKind, start: date, end: date) -> None:
    p = parse_period(text)
    assert (p.kind, p.start, p.end, p.label) == (kind, start, end, text)


def test_previous_periods() -> None:
    assert parse_period("2024-01").previous().label == "2023-12"
    assert parse_period("2024-Q1").previous().label == "2023-Q4"
    assert parse_period("2024-W01").previous().label == "2023-W52"
    assert parse_period("2024-06-11..2024-06-20").previous().label == "2024-06-01..2024-06-10"


@pytest.mark.parametrize("bad", ["", "2024-13", "2024-W60", "2024-06-20..2024-06-01", "2010-01-01..2024-01-01",
                                 "june", "2024-02-30"])
def test_bad_periods_say_why(bad: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(bad)


def test_default_scheme_is_valid_and_scores() -> None:
    s = parse_scheme(DEFAULT_SCHEME)
    perfect = s.score({}, dict.fromkeys(("closure_rate", "on_time_closure_rate", "accurate_dispatch_rate",
                                         "on_time_handling_rate", "satisfaction_rate"), 1.0) | {"rework_rate": 0.0})
    assert perfect.score == 100 and perfect.band.colour == "green"
    # on-time closure 80 %: 15 points below 95 % at 1 point each → 10 of 25
    card = s.score({"handled_overdue": 10}, {"on_time_closure_rate": 0.80})
    assert card.items["on_time_closure_rate"] == pytest.approx(10.0)
    assert card.deduction == pytest.approx(1.0)
    assert card.score == pytest.approx(100 - 15 - 1)
    assert s.band(59.99).colour == "red" and s.band(60).colour == "orange"


@pytest.mark.parametrize(("change", "path"), [
    ({"items": [{"rate": "closure_rate", "weight": 50, "full_mark_at": 0.9, "zero_at": 0.5}]}, "items"),
    ({"items": [{"rate": "closure_rate", "weight": 100, "full_mark_at": 0.5, "zero_at": 0.9}]},
     "items[0].full_mark_at"),
    ({"items": [{"rate": "nope", "weight": 100, "full_mark_at": 0.9, "zero_at": 0.5}]}, "items[0].rate"),
    ({"bands": [{"colour": "green", "min_score": 60}, {"colour": "red", "min_score": 80}]}, "bands[1].min_score"),
    ({"bands": [{"colour": "green", "min_score": 60}, {"colour": "red", "min_score": 10}]}, "bands[1].min_score"),
    ({"deductions": {"handled_overdue": -1}}, "deductions.handled_overdue"),
    ({"black_list": {"size": 3, "max_score": 95}}, "black_list.max_score"),
])
def test_bad_schemes_name_the_problem(change: dict, path: str) -> None:
    with pytest.raises(SchemeError) as e:
        parse_scheme(DEFAULT_SCHEME | change)
    assert path in e.value.errors


def test_ranking_with_ties_and_movement() -> None:
    r = rank({"a": 90, "b": 95, "c": 90, "d": 70}, {"a": 99, "b": 80, "d": 50})
    assert [(x.key, x.rank, x.movement) for x in r] == [("b", 1, 1), ("a", 2, -1), ("c", 2, None), ("d", 4, -1)]


def test_rates_are_none_without_a_denominator() -> None:
    f = Figures()
    f.add({"due": 5, "deferred": 1, "due_closed": 3, "due_closed_on_time": 2})
    rates = f.rates()
    assert rates["closure_rate"] == 0.75 and rates["on_time_closure_rate"] == 0.5
    assert rates["satisfaction_rate"] is None


_CAL = WorkingCalendar(day_table=DayTable())
_CLOCK = WorkingClock(_CAL)
_T0 = datetime(2024, 1, 1, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60 * 24 * 800), st.integers(0, 60 * 24 * 40))
def test_working_clock_equals_the_calendar(a: int, span: int) -> None:
    start = _T0 + timedelta(minutes=a)
    end = start + timedelta(minutes=span)
    assert _CLOCK.between(start, end) == pytest.approx(_CAL.working_seconds_between(start, end))


def test_credited_to_people_counts_the_deciding_tasks_person_by_the_units_rules() -> None:
    from shuzhi.domain.calendar import WorkingCalendar
    from shuzhi.domain.evaluation import (
        EventSnapshot,
        Figures,
        TaskSnapshot,
        WorkingClock,
        contributions,
        credited_to_people,
    )

    t0 = datetime(2024, 6, 3, 1, tzinfo=UTC)
    first = TaskSnapshot(1, unit_id=7, role="lead", state="returned", dispatched_at=t0,
                         handle_due_at=t0 + timedelta(hours=5))
    deciding = TaskSnapshot(2, unit_id=7, role="lead", state="verified", dispatched_at=t0 + timedelta(hours=1),
                            handle_due_at=t0 + timedelta(hours=6), reported_at=t0 + timedelta(hours=7))
    helper = TaskSnapshot(3, unit_id=8, role="assist", state="verified", dispatched_at=t0 + timedelta(hours=1),
                          handle_due_at=t0 + timedelta(hours=6), reported_at=t0 + timedelta(hours=2))
    ev = EventSnapshot(1, "closed", "handle", t0, owner_unit_id=5, dispatched_at=t0,
                       reported_at=t0 + timedelta(hours=7), closed_at=t0 + timedelta(hours=8),
                       tasks=(first, deciding, helper))
    clock = WorkingClock(WorkingCalendar())
    cells = contributions(credited_to_people(ev, {1: 101, 2: 102, 3: 103}), t0 + timedelta(days=1), clock)
    by: dict[int, Figures] = {}
    for c in cells:
        by.setdefault(c.unit_id, Figures()).add(c.measures)
    # the owner centre's figures go to nobody (0), the returned task's person gets nothing
    assert set(by) == {0, 102, 103} and by[0].counts["received"] == 1 and by[0].counts["due"] == 0
    assert by[102].counts["due"] == 1 and by[102].counts["due_closed"] == 1
    assert by[102].rates()["closure_rate"] == 1.0 and by[102].rates()["on_time_closure_rate"] == 0.0
    assert by[103].counts["handled_on_time"] == 1 and by[103].counts["due"] == 0
