"""What each person did in a period (每人工作量): timeline actions by kind, and the patrol log's figures.

Scoped like every evaluation figure (:func:`shuzhi.services.evaluation.build_query`): a town user
counts only what happened in his town.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Event, Person, Task, TimelineEntry
from shuzhi.domain import permissions as P
from shuzhi.domain.evaluation import (
    PERSON_MEASURES,
    PERSON_RATES,
    Figures,
    WorkingClock,
    contributions,
    credited_to_people,
    utc,
)
from shuzhi.services.actors import Actor
from shuzhi.services.deadlines import default_calendar
from shuzhi.services.evaluation import Query, _scope_paths, build_query, describe, happened_in
from shuzhi.services.rollups import iter_events
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


def people(uow: UnitOfWork, actor: Actor, *, area: str | None, period: str | None,
           unit: str | None = None) -> dict[str, Any]:
    """What each person did in the period, from the timeline (每人工作量): actions by kind."""
    authz.require(actor, P.EVALUATION_READ)
    with uow:
        s = uow.session
        q = build_query(s, actor, area=area, period=period, unit=unit)
        paths = _scope_paths(actor, q.area)
        stmt = (select(TimelineEntry.actor_id, TimelineEntry.action, func.count())
                .join(Event, same_case(TimelineEntry))
                .where(TimelineEntry.actor_id.is_not(None), TimelineEntry.at >= utc(q.period.start),
                       TimelineEntry.at < utc(q.period.end + timedelta(days=1)))
                .group_by(TimelineEntry.actor_id, TimelineEntry.action))
        if paths is not None:
            stmt = stmt.where(or_(*[Event.area_path.startswith(p, autoescape=True) for p in paths]))
        if q.unit is not None:
            stmt = stmt.where(TimelineEntry.actor_id.in_(select(Person.id).where(Person.unit_id == q.unit.id)))
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        for person_id, action, n in s.execute(stmt).all():
            if person_id is not None:
                counts[int(person_id)][str(action)] = int(n)
        found = {p.id: p for p in s.scalars(select(Person).where(Person.id.in_(list(counts))))}
        rows: list[dict[str, Any]] = []
        for pid, actions in counts.items():
            p = found.get(pid)
            rows.append({"code": p.code if p else str(pid), "name": p.name if p else "",
                         "unit": p.unit.code if p else None, "role": p.role if p else None,
                         "total": sum(actions.values()), "actions": dict(sorted(actions.items()))})
        _with_patrols(s, q, paths, rows)
        _with_assigned(s, q, paths, rows)
        _with_rates(s, q, paths, rows)
        _with_duties(s, q, paths, rows)
        rows.sort(key=lambda r: (-int(r["total"]), str(r["code"])))
        out = describe(q)
        out["people"] = rows
        return out


def _with_assigned(s: Session, q: Query, paths: list[str] | None, rows: list[dict[str, Any]],
                   now: datetime | None = None) -> None:
    """Per named person (事件责任人, issue #20), the tasks he answers for that were dispatched in the
    period: how many, reported back, on time (reported by the handling deadline), overdue (reported
    late, or open past it), and the on-time rate over those reported. A task follows its current
    assignee: one returned to the leader when its person left counts for the leader."""
    at = now or datetime.now(UTC)
    lo, hi = utc(q.period.start), utc(q.period.end + timedelta(days=1))
    stmt = (select(Task.assignee_id, Task.state, Task.reported_at, Task.handle_due_at)
            .join(Event, same_case(Task))
            .where(Task.assignee_id.is_not(None), Task.role != "notify", Task.dispatched_at >= lo,
                   Task.dispatched_at < hi, Task.state.notin_(("cancelled", "returned"))))
    if paths is not None:
        stmt = stmt.where(or_(*[Event.area_path.startswith(p, autoescape=True) for p in paths]))
    if q.unit is not None:
        stmt = stmt.where(Task.unit_id == q.unit.id)
    totals: dict[int, dict[str, int]] = defaultdict(lambda: {"tasks": 0, "reported": 0, "on_time": 0, "overdue": 0})
    for person_id, state, reported, due in s.execute(stmt).all():
        t = totals[int(person_id or 0)]
        t["tasks"] += 1
        if reported is not None:
            t["reported"] += 1
            late = due is not None and reported > due
            t["on_time" if not late else "overdue"] += 1
        elif due is not None and due < at and state != "escalated":
            t["overdue"] += 1
    if not totals:
        return
    by_code = {r["code"]: r for r in rows}
    for p in s.scalars(select(Person).where(Person.id.in_(list(totals)))):
        row = by_code.get(p.code)
        if row is None:
            row = {"code": p.code, "name": p.name, "unit": p.unit.code, "role": p.role, "total": 0, "actions": {}}
            rows.append(row)
        t = totals[p.id]
        row["assigned"] = {**t, "on_time_rate": round(t["on_time"] / t["reported"], 4) if t["reported"] else None}


def _with_rates(s: Session, q: Query, paths: list[str] | None, rows: list[dict[str, Any]],
                now: datetime | None = None) -> None:
    """Per named person (事件责任人), the units' standard figures and rates — 结案率, 按期结案率, 按时处置率 … —
    counted by the units' own rules (:func:`shuzhi.domain.evaluation.contributions`) over the events with
    a task assigned to someone, each task credited to its person instead of its unit
    (:func:`~shuzhi.domain.evaluation.credited_to_people`): the person of the deciding lead task answers
    for the event's due, closure and on-time closure. Counted directly from the events (a person is no
    roll-up dimension), where they happened (``happened_in``), on the local day of each figure."""
    at = now or datetime.now(UTC)
    clock = WorkingClock(default_calendar())
    hi = utc(q.period.end + timedelta(days=1))
    assigned = select(Task.event_id).where(Task.assignee_id.is_not(None))
    if q.unit is not None:
        assigned = assigned.where(Task.unit_id == q.unit.id)
    where = [Event.id.in_(assigned), Event.received_at < hi]
    if paths is not None:
        where.append(or_(*[happened_in(p) for p in paths]))
    totals: dict[int, Figures] = {}
    for batch in iter_events(s, and_(*where)):
        ids = [item.snapshot.id for item in batch]
        pick = select(Task.id, Task.assignee_id).where(Task.event_id.in_(ids), Task.assignee_id.is_not(None))
        if q.unit is not None:
            pick = pick.where(Task.unit_id == q.unit.id)
        assignee_of = {int(t): int(p) for t, p in s.execute(pick).all() if p is not None}
        for item in batch:
            for c in contributions(credited_to_people(item.snapshot, assignee_of), at, clock):
                if c.unit_id and q.period.start <= c.day <= q.period.end:
                    totals.setdefault(c.unit_id, Figures()).add(c.measures)
    if not totals:
        return
    by_code = {r["code"]: r for r in rows}
    for p in s.scalars(select(Person).where(Person.id.in_(list(totals)))):
        row = by_code.get(p.code)
        if row is None:
            row = {"code": p.code, "name": p.name, "unit": p.unit.code, "role": p.role, "total": 0, "actions": {}}
            rows.append(row)
        f = totals[p.id]
        rates = f.rates()
        row["figures"] = ({k: f.counts.get(k, 0) for k in PERSON_MEASURES}
                          | {k: _rounded(rates[k]) for k in PERSON_RATES})


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


def _with_patrols(s: Session, q: Query, paths: list[str] | None, rows: list[dict[str, Any]]) -> None:
    """Per grid worker, the patrol log's figure (巡查): patrols started in the period, hours and kilometres
    walked, findings reported on them and findings per patrol; a worker with patrols and no timeline
    actions still gets a row. Scoped like the rest: the patrol's area lies in the counted paths."""
    from shuzhi.adapters.db.tables_patrols import Patrol, PatrolFinding

    lo, hi = utc(q.period.start), utc(q.period.end + timedelta(days=1))
    found = (select(PatrolFinding.patrol_id, func.count().label("n")).group_by(PatrolFinding.patrol_id)
             .subquery())
    stmt = (select(Patrol.person_id, Patrol.started_at, Patrol.ended_at, Patrol.last_at, Patrol.distance_m,
                   func.coalesce(found.c.n, 0))
            .outerjoin(found, found.c.patrol_id == Patrol.id)
            .where(Patrol.started_at >= lo, Patrol.started_at < hi))
    if paths is not None:
        stmt = stmt.where(or_(*[Patrol.area_path.startswith(p, autoescape=True) for p in paths]))
    if q.unit is not None:
        stmt = stmt.where(Patrol.unit_id == q.unit.id)
    totals: dict[int, dict[str, float]] = defaultdict(lambda: {"patrols": 0, "seconds": 0.0, "metres": 0.0,
                                                                "findings": 0})
    for person_id, started, ended, last, metres, findings in s.execute(stmt).all():
        t = totals[int(person_id)]
        t["patrols"] += 1
        # a running patrol counts up to its last point so far
        t["seconds"] += max(0.0, ((ended or last or started) - started).total_seconds())
        t["metres"] += float(metres or 0)
        t["findings"] += int(findings)
    if not totals:
        return
    by_code = {r["code"]: r for r in rows}
    for p in s.scalars(select(Person).where(Person.id.in_(list(totals)))):
        row = by_code.get(p.code)
        if row is None:
            row = {"code": p.code, "name": p.name, "unit": p.unit.code, "role": p.role, "total": 0, "actions": {}}
            rows.append(row)
        t = totals[p.id]
        n = int(t["patrols"])
        row["patrol"] = {"patrols": n, "hours": round(t["seconds"] / 3600, 2), "km": round(t["metres"] / 1000, 3),
                         "findings": int(t["findings"]),
                         "findings_per_patrol": round(t["findings"] / n, 2) if n else 0.0}


def _with_duties(s: Session, q: Query, paths: list[str] | None, rows: list[dict[str, Any]],
                 now: datetime | None = None) -> None:
    """Per grid team member, his duty list's completion in the period (履职, issue #20): items due, done on
    time, late, overdue, still open, and the completion rate (on time over fallen due)."""
    from shuzhi.adapters.db.tables_town import DutyItem
    from shuzhi.services.grid_teams import duty_counts

    extra = [] if q.unit is None else [DutyItem.grid_unit_id == q.unit.id]
    totals = duty_counts(s, utc(q.period.start), utc(q.period.end + timedelta(days=1)), now or datetime.now(UTC),
                         by="person", paths=paths, extra=extra)
    if not totals:
        return
    by_code = {r["code"]: r for r in rows}
    for p in s.scalars(select(Person).where(Person.id.in_(list(totals)))):
        row = by_code.get(p.code)
        if row is None:
            row = {"code": p.code, "name": p.name, "unit": p.unit.code, "role": p.role, "total": 0, "actions": {}}
            rows.append(row)
        row["duties"] = totals[p.id]
