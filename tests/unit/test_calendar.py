"""The working calendar on real 2024–2026 dates, a provisional 2027, and properties over random starts.

Holiday dates below were checked against the bundled ``chinesecalendar`` tables (and
``test_day_table_agrees_with_chinesecalendar`` keeps them honest), not typed from memory.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from chinese_calendar import constants as official
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.domain.calendar import (
    SHANGHAI,
    CalendarError,
    DayKind,
    DaySource,
    DayTable,
    OfficeHours,
    WorkingCalendar,
    YearCalendar,
    check_year,
    parse_year_calendars,
    year_calendar,
)
from shuzhi.domain.time_limits import LimitUnit, TimeLimit

CAL = WorkingCalendar(OfficeHours.parse("09:00-12:00,14:00-18:00"), DayTable())
US = timedelta(microseconds=1)
SETTINGS = settings(max_examples=150, deadline=None)


def bj(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """Beijing wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def L(text: str) -> TimeLimit:
    return TimeLimit.parse(text)


NEW_YEAR_2027 = YearCalendar(2027, frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}))

# -- which days are working days ----------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2025, 10, d) for d in range(1, 9)])
def test_national_day_2025_is_off(day: date) -> None:
    assert not CAL.day_table.is_working_day(day)
    assert CAL.day_table.kind(day) is DayKind.HOLIDAY


@pytest.mark.parametrize(
    ("day", "weekday"),
    [
        (date(2025, 9, 28), 6),  # National Day 2025 make-up, a Sunday
        (date(2025, 10, 11), 5),  # and a Saturday
        (date(2026, 2, 14), 5),  # Spring Festival 2026 make-ups, both Saturdays
        (date(2026, 2, 28), 5),
        (date(2024, 2, 4), 6),  # Spring Festival 2024 make-up, a Sunday
    ],
)
def test_make_up_weekend_days_are_worked(day: date, weekday: int) -> None:
    assert day.weekday() == weekday
    assert CAL.day_table.is_working_day(day)
    assert CAL.day_table.kind(day) is DayKind.MAKEUP_WORKDAY
    assert CAL.is_working_time(bj(day.year, day.month, day.day, 10))


@pytest.mark.parametrize(
    "day", [date(2026, 2, d) for d in range(15, 24)] + [date(2024, 2, d) for d in range(10, 18)]
)
def test_spring_festival_is_off(day: date) -> None:
    assert not CAL.day_table.is_working_day(day)


def test_ordinary_days() -> None:
    table = CAL.day_table
    assert table.is_working_day(date(2025, 3, 14))  # a Friday
    assert table.kind(date(2025, 3, 14)) is DayKind.WORKDAY
    assert not table.is_working_day(date(2025, 3, 15))  # a Saturday
    assert table.kind(date(2025, 3, 15)) is DayKind.WEEKEND


def test_day_table_agrees_with_chinesecalendar() -> None:
    table, day = DayTable(), date(2004, 1, 1)
    while day.year <= 2026:
        assert table.is_working_day(day) == chinese_calendar.is_workday(day), day
        assert table.source(day.year) is DaySource.OFFICIAL
        day += timedelta(days=1)


def test_unpublished_year_is_weekends_only_and_provisional() -> None:
    table = DayTable()
    assert table.is_working_day(date(2027, 1, 1))  # a Friday; surely a holiday, but nobody said so yet
    assert not table.is_working_day(date(2027, 1, 2))
    assert table.is_provisional(date(2027, 1, 1))
    assert not table.is_provisional(date(2026, 12, 31))
    assert table.source(2027) is DaySource.PROVISIONAL
    assert table.provisional_years(range(2024, 2029)) == (2027, 2028)
    assert table.provisional_years(range(2003, 2005)) == (2003,)


def test_entered_year_replaces_provisional_and_official() -> None:
    table = DayTable().with_year(NEW_YEAR_2027)
    assert not table.is_working_day(date(2027, 1, 1))
    assert not table.is_provisional(date(2027, 1, 1))
    assert table.source(2027) is DaySource.ADMIN
    # A year entered by hand replaces the bundled one as a whole: here 2025 without National Day.
    corrected = table.with_year(YearCalendar(2025, frozenset({date(2025, 3, 10)})))
    assert not corrected.is_working_day(date(2025, 3, 10))
    assert corrected.is_working_day(date(2025, 10, 8))
    assert corrected.admin_years == (2025, 2027)
    # with_year returns a new table; the old one is untouched.
    assert DayTable().is_provisional(date(2027, 1, 1))
    assert table.is_working_day(date(2025, 10, 8)) is False


