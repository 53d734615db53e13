"""Ledger clocks: an item's time limit and the progress reports it owes, supervised on the working
calendar like task deadlines — reminders, overdue/missing, urge, escalation — by the durable scheduler.

Two clock kinds per item (``ledger_clocks``, one row each while something is left to supervise):

* ``deadline`` — the time limit (close of its last working day), planned with the tasks' supervision
  rules (reminders at the same fractions, overdue, urge, yellow and red card);
* ``report`` — the reports owed (``ledger_report_slots``, one per reporting period): a reminder one
  working day before the due time, *missing* at it, an urge the next working day, escalation to the
  centre above and the ledger's owner after the rules' yellow-card days.

:func:`sync` replans an item's clocks; the item door (:mod:`.items`) calls it on every change and the
reporting service after every report. :func:`sweep` is the scheduler's periodic job: it claims due
clocks (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE on SQLite), records each step once
(unique key per item, clock, step and deadline), writes the item timeline, the inboxes and the outbox,
and replans. A failing clock has its due time pushed out (1, 2, 4 … minutes) instead of crash-looping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.adapters.db.tables_ledgers import (
    Ledger,
    LedgerClock,
    LedgerClockStep,
    LedgerItem,
    LedgerReportSlot,
    LedgerTimelineEntry,
)
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import ledger_clocks as lc
from shuzhi.domain import ledgers as d
from shuzhi.domain.calendar import SHANGHAI, WorkingCalendar
from shuzhi.domain.periods import Period, PeriodKind
from shuzhi.domain.supervision import UnitRef, escalation_target
from shuzhi.domain.time_limits import LimitUnit, TimeLimit
from shuzhi.services import outbox
from shuzhi.services.actors import SYSTEM
from shuzhi.services.calendars import calendar_for
from shuzhi.services.supervision_clock import load_rules

log = logging.getLogger("shuzhi.ledgers")
DEADLINE = "deadline"
REPORT = "report"


def local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def limit_due(cal: WorkingCalendar, day: date) -> datetime:
    """An item due "by 30 June" is due at the close of 30 June's office hours (or of the working day
    before, when the 30th is a day off — offices close the books before a holiday, not after)."""
    return lc.report_due(cal, Period(PeriodKind.DAY, day, day))


def _done(session: Session, item_id: int, kind: str) -> frozenset[tuple[str, datetime]]:
    return frozenset((str(st), dl) for st, dl in session.execute(
        select(LedgerClockStep.step, LedgerClockStep.deadline)
        .where(LedgerClockStep.item_id == item_id, LedgerClockStep.kind == kind)))


def ensure_slots(session: Session, item: LedgerItem, ledger: Ledger, cal: WorkingCalendar, now: datetime) -> None:
    """The reporting slot of the current period, created when missing. The first slot of a new item is
    skipped when less than one working day is left before its due time (nobody owes a report on an item
    given to them an hour before the books close); the next period's slot is owed instead."""
    schedule = d.Schedule(ledger.schedule)
    period = lc.report_period(schedule, local_day(now))
    if period is None:
        return
    # this period's slot, or a later one (the first period was skipped), is already there
    exists = session.scalar(select(LedgerReportSlot.id).where(LedgerReportSlot.item_id == item.id,
                                                              LedgerReportSlot.period_end >= period.start).limit(1))
    if exists is not None:
        return
    due = lc.report_due(cal, period)
    first = session.scalar(select(LedgerReportSlot.id).where(LedgerReportSlot.item_id == item.id).limit(1)) is None
    if first and cal.working_seconds_between(now, due) < cal.limit_seconds(TimeLimit(1, LimitUnit.WORKING_DAYS)):
        nxt = lc.report_period(schedule, period.end + timedelta(days=1))
        assert nxt is not None
        period, due = nxt, lc.report_due(cal, nxt)
    session.add(LedgerReportSlot(item_id=item.id, ledger_id=ledger.id, unit_id=item.lead_unit_id,
                                 period=period.label, period_start=period.start, period_end=period.end,
                                 due_at=due, reported_at=None))
    session.flush()


