"""The working-time calendar: when a time limit (处置时限) falls due.

Three layers, each replaceable on its own:

* :class:`OfficeHours` — the working intervals of one day (Chongqing government offices:
  09:00–12:00 and 14:00–18:00);
* :class:`DayTable` — which dates are working days: weekdays, minus the official public holidays, plus
  the make-up working days (调休上班) that the State Council's annual notice (国务院办公厅关于某年部分节假日
  安排的通知) puts on Saturdays or Sundays;
* :class:`WorkingCalendar` — deadlines and elapsed working time, in UTC, over the two above in a time
  zone (Asia/Shanghai).

**Provisional years.**  The notice for a year comes out in the preceding autumn or winter, and the
bundled data (the ``chinesecalendar`` package) only knows the years it was released with.  The centre
runs 7×24 and may not stop on 1 January because nobody has typed in the new year, so for a year that
neither an administrator nor ``chinesecalendar`` knows, the working days are Monday to Friday and the
date is reported as *provisional* (:meth:`DayTable.is_provisional`), so that the interface can mark
such deadlines as subject to change.  Once an administrator enters the year (:class:`YearCalendar`),
it takes precedence over everything else.

Everything here is pure: no clock, no files; ``chinesecalendar`` and ``zoneinfo`` are data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from itertools import pairwise
from typing import cast
from zoneinfo import ZoneInfo

from chinese_calendar import constants as _official

from shuzhi.domain.problems import Problem, ProblemsFound, index_path
from shuzhi.domain.time_limits import LimitUnit, TimeLimit

ONE_DAY = timedelta(days=1)
_DAY_SECONDS = 86_400
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SHANGHAI = ZoneInfo("Asia/Shanghai")


class CalendarError(ProblemsFound):
    """A calendar that cannot be built or a question it cannot answer.

    ``problems`` lists every problem found (a file with five bad lines reports all five at once), each
    naming its field (``makeup_workdays[0]``, ``year``) or, in a file, its line; ``errors`` says them.
    """

    def __init__(self, message: str, problems: Iterable[Problem] = (), *, path: str = "calendar") -> None:
        super().__init__(message, tuple(problems) or (Problem(path, "invalid", message),))

    @property
    def errors(self) -> tuple[str, ...]:
        return self.messages


# -- office hours -------------------------------------------------------------------------------


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def _parse_clock(text: str, *, end: bool) -> int:
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise CalendarError(f"{text.strip()!r} is not a time of day (use HH:MM, e.g. 09:00)")
    hours, minutes = int(match[1]), int(match[2])
    # 24:00 is allowed as an end only, for offices that work until midnight.
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise CalendarError(f"{text.strip()!r} is not a time of day (use HH:MM between 00:00 and 24:00)")
    return hours * 3600 + minutes * 60


@dataclass(frozen=True)
class OfficeHours:
    """The working intervals of one working day, in local time.

    ``spans`` holds ``(start, end)`` pairs in seconds after local midnight, half-open (a task is being
    worked on from 09:00 up to, not including, 12:00), in order and not overlapping; 86400 (24:00) is a
    valid end.  The default is the office hours of Chongqing's government offices, 09:00–12:00 and
    14:00–18:00 — seven working hours a day.
    """

    spans: tuple[tuple[int, int], ...] = ((9 * 3600, 12 * 3600), (14 * 3600, 18 * 3600))

    def __post_init__(self) -> None:
        spans = tuple((int(start), int(end)) for start, end in self.spans)
        if not spans:
            raise CalendarError("office hours are empty: give at least one interval, e.g. 09:00-12:00")
        for start, end in spans:
            if not 0 <= start < _DAY_SECONDS or not 0 < end <= _DAY_SECONDS:
                raise CalendarError(f"{_clock(start)}-{_clock(end)} is not within one day")
            if end <= start:
                raise CalendarError(
                    f"{_clock(start)}-{_clock(end)} ends before it starts (night shifts are not office hours)"
                )
        for (s1, e1), (s2, e2) in pairwise(spans):
            if s2 < e1:
                raise CalendarError(
                    f"{_clock(s1)}-{_clock(e1)} and {_clock(s2)}-{_clock(e2)} overlap or are out of order"
                )
        object.__setattr__(self, "spans", spans)

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """Read ``"09:00-12:00,14:00-18:00"`` (Chinese commas, ``~`` or ``–`` also accepted)."""
        normal = unicodedata.normalize("NFKC", text).replace("、", ",").replace("–", "-").replace("~", "-")
        parts = [p for p in (part.strip() for part in normal.split(",")) if p]
        if not parts:
            raise CalendarError("office hours are empty: give at least one interval, e.g. 09:00-12:00")
        spans: list[tuple[int, int]] = []
        for part in parts:
            bounds = part.split("-")
            if len(bounds) != 2:
                raise CalendarError(f"{part!r} is not an interval (use HH:MM-HH:MM, e.g. 09:00-12:00)")
            spans.append((_parse_clock(bounds[0], end=False), _parse_clock(bounds[1], end=True)))
        return cls(tuple(spans))

    def __str__(self) -> str:
        return ",".join(f"{_clock(s)}-{_clock(e)}" for s, e in self.spans)

    @property
    def day_seconds(self) -> int:
        """Working seconds in one full working day (25,200 = 7 h by default)."""
        return sum(end - start for start, end in self.spans)


# -- which days are working days ----------------------------------------------------------------


class DaySource(StrEnum):
    """Who decided which days of a year are working days."""

    ADMIN = "admin"  # entered by an administrator from the State Council notice
    OFFICIAL = "official"  # bundled with the chinesecalendar package
    PROVISIONAL = "provisional"  # nobody published it: Monday to Friday until somebody does


class DayKind(StrEnum):
    WORKDAY = "workday"  # 工作日
    WEEKEND = "weekend"  # 周末
    HOLIDAY = "holiday"  # 法定节假日（含调休放假）
    MAKEUP_WORKDAY = "makeup_workday"  # 调休上班


_KINDS: dict[str, DayKind] = {
    "holiday": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "workday": DayKind.MAKEUP_WORKDAY,
    "班": DayKind.MAKEUP_WORKDAY,
}


@dataclass(frozen=True)
class YearCalendar:
    """One year's days off and make-up working days, as an administrator types them in.

    From the State Council's notice for the year: ``holidays`` are all days off of the holiday periods
    (weekend days inside a period may be listed or not, it changes nothing), ``makeup_workdays`` the
    Saturdays and Sundays worked in exchange (调休上班).  Every date must lie in ``year``, a date cannot
    be both, and a make-up working day must be a Saturday or Sunday — a weekday is a working day anyway,
    so listing one is a sign the wrong date was typed.
    """

    year: int
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    source: str = ""  # e.g. the notice's document number, 国办发明电〔2025〕7号

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "makeup_workdays", frozenset(self.makeup_workdays))
        _refuse(self.year, check_year(self.year, sorted(self.holidays), sorted(self.makeup_workdays)))

    def is_working_day(self, d: date) -> bool:
        """Holidays are off, make-up days are worked, other days follow the week (Monday–Friday)."""
        if d in self.holidays:
            return False
        return d in self.makeup_workdays or d.weekday() < 5

    def to_text(self) -> str:
        """The text form :func:`parse_year_calendars` reads, one ``date,kind`` row per day."""
        rows = [f"{d.isoformat()},holiday" for d in sorted(self.holidays)]
        rows += [f"{d.isoformat()},workday" for d in sorted(self.makeup_workdays)]
        return "date,kind\n" + "".join(f"{row}\n" for row in sorted(rows))


def check_year(year: int, holidays: Sequence[date], makeup_workdays: Sequence[date]) -> list[Problem]:
    """Every problem with a year's lists as typed, each against the item at fault (``makeup_workdays[1]``):
    a date outside ``year``, a date in both lists, a make-up working day that is not a Saturday or Sunday."""
    if not 1 <= year <= 9999:
        return [Problem("year", "not_a_year", f"{year} is not a year")]
    first: dict[tuple[str, date], int] = {}
    for field, days in (("holidays", holidays), ("makeup_workdays", makeup_workdays)):
        for i, d in enumerate(days):
            first.setdefault((field, d), i)

    def at(field: str, d: date) -> str:
        return index_path(field, first[(field, d)])

    problems: list[Problem] = []
    listed = set(holidays) | set(makeup_workdays)
    for d in sorted(listed):
        if d.year != year:
            field = "holidays" if ("holidays", d) in first else "makeup_workdays"
            problems.append(Problem(at(field, d), "outside_year", f"{d.isoformat()} is not in {year}"))
    for d in sorted(set(holidays) & set(makeup_workdays)):
        problems.append(Problem(at("makeup_workdays", d), "holiday_and_workday",
                                f"{d.isoformat()} is listed both as a holiday and as a make-up working day"))
    for d in sorted(set(makeup_workdays)):
        if d.weekday() < 5:
            problems.append(Problem(at("makeup_workdays", d), "not_a_weekend",
                                    f"{d.isoformat()} is a {_WEEKDAY_NAMES[d.weekday()]}: a make-up working day "
                                    "must be a Saturday or Sunday"))
    return problems


def _refuse(year: int, problems: list[Problem]) -> None:
    if not problems:
        return
    if problems[0].code == "not_a_year":
        raise CalendarError(problems[0].message, problems)
    raise CalendarError(f"calendar for {year}: " + "; ".join(str(p) for p in problems), problems)


def year_calendar(year: int, holidays: Sequence[date], makeup_workdays: Sequence[date],
                  source: str = "") -> YearCalendar:
    """A year's calendar from its lists as a person typed them: a problem names the item at fault."""
    _refuse(year, check_year(year, holidays, makeup_workdays))
    return YearCalendar(year, frozenset(holidays), frozenset(makeup_workdays), source)


