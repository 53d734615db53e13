"""按期对账: a ledger's reporting schedule and an item's time limit, on the working-time calendar.

A period's report is due at the close of its last working day; a missing report is reminded, declared
missing, urged and escalated, and an item's time limit is supervised like a task's handling deadline
(the thresholds of :class:`shuzhi.domain.supervision.SupervisionRules`). The steps are a plan the
ledger clock (``services/ledgers/clocks.py``) pops as they fall due. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shuzhi.domain.calendar import WorkingCalendar
from shuzhi.domain.ledgers import LedgerError, Schedule
from shuzhi.domain.periods import Period, PeriodKind, of_kind
from shuzhi.domain.supervision import SupervisionRules, handle_steps, next_working_day_start
from shuzhi.domain.time_limits import LimitUnit, TimeLimit

_PERIOD_OF = {Schedule.WEEKLY: PeriodKind.WEEK, Schedule.MONTHLY: PeriodKind.MONTH,
              Schedule.QUARTERLY: PeriodKind.QUARTER}


def report_period(schedule: Schedule, day: date) -> Period | None:
    """The reporting period containing local ``day`` (None when the ledger is not reconciled)."""
    kind = _PERIOD_OF.get(schedule)
    return None if kind is None else of_kind(kind, day)


def report_due(cal: WorkingCalendar, period: Period) -> datetime:
    """A period's report is due at the close of its last working day (holidays and make-up days from
    the calendar): a weekly report whose Friday is a holiday is due on Thursday evening. A period with
    no working day at all (a Golden Week) is due at the close of the next working day."""
    day = period.end
    while day >= period.start:
        spans = cal.working_intervals(day)
        if spans:
            return spans[-1][1]
        day -= timedelta(days=1)
    day = period.end + timedelta(days=1)
    for _ in range(60):
        spans = cal.working_intervals(day)
        if spans:
            return spans[-1][1]
        day += timedelta(days=1)
    raise LedgerError("no working day within 60 days after the period")


class ReportStep(StrEnum):
    REMIND = "remind"  # 对账提醒（截止前一个工作日）
    MISSING = "missing"  # 未按期报送
    URGE = "urge"  # 催报（次一工作日）
    ESCALATE = "escalate"  # 升级：通报上级与台账牵头单位


@dataclass(frozen=True)
class Step:
    step: str
    due_at: datetime
    deadline: datetime

    def key(self) -> tuple[str, datetime]:
        return (self.step, self.deadline)


def report_steps(cal: WorkingCalendar, rules: SupervisionRules, due: datetime) -> list[Step]:
    """Steps of one missing progress report, on the working calendar like a task deadline's: a
    reminder one working day before, *missing* at the due time, an urge the next working day, and
    escalation after the rules' yellow-card working days (the same thresholds as tasks)."""
    one_day = cal.limit_seconds(TimeLimit(1, LimitUnit.WORKING_DAYS))
    remind = _working_before(cal, due, one_day)
    steps = [Step(ReportStep.REMIND.value, remind, due), Step(ReportStep.MISSING.value, due, due),
             Step(ReportStep.URGE.value, next_working_day_start(cal, due), due),
             Step(ReportStep.ESCALATE.value, cal.deadline(due, TimeLimit(rules.yellow_after_wd,
                                                                         LimitUnit.WORKING_DAYS)), due)]
    return sorted(steps, key=lambda s: (s.due_at, _REPORT_ORDER[s.step]))


_REPORT_ORDER = {"remind": 0, "missing": 1, "urge": 2, "escalate": 3}


def _working_before(cal: WorkingCalendar, due: datetime, seconds: float) -> datetime:
    """The instant ``seconds`` of working time before ``due`` (walking back day by day)."""
    remaining = timedelta(seconds=seconds)
    day = due.astimezone(cal.tz).date()
    for _ in range(400):
        for s, e in reversed(cal.working_intervals(day)):
            hi = min(e, due)
            if hi <= s:
                continue
            span = hi - s
            if span >= remaining:
                return hi - remaining
            remaining -= span
        day -= timedelta(days=1)
    return due - timedelta(seconds=seconds)


def deadline_steps(cal: WorkingCalendar, rules: SupervisionRules, start: datetime, due: datetime) -> list[Step]:
    """An item's time limit supervised like a task's handling deadline (reminders at the rules'
    fractions, overdue, urge, yellow and red card), on working days."""
    return [Step(s.step, s.due_at, s.deadline)
            for s in handle_steps(cal, rules, start, due, LimitUnit.WORKING_DAYS)]


def pending(steps: Iterable[Step], done: frozenset[tuple[str, datetime]], since: datetime) -> list[Step]:
    """The steps still to come: not done for the same deadline, and no reminder whose moment had
    passed already when the clock was (re)planned — being overdue or missing, by contrast, is a fact."""
    out = []
    for s in steps:
        if s.key() in done:
            continue
        if s.step.startswith("remind") and s.due_at < since:
            continue
        out.append(s)
    return sorted(out, key=lambda s: s.due_at)