def test_official_data_can_be_left_out() -> None:
    table = DayTable(use_official=False)
    assert table.is_working_day(date(2025, 10, 1))
    assert table.is_provisional(date(2025, 10, 1))


def test_two_calendars_for_one_year() -> None:
    with pytest.raises(CalendarError, match="two calendars for 2027"):
        DayTable([NEW_YEAR_2027, YearCalendar(2027)])


# -- a year typed in by an administrator --------------------------------------------------------


@pytest.mark.parametrize(
    ("holidays", "workdays", "message"),
    [
        ({date(2026, 12, 31)}, set(), "2026-12-31 is not in 2027"),
        ({date(2027, 9, 25)}, {date(2027, 9, 25)}, "2027-09-25 is listed both as a holiday and as a make-up"),
        (
            set(),
            {date(2027, 9, 29)},
            "2027-09-29 is a Wednesday: a make-up working day must be a Saturday or Sunday",
        ),
    ],
)
def test_year_calendar_rejects(holidays: set[date], workdays: set[date], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        YearCalendar(2027, frozenset(holidays), frozenset(workdays))


def test_check_year_names_the_item_at_fault() -> None:
    problems = check_year(2027, [date(2027, 10, 1), date(2028, 1, 1)], [date(2027, 9, 26), date(2027, 9, 29)])
    assert [(p.path, p.code) for p in problems] == [("holidays[1]", "outside_year"),
                                                    ("makeup_workdays[1]", "not_a_weekend")]
    assert [p.path for p in check_year(0, [], [])] == ["year"]
    with pytest.raises(CalendarError) as info:
        year_calendar(2027, [date(2027, 10, 1)], [date(2027, 9, 26), date(2027, 10, 1)])
    assert info.value.path == "makeup_workdays[1]"
    assert info.value.errors == ("2027-10-01 is listed both as a holiday and as a make-up working day",
                                 "2027-10-01 is a Friday: a make-up working day must be a Saturday or Sunday")


def test_a_file_problem_names_its_line() -> None:
    with pytest.raises(CalendarError) as info:
        parse_year_calendars("date,kind\n2027-10-01,holiday\n2027-09-29,班\n")
    (problem,) = info.value.problems
    assert (problem.path, problem.code, problem.row) == ("file", "not_a_weekend", 3)


def test_year_calendar_reports_every_error() -> None:
    with pytest.raises(CalendarError) as info:
        YearCalendar(2027, frozenset({date(2028, 1, 1)}), frozenset({date(2027, 9, 29), date(2027, 9, 30)}))
    assert len(info.value.errors) == 3


SAMPLE = """\
date,kind,name
# 2027 notice (hypothetical)
2027-01-01,holiday,元旦
2027-01-02,休
2027-01-03，休
2027-02-06,班  # Saturday

2027-10-01,holiday
"""


def test_parse_year_calendars() -> None:
    calendars = parse_year_calendars(SAMPLE, source="test")
    assert list(calendars) == [2027]
    cal = calendars[2027]
    assert cal.holidays == {date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 10, 1)}
    assert cal.makeup_workdays == {date(2027, 2, 6)}
    assert cal.source == "test"
    assert parse_year_calendars(cal.to_text())[2027] == YearCalendar(2027, cal.holidays, cal.makeup_workdays)


def test_parse_year_calendars_splits_years() -> None:
    calendars = parse_year_calendars("2027-12-31,holiday\n2028-01-01,holiday\n")
    assert sorted(calendars) == [2027, 2028]


def test_parse_year_calendars_names_every_bad_line() -> None:
    text = (
        "date,kind\n2027-02-30,holiday\n2027-10-01,假\n2027-10-02,holiday\n"
        "2027-10-02,workday\n2027-09-29,班\nnonsense\n"
    )
    with pytest.raises(CalendarError) as info:
        parse_year_calendars(text)
    assert info.value.errors == (
        "line 2: '2027-02-30' is not a date (use YYYY-MM-DD)",
        "line 3: '假' is not a kind of day (use holiday/休 or workday/班)",
        "line 5: 2027-10-02 is already listed on line 4",
        "line 6: 2027-09-29 is a Wednesday: a make-up working day must be a Saturday or Sunday",
        "line 7: 'nonsense' should be 'date,kind', e.g. 2027-10-01,holiday",
    )
    assert str(info.value).startswith("5 error(s) in the calendar: line 2:")


