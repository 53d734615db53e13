"""Evaluation figures (监督评价): what each event and task adds to the counts, and the rates.

Pure formulas over plain snapshots of an event and its tasks — no database, no clock.  The services
store what :func:`contributions` returns per event and sum it over days (roll-ups); the same function
recounts from scratch, so the roll-ups can be checked against it.

**The rule of anchoring.**  Every figure counts on the local day (Asia/Shanghai) of the moment that
defines it, and is credited to one unit:

===========================  ========================================  =====================================
figure                       counted when                              credited to
===========================  ========================================  =====================================
received                     every event, on ``received_at``           the owner centre (首接负责)
registered                   received and not cancelled nor merged     the owner centre
dispatched                   handle-mode, sent by the centre to a      the owner centre
                             unit (not self-handled), on
                             ``dispatched_at``
dispatched_accurately        dispatched and never returned             the owner centre
returned                     dispatched and returned at least once     the owner centre
self_handled                 fixed on the spot (自行处置), on            the responsible unit
                             ``dispatched_at``
accepted_on_time / _late     lead/assist task, on its acceptance       the task's unit
                             deadline (signed for by it / after it,
                             or still unsigned once it has passed)
accepted, accept_seconds     task signed for, on ``accepted_at``       the task's unit
handled_on_time / _overdue   lead/assist task, on its handling         the task's unit
                             deadline (reported back by it / after
                             it, or still unreported and running
                             once it has passed)
task_reports, handle_s…      task reported back, on ``reported_at``    the task's unit
handled, reworked            handle-mode event reported back (by its   the responsible unit
                             units or self-handled), on the event's
                             ``reported_at``; reworked if sent back
                             at least once (核查不通过或回访不满意)
due, deferred, due_closed,   handle-mode event with a deadline, on     the responsible unit
due_closed_on_time           the deadline's day (应结案)
closed                       handle-mode event closed, ``closed_at``   the responsible unit
called_back, satisfied       call-back made (回访), ``called_back_at``   the responsible unit
===========================  ========================================  =====================================

*Responsible unit* and *deadline* of an event: its deciding lead task is the most recently dispatched
lead task that was neither returned nor cancelled; its unit is responsible and its ``handle_due_at``
(which already includes approved extensions) is the event's deadline.  An event with no such task is
the owner centre's and has no deadline.  *Deferred* (缓办) is a due event not closed whose deciding
task is suspended (挂起, the clock stopped): it is taken out of the denominator as in the Jinhua rules.

Figures that depend on a deadline having passed are judged at ``now`` (the time of the refresh).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Final

from shuzhi.domain.calendar import SHANGHAI, WorkingCalendar

# The counted figures, in the order of the roll-up columns.
MEASURES: Final[tuple[str, ...]] = (
    "received", "registered", "dispatched", "dispatched_accurately", "returned", "self_handled",
    "accepted_on_time", "accepted_late", "accepted", "accept_seconds", "accept_work_seconds",
    "handled_on_time", "handled_overdue", "task_reports", "handle_seconds", "handle_work_seconds",
    "handled", "reworked", "due", "deferred", "due_closed", "due_closed_on_time", "closed",
    "called_back", "satisfied",
)

#: Chinese labels for reports and the interface.
LABELS: Final[dict[str, str]] = {
    "received": "受理数", "registered": "立案数", "dispatched": "派遣数", "dispatched_accurately": "准确派遣数",
    "returned": "退单数", "self_handled": "自行处置数", "accepted_on_time": "按时签收数", "accepted_late": "超时签收数",
    "accepted": "签收数", "handled_on_time": "按时处置数", "handled_overdue": "超期处置数", "task_reports": "反馈数",
    "handled": "处置数", "reworked": "返工数", "due": "应结案数", "deferred": "缓办数",
    "due_closed": "结案数（应结案中）",
    "due_closed_on_time": "按期结案数", "closed": "结案数", "called_back": "回访数", "satisfied": "满意数",
    "closure_rate": "结案率", "on_time_closure_rate": "按期结案率", "accurate_dispatch_rate": "准确派遣率",
    "rework_rate": "返工率", "satisfaction_rate": "满意率", "accept_on_time_rate": "按时签收率",
    "on_time_handling_rate": "按时处置率", "avg_accept_hours": "平均签收时长（小时）",
    "avg_accept_work_hours": "平均签收时长（工作小时）", "avg_handle_hours": "平均处置时长（小时）",
    "avg_handle_work_hours": "平均处置时长（工作小时）",
}

RATES: Final[tuple[str, ...]] = (
    "closure_rate", "on_time_closure_rate", "accurate_dispatch_rate", "rework_rate", "satisfaction_rate",
    "accept_on_time_rate", "on_time_handling_rate",
)
#: Ledger figures (台账, docs/ledgers.md), joined per unit to the rankings and the scoring scheme; they are
#: counted from the ledgers when a ranking is made, not roll-up columns.
LEDGER_MEASURES: Final[tuple[str, ...]] = (
    "ledger_items", "ledger_reports_due", "ledger_reports_on_time", "ledger_due", "ledger_closed_on_time",
    "ledger_overdue", "ledger_stalled", "ledger_reopened",
)
LEDGER_RATES: Final[tuple[str, ...]] = ("ledger_report_rate", "ledger_completion_rate")
LABELS.update({
    "ledger_items": "台账事项数", "ledger_reports_due": "应对账数", "ledger_reports_on_time": "按期对账数",
    "ledger_due": "应销账数", "ledger_closed_on_time": "按期销账数", "ledger_overdue": "台账超期事项",
    "ledger_stalled": "台账停滞事项", "ledger_reopened": "台账反弹事项", "ledger_report_rate": "按期对账率",
    "ledger_completion_rate": "按期销账率",
})


def ledger_rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    """按期对账率 = reports on time / reports due; 按期销账率 = closed by the time limit / due in the period."""
    return {"ledger_report_rate": ratio(counts.get("ledger_reports_on_time", 0), counts.get("ledger_reports_due", 0)),
            "ledger_completion_rate": ratio(counts.get("ledger_closed_on_time", 0), counts.get("ledger_due", 0))}


#: 好差评 figures (docs/services.md), joined per department and per area to the rankings and the scoring
#: scheme like the ledgers': counted from the service ratings rated in the period, not roll-up columns.
#: Valid ratings leave out the 差评 whose appeal was upheld (mistaken or malicious).
RATING_MEASURES: Final[tuple[str, ...]] = (
    "ratings_valid", "ratings_good", "ratings_bad", "ratings_bad_rectified", "ratings_bad_on_time",
)
RATING_RATES: Final[tuple[str, ...]] = ("good_rating_rate", "bad_rectification_rate", "bad_on_time_rate")
LABELS.update({
    "ratings_valid": "有效评价数", "ratings_good": "好评数", "ratings_bad": "差评数",
    "ratings_bad_rectified": "差评整改数", "ratings_bad_on_time": "差评按期整改数",
    "good_rating_rate": "好评率", "bad_rectification_rate": "差评整改率", "bad_on_time_rate": "差评按期整改率",
})


def rating_rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    """好评率 = 好评 / valid ratings; 差评整改率 = rectified 差评 / valid 差评; 差评按期整改率 = 差评 replied
    within the limit / valid 差评 (None when the denominator is zero: a scheme then gives the full weight)."""
    bad = counts.get("ratings_bad", 0)
    return {"good_rating_rate": ratio(counts.get("ratings_good", 0), counts.get("ratings_valid", 0)),
            "bad_rectification_rate": ratio(counts.get("ratings_bad_rectified", 0), bad),
            "bad_on_time_rate": ratio(counts.get("ratings_bad_on_time", 0), bad)}


#: Runway figures (跑道, issue #22): a runway's lead unit (跑道建设牵头单位) answers for the data of its
#: *evaluable* indicators (可评价性) — coverage, freshness and completeness of their series — and for the
#: handling of their warnings (acknowledged within :data:`WARNING_ACK_WITHIN`, ended). Counted from the
#: readings' summaries and the warnings when a ranking is made, not roll-up columns.
RUNWAY_MEASURES: Final[tuple[str, ...]] = (
    "runway_indicators", "runway_series_expected", "runway_series_reporting", "runway_series_stale",
    "runway_readings", "runway_readings_expected", "runway_warnings", "runway_warnings_acked_on_time",
    "runway_warnings_closed",
)
RUNWAY_RATES: Final[tuple[str, ...]] = (
    "data_coverage_rate", "data_freshness_rate", "data_completeness_rate", "warning_ack_on_time_rate",
    "warning_close_rate",
)
#: A warning acknowledged this soon after it fired counts as handled on time.
WARNING_ACK_WITHIN: Final[timedelta] = timedelta(minutes=30)
LABELS.update({
    "runway_indicators": "跑道可评价指标数", "runway_series_expected": "应接入序列数",
    "runway_series_reporting": "已接入序列数", "runway_series_stale": "数据超时序列数",
    "runway_readings": "收到读数", "runway_readings_expected": "应收读数", "runway_warnings": "跑道预警数",
    "runway_warnings_acked_on_time": "按时确认预警数", "runway_warnings_closed": "已结束预警数",
    "data_coverage_rate": "数据覆盖率", "data_freshness_rate": "数据及时率", "data_completeness_rate": "数据完整率",
    "warning_ack_on_time_rate": "预警按时确认率", "warning_close_rate": "预警结束率",
})


def runway_rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    """数据覆盖率 = reporting / expected series (at most 1); 数据及时率 = series not stale / reporting;
    数据完整率 = readings / expected readings (at most 1); 预警按时确认率 and 预警结束率 over the warnings that
    fired in the period (None when there is nothing to count: a scheme then gives the full weight)."""
    expected, reporting = counts.get("runway_series_expected", 0), counts.get("runway_series_reporting", 0)
    complete = ratio(counts.get("runway_readings", 0), counts.get("runway_readings_expected", 0))
    return {"data_coverage_rate": ratio(min(reporting, expected), expected),
            "data_freshness_rate": ratio(reporting - counts.get("runway_series_stale", 0), reporting),
            "data_completeness_rate": None if complete is None else min(1.0, complete),
            "warning_ack_on_time_rate": ratio(counts.get("runway_warnings_acked_on_time", 0),
                                              counts.get("runway_warnings", 0)),
            "warning_close_rate": ratio(counts.get("runway_warnings_closed", 0), counts.get("runway_warnings", 0))}


#: 政企双向评价 figures (docs/services.md): how enterprises rated the government's handling of their calls
#: (企业吹哨), rated in the period — per department (a call's rating counts for each department that
#: answered it) and per area (the call's). Joined to the rankings and the scoring scheme like 好差评's.
TWO_WAY_MEASURES: Final[tuple[str, ...]] = ("enterprise_ratings", "enterprise_ratings_good", "enterprise_ratings_bad")
TWO_WAY_RATES: Final[tuple[str, ...]] = ("enterprise_good_rate",)
LABELS.update({
    "enterprise_ratings": "企业评价数", "enterprise_ratings_good": "企业好评数", "enterprise_ratings_bad": "企业差评数",
    "enterprise_good_rate": "企业评价好评率",
})


def two_way_rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    """企业评价好评率 = the enterprises' 好评 / their ratings (None when none: a scheme gives the full weight)."""
    return {"enterprise_good_rate": ratio(counts.get("enterprise_ratings_good", 0),
                                          counts.get("enterprise_ratings", 0))}