def drop_future_slots(session: Session, item: LedgerItem, now: datetime) -> None:
    """An item that stops running owes no report whose due time has not come."""
    session.execute(delete(LedgerReportSlot).where(LedgerReportSlot.item_id == item.id,
                                                   LedgerReportSlot.reported_at.is_(None),
                                                   LedgerReportSlot.due_at > now))


def _store(session: Session, item: LedgerItem, kind: str, steps: list[lc.Step], now: datetime) -> None:
    conn = session.connection()
    conn.execute(delete(LedgerClock).where(LedgerClock.item_id == item.id, LedgerClock.kind == kind))
    if steps:
        conn.execute(insert(LedgerClock).values(
            item_id=item.id, kind=kind, ledger_id=item.ledger_id, unit_id=item.lead_unit_id,
            next_due_at=steps[0].due_at, failures=0, updated_at=now,
            plan=[[s.step, s.due_at.isoformat(), s.deadline.isoformat()] for s in steps]))


def _kept_plan(session: Session, item_id: int, due: datetime) -> list[lc.Step] | None:
    """The stored deadline plan when it is about ``due`` (and the rules have not changed it since)."""
    plan = session.scalar(select(LedgerClock.plan).where(LedgerClock.item_id == item_id,
                                                         LedgerClock.kind == DEADLINE))
    if not plan or any(datetime.fromisoformat(row[2]) != due for row in plan):
        return None
    return [lc.Step(str(st), datetime.fromisoformat(at), datetime.fromisoformat(dl)) for st, at, dl in plan]


def sync(session: Session, item: LedgerItem, ledger: Ledger, now: datetime) -> None:
    """Replan both clocks of ``item`` (or drop them when nothing is left to supervise)."""
    session.flush()
    state = d.ItemState(item.state)
    running = state in d.RUNNING_STATES
    if not running:
        drop_future_slots(session, item, now)
    with session.no_autoflush:
        cal = calendar_for(session, item.lead_unit_id)
    # the thresholds of the lead unit's area (a town's item follows its town's reminders)
    rules = load_rules(session.connection(), session.scalar(
        select(Area.path).join(Unit, Unit.area_id == Area.id).where(Unit.id == item.lead_unit_id)))
    deadline_steps: list[lc.Step] = []
    if running and item.time_limit is not None:
        due = limit_due(cal, item.time_limit)
        done = _done(session, item.id, DEADLINE)
        kept = _kept_plan(session, item.id, due)
        if kept is not None:
            # same deadline as planned: the plan stands, less what has happened since (the calendar
            # arithmetic over a time limit months away runs once per deadline, not on every report)
            deadline_steps = lc.pending(kept, done, now)
        else:
            start = min(item.created_at, due - timedelta(seconds=1))
            deadline_steps = lc.pending(lc.deadline_steps(cal, rules, start, due), done, now)
    _store(session, item, DEADLINE, deadline_steps, now)
    report_steps: list[lc.Step] = []
    if running and ledger.schedule != d.Schedule.NONE.value:
        ensure_slots(session, item, ledger, cal, now)
        done = _done(session, item.id, REPORT)
        for (due_at,) in session.execute(select(LedgerReportSlot.due_at).where(
                LedgerReportSlot.item_id == item.id, LedgerReportSlot.reported_at.is_(None))
                .order_by(LedgerReportSlot.due_at)):
            report_steps += lc.pending(lc.report_steps(cal, rules, due_at), done, now)
        if not report_steps:
            # this period is answered: the clock carries on with the next period's report
            last_end = session.scalar(select(LedgerReportSlot.period_end).where(LedgerReportSlot.item_id == item.id)
                                      .order_by(LedgerReportSlot.period_end.desc()).limit(1))
            nxt = lc.report_period(d.Schedule(ledger.schedule), (last_end or local_day(now)) + timedelta(days=1))
            assert nxt is not None
            due = lc.report_due(cal, nxt)
            session.add(LedgerReportSlot(item_id=item.id, ledger_id=ledger.id, unit_id=item.lead_unit_id,
                                         period=nxt.label, period_start=nxt.start, period_end=nxt.end,
                                         due_at=due, reported_at=None))
            session.flush()
            report_steps = lc.pending(lc.report_steps(cal, rules, due), done, now)
        report_steps.sort(key=lambda s: s.due_at)
    _store(session, item, REPORT, report_steps, now)


