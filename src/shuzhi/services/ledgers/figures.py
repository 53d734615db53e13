"""Ledger figures per unit and per leader over a window of local days: on-time reporting rate (按期对账率),
on-time completion rate (按期销账率), overdue, stalled and re-opened items — the bulletin's ranking and
the evaluation's ledger figures (每月通报 / 季度 / 半年小结 / 年度考评, each with the previous period)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.db.tables_ledgers import Ledger, LedgerItem, LedgerReportSlot, LedgerTimelineEntry
from shuzhi.domain import ledgers as d
from shuzhi.domain import permissions as P
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.periods import Period
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.ledgers import access
from shuzhi.services.ledgers.clocks import local_day
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


def window_bounds(window: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(window.start, time(0), SHANGHAI).astimezone(UTC)
    end = datetime.combine(window.end + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
    return start, end


#: The item columns the figures read: an item's custom values (often dozens) are never read here.
ITEM_COLUMNS = (LedgerItem.id, LedgerItem.ledger_id, LedgerItem.lead_unit_id, LedgerItem.leader_name,
                LedgerItem.progress, LedgerItem.time_limit, LedgerItem.closed_at, LedgerItem.state,
                LedgerItem.created_at, LedgerItem.last_progress_at)


def tallies(session: Session, ledgers: Sequence[Ledger], window: Period, now: datetime, *,
            by: str = "unit", item_filter: Any = None) -> dict[str, d.UnitTally]:
    """Figures per lead unit (``by="unit"``, keyed by unit code) or per responsible leader (``"leader"``)
    for the ledgers' items, as they stood at the end of ``window`` (or now, if that is earlier)."""
    return tallies_of(session, ledgers, [window], now, by=by, item_filter=item_filter)[0]


def tallies_of(session: Session, ledgers: Sequence[Ledger], windows: Sequence[Period], now: datetime, *,
               by: str = "unit", item_filter: Any = None, rows: Sequence[Any] | None = None,
               ) -> list[dict[str, d.UnitTally]]:
    """:func:`tallies` for several windows (a period and the one before) from one read of the items,
    the report slots and the reopenings: a bulletin of 10,000 items read them twice before.

    ``rows``: the ledgers' items not cancelled, already read with at least :data:`ITEM_COLUMNS` (the
    bulletin reads them for its lists); only those created before each window's end are counted."""
    bounds = [(w, *window_bounds(w)) for w in windows]
    if not bounds:
        return []
    latest = max(min(end, now) for _w, _start, end in bounds)
    earliest = min(start for _w, start, _end in bounds)
    ids = [lg.id for lg in ledgers]
    schedules = {lg.id: d.Schedule(lg.schedule) for lg in ledgers}
    if rows is None:
        q = (select(*ITEM_COLUMNS)
             .where(LedgerItem.ledger_id.in_(ids), LedgerItem.state != d.ItemState.CANCELLED.value,
                    LedgerItem.created_at < latest))
        if item_filter is not None:
            q = q.where(item_filter)
        rows = list(session.execute(q))
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_({r.lead_unit_id for r in rows})))}

    def key_of(item: Any) -> tuple[str, str] | None:
        if by == "leader":
            return (item.leader_name, item.leader_name) if item.leader_name else None
        u = units[item.lead_unit_id]
        return (str(u.id), u.name) if by == "unit_id" else (u.code, u.name)

    # what does not depend on the window, worked out once per item
    facts_of = [(it, k, d.ItemState(it.state), local_day(it.created_at),
                 local_day(it.last_progress_at) if it.last_progress_at else None,
                 local_day(it.closed_at) if it.closed_at else None)
                for it in rows if (k := key_of(it)) is not None]
    slots = session.execute(
        select(LedgerReportSlot.item_id, LedgerReportSlot.due_at, LedgerReportSlot.reported_at)
        .where(LedgerReportSlot.ledger_id.in_(ids), LedgerReportSlot.due_at >= earliest,
               LedgerReportSlot.due_at < latest)).all() if facts_of else []
    reopenings = session.execute(select(LedgerTimelineEntry.item_id, LedgerTimelineEntry.at).where(
        LedgerTimelineEntry.ledger_id.in_(ids), LedgerTimelineEntry.action == "item.reopen",
        LedgerTimelineEntry.at >= earliest, LedgerTimelineEntry.at < latest)).all() if facts_of else []
    results = []
    for window, start, end in bounds:
        upto = min(end, now)
        day = local_day(upto - timedelta(microseconds=1))
        out: dict[str, d.UnitTally] = {}
        by_item: dict[int, d.UnitTally] = {}
        for it, k, own_state, created_on, last_on, closed_on in facts_of:
            if it.created_at >= upto:
                continue
            t = out.get(k[0])
            if t is None:
                t = out[k[0]] = d.UnitTally(k[0], k[1])
            by_item[it.id] = t
            t.items += 1
            t.progress_sum += it.progress
            closed_day = closed_on if closed_on is not None and it.closed_at < upto else None
            if it.time_limit is not None and window.start <= it.time_limit <= window.end and it.time_limit <= day:
                t.due_in_period += 1
                if closed_day is not None and closed_day <= it.time_limit:
                    t.closed_on_time += 1
            state = d.ItemState.CLOSED if closed_day is not None else (
                own_state if own_state is not d.ItemState.CLOSED else d.ItemState.IN_PROGRESS)
            facts = d.ItemFacts(state, it.time_limit, it.progress, created_on, last_on)
            if d.is_overdue(facts, day):
                t.overdue += 1
            if d.is_stalled(facts, day, schedules[it.ledger_id]):
                t.stalled += 1
        # by ledger and due window (one range scan), kept when the item is one counted above (in scope)
        for item_id, due_at, reported_at in slots:
            if not start <= due_at < upto:
                continue
            counted = by_item.get(item_id)
            if counted is None:
                continue
            counted.reports_due += 1
            if reported_at is not None and reported_at <= due_at:
                counted.reports_on_time += 1
        for item_id, at in reopenings:
            if start <= at < upto and item_id in by_item:
                by_item[item_id].reopened += 1
        results.append(out)
    return results