def parse_year_calendars(text: str, source: str = "") -> dict[int, YearCalendar]:
    """Read ``date,kind`` rows, one calendar per year found: ``2027-10-01,holiday`` or ``2027-09-26,班``.

    ``kind`` is ``holiday``/``休`` (a day off) or ``workday``/``班`` (a make-up working day).  Blank
    lines, ``#`` comments, a header row (``date,kind`` or ``日期,类型``), extra columns (e.g. the
    holiday's name) and Chinese commas are allowed.  All errors are collected and raised together in a
    :class:`CalendarError` whose ``errors`` name the line (``line 4: 2027-09-29 is a Wednesday …``).
    """
    holidays: dict[int, set[date]] = {}
    workdays: dict[int, set[date]] = {}
    seen: dict[date, int] = {}
    errors: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = unicodedata.normalize("NFKC", raw).split("#", 1)[0].strip()
        if not line:
            continue
        cells = [cell.strip() for cell in line.replace(";", ",").split(",")]
        if cells[0].lower() in ("date", "日期"):
            continue
        if len(cells) < 2:
            errors.append(Problem("file", "not_a_row",
                                  f"{raw.strip()!r} should be 'date,kind', e.g. 2027-10-01,holiday", number))
            continue
        try:
            d = date.fromisoformat(cells[0])
        except ValueError:
            errors.append(Problem("file", "not_a_date", f"{cells[0]!r} is not a date (use YYYY-MM-DD)", number))
            continue
        kind = _KINDS.get(cells[1].lower())
        if kind is None:
            errors.append(Problem("file", "not_a_kind",
                                  f"{cells[1]!r} is not a kind of day (use holiday/休 or workday/班)", number))
            continue
        if d in seen:
            errors.append(Problem("file", "listed_twice", f"{d.isoformat()} is already listed on line {seen[d]}",
                                  number))
            continue
        seen[d] = number
        if kind is DayKind.MAKEUP_WORKDAY and d.weekday() < 5:
            errors.append(Problem("file", "not_a_weekend", f"{d.isoformat()} is a {_WEEKDAY_NAMES[d.weekday()]}: "
                                  "a make-up working day must be a Saturday or Sunday", number))
            continue
        (holidays if kind is DayKind.HOLIDAY else workdays).setdefault(d.year, set()).add(d)
    if errors:
        raise CalendarError(f"{len(errors)} error(s) in the calendar: " + "; ".join(str(p) for p in errors), errors)
    years = sorted(holidays.keys() | workdays.keys())
    if not years:
        raise CalendarError("the calendar lists no dates")
    return {
        y: YearCalendar(y, frozenset(holidays.get(y, ())), frozenset(workdays.get(y, ())), source)
        for y in years
    }