def test_parse_year_calendars_empty() -> None:
    with pytest.raises(CalendarError, match="lists no dates"):
        parse_year_calendars("date,kind\n# nothing yet\n")


# -- office hours ---------------------------------------------------------------------------------


def test_default_office_hours() -> None:
    hours = OfficeHours()
    assert str(hours) == "09:00-12:00,14:00-18:00"
    assert hours.day_seconds == 7 * 3600
    assert OfficeHours.parse("09:00-12:00,14:00-18:00") == hours
    assert OfficeHours.parse("09：00-12：00，14:00~18:00") == hours  # full-width, as typed in Chinese
    assert str(OfficeHours.parse("8:30-12:00, 20:00-24:00")) == "08:30-12:00,20:00-24:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "office hours are empty"),
        (" , ", "office hours are empty"),
        ("09:00-12:00,11:00-13:00", "09:00-12:00 and 11:00-13:00 overlap"),
        ("14:00-18:00,09:00-12:00", "14:00-18:00 and 09:00-12:00 overlap or are out of order"),
        ("12:00-09:00", "12:00-09:00 ends before it starts"),
        ("09:00-09:00", "ends before it starts"),
        ("9-12", "'9' is not a time of day"),
        ("09:00-25:00", "'25:00' is not a time of day"),
        ("24:00-24:00", "'24:00' is not a time of day"),
        ("09:00-12:60", "'12:60' is not a time of day"),
        ("09:00", "'09:00' is not an interval"),
    ],
)
def test_office_hours_rejects(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        OfficeHours.parse(text)


def test_office_hours_constructor_rejects_empty() -> None:
    with pytest.raises(CalendarError, match="empty"):
        OfficeHours(())


# -- deadlines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "limit", "due"),
    [
        (bj(2025, 3, 14, 17), "2wh", bj(2025, 3, 17, 10)),  # Friday 17:00 + 2wh → Monday 10:00
        (bj(2025, 3, 15, 3), "4wh", bj(2025, 3, 17, 15)),  # created Saturday 03:00, counted from Monday 09:00
        (bj(2025, 3, 15, 3), "3wh", bj(2025, 3, 17, 12)),  # lands on the end of the morning: stays at 12:00
        (bj(2025, 3, 10, 11), "1wh", bj(2025, 3, 10, 12)),
        (bj(2025, 3, 10, 11), "1.5wh", bj(2025, 3, 10, 14, 30)),  # across the lunch break
        (bj(2025, 3, 10, 12, 30), "1wh", bj(2025, 3, 10, 15)),  # started during lunch
        (bj(2025, 3, 10, 12), "4wh", bj(2025, 3, 10, 18)),
        (bj(2025, 3, 10, 18), "1wh", bj(2025, 3, 11, 10)),
        (bj(2025, 3, 10, 10), "1wd", bj(2025, 3, 11, 10)),  # Monday 10:00 + 1wd → Tuesday 10:00
        (bj(2025, 3, 10, 10), "0.5wd", bj(2025, 3, 10, 15, 30)),
        (bj(2025, 3, 10, 10), "5wd", bj(2025, 3, 17, 10)),
        (bj(2025, 3, 15, 3), "1wd", bj(2025, 3, 17, 18)),
        (bj(2025, 9, 30, 17), "2wh", bj(2025, 10, 9, 10)),  # over the whole National Day week
        (bj(2025, 9, 26, 17), "1wd", bj(2025, 9, 28, 17)),  # onto the make-up Sunday
        (bj(2025, 10, 10, 17), "2wh", bj(2025, 10, 11, 10)),  # onto the make-up Saturday
        (bj(2025, 9, 25, 10), "5wd", bj(2025, 10, 9, 10)),  # a day each to 26, 28, 29, 30 Sep and 9 Oct
        (bj(2026, 2, 13, 17), "1wd", bj(2026, 2, 14, 17)),  # Spring Festival 2026: make-up Saturday first
        (bj(2026, 2, 13, 17), "2wd", bj(2026, 2, 24, 17)),  # then nine days off
        (bj(2024, 12, 31, 17), "2wh", bj(2025, 1, 2, 10)),  # New Year 2025 across a year boundary
        (bj(2025, 10, 1, 2), "3h", bj(2025, 10, 1, 5)),  # calendar hours ignore holidays
        (bj(2025, 3, 15, 23), "2h", bj(2025, 3, 16, 1)),
        (bj(2025, 3, 10, 10), "0.5h", bj(2025, 3, 10, 10, 30)),
    ],
)
def test_deadline(start: datetime, limit: str, due: datetime) -> None:
    got = CAL.deadline(start.astimezone(UTC), L(limit))
    assert got == due
    assert got.tzinfo is UTC