#: 抄送知悉 figures (issue 18): per unit, its copies whose read deadline falls in the period and has passed
#: (or which were read already). Counted from the copies when a ranking is made, not roll-up columns.
COPY_MEASURES: Final[tuple[str, ...]] = ("copies_due", "copies_read_on_time", "copies_read_late", "copies_unread_late")
COPY_RATES: Final[tuple[str, ...]] = ("timely_read_rate",)
LABELS.update({
    "copies_due": "应知悉抄送数", "copies_read_on_time": "按时知悉数", "copies_read_late": "逾期知悉数",
    "copies_unread_late": "逾期未阅数", "timely_read_rate": "及时知悉率",
})


def copy_judgement(read_due_at: datetime | None, read_at: datetime | None, now: datetime) -> str | None:
    """How one copy counts at ``now``: ``on_time`` (read by its read deadline), ``late`` (read after it),
    ``unread_late`` (its deadline passed unread) or None (no deadline, or not yet due and unread)."""
    if read_due_at is None:
        return None
    if read_at is not None:
        return "on_time" if read_at <= read_due_at else "late"
    return "unread_late" if now > read_due_at else None


def copy_rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    """及时知悉率 = copies read by their read deadline / copies due (read, or past the deadline unread)."""
    return {"timely_read_rate": ratio(counts.get("copies_read_on_time", 0), counts.get("copies_due", 0))}