def _official_years() -> dict[int, YearCalendar]:
    """The years bundled with ``chinesecalendar``, as :class:`YearCalendar` values.

    The package raises an error (not-implemented) outside the years between its first and last holiday
    (its own ``_validate_date``); reading those years from its tables keeps us inside that range
    without calling it per date, and keeps its exception out of the deadline path.
    """
    holidays = cast(Mapping[date, object], _official.holidays)
    workdays = cast(Mapping[date, object], _official.workdays)
    if not holidays:
        return {}
    first, last = min(holidays).year, max(holidays).year
    out: dict[int, YearCalendar] = {}
    for year in range(first, last + 1):
        out[year] = YearCalendar(
            year,
            frozenset(d for d in holidays if d.year == year),
            # chinesecalendar has listed weekdays as "workdays" in a few early years; they change nothing.
            frozenset(d for d in workdays if d.year == year and d.weekday() >= 5),
            "chinesecalendar",
        )
    return out


_OFFICIAL: dict[int, YearCalendar] = _official_years()


class DayTable:
    """Whether a date is a working day, and on whose authority.

    Precedence, per whole year: an administrator's :class:`YearCalendar` (a year entered replaces the
    bundled one, so a correction never has to be merged), then the years bundled with ``chinesecalendar``
    (``use_official=False`` leaves them out, for tests and for places with other rules), then
    Monday–Friday, reported as provisional.  Never raises for a valid date.

    Immutable: :meth:`with_year` returns a new table, so a calendar shared between threads never changes
    under a computation.
    """

    def __init__(self, year_calendars: Iterable[YearCalendar] = (), *, use_official: bool = True) -> None:
        self._use_official = use_official
        admin: dict[int, YearCalendar] = {}
        for calendar in year_calendars:
            if calendar.year in admin:
                raise CalendarError(f"two calendars for {calendar.year}")
            admin[calendar.year] = calendar
        self._admin = admin
        self._years: dict[int, tuple[YearCalendar, DaySource]] = {}
        if use_official:
            self._years.update((y, (c, DaySource.OFFICIAL)) for y, c in _OFFICIAL.items())
        self._years.update((y, (c, DaySource.ADMIN)) for y, c in admin.items())

    def with_year(self, calendar: YearCalendar) -> DayTable:
        """A table where ``calendar`` replaces whatever was known of its year."""
        others = [c for y, c in self._admin.items() if y != calendar.year]
        return DayTable([*others, calendar], use_official=self._use_official)

    @property
    def admin_years(self) -> tuple[int, ...]:
        """Years entered by an administrator."""
        return tuple(sorted(self._admin))

    def source(self, year: int) -> DaySource:
        """Who decided the working days of ``year``."""
        known = self._years.get(year)
        return known[1] if known else DaySource.PROVISIONAL

    def is_working_day(self, d: date) -> bool:
        """True on weekdays that are not holidays and on make-up working days."""
        known = self._years.get(d.year)
        if known is None:
            return d.weekday() < 5
        return known[0].is_working_day(d)

    def kind(self, d: date) -> DayKind:
        """What kind of day ``d`` is (for calendars drawn in the interface)."""
        known = self._years.get(d.year)
        if known is not None and d in known[0].holidays:
            return DayKind.HOLIDAY
        if known is not None and d in known[0].makeup_workdays:
            return DayKind.MAKEUP_WORKDAY
        return DayKind.WORKDAY if d.weekday() < 5 else DayKind.WEEKEND

    def is_provisional(self, d: date) -> bool:
        """True when nobody has published ``d``'s year, so its answer is weekends-only and may change."""
        return d.year not in self._years

    def provisional_years(self, years: Iterable[int]) -> tuple[int, ...]:
        """Those of ``years`` (e.g. ``range(2025, 2028)``) answered provisionally, in order."""
        return tuple(sorted({y for y in years if y not in self._years}))


