"""Daily roll-ups of the evaluation figures, kept exact incrementally (监督评价的日汇总).

Each event's contribution (:func:`shuzhi.domain.evaluation.contributions`) is stored in
``evaluation_event_facts``; the roll-ups hold the sums per (grain, local day, town-level area, unit,
class, source).  A refresh finds the events that changed since the last one — every state change
writes a timeline entry, so "changed" is "has a timeline entry after the watermark" — plus the events
with a deadline that passed since the last judging time (their figures change with nothing happening),
recomputes their facts and adds ``new − old`` to the roll-ups.  Recomputing an event twice adds
nothing, so the watermark looks back ``OVERLAP`` entries to catch transactions that committed out of
id order.

Grains keep some dimensions and fold the others to 0/'' so that a query reads the fewest rows:

======  ==========================  ====================================================
grain   keeps                       serves
======  ==========================  ====================================================
0       unit, class, source         filters combining two of unit/class/source
1       unit                        per-unit figures, scores and rankings
2       —                           per-area figures, the colour map of towns
3       class                       per-class figures or a class filter
4       source                      per-source figures or a source filter
======  ==========================  ====================================================

Areas are rolled up to the town (街镇) containing the event's location (or the located area itself
when it is above town level; 0 when the event was not located); below a town, figures are counted
directly from the events (:func:`recount`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_evaluation import EvaluationEventFacts, EvaluationRollup, EvaluationState
from shuzhi.domain.evaluation import MEASURES, EventSnapshot, TaskSnapshot, WorkingClock, contributions
from shuzhi.services import rollup_sql
from shuzhi.services.deadlines import default_calendar
from shuzhi.services.unit_of_work import UnitOfWork

GRAINS: dict[int, tuple[str, ...]] = {0: ("unit", "class", "source"), 1: ("unit",), 2: (), 3: ("class",),
                                      4: ("source",)}
TOWN_CODE_LENGTH = 9
OVERLAP = 1000
BATCH = 2000
_STATE_ID = 1

RollupKey = tuple[int, date, int, int, int, str]
ROLLUPS: Table = EvaluationRollup.__table__  # type: ignore[assignment]
FACTS: Table = EvaluationEventFacts.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class RefreshResult:
    full: bool
    events: int
    watermark: int
    judged_at: datetime


def choose_grain(dims: Iterable[str]) -> int:
    """The smallest grain that keeps every dimension in ``dims`` (unit, class, source)."""
    wanted = set(dims)
    for grain in (2, 1, 3, 4, 0):
        if wanted <= set(GRAINS[grain]):
            return grain
    return 0


class _AreaIndex:
    """Town-level roll-up area of a location path, from one read of the area table."""

    def __init__(self, session: Session) -> None:
        self.by_code: dict[str, tuple[int, str]] = {
            code: (area_id, path) for area_id, code, path in session.execute(select(Area.id, Area.code, Area.path))
        }

    def rollup_area(self, path: str | None) -> tuple[int, str]:
        if not path:
            return 0, ""
        parts = [p for p in path.split("/") if p]
        town = next((p for p in parts if len(p) == TOWN_CODE_LENGTH), None)
        found = self.by_code.get(town or parts[-1])
        return found if found is not None else (0, "")


_EVENT_COLS = (Event.id, Event.state, Event.mode, Event.received_at, Event.owner_unit_id, Event.dispatched_at,
               Event.reported_at, Event.closed_at, Event.called_back_at, Event.self_handled, Event.satisfied,
               Event.rework_count, Event.return_count,
               # figures go to where the event happened, also after an area change re-homed it (issue #20)
               func.coalesce(Event.origin_area_path, Event.area_path), Event.event_class_id, Event.source)
_TASK_COLS = (Task.event_id, Task.id, Task.unit_id, Task.role, Task.state, Task.dispatched_at, Task.accept_due_at,
              Task.handle_due_at, Task.accepted_at, Task.reported_at, Task.ended_at)


@dataclass(frozen=True)
class Loaded:
    snapshot: EventSnapshot
    area_path: str | None
    class_id: int
    source: str


def _build(event_rows: Sequence[Any], task_rows: Iterable[Any]) -> list[Loaded]:
    tasks: dict[int, list[TaskSnapshot]] = defaultdict(list)
    for r in task_rows:
        tasks[r[0]].append(TaskSnapshot(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]))
    out = []
    for r in event_rows:
        snap = EventSnapshot(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10], r[11] or 0,
                             r[12] or 0, tuple(tasks.get(r[0], ())))
        out.append(Loaded(snap, r[13], r[14] or 0, r[15]))
    return out


def load_events(session: Session, ids: Sequence[int]) -> list[Loaded]:
    if not ids:
        return []
    events = session.execute(select(*_EVENT_COLS).where(Event.id.in_(ids))).all()
    tasks = session.execute(select(*_TASK_COLS).where(Task.event_id.in_(ids))).all()
    return _build(events, tasks)


def iter_events(session: Session, where: Any = None, batch: int = BATCH) -> Iterator[list[Loaded]]:
    """All events (optionally filtered), in id order, a batch at a time with their tasks."""
    last = 0
    while True:
        q = select(*_EVENT_COLS).where(Event.id > last).order_by(Event.id).limit(batch)
        if where is not None:
            q = q.where(where)
        rows = session.execute(q).all()
        if not rows:
            return
        lo, hi = rows[0][0], rows[-1][0]
        tasks = session.execute(select(*_TASK_COLS).where(Task.event_id >= lo, Task.event_id <= hi)).all()
        wanted = {r[0] for r in rows}
        yield _build(rows, [t for t in tasks if t[0] in wanted])
        last = hi


def facts_of(loaded: Loaded, now: datetime, clock: WorkingClock, areas: _AreaIndex) -> dict[str, Any]:
    area_id, area_path = areas.rollup_area(loaded.area_path)
    cells = [[c.day.toordinal(), c.unit_id, dict(c.measures)] for c in contributions(loaded.snapshot, now, clock)]
    return {"event_id": loaded.snapshot.id, "area_id": area_id, "area_path": area_path, "class_id": loaded.class_id,
            "source": loaded.source, "cells": cells}


def _add_facts(deltas: dict[RollupKey, dict[str, int]], paths: dict[int, str], facts: dict[str, Any],
               sign: int) -> None:
    paths[facts["area_id"]] = facts["area_path"]
    for ordinal, unit_id, measures in facts["cells"]:
        day = date.fromordinal(ordinal)
        for grain, dims in GRAINS.items():
            key = (grain, day, facts["area_id"], unit_id if "unit" in dims else 0,
                   facts["class_id"] if "class" in dims else 0, facts["source"] if "source" in dims else "")
            cell = deltas.setdefault(key, {})
            for name, value in measures.items():
                cell[name] = cell.get(name, 0) + sign * value


def _apply(session: Session, deltas: dict[RollupKey, dict[str, int]], paths: dict[int, str]) -> None:
    rows = []
    for (grain, day, area_id, unit_id, class_id, source), cell in deltas.items():
        if not any(cell.values()):
            continue
        row: dict[str, Any] = dict.fromkeys(MEASURES, 0)
        row.update(cell)
        row.update(grain=grain, day=day, area_id=area_id, unit_id=unit_id, class_id=class_id, source=source,
                   area_path=paths.get(area_id, ""))
        rows.append(row)
    if not rows:
        return
    table = ROLLUPS
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["grain", "day", "area_id", "unit_id", "class_id", "source"],
        set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES},
    )
    for i in range(0, len(rows), 5000):
        session.execute(stmt, rows[i:i + 5000])


def _lock_state(session: Session) -> EvaluationState | None:
    q = select(EvaluationState).where(EvaluationState.id == _STATE_ID)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    return session.scalar(q)


def refresh_rollups(uow: UnitOfWork, now: datetime | None = None, *, full: bool = False,
                    progress: Callable[[str], None] | None = None) -> RefreshResult:
    """Bring the roll-ups up to date (exact); the first call, or ``full=True``, rebuilds them from scratch.

    The rebuild is set-based SQL on PostgreSQL (:mod:`shuzhi.services.rollup_sql`, minutes for ten
    million events; ``progress`` hears of each chunk) and event by event elsewhere; both store the same
    facts and sums as the incremental path (tested).

    Safe to run from several workers: on PostgreSQL the state row is locked for the refresh, so a
    second one waits and then finds nothing left to do.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    clock = WorkingClock(default_calendar())
    with uow:
        s = uow.session
        state = _lock_state(s)
        if state is None:
            state = EvaluationState(id=_STATE_ID, watermark=0, events_applied=0)
            s.add(state)
            s.flush()
            full = True
        areas = _AreaIndex(s)
        top = s.scalar(select(func.max(TimelineEntry.id))) or 0
        count = _rebuild(s, now, clock, areas, progress) if full else _incremental(s, state, top, now, clock, areas)
        state.watermark = top
        state.judged_at = now
        state.refreshed_at = datetime.now(UTC)
        state.events_applied = (state.events_applied or 0) + count
        uow.commit()
        return RefreshResult(full, count, top, now)