AVERAGES: Final[tuple[str, ...]] = (
    "avg_accept_hours", "avg_accept_work_hours", "avg_handle_hours", "avg_handle_work_hours",
)

_HANDLE_ROLES = frozenset({"lead", "assist"})
_GONE_TASK = frozenset({"returned", "cancelled"})
_RUNNING_TASK = frozenset({"dispatched", "accepted", "extension_requested"})
_NOT_REGISTERED = frozenset({"cancelled", "merged"})


@dataclass(frozen=True)
class TaskSnapshot:
    id: int
    unit_id: int
    role: str
    state: str
    dispatched_at: datetime
    accept_due_at: datetime | None = None
    handle_due_at: datetime | None = None
    accepted_at: datetime | None = None
    reported_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class EventSnapshot:
    id: int
    state: str
    mode: str
    received_at: datetime
    owner_unit_id: int | None = None
    dispatched_at: datetime | None = None
    reported_at: datetime | None = None
    closed_at: datetime | None = None
    called_back_at: datetime | None = None
    self_handled: bool = False
    satisfied: bool | None = None
    rework_count: int = 0
    return_count: int = 0
    tasks: tuple[TaskSnapshot, ...] = ()


@dataclass(frozen=True)
class Contribution:
    """What one event adds to one (local day, unit) cell; the event's area, class and source are implied."""

    day: date
    unit_id: int
    measures: Mapping[str, int]


