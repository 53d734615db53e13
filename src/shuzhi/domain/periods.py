"""Evaluation periods: a day, ISO week, month, quarter, year or any range of local (Asia/Shanghai) days.

Written as text so that a URL or a command line can carry them:

=================  ==========================================
``2024-06-13``     one day
``2024-W24``       an ISO week (Monday to Sunday)
``2024-06``        a month
``2024-Q2``        a quarter
``2024-H1``        a half year (上半年 January–June, 下半年 July–December: the seeds' 半年小结)
``2024``           a year
``2024-06-01..2024-06-20``  any range of days, both ends included
=================  ==========================================

The *previous* period (for movements in rankings) is the one of the same kind just before; for a range,
the same number of days just before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class PeriodError(ValueError):
    """A period that cannot be read or is empty/reversed; the message says what is wrong."""


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    RANGE = "range"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date  # first day, included
    end: date  # last day, included

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"the period ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        s = self.start
        if self.kind is PeriodKind.DAY:
            return s.isoformat()
        if self.kind is PeriodKind.WEEK:
            y, w, _ = s.isocalendar()
            return f"{y}-W{w:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{s.year}-{s.month:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind is PeriodKind.HALF:
            return f"{s.year}-H{1 if s.month <= 6 else 2}"
        if self.kind is PeriodKind.YEAR:
            return str(s.year)
        return f"{s.isoformat()}..{self.end.isoformat()}"

    @property
    def title(self) -> str:
        """A Chinese title (2024年6月, 2024年第24周 …)."""
        s = self.start
        if self.kind is PeriodKind.DAY:
            return f"{s.year}年{s.month}月{s.day}日"
        if self.kind is PeriodKind.WEEK:
            y, w, _ = s.isocalendar()
            return f"{y}年第{w}周（{s.month}月{s.day}日—{self.end.month}月{self.end.day}日）"
        if self.kind is PeriodKind.MONTH:
            return f"{s.year}年{s.month}月"
        if self.kind is PeriodKind.QUARTER:
            return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
        if self.kind is PeriodKind.HALF:
            return f"{s.year}年{'上' if s.month <= 6 else '下'}半年"
        if self.kind is PeriodKind.YEAR:
            return f"{s.year}年"
        return f"{s.isoformat()}至{self.end.isoformat()}"

    def previous(self) -> Period:
        return of_kind(self.kind, self.start - timedelta(days=1)) if self.kind is not PeriodKind.RANGE else \
            Period(PeriodKind.RANGE, self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def of_kind(kind: PeriodKind, day: date) -> Period:
    """The period of ``kind`` that contains ``day``."""
    if kind is PeriodKind.DAY or kind is PeriodKind.RANGE:
        return Period(PeriodKind.DAY, day, day)
    if kind is PeriodKind.WEEK:
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=6))
    if kind is PeriodKind.MONTH:
        start = day.replace(day=1)
        return Period(kind, start, _next_month(start) - timedelta(days=1))
    if kind is PeriodKind.QUARTER:
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        end = _next_month(_next_month(_next_month(start))) - timedelta(days=1)
        return Period(kind, start, end)
    if kind is PeriodKind.HALF:
        if day.month <= 6:
            return Period(kind, date(day.year, 1, 1), date(day.year, 6, 30))
        return Period(kind, date(day.year, 7, 1), date(day.year, 12, 31))
    return Period(kind, date(day.year, 1, 1), date(day.year, 12, 31))


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


_FORMS: list[tuple[re.Pattern[str], PeriodKind]] = [
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), PeriodKind.DAY),
    (re.compile(r"(\d{4})-[Ww](\d{1,2})"), PeriodKind.WEEK),
    (re.compile(r"(\d{4})-(\d{1,2})"), PeriodKind.MONTH),
    (re.compile(r"(\d{4})-[Qq]([1-4])"), PeriodKind.QUARTER),
    (re.compile(r"(\d{4})-[Hh]([12])"), PeriodKind.HALF),
    (re.compile(r"(\d{4})"), PeriodKind.YEAR),
]

MAX_DAYS = 366 * 5


def parse_period(text: str) -> Period:
    """Read a period (module docstring); :class:`PeriodError` names what is wrong."""
    raw = text.strip()
    if not raw:
        raise PeriodError("the period is empty: give e.g. 2024-06, 2024-W24, 2024-Q2, 2024 or 2024-06-01..2024-06-20")
    if ".." in raw:
        left, _, right = raw.partition("..")
        try:
            a, b = date.fromisoformat(left.strip()), date.fromisoformat(right.strip())
        except ValueError:
            raise PeriodError(f"{raw!r} is not a range of days (use YYYY-MM-DD..YYYY-MM-DD)") from None
        period = Period(PeriodKind.RANGE, a, b)
        if period.days > MAX_DAYS:
            raise PeriodError(f"the range spans {period.days} days; at most {MAX_DAYS} are allowed")
        return period
    for pattern, kind in _FORMS:
        m = pattern.fullmatch(raw)
        if m is None:
            continue
        try:
            if kind is PeriodKind.DAY:
                return of_kind(kind, date(int(m[1]), int(m[2]), int(m[3])))
            if kind is PeriodKind.WEEK:
                return of_kind(kind, date.fromisocalendar(int(m[1]), int(m[2]), 1))
            if kind is PeriodKind.MONTH:
                return of_kind(kind, date(int(m[1]), int(m[2]), 1))
            if kind is PeriodKind.QUARTER:
                return of_kind(kind, date(int(m[1]), (int(m[2]) - 1) * 3 + 1, 1))
            if kind is PeriodKind.HALF:
                return of_kind(kind, date(int(m[1]), 1 if m[2] == "1" else 7, 1))
            return of_kind(kind, date(int(m[1]), 1, 1))
        except ValueError as exc:
            raise PeriodError(f"{raw!r} is not a valid {kind.value}: {exc}") from None
    raise PeriodError(
        f"{raw!r} is not a period: use 2024-06-13, 2024-W24, 2024-06, 2024-Q2, 2024-H1, 2024 or 2024-06-01..2024-06-20"
    )