def _rebuild(s: Session, now: datetime, clock: WorkingClock, areas: _AreaIndex,
             progress: Callable[[str], None] | None = None) -> int:
    """From scratch: set-based SQL on PostgreSQL (:mod:`rollup_sql`), else event by event in Python."""
    s.execute(delete(EvaluationRollup))
    s.execute(delete(EvaluationEventFacts))
    if rollup_sql.supported(s, clock):
        return rollup_sql.rebuild(s, now, clock, areas.rollup_area, progress)
    deltas: dict[RollupKey, dict[str, int]] = {}
    paths: dict[int, str] = {}
    count = 0
    for batch in iter_events(s):
        facts = [facts_of(item, now, clock, areas) for item in batch]
        s.execute(FACTS.insert(), facts)
        for f in facts:
            _add_facts(deltas, paths, f, 1)
        count += len(batch)
        if len(deltas) > 200_000:
            _apply(s, deltas, paths)
            deltas.clear()
    _apply(s, deltas, paths)
    return count


def _incremental(s: Session, state: EvaluationState, top: int, now: datetime, clock: WorkingClock,
                 areas: _AreaIndex) -> int:
    ids: set[int] = set(s.scalars(
        select(TimelineEntry.event_id).where(TimelineEntry.id > max(0, state.watermark - OVERLAP)).distinct()))
    if state.judged_at is not None:
        lo, hi = sorted((state.judged_at, now))
        ids.update(s.scalars(select(Task.event_id).where(or_(
            Task.accept_due_at > lo, Task.handle_due_at > lo)).where(or_(
                Task.accept_due_at.between(lo, hi), Task.handle_due_at.between(lo, hi))).distinct()))
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        apply_events(s, ordered[i:i + 500], now, clock, areas)
    return len(ordered)