def test_deadline_accepts_any_aware_zone() -> None:
    same_instant = bj(2025, 3, 14, 17).astimezone(ZoneInfo("Europe/London"))
    assert CAL.deadline(same_instant, L("2wh")) == bj(2025, 3, 17, 10)


def test_limit_into_a_provisional_year_then_entered() -> None:
    start = bj(2026, 12, 31, 17)  # a Thursday
    # 2027 unpublished: Friday 1 January is worked (weekends only), so 1 + 7 + 3 + 3 hours ends Monday 17:00.
    provisional = CAL.deadline(start, L("2wd"))
    assert provisional == bj(2027, 1, 4, 17)
    assert CAL.provisional_years(start, provisional) == (2027,)
    entered = WorkingCalendar(CAL.office_hours, CAL.day_table.with_year(NEW_YEAR_2027))
    assert entered.deadline(start, L("2wd")) == bj(2027, 1, 5, 17)
    assert entered.provisional_years(start, bj(2027, 1, 5, 17)) == ()


def test_a_far_limit_walks_days_not_minutes() -> None:
    class CountingTable(DayTable):
        calls = 0

        def is_working_day(self, d: date) -> bool:
            CountingTable.calls += 1
            return super().is_working_day(d)

    cal = WorkingCalendar(OfficeHours(), CountingTable())
    due = cal.deadline(bj(2025, 1, 2, 10), L("250wd"))
    assert due.year == 2026
    assert CountingTable.calls < 400  # about one call per calendar day of the span


def test_whole_day_office_hours() -> None:
    cal = WorkingCalendar(OfficeHours.parse("00:00-24:00"), DayTable())
    assert cal.deadline(bj(2025, 3, 10, 10), L("1wd")) == bj(2025, 3, 11, 10)
    assert cal.deadline(bj(2025, 3, 14, 20), L("4wh")) == bj(2025, 3, 15, 0)  # stays at Friday's 24:00


def test_office_hours_follow_wall_clock_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    table = DayTable([YearCalendar(2025, makeup_workdays=frozenset({date(2025, 3, 30)}))], use_official=False)
    cal = WorkingCalendar(OfficeHours(), table, tz=berlin)
    # Clocks go forward on Sunday 30 March 2025: 09:00 is 08:00 UTC on Saturday's calendar, 07:00 after.
    assert cal.working_intervals(date(2025, 3, 28))[0][0] == datetime(2025, 3, 28, 8, tzinfo=UTC)
    assert cal.working_intervals(date(2025, 3, 30))[0][0] == datetime(2025, 3, 30, 7, tzinfo=UTC)
    day24 = WorkingCalendar(OfficeHours.parse("00:00-24:00"), table, tz=berlin)
    start = datetime(2025, 3, 30, tzinfo=berlin)
    assert day24.working_seconds_between(start, start + timedelta(days=1)) == 23 * 3600


# -- questions about a moment ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (bj(2025, 3, 10, 9), True),
        (bj(2025, 3, 10, 11, 59), True),
        (bj(2025, 3, 10, 12), False),  # intervals are half-open
        (bj(2025, 3, 10, 13, 59), False),
        (bj(2025, 3, 10, 14), True),
        (bj(2025, 3, 10, 18), False),
        (bj(2025, 3, 10, 8, 59), False),
        (bj(2025, 3, 15, 10), False),  # Saturday
        (bj(2025, 10, 3, 10), False),  # National Day
        (bj(2025, 9, 28, 10), True),  # make-up Sunday
    ],
)
def test_is_working_time(moment: datetime, working: bool) -> None:
    assert CAL.is_working_time(moment) is working