# --- the sweep -------------------------------------------------------------------------------------

_TITLES = {
    (DEADLINE, "remind"): "临期提醒：台账事项“{title}”已用去{pct}%的时限",
    (DEADLINE, "overdue"): "超期：台账事项“{title}”已超过完成时限",
    (DEADLINE, "urge"): "催办：台账事项“{title}”已超期，请加快推进并报送进展",
    (DEADLINE, "yellow_card"): "黄牌警告：台账事项“{title}”超期1个工作日以上",
    (DEADLINE, "red_card"): "红牌通报：台账事项“{title}”严重超期",
    (REPORT, "remind"): "对账提醒：请于{due}前报送“{title}”的进展",
    (REPORT, "missing"): "未按期对账：“{title}”{period}进展未报送",
    (REPORT, "urge"): "催报：“{title}”{period}进展逾期未报，请立即报送",
    (REPORT, "escalate"): "对账升级：{unit}“{title}”{period}进展逾期未报",
}
#: Steps that also go to the ledger's owner and to the centre above the lead unit.
_ESCALATING = {(DEADLINE, "yellow_card"), (DEADLINE, "red_card"), (REPORT, "escalate")}
#: Steps that also go to the ledger's owner.
_TO_OWNER = {(DEADLINE, "overdue"), (REPORT, "missing")} | _ESCALATING


@dataclass
class LedgerSweepResult:
    claimed: int = 0
    steps: int = 0
    failed: int = 0
    by_step: dict[str, int] = field(default_factory=dict)


def _claim(session: Session, now: datetime, limit: int) -> list[tuple[int, str, datetime, int]]:
    conn = session.connection()
    q = (select(LedgerClock.item_id, LedgerClock.kind, LedgerClock.next_due_at, LedgerClock.failures)
         .where(LedgerClock.next_due_at <= now).order_by(LedgerClock.next_due_at).limit(limit))
    if conn.dialect.name == "postgresql":
        return [tuple(r) for r in conn.execute(q.with_for_update(skip_locked=True)).all()]  # type: ignore[misc]
    claimed = []
    for r in conn.execute(q).all():
        res: Any = conn.execute(update(LedgerClock).where(
            LedgerClock.item_id == r[0], LedgerClock.kind == r[1], LedgerClock.next_due_at == r[2])
            .values(next_due_at=now + timedelta(minutes=10)))
        if res.rowcount == 1:
            claimed.append(tuple(r))
    return claimed  # type: ignore[return-value]


def _centre_above(session: Session, unit: Unit) -> int | None:
    centres = [UnitRef(i, k, p) for i, k, p in session.execute(
        select(Unit.id, Unit.kind, Area.path).join(Area, Area.id == Unit.area_id)
        .where(Unit.kind == "centre", Unit.active.is_(True)))]
    path = session.scalar(select(Area.path).where(Area.id == unit.area_id)) or ""
    target = escalation_target(UnitRef(unit.id, unit.kind, path), centres)
    return target.id if target else None


def _carry_out(session: Session, item_id: int, kind: str, now: datetime, result: LedgerSweepResult) -> None:
    clock = session.get(LedgerClock, (item_id, kind))
    item = session.get(LedgerItem, item_id)
    if clock is None or item is None:
        return
    ledger = session.get(Ledger, item.ledger_id)
    unit = session.get(Unit, item.lead_unit_id)
    assert ledger is not None and unit is not None
    due = [row for row in clock.plan if datetime.fromisoformat(row[1]) <= now]
    for step, due_at_s, deadline_s in due:
        due_at, deadline = datetime.fromisoformat(due_at_s), datetime.fromisoformat(deadline_s)
        if session.scalar(select(LedgerClockStep.id).where(
                LedgerClockStep.item_id == item.id, LedgerClockStep.kind == kind, LedgerClockStep.step == step,
                LedgerClockStep.deadline == deadline)) is not None:
            continue
        session.add(LedgerClockStep(item_id=item.id, ledger_id=ledger.id, unit_id=item.lead_unit_id, kind=kind,
                                    step=step, deadline=deadline, due_at=due_at, done_at=now))
        result.steps += 1
        name = f"{kind}.{step.split('_')[0] if step.startswith('remind_') else step}"
        result.by_step[name] = result.by_step.get(name, 0) + 1
        _announce(session, item, ledger, unit, kind, step, deadline, now)
    session.flush()
    sync(session, item, ledger, now)