def local_day(at: datetime) -> date:
    """The Asia/Shanghai calendar day of an instant (periods and roll-ups are local days)."""
    return at.astimezone(SHANGHAI).date()


class WorkingClock:
    """Working seconds between instants in O(1) after a one-off table per day.

    ``between(a, b)`` equals :meth:`WorkingCalendar.working_seconds_between` (tested), computed as
    ``W(b) − W(a)`` where ``W`` is the working time since an epoch: the cumulative working time before
    each local day plus the part of that day's intervals before the instant.  ``W`` is kept in whole
    microseconds (integers), so the result is exact and the set-based rebuild in SQL
    (:mod:`shuzhi.services.rollup_sql`) reproduces it bit for bit.
    """

    #: Days after the epoch it tabulates; instants outside fall back to the calendar itself.
    DAYS: Final[int] = 36_600

    def __init__(self, calendar: WorkingCalendar, epoch: date = date(2000, 1, 1)) -> None:
        self.calendar = calendar
        self.epoch = epoch
        self._cum: list[int] = [0]  # working microseconds before epoch + i days
        self._spans: list[tuple[tuple[int, int], ...]] = []

    def _extend(self, index: int) -> None:
        while len(self._spans) <= index:
            day = self.epoch + timedelta(days=len(self._spans))
            spans = tuple((micros(s), micros(e)) for s, e in self.calendar.working_intervals(day))
            self._spans.append(spans)
            self._cum.append(self._cum[-1] + sum(e - s for s, e in spans))

    def day_table(self, first: date, last: date) -> list[tuple[date, int, tuple[tuple[int, int], ...]]]:
        """(local day, working microseconds before it since the epoch, its intervals in epoch
        microseconds) for ``first``…``last``: what the SQL rebuild needs to compute ``W``."""
        lo, hi = (first - self.epoch).days, (last - self.epoch).days
        self._extend(max(hi, 0))
        return [(self.epoch + timedelta(days=i), self._cum[i], self._spans[i]) for i in range(max(lo, 0), hi + 1)]

    def _w(self, at: datetime) -> int | None:
        index = (local_day(at) - self.epoch).days
        if index < 0 or index > self.DAYS:
            return None
        self._extend(index)
        ts = micros(at)
        within = sum(min(e, ts) - s for s, e in self._spans[index] if ts > s)
        return self._cum[index] + within

    def between(self, a: datetime, b: datetime) -> float:
        wa, wb = self._w(a), self._w(b)
        if wa is None or wb is None:
            return self.calendar.working_seconds_between(a, b)
        return (wb - wa) / 1_000_000


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    """Whole microseconds since 1970-01-01 UTC (exact, unlike ``timestamp()``, a float)."""
    return (at - _UNIX_EPOCH) // timedelta(microseconds=1)