# -- the working calendar -----------------------------------------------------------------------


def _require_aware(dt: datetime, name: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise CalendarError(f"{name} {dt.isoformat()} has no time zone; give an aware datetime (UTC)")


class WorkingCalendar:
    """Deadlines and elapsed working time over office hours, a day table and a time zone.

    Instants go in as aware datetimes (any zone) and come out in UTC; days and office hours are
    those of ``tz`` (Asia/Shanghai: all of China keeps Beijing time).  Work is proportional to the
    number of days spanned, never to minutes.

    Rules, chosen and documented here because local rules rarely spell them out:

    * **Start outside working time** — the clock starts at the next working interval (a report made on
      Saturday 03:00 starts counting on Monday 09:00).
    * **End of an interval** — a deadline that lands exactly on the end of an interval stays there:
      ``11:00 + 1wh`` is 12:00, not 14:00.  The unit had the whole hour; moving the deadline to 14:00
      would give it the lunch break for free and would put it in another half-day on the dashboards.
    * **Working days** — ``n`` working days are ``n`` times the working time of a full office day
      (7 h by default), so a task given 1wd on Monday 10:00 is due on Tuesday 10:00, and 0.5wd is half
      a day.  This keeps a limit independent of the hour a task arrives.
    * **Calendar hours** — plain addition; the clock never stops.
    """

    def __init__(
        self,
        office_hours: OfficeHours | None = None,
        day_table: DayTable | None = None,
        tz: tzinfo = SHANGHAI,
    ) -> None:
        self.office_hours = office_hours or OfficeHours()
        self.day_table = day_table if day_table is not None else DayTable()
        self.tz = tz

    def __repr__(self) -> str:
        return f"WorkingCalendar({str(self.office_hours)!r}, tz={self.tz})"

    # --- the building block: one day's working intervals as UTC instants ---

    def working_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of local ``day`` as ``(start, end)`` UTC instants; empty on days off."""
        if not self.day_table.is_working_day(day):
            return []
        out: list[tuple[datetime, datetime]] = []
        for start, end in self.office_hours.spans:
            # Wall-clock times converted one by one, so that a zone with daylight saving still opens at
            # 09:00 local time on the day the clocks change (timedelta arithmetic on an aware datetime
            # would be wall-clock arithmetic, wrong across the change).
            s = _local(day, start, self.tz)
            e = _local(day, end, self.tz)
            if e > s:
                out.append((s, e))
        return out

    def _days_from(self, day: date) -> Iterator[date]:
        while True:
            yield day
            try:
                day += ONE_DAY
            except OverflowError:
                raise CalendarError("the deadline would fall after the year 9999") from None

    def _local_date(self, dt: datetime) -> date:
        return dt.astimezone(self.tz).date()

    # --- questions ---

    def is_working_time(self, dt: datetime) -> bool:
        """True when ``dt`` falls in a working interval (start included, end excluded)."""
        _require_aware(dt, "time")
        return any(s <= dt < e for s, e in self.working_intervals(self._local_date(dt)))

    def next_working_moment(self, dt: datetime) -> datetime:
        """``dt`` itself (in UTC) if it is working time, else the start of the next working interval."""
        _require_aware(dt, "time")
        for day in self._days_from(self._local_date(dt)):
            for s, e in self.working_intervals(day):
                if dt < e:
                    return max(s, dt.astimezone(UTC))
        raise AssertionError("unreachable: _days_from never ends")  # pragma: no cover

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds from ``a`` to ``b``; negative when ``b`` is before ``a``.

        Used to stop the clock while a task is suspended and to measure the time spent in a stage.
        """
        _require_aware(a, "start")
        _require_aware(b, "end")
        if b < a:
            return -self.working_seconds_between(b, a)
        total = timedelta(0)
        day, last = self._local_date(a), self._local_date(b)
        while day <= last:
            for s, e in self.working_intervals(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += ONE_DAY
        return total.total_seconds()

    def deadline(self, start: datetime, limit: TimeLimit) -> datetime:
        """When ``limit`` counted from ``start`` runs out, in UTC (rules in the class docstring)."""
        _require_aware(start, "start")
        if limit.unit is LimitUnit.CALENDAR_HOURS:
            return (start + timedelta(hours=limit.amount)).astimezone(UTC)
        return self._add_working(start, timedelta(seconds=self.limit_seconds(limit)))

    def limit_seconds(self, limit: TimeLimit) -> float:
        """The length of ``limit`` in (working or calendar) seconds; a working day is a full office day."""
        if limit.unit is LimitUnit.WORKING_DAYS:
            return limit.amount * self.office_hours.day_seconds
        return limit.amount * 3600

    def _add_working(self, start: datetime, amount: timedelta) -> datetime:
        remaining = amount
        for day in self._days_from(self._local_date(start)):
            for s, e in self.working_intervals(day):
                if e <= start:
                    continue
                s = max(s, start)
                # "<=": a deadline that exactly uses up an interval stays at its end (class docstring).
                if remaining <= e - s:
                    return (s + remaining).astimezone(UTC)
                remaining -= e - s
        raise AssertionError("unreachable: _days_from never ends")  # pragma: no cover

    def remaining(self, due: datetime, now: datetime, unit: LimitUnit = LimitUnit.WORKING_HOURS) -> float:
        """Seconds left until ``due`` at ``now`` (negative when overdue), counted the way ``unit`` counts.

        Working units count working seconds; calendar hours count every second.
        """
        _require_aware(due, "due")
        _require_aware(now, "now")
        if unit is LimitUnit.CALENDAR_HOURS:
            return (due - now).total_seconds()
        return self.working_seconds_between(now, due)

    def resume_deadline(
        self,
        due: datetime,
        suspended_at: datetime,
        resumed_at: datetime,
        unit: LimitUnit = LimitUnit.WORKING_HOURS,
    ) -> datetime:
        """The deadline after a suspension (挂起): the time left at ``suspended_at``, from ``resumed_at``.

        ``unit`` is the unit of the limit that set ``due`` (working hours and working days behave the
        same; calendar hours count the suspension in real time).  A task that was already overdue when
        suspended keeps its deadline: stopping the clock does not undo lateness.
        """
        _require_aware(due, "due")
        _require_aware(suspended_at, "suspended_at")
        _require_aware(resumed_at, "resumed_at")
        if resumed_at < suspended_at:
            raise CalendarError(
                f"resumed at {resumed_at.isoformat()}, before it was suspended ({suspended_at.isoformat()})"
            )
        left = self.remaining(due, suspended_at, unit)
        if left <= 0:
            return due.astimezone(UTC)
        if unit is LimitUnit.CALENDAR_HOURS:
            return (resumed_at + timedelta(seconds=left)).astimezone(UTC)
        return self._add_working(resumed_at, timedelta(seconds=left))

    def provisional_years(self, a: datetime, b: datetime) -> tuple[int, ...]:
        """Years between ``a`` and ``b`` (local, either order) whose working days are provisional.

        A deadline whose span touches one may move when that year is entered; the interface says so.
        """
        _require_aware(a, "start")
        _require_aware(b, "end")
        ya, yb = sorted((self._local_date(a).year, self._local_date(b).year))
        return self.day_table.provisional_years(range(ya, yb + 1))


def _local(day: date, seconds: int, tz: tzinfo) -> datetime:
    if seconds >= _DAY_SECONDS:
        day, seconds = day + ONE_DAY, seconds - _DAY_SECONDS
    wall = datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60, seconds % 60), tzinfo=tz)
    return wall.astimezone(UTC)


__all__ = [
    "SHANGHAI",
    "CalendarError",
    "DayKind",
    "DaySource",
    "DayTable",
    "OfficeHours",
    "WorkingCalendar",
    "YearCalendar",
    "parse_year_calendars",
]