def _announce(session: Session, item: LedgerItem, ledger: Ledger, unit: Unit, kind: str, step: str,
              deadline: datetime, now: datetime) -> None:
    base = "remind" if step.startswith("remind_") else step
    period = ""
    if kind == REPORT:
        slot = session.scalar(select(LedgerReportSlot).where(LedgerReportSlot.item_id == item.id,
                                                             LedgerReportSlot.due_at == deadline))
        period = f"（{slot.period}）" if slot else ""
    title = _TITLES[(kind, base)].format(title=item.title[:60], pct=step[7:], unit=unit.name, period=period,
                                         due=f"{deadline.astimezone(SHANGHAI):%m月%d日%H:%M}")
    action = f"ledger.{kind}.{base}"
    payload = {"step": step, "deadline": deadline.isoformat(), "unit": unit.code, "ledger": ledger.code,
               "item_id": item.id, "item_number": item.number}
    session.add(LedgerTimelineEntry(item_id=item.id, ledger_id=ledger.id, at=now, actor_id=None,
                                    actor=SYSTEM.label, action=action[:30], reason=title, payload=payload))
    recipients = {item.lead_unit_id}
    if (kind, base) in _TO_OWNER:
        recipients.add(ledger.owner_unit_id)
    if (kind, base) in _ESCALATING:
        above = _centre_above(session, unit)
        if above is not None:
            recipients.add(above)
        payload["escalated_to"] = sorted(recipients - {item.lead_unit_id})
    session.connection().execute(insert(Notification), [
        {"person_id": None, "unit_id": u, "event_id": None, "task_id": None, "kind": action[:30], "title": title[:200],
         "body": title, "payload": payload, "created_at": now, "read_at": None, "read_by": None}
        for u in sorted(recipients)])
    outbox.emit_many(session.connection(), [outbox.message(action, now, payload, area_path=item.area_path)])


def _fail(uow_factory: Any, item_id: int, kind: str, failures: int, now: datetime, error: str) -> None:
    backoff = timedelta(minutes=min(2 ** failures, 24 * 60))
    with uow_factory() as uow:
        uow.session.execute(update(LedgerClock).where(LedgerClock.item_id == item_id, LedgerClock.kind == kind)
                            .values(next_due_at=now + backoff, failures=failures + 1, last_error=error[:2000]))
        uow.commit()


def sweep(uow_factory: Any, now: datetime | None = None, batch: int = 200) -> LedgerSweepResult:
    """Carry out every ledger clock step due at ``now`` (however late: a missed sweep catches up)."""
    at = now or datetime.now(UTC)
    result = LedgerSweepResult()
    while True:
        bad: list[tuple[int, str, datetime, int]] = []
        with uow_factory() as uow:
            claimed = _claim(uow.session, at, batch)
            if not claimed:
                break
            result.claimed += len(claimed)
            try:
                for item_id, kind, _due, _f in claimed:
                    _carry_out(uow.session, item_id, kind, at, result)
                uow.commit()
            except Exception:
                log.exception("ledger clock batch failed; retrying one by one")
                bad = claimed
        for item_id, kind, _due, failures in bad:
            try:
                with uow_factory() as uow:
                    _carry_out(uow.session, item_id, kind, at, result)
                    uow.commit()
            except Exception as exc:
                result.failed += 1
                _fail(uow_factory, item_id, kind, failures, at, f"{type(exc).__name__}: {exc}")
        if len(claimed) < batch:
            break
    return result


def sweep_job(uow_factory: Any, now: datetime) -> LedgerSweepResult:
    """The scheduler's periodic job (``ledgers.sweep``)."""
    return sweep(uow_factory, now)