def deciding_lead(event: EventSnapshot) -> TaskSnapshot | None:
    """The most recently dispatched lead task neither returned nor cancelled (None if there is none)."""
    best: TaskSnapshot | None = None
    for t in event.tasks:
        if t.role != "lead" or t.state in _GONE_TASK:
            continue
        if best is None or (t.dispatched_at, t.id) > (best.dispatched_at, best.id):
            best = t
    return best


def contributions(event: EventSnapshot, now: datetime, clock: WorkingClock) -> list[Contribution]:
    """The figures one event adds, per (local day, unit), judged at ``now`` (module docstring)."""
    cells: dict[tuple[date, int], dict[str, int]] = {}

    def add(at: datetime, unit_id: int | None, **measures: int) -> None:
        cell = cells.setdefault((local_day(at), unit_id or 0), {})
        for name, value in measures.items():
            if value:
                cell[name] = cell.get(name, 0) + value

    owner = event.owner_unit_id
    lead = deciding_lead(event)
    responsible = lead.unit_id if lead is not None else owner
    registered = event.state not in _NOT_REGISTERED
    add(event.received_at, owner, received=1, registered=int(registered))
    handle = event.mode == "handle"

    if handle and event.dispatched_at is not None:
        if event.self_handled:
            add(event.dispatched_at, responsible, self_handled=1)
        else:
            accurate = event.return_count == 0
            add(event.dispatched_at, owner, dispatched=1, dispatched_accurately=int(accurate),
                returned=int(not accurate))

    for t in event.tasks:
        if t.role not in _HANDLE_ROLES:
            continue
        if t.accepted_at is not None:
            add(t.accepted_at, t.unit_id, accepted=1,
                accept_seconds=round((t.accepted_at - t.dispatched_at).total_seconds()),
                accept_work_seconds=round(clock.between(t.dispatched_at, t.accepted_at)))
        if t.accept_due_at is not None:
            due = t.accept_due_at
            if t.accepted_at is not None:
                on_time = t.accepted_at <= due
                add(due, t.unit_id, accepted_on_time=int(on_time), accepted_late=int(not on_time))
            elif now > due and (t.state in _RUNNING_TASK or (t.ended_at is not None and t.ended_at > due)):
                add(due, t.unit_id, accepted_late=1)
        if t.reported_at is not None:
            add(t.reported_at, t.unit_id, task_reports=1,
                handle_seconds=round((t.reported_at - t.dispatched_at).total_seconds()),
                handle_work_seconds=round(clock.between(t.dispatched_at, t.reported_at)))
        if t.handle_due_at is not None and t.state not in _GONE_TASK:
            due = t.handle_due_at
            if t.reported_at is not None:
                on_time = t.reported_at <= due
                add(due, t.unit_id, handled_on_time=int(on_time), handled_overdue=int(not on_time))
            elif t.state in _RUNNING_TASK and now > due:
                add(due, t.unit_id, handled_overdue=1)

    if not handle or not registered:
        return _cells(cells)
    if event.reported_at is not None:
        add(event.reported_at, responsible, handled=1, reworked=int(event.rework_count > 0))
    deadline = lead.handle_due_at if lead is not None else None
    if deadline is not None:
        closed = event.closed_at is not None
        add(deadline, responsible, due=1,
            deferred=int(not closed and lead is not None and lead.state == "suspended"),
            due_closed=int(closed),
            due_closed_on_time=int(event.closed_at is not None and event.closed_at <= deadline))
    if event.closed_at is not None:
        add(event.closed_at, responsible, closed=1)
    if event.called_back_at is not None and event.satisfied is not None:
        add(event.called_back_at, responsible, called_back=1, satisfied=int(event.satisfied))
    return _cells(cells)


def credited_to_people(event: EventSnapshot, assignee_of: Mapping[int, int]) -> EventSnapshot:
    """The event with the credit of each task moved from its unit to the person it is assigned to
    (事件责任人, ``assignee_of``: task id → person id; 0 for a task assigned to nobody) and nothing for the
    owner centre. :func:`contributions` of it are then the people's figures by the units' very rules:
    the deciding lead task's person answers for due, closure and on-time closure, as its unit does."""
    return replace(event, owner_unit_id=None,
                   tasks=tuple(replace(t, unit_id=assignee_of.get(t.id, 0)) for t in event.tasks))