class FigureRow(BaseModel):
    place: int
    key: str
    name: str
    score: float
    items: int
    report_rate: float | None
    reports_due: int
    reports_on_time: int
    completion_rate: float | None
    due_in_period: int
    closed_on_time: int
    overdue: int
    stalled: int
    reopened: int
    mean_progress: float
    previous_place: int | None = None
    previous_score: float | None = None
    previous_report_rate: float | None = None
    previous_completion_rate: float | None = None


class Figures(BaseModel):
    period_kind: str
    period: str
    title: str
    previous_period: str
    by: str
    rows: list[FigureRow]


def ranked_rows(current: dict[str, d.UnitTally], previous: dict[str, d.UnitTally]) -> list[FigureRow]:
    before = {t.key: (place, t.score()) for place, t in d.rank(previous.values())}
    earlier = previous.get
    return [FigureRow(place=place, key=t.key, name=t.name, score=t.score(), items=t.items,
                      report_rate=t.report_rate, reports_due=t.reports_due, reports_on_time=t.reports_on_time,
                      completion_rate=t.completion_rate, due_in_period=t.due_in_period,
                      closed_on_time=t.closed_on_time, overdue=t.overdue, stalled=t.stalled, reopened=t.reopened,
                      mean_progress=round(t.mean_progress, 1),
                      previous_place=before.get(t.key, (None, None))[0],
                      previous_score=before.get(t.key, (None, None))[1],
                      previous_report_rate=getattr(earlier(t.key), "report_rate", None),
                      previous_completion_rate=getattr(earlier(t.key), "completion_rate", None))
            for place, t in d.rank(current.values())]