def apply_events(s: Session, ids: Sequence[int], now: datetime, clock: WorkingClock,
                 areas: _AreaIndex | None = None) -> None:
    """Recompute the facts of ``ids`` and add the difference to the roll-ups."""
    areas = areas or _AreaIndex(s)
    old = {f.event_id: f for f in s.scalars(select(EvaluationEventFacts).where(EvaluationEventFacts.event_id.in_(ids)))}
    deltas: dict[RollupKey, dict[str, int]] = {}
    paths: dict[int, str] = {}
    new_rows = []
    for item in load_events(s, ids):
        facts = facts_of(item, now, clock, areas)
        before = old.pop(item.snapshot.id, None)
        if before is not None:
            prior = {"area_id": before.area_id, "area_path": before.area_path, "class_id": before.class_id,
                     "source": before.source, "cells": before.cells}
            if prior == {k: v for k, v in facts.items() if k != "event_id"}:
                continue
            _add_facts(deltas, paths, prior, -1)
            s.delete(before)
        _add_facts(deltas, paths, facts, 1)
        new_rows.append(facts)
    for gone in old.values():  # an event that no longer exists (not expected, but keep the sums exact)
        _add_facts(deltas, paths, {"area_id": gone.area_id, "area_path": gone.area_path, "class_id": gone.class_id,
                                   "source": gone.source, "cells": gone.cells}, -1)
        s.delete(gone)
    s.flush()
    if new_rows:
        s.execute(FACTS.insert(), new_rows)
    _apply(s, deltas, paths)