#: The figures of a person (事件责任人): what :func:`contributions` credits to a task's holder and to the
#: responsible one (dispatch figures are the owner centre's, never a person's).
PERSON_MEASURES: Final[tuple[str, ...]] = (
    "accepted_on_time", "accepted_late", "handled_on_time", "handled_overdue", "handled", "reworked", "due",
    "deferred", "due_closed", "due_closed_on_time", "closed", "called_back", "satisfied",
)
PERSON_RATES: Final[tuple[str, ...]] = (
    "closure_rate", "on_time_closure_rate", "on_time_handling_rate", "accept_on_time_rate", "rework_rate",
    "satisfaction_rate",
)


def _cells(cells: dict[tuple[date, int], dict[str, int]]) -> list[Contribution]:
    return [Contribution(day, unit, m) for (day, unit), m in sorted(cells.items()) if m]


def deadlines(event: EventSnapshot) -> list[datetime]:
    """The moments after which this event's figures change without anything happening to it."""
    out: list[datetime] = []
    for t in event.tasks:
        out.extend(d for d in (t.accept_due_at, t.handle_due_at) if d is not None)
    return out


# -- sums and rates ------------------------------------------------------------------------------


@dataclass
class Figures:
    """Summed counts of a group of cells, with the rates and averages derived from them."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))

    def add(self, measures: Mapping[str, int]) -> None:
        for name, value in measures.items():
            self.counts[name] = self.counts.get(name, 0) + int(value)

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, int]]) -> Figures:
        f = cls()
        for row in rows:
            f.add(row)
        return f

    def rates(self) -> dict[str, float | None]:
        """The published rates (Jinhua rules, domain brief §5); None when the denominator is zero.

        * 结案率 closure = due_closed / (due − deferred)
        * 按期结案率 on-time closure = due_closed_on_time / (due − deferred)
        * 准确派遣率 accurate dispatch = dispatched_accurately / dispatched
        * 返工率 rework = reworked / handled
        * 满意率 satisfaction = satisfied / called_back
        * 按时签收率 = accepted_on_time / (accepted_on_time + accepted_late)
        * 按时处置率 = handled_on_time / (handled_on_time + handled_overdue)
        """
        c = self.counts
        base = c["due"] - c["deferred"]
        return {
            "closure_rate": ratio(c["due_closed"], base),
            "on_time_closure_rate": ratio(c["due_closed_on_time"], base),
            "accurate_dispatch_rate": ratio(c["dispatched_accurately"], c["dispatched"]),
            "rework_rate": ratio(c["reworked"], c["handled"]),
            "satisfaction_rate": ratio(c["satisfied"], c["called_back"]),
            "accept_on_time_rate": ratio(c["accepted_on_time"], c["accepted_on_time"] + c["accepted_late"]),
            "on_time_handling_rate": ratio(c["handled_on_time"], c["handled_on_time"] + c["handled_overdue"]),
        }

    def averages(self) -> dict[str, float | None]:
        """Mean acceptance time (dispatch → signed for) and handling time (dispatch → reported back),
        in calendar hours and in working hours of the official calendar."""
        c = self.counts
        return {
            "avg_accept_hours": _hours(c["accept_seconds"], c["accepted"]),
            "avg_accept_work_hours": _hours(c["accept_work_seconds"], c["accepted"]),
            "avg_handle_hours": _hours(c["handle_seconds"], c["task_reports"]),
            "avg_handle_work_hours": _hours(c["handle_work_seconds"], c["task_reports"]),
        }

    def as_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {k: v for k, v in self.counts.items()
                                               if not k.endswith("_seconds")}
        out.update(self.rates())
        out.update(self.averages())
        return out


def ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def _hours(seconds: int, n: int) -> float | None:
    return None if n <= 0 else seconds / n / 3600


def sum_measures(rows: Sequence[Mapping[str, int]]) -> dict[str, int]:
    out = dict.fromkeys(MEASURES, 0)
    for row in rows:
        for k, v in row.items():
            out[k] += v
    return out


def utc(d: date) -> datetime:
    """Local midnight of ``d`` as a UTC instant."""
    return datetime(d.year, d.month, d.day, tzinfo=SHANGHAI).astimezone(UTC)