@pytest.mark.parametrize(
    ("moment", "nxt"),
    [
        (bj(2025, 3, 10, 10), bj(2025, 3, 10, 10)),
        (bj(2025, 3, 10, 12), bj(2025, 3, 10, 14)),
        (bj(2025, 3, 15, 3), bj(2025, 3, 17, 9)),
        (bj(2025, 9, 30, 18), bj(2025, 10, 9, 9)),
        (bj(2026, 12, 31, 18), bj(2027, 1, 1, 9)),  # provisional 2027
    ],
)
def test_next_working_moment(moment: datetime, nxt: datetime) -> None:
    got = CAL.next_working_moment(moment)
    assert got == nxt
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("a", "b", "seconds"),
    [
        (bj(2025, 3, 14, 17), bj(2025, 3, 17, 10), 2 * 3600),
        (bj(2025, 3, 17, 10), bj(2025, 3, 14, 17), -2 * 3600),
        (bj(2025, 3, 10, 12), bj(2025, 3, 10, 14), 0),
        (bj(2025, 9, 30, 18), bj(2025, 10, 9, 9), 0),
        (bj(2025, 3, 10, 0), bj(2025, 3, 17, 0), 5 * 7 * 3600),
        (bj(2025, 3, 10, 10, 30), bj(2025, 3, 10, 10, 30), 0),
    ],
)
def test_working_seconds_between(a: datetime, b: datetime, seconds: float) -> None:
    assert CAL.working_seconds_between(a, b) == seconds


def test_naive_datetimes_are_rejected() -> None:
    naive, aware = datetime(2025, 3, 10, 10), bj(2025, 3, 10, 10)
    for call in (
        lambda: CAL.deadline(naive, L("1wh")),
        lambda: CAL.deadline(naive, L("1h")),
        lambda: CAL.is_working_time(naive),
        lambda: CAL.next_working_moment(naive),
        lambda: CAL.working_seconds_between(aware, naive),
        lambda: CAL.resume_deadline(aware, naive, aware),
    ):
        with pytest.raises(CalendarError, match="has no time zone"):
            call()


# -- suspension (挂起) ------------------------------------------------------------------------------


def test_resume_moves_the_deadline_by_the_working_time_left() -> None:
    due = bj(2025, 3, 12, 12)  # Wednesday noon
    suspended = bj(2025, 3, 10, 10)  # 2 + 4 + 7 + 3 = 16 working hours left
    assert CAL.remaining(due, suspended) == 16 * 3600
    resumed = bj(2025, 3, 13, 9)  # Thursday: 7 + 7 hours, then 2 on Monday
    assert CAL.resume_deadline(due, suspended, resumed) == bj(2025, 3, 17, 11)
    assert CAL.resume_deadline(due, suspended, resumed, LimitUnit.WORKING_DAYS) == bj(2025, 3, 17, 11)


def test_a_suspension_outside_working_time_changes_nothing() -> None:
    due = bj(2025, 3, 18, 15)
    assert CAL.resume_deadline(due, bj(2025, 3, 14, 18), bj(2025, 3, 17, 9)) == due


def test_overdue_when_suspended_keeps_its_deadline() -> None:
    due = bj(2025, 3, 10, 10)
    assert CAL.remaining(due, bj(2025, 3, 10, 11)) == -3600
    assert CAL.resume_deadline(due, bj(2025, 3, 10, 11), bj(2025, 3, 12, 9)) == due


def test_calendar_hours_resume_in_real_time() -> None:
    due = bj(2025, 3, 15, 3)  # Saturday night: emergencies do not wait for Monday
    got = CAL.resume_deadline(due, bj(2025, 3, 15, 1), bj(2025, 3, 15, 6), LimitUnit.CALENDAR_HOURS)
    assert got == bj(2025, 3, 15, 8)
    assert CAL.remaining(due, bj(2025, 3, 15, 1), LimitUnit.CALENDAR_HOURS) == 2 * 3600


def test_resume_before_suspension_is_an_error() -> None:
    with pytest.raises(CalendarError, match="before it was suspended"):
        CAL.resume_deadline(bj(2025, 3, 12, 12), bj(2025, 3, 10, 10), bj(2025, 3, 10, 9))


# -- properties -----------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
working_units = st.sampled_from([LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS])
amounts = st.floats(min_value=1 / 3600, max_value=40, allow_nan=False, allow_infinity=False)
working_limits = st.builds(TimeLimit, amounts, working_units)


@SETTINGS
@given(starts, working_limits)
def test_a_working_deadline_is_within_working_time(start: datetime, limit: TimeLimit) -> None:
    due = CAL.deadline(start, limit)
    # In (interval start, interval end]: the end itself is allowed, the instant just before is worked.
    assert CAL.is_working_time(due - US)
    assert due > start