def recount(session: Session, now: datetime) -> dict[RollupKey, dict[str, int]]:
    """The roll-ups computed from scratch from the events (for checks); zero cells left out."""
    clock = WorkingClock(default_calendar())
    areas = _AreaIndex(session)
    deltas: dict[RollupKey, dict[str, int]] = {}
    paths: dict[int, str] = {}
    for batch in iter_events(session):
        for item in batch:
            _add_facts(deltas, paths, facts_of(item, now, clock, areas), 1)
    return {k: {m: v for m, v in cell.items() if v} for k, cell in deltas.items() if any(cell.values())}


def stored(session: Session) -> dict[RollupKey, dict[str, int]]:
    """The roll-ups as stored, in the shape of :func:`recount`."""
    out: dict[RollupKey, dict[str, int]] = {}
    for row in session.execute(select(ROLLUPS)).mappings():
        cell = {m: int(row[m]) for m in MEASURES if row[m]}
        if cell:
            out[(row["grain"], row["day"], row["area_id"], row["unit_id"], row["class_id"], row["source"])] = cell
    return out


def stored_facts(session: Session) -> dict[int, tuple[int, str, int, str, list[Any]]]:
    """Each event's stored facts with zero figures left out, for comparing two ways of building them."""
    out: dict[int, tuple[int, str, int, str, list[Any]]] = {}
    for f in session.scalars(select(EvaluationEventFacts)):
        cells = [[o, u, {m: v for m, v in sorted(ms.items()) if v}] for o, u, ms in f.cells]
        out[f.event_id] = (f.area_id, f.area_path, f.class_id, f.source, cells)
    return out


def apply_all_incrementally(uow: UnitOfWork, now: datetime) -> int:
    """Empty facts and roll-ups and apply every event through the incremental path (:func:`apply_events`),
    as if each had just changed; the reference the set-based rebuild is compared with."""
    clock = WorkingClock(default_calendar())
    with uow:
        s = uow.session
        s.execute(delete(EvaluationRollup))
        s.execute(delete(EvaluationEventFacts))
        areas = _AreaIndex(s)
        ids = list(s.scalars(select(Event.id).order_by(Event.id)))
        for i in range(0, len(ids), 500):
            apply_events(s, ids[i:i + 500], now, clock, areas)
        uow.commit()
    return len(ids)


def rebuild_matches(uow: UnitOfWork, now: datetime) -> tuple[bool, str]:
    """Rebuild the roll-ups from scratch at ``now`` and say whether facts and sums equal what was stored
    before (the incremental result); the reason names the first difference.  For tests and checks."""
    with uow:
        before_sums, before_facts = stored(uow.session), stored_facts(uow.session)
    refresh_rollups(uow, now, full=True)
    with uow:
        after_sums, after_facts = stored(uow.session), stored_facts(uow.session)
    for key in sorted(set(before_facts) | set(after_facts)):
        if before_facts.get(key) != after_facts.get(key):
            return False, f"facts of event {key}: {before_facts.get(key)} != rebuilt {after_facts.get(key)}"
    for cell in sorted(set(before_sums) | set(after_sums), key=repr):
        if before_sums.get(cell) != after_sums.get(cell):
            return False, f"roll-up {cell}: {before_sums.get(cell)} != rebuilt {after_sums.get(cell)}"
    return True, ""