def parse_kind(kind: str) -> d.ReportPeriod:
    try:
        return d.ReportPeriod(kind)
    except ValueError:
        raise Invalid(f"period_kind: one of {', '.join(k.value for k in d.ReportPeriod)}",
                      field="period_kind") from None


def parse_day(text: str | None, now: datetime) -> date:
    if not text:
        return local_day(now)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"“{text}” is not a day (YYYY-MM-DD)", field="day") from None


def figures(uow: UnitOfWork, actor: Actor, *, period_kind: str, day: str | None = None, ledger_code: str | None = None,
            by: str = "unit", now: datetime | None = None) -> Figures:
    """Ranked figures for one ledger, or for every ledger in the actor's scope, for the period of
    ``period_kind`` containing ``day``, with each row's place and score in the previous period."""
    authz.require(actor, P.EVALUATION_READ)
    at = now or datetime.now(UTC)
    kind = parse_kind(period_kind)
    if by not in ("unit", "leader"):
        raise Invalid("by: unit or leader", field="by")
    window = d.period_window(kind, parse_day(day, at))
    prev = d.previous_window(kind, window)
    with uow:
        s = uow.session
        books, clause = scoped_ledgers(s, actor, ledger_code)
        current, previous = tallies_of(s, books, [window, prev], at, by=by, item_filter=clause)
        return Figures(period_kind=kind.value, period=window.label, title=d.window_title(kind, window),
                       previous_period=prev.label, by=by, rows=ranked_rows(current, previous))


def scoped_ledgers(s: Session, actor: Actor, ledger_code: str | None) -> tuple[list[Ledger], Any]:
    """The ledgers to count and the item clause that keeps the count in the actor's scope."""
    if ledger_code:
        acc = access.load_ledger(s, actor, ledger_code)
        return [acc.ledger], access.item_clause(acc, actor)
    books = list(s.scalars(select(Ledger).where(Ledger.active.is_(True))))
    return books, access.own_items_clause(actor)



def _scope(session: Session, actor: Actor, area_path: str | None) -> tuple[list[Ledger], Any]:
    """Every active ledger, and the items of them in the actor's scope (within ``area_path`` when given)."""
    clause = access.own_items_clause(actor)
    if area_path:
        clause = and_(clause, LedgerItem.area_path.startswith(area_path, autoescape=True))
    return list(session.scalars(select(Ledger).where(Ledger.active.is_(True)))), clause


def unit_counts(session: Session, actor: Actor, window: Period, *, area_path: str | None = None,
                now: datetime | None = None) -> dict[int, dict[str, int]]:
    """The ledger figures per lead unit id, as the evaluation's measures (``ledger_*``), for the items of
    every active ledger in the actor's scope (within ``area_path`` when given): what the standard
    rankings and the scoring scheme add to each unit's event figures."""
    at = now or datetime.now(UTC)
    books, clause = _scope(session, actor, area_path)
    out: dict[int, dict[str, int]] = {}
    for key, t in tallies(session, books, window, at, by="unit_id", item_filter=clause).items():
        out[int(key)] = {"ledger_items": t.items, "ledger_reports_due": t.reports_due,
                         "ledger_reports_on_time": t.reports_on_time, "ledger_due": t.due_in_period,
                         "ledger_closed_on_time": t.closed_on_time, "ledger_overdue": t.overdue,
                         "ledger_stalled": t.stalled, "ledger_reopened": t.reopened}
    return out


def leader_ranking(session: Session, actor: Actor, window: Period, previous: Period, *,
                   area_path: str | None = None, now: datetime | None = None) -> list[FigureRow]:
    """Per responsible leader (责任领导), every active ledger's figures in the actor's scope (within
    ``area_path``), ranked, each with its place, score and rates in ``previous``: the leaders' table of
    the evaluation's period reports (每月通报 / 季度 / 半年小结 / 年度考评)."""
    at = now or datetime.now(UTC)
    books, clause = _scope(session, actor, area_path)
    return ranked_rows(*tallies_of(session, books, [window, previous], at, by="leader", item_filter=clause))