@SETTINGS
@given(starts, working_limits)
def test_working_time_to_the_deadline_is_the_limit(start: datetime, limit: TimeLimit) -> None:
    due = CAL.deadline(start, limit)
    assert CAL.working_seconds_between(start, due) == pytest.approx(CAL.limit_seconds(limit), abs=1e-6)
    assert CAL.working_seconds_between(due, start) == -CAL.working_seconds_between(start, due)


@SETTINGS
@given(starts, amounts, amounts, st.sampled_from(list(LimitUnit)))
def test_a_longer_limit_is_never_due_earlier(start: datetime, a: float, b: float, unit: LimitUnit) -> None:
    short, long = sorted((a, b))
    assert CAL.deadline(start, TimeLimit(short, unit)) <= CAL.deadline(start, TimeLimit(long, unit))


@SETTINGS
@given(starts, starts, st.builds(TimeLimit, amounts, st.sampled_from(list(LimitUnit))))
def test_a_later_start_is_never_due_earlier(a: datetime, b: datetime, limit: TimeLimit) -> None:
    early, late = sorted((a, b))
    assert CAL.deadline(early, limit) <= CAL.deadline(late, limit)


@SETTINGS
@given(starts, starts, starts)
def test_working_time_adds_up(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole = CAL.working_seconds_between(a, c)
    assert whole == pytest.approx(
        CAL.working_seconds_between(a, b) + CAL.working_seconds_between(b, c), abs=1e-6
    )
    assert 0 <= whole <= (c - a).total_seconds()


OFFICIAL_MAKEUP = sorted(d for d in official.workdays if 2024 <= d.year <= 2026 and d.weekday() >= 5)
OFFICIAL_HOLIDAYS = sorted(d for d in official.holidays if 2024 <= d.year <= 2026)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(OFFICIAL_MAKEUP), st.integers(9 * 60, 18 * 60 - 1))
def test_official_make_up_days_are_worked(day: date, minute: int) -> None:
    assert CAL.day_table.is_working_day(day)
    moment = bj(day.year, day.month, day.day, minute // 60, minute % 60)
    assert CAL.is_working_time(moment) == (not 12 * 60 <= minute < 14 * 60)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(OFFICIAL_HOLIDAYS), st.integers(0, 24 * 60 - 1), working_limits)
def test_official_holidays_are_never_worked(day: date, minute: int, limit: TimeLimit) -> None:
    assert not CAL.day_table.is_working_day(day)
    moment = bj(day.year, day.month, day.day, minute // 60, minute % 60)
    assert not CAL.is_working_time(moment)
    # A deadline counted from a holiday starts after it, on the next working day.
    assert CAL.deadline(moment, limit).astimezone(SHANGHAI).date() > day


YEAR_2030 = [date(2030, 1, 1) + timedelta(days=i) for i in range(365)]
WEEKENDS_2030 = [d for d in YEAR_2030 if d.weekday() >= 5]


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(YEAR_2030), max_size=30), st.sets(st.sampled_from(WEEKENDS_2030), max_size=8))
def test_an_entered_year_is_followed_day_by_day(holidays: set[date], makeup: set[date]) -> None:
    makeup -= holidays
    table = DayTable([YearCalendar(2030, frozenset(holidays), frozenset(makeup))])
    for day in YEAR_2030:
        expected = day in makeup or (day.weekday() < 5 and day not in holidays)
        assert table.is_working_day(day) == expected, day
        assert not table.is_provisional(day)


@SETTINGS
@given(starts, working_limits, st.floats(0, 1), st.integers(0, 30 * 24 * 3600))
def test_suspension_shifts_by_the_working_time_left(
    start: datetime, limit: TimeLimit, where: float, pause: int
) -> None:
    due = CAL.deadline(start, limit)
    suspended = start + (due - start) * where
    resumed = suspended + timedelta(seconds=pause)
    new_due = CAL.resume_deadline(due, suspended, resumed)
    assert new_due >= due
    left = CAL.working_seconds_between(suspended, due)
    if left == 0:  # suspended once the time was used up: nothing to give back
        assert new_due == due
    else:
        assert CAL.working_seconds_between(resumed, new_due) == pytest.approx(left, abs=1e-6)
    if pause == 0:
        assert new_due == due
