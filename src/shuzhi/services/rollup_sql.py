"""The from-scratch rebuild of the roll-ups as set-based SQL on PostgreSQL (全量重算).

It computes exactly what :func:`shuzhi.domain.evaluation.contributions` computes per event — the same
figures, days, units and whole-second rounding — but for a range of events at a time in a few
statements, so that rebuilding ten million events takes minutes of database time, not hours of
per-row Python.  The incremental refresh (:mod:`shuzhi.services.rollups`) still uses the Python
function; the tests prove both give the same facts and roll-ups (hand-computed fixture, random
histories through the services, random event and task rows with sub-second times).

What Python knows and SQL does not is passed in as two temporary tables:

* ``ev_wcal`` — the official working calendar per local day: the working microseconds before the day
  (since the clock's epoch) and the day's working intervals, from :meth:`WorkingClock.day_table`, so
  that working time is ``W(b) − W(a)`` in whole microseconds, as in :class:`WorkingClock`;
* ``ev_area_map`` — each distinct event location path → its town-level roll-up area, from the same
  ``_AreaIndex`` the incremental path uses.

Per chunk of event ids, one statement: every rule of ``contributions`` becomes one ``SELECT`` of "items"
(moment, unit, figures); items are summed per (event, local day, unit) into the chunk's cells, which
are stored as facts (JSON cells in the stored format) and summed at the five grains (one ``GROUPING
SETS`` pass) into an unindexed staging table.  At the end the staged sums go into the roll-ups in key
order (neighbouring chunks share days, so they are added up there), which also lays a grain's rows
for a month side by side on disk.

Cost, per 100,000 events of the benchmark (CPU seconds of the PostgreSQL backend): cells 1.6, facts
as JSON text 1.2 (``json_build_object`` + ``json_strip_nulls`` took 3.9), sums into the staging table
about 1 (``INSERT … ON CONFLICT`` into the indexed roll-ups took 4.6), writing the cells into a temporary
table between the steps 2 (a materialised CTE instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.evaluation import MEASURES, WorkingClock

CHUNK = 500_000

# Task and event states, as in domain/evaluation.py.
_GONE = "('returned', 'cancelled')"
_RUNNING = "('dispatched', 'accepted', 'extension_requested')"
_NOT_REGISTERED = "('cancelled', 'merged')"


@dataclass(frozen=True)
class _Item:
    """One rule of ``contributions``: ``figures`` added on the local day of ``at`` to ``unit`` when ``when``."""

    source: str  # "ev" (one row per event) or "tk" (one row per lead/assist task)
    at: str
    unit: str
    when: str
    figures: dict[str, str]


def _items() -> list[_Item]:
    sec = "round(({b} - {a})::float8 / 1000000)::bigint"
    work = "round(({wb} - {wa})::float8 / 1000000)::bigint"
    return [
        _Item("ev", "received_at", "owner", "true", {"received": "1", "registered": "registered::int"}),
        _Item("ev", "dispatched_at", "resp", "handle AND dispatched_at IS NOT NULL AND self_handled",
              {"self_handled": "1"}),
        _Item("ev", "dispatched_at", "owner", "handle AND dispatched_at IS NOT NULL AND NOT self_handled",
              {"dispatched": "1", "dispatched_accurately": "(return_count = 0)::int",
               "returned": "(return_count <> 0)::int"}),
        _Item("tk", "accepted_at", "unit_id", "accepted_at IS NOT NULL",
              {"accepted": "1", "accept_seconds": sec.format(a="us_dispatched", b="us_accepted"),
               "accept_work_seconds": work.format(wa="w_dispatched_at", wb="w_accepted_at")}),
        _Item("tk", "accept_due_at", "unit_id", "accept_due_at IS NOT NULL AND accepted_at IS NOT NULL",
              {"accepted_on_time": "(accepted_at <= accept_due_at)::int",
               "accepted_late": "(accepted_at > accept_due_at)::int"}),
        _Item("tk", "accept_due_at", "unit_id",
              f"accept_due_at IS NOT NULL AND accepted_at IS NULL AND :now > accept_due_at AND "
              f"(state IN {_RUNNING} OR (ended_at IS NOT NULL AND ended_at > accept_due_at))",
              {"accepted_late": "1"}),
        _Item("tk", "reported_at", "unit_id", "reported_at IS NOT NULL",
              {"task_reports": "1", "handle_seconds": sec.format(a="us_dispatched", b="us_reported"),
               "handle_work_seconds": work.format(wa="w_dispatched_at", wb="w_reported_at")}),
        _Item("tk", "handle_due_at", "unit_id",
              f"handle_due_at IS NOT NULL AND state NOT IN {_GONE} AND reported_at IS NOT NULL",
              {"handled_on_time": "(reported_at <= handle_due_at)::int",
               "handled_overdue": "(reported_at > handle_due_at)::int"}),
        _Item("tk", "handle_due_at", "unit_id",
              f"handle_due_at IS NOT NULL AND reported_at IS NULL AND state IN {_RUNNING} AND :now > handle_due_at",
              {"handled_overdue": "1"}),
        _Item("ev", "reported_at", "resp", "handle AND registered AND reported_at IS NOT NULL",
              {"handled": "1", "reworked": "(rework_count > 0)::int"}),
        _Item("ev", "deadline", "resp", "handle AND registered AND deadline IS NOT NULL",
              {"due": "1",
               "deferred": "(closed_at IS NULL AND lead_state = 'suspended')::int",
               "due_closed": "(closed_at IS NOT NULL)::int",
               "due_closed_on_time": "coalesce(closed_at <= deadline, false)::int"}),
        _Item("ev", "closed_at", "resp", "handle AND registered AND closed_at IS NOT NULL", {"closed": "1"}),
        _Item("ev", "called_back_at", "resp",
              "handle AND registered AND called_back_at IS NOT NULL AND satisfied IS NOT NULL",
              {"called_back": "1", "satisfied": "satisfied::int"}),
    ]


def _w(alias: str, us: str, spans: int) -> str:
    """W in microseconds, as ``WorkingClock._w``, of the instant whose epoch microseconds are ``us``:
    the working time before its local day (the calendar row ``alias``) plus the part of that day's
    intervals (unrolled into s1, e1, s2, e2 …) before it."""
    parts = [f"CASE WHEN {us} > {alias}.s{i} THEN least({alias}.e{i}, {us}) - {alias}.s{i} ELSE 0 END"
             for i in range(1, spans + 1)]
    return f"({alias}.cum + {' + '.join(parts) if parts else '0'})"


def _us(col: str) -> str:
    """Exact epoch microseconds of a timestamptz (extract gives an exact numeric)."""
    return f"(extract(epoch from {col}) * 1000000)::bigint"


def _day(col: str) -> str:
    return f"({col} AT TIME ZONE 'Asia/Shanghai')::date"


def _cells_sql(spans: int) -> str:
    """The cells (event, local day, unit, summed figures, and the event's area, class, source) of the
    events with ids :lo…:hi."""
    items = []
    for it in _items():
        cols = ", ".join(f"{it.figures.get(m, '0')} AS {m}" for m in MEASURES)
        src = "ev" if it.source == "ev" else "tk"
        items.append(f"SELECT event_id, {_day(it.at)} AS day, coalesce({it.unit}, 0) AS unit_id, {cols} "
                     f"FROM {src} WHERE {it.when}")
    sums = ", ".join(f"sum(i.{m}) AS {m}" for m in MEASURES)
    return f"""
        WITH lead AS (
            SELECT DISTINCT ON (t.event_id) t.event_id, t.unit_id, t.state, t.handle_due_at
            FROM tasks t
            WHERE t.event_id BETWEEN :lo AND :hi AND t.role = 'lead' AND t.state NOT IN {_GONE}
            ORDER BY t.event_id, t.dispatched_at DESC, t.id DESC),
        ev AS MATERIALIZED (
            SELECT e.id AS event_id, e.received_at, e.dispatched_at, e.reported_at, e.closed_at,
                   e.called_back_at, e.satisfied, coalesce(e.self_handled, false) AS self_handled,
                   coalesce(e.rework_count, 0) AS rework_count, coalesce(e.return_count, 0) AS return_count,
                   e.mode = 'handle' AS handle, e.state NOT IN {_NOT_REGISTERED} AS registered,
                   e.owner_unit_id AS owner, coalesce(l.unit_id, e.owner_unit_id) AS resp,
                   l.handle_due_at AS deadline, l.state AS lead_state,
                   coalesce(m.area_id, 0) AS area_id, coalesce(m.area_path, '') AS area_path,
                   coalesce(e.event_class_id, 0) AS class_id, e.source
            FROM events e LEFT JOIN lead l ON l.event_id = e.id LEFT JOIN ev_area_map m ON m.path = e.area_path
            WHERE e.id BETWEEN :lo AND :hi),
        tk0 AS (
            SELECT t.event_id, t.unit_id, t.state, t.dispatched_at, t.accept_due_at, t.handle_due_at,
                   t.accepted_at, t.reported_at, t.ended_at, {_us("t.dispatched_at")} AS us_dispatched,
                   {_us("t.accepted_at")} AS us_accepted, {_us("t.reported_at")} AS us_reported
            FROM tasks t
            WHERE t.event_id BETWEEN :lo AND :hi AND t.role IN ('lead', 'assist')),
        tk AS MATERIALIZED (
            SELECT t.*, {_w("cd", "t.us_dispatched", spans)} AS w_dispatched_at,
                   {_w("ca", "t.us_accepted", spans)} AS w_accepted_at,
                   {_w("cr", "t.us_reported", spans)} AS w_reported_at
            FROM tk0 t
            LEFT JOIN ev_wcal cd ON cd.day = {_day("t.dispatched_at")}
            LEFT JOIN ev_wcal ca ON ca.day = {_day("t.accepted_at")}
            LEFT JOIN ev_wcal cr ON cr.day = {_day("t.reported_at")})
        SELECT g.*, d.area_id, d.area_path, d.class_id, d.source
        FROM (SELECT i.event_id, i.day, i.unit_id, {sums}
              FROM ({" UNION ALL ".join(items)}) i
              GROUP BY i.event_id, i.day, i.unit_id) g
        JOIN ev d ON d.event_id = g.event_id  -- the chunk's events only, never the whole table
    """


def _facts_json() -> str:
    """One cell as JSON text ``[day ordinal, unit, {figure: n, …}]`` with the zero figures left out, as
    the incremental path stores it (text concatenation costs a third of json_build_object + strip)."""
    pairs = ", ".join(f"CASE WHEN c.{m} <> 0 THEN '\"{m}\":' || c.{m} END" for m in MEASURES)
    return (f"'[' || (c.day - date '0001-01-01' + 1) || ',' || c.unit_id || ',{{' || concat_ws(',', {pairs}) "
            f"|| '}}]'")


# GROUPING() of (unit, class, source) → grain: a 1 bit is a dimension folded away (rollups.GRAINS).
_GRAIN_OF_GROUPING = {0b000: 0, 0b011: 1, 0b111: 2, 0b101: 3, 0b110: 4}


def _chunk_sql(spans: int) -> str:
    """One statement per chunk: its cells computed once, stored as facts, and summed at every grain into
    the staging table (no index to maintain; chunks sharing a day are added up at the end)."""
    cases = " ".join(f"WHEN {g} THEN {grain}" for g, grain in _GRAIN_OF_GROUPING.items())
    sums = ", ".join(f"sum(c.{m})" for m in MEASURES)
    return f"""
        WITH cells AS MATERIALIZED ({_cells_sql(spans)}),
        facts AS (
            INSERT INTO evaluation_event_facts (event_id, area_id, area_path, class_id, source, cells)
            SELECT c.event_id, c.area_id, c.area_path, c.class_id, c.source,
                   ('[' || string_agg({_facts_json()}, ',' ORDER BY c.day, c.unit_id) || ']')::json
            FROM cells c
            GROUP BY c.event_id, c.area_id, c.area_path, c.class_id, c.source)
        INSERT INTO ev_stage
        SELECT CASE GROUPING(c.unit_id, c.class_id, c.source) {cases} END, c.day, c.area_id,
               CASE WHEN GROUPING(c.unit_id) = 1 THEN 0 ELSE c.unit_id END,
               CASE WHEN GROUPING(c.class_id) = 1 THEN 0 ELSE c.class_id END,
               CASE WHEN GROUPING(c.source) = 1 THEN '' ELSE c.source END, max(c.area_path), {sums}
        FROM cells c
        GROUP BY GROUPING SETS ((c.day, c.area_id, c.unit_id, c.class_id, c.source), (c.day, c.area_id, c.unit_id),
                                (c.day, c.area_id), (c.day, c.area_id, c.class_id), (c.day, c.area_id, c.source))
    """


_KEY = "grain, day, area_id, unit_id, class_id, source"


def _final_sql() -> str:
    """The staged sums into the roll-ups, in key order, so that a grain's rows for a month lie together
    on disk and a query reads few pages; cells whose figures cancelled out are not stored (as in the
    portable path)."""
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    return f"""
        INSERT INTO evaluation_rollups ({_KEY}, area_path, {", ".join(MEASURES)})
        SELECT {_KEY}, max(area_path), {sums}
        FROM ev_stage
        GROUP BY {_KEY}
        HAVING NOT ({" AND ".join(f"sum({m}) = 0" for m in MEASURES)})
        ORDER BY {_KEY}
    """


def supported(s: Session, clock: WorkingClock) -> bool:
    """The set-based rebuild runs on PostgreSQL when every task moment lies in the span the clock
    tabulates (its epoch, 2000-01-01, and 100 years on); other data falls back to the per-event rebuild,
    where the clock falls back to the calendar itself."""
    if s.get_bind().dialect.name != "postgresql":
        return False
    first, last = _task_moments(s)
    if first is None or last is None:
        return True
    return _local_day(first) >= clock.epoch and (_local_day(last) - clock.epoch).days <= clock.DAYS


def _task_moments(s: Session) -> tuple[datetime | None, datetime | None]:
    first, last = s.execute(text(
        "SELECT min(least(dispatched_at, accepted_at, reported_at)), "
        "max(greatest(dispatched_at, accepted_at, reported_at)) FROM tasks")).one()
    return first, last


def _local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def rebuild(s: Session, now: datetime, clock: WorkingClock, rollup_area: Callable[[str | None], tuple[int, str]],
            progress: Callable[[str], None] | None = None, chunk: int = CHUNK) -> int:
    """Rebuild facts and roll-ups (already emptied by the caller) from the events; returns their count."""
    bounds = s.execute(text("SELECT min(id), max(id), count(*) FROM events")).one()
    if not bounds[2]:
        return 0
    spans = _load_calendar(s, clock)
    _load_area_map(s, rollup_area)
    figures = ", ".join(f"{m} bigint" for m in MEASURES)
    s.execute(text(f"CREATE TEMP TABLE ev_stage (grain smallint, day date, area_id int, unit_id int, class_id int, "
                   f"source text, area_path text, {figures}) ON COMMIT DROP"))
    # A chunk's cells and their grouping fit in memory with this; JIT would compile the wide rows of
    # every chunk anew for little gain.
    s.execute(text("SET LOCAL work_mem = '256MB'"))
    s.execute(text("SET LOCAL jit = off"))
    chunk_sql = text(_chunk_sql(spans))
    lo, hi = bounds[0], bounds[1]
    for start in range(lo, hi + 1, chunk):
        end = min(hi, start + chunk - 1)
        s.execute(chunk_sql, {"lo": start, "hi": end, "now": now})
        if progress is not None:
            progress(f"events {start:,}–{end:,} of {lo:,}–{hi:,}")
    s.execute(text(_final_sql()))
    if progress is not None:
        progress("roll-ups stored")
    return int(bounds[2])


def _load_calendar(s: Session, clock: WorkingClock) -> int:
    """Fill ``ev_wcal`` for every local day a task moment falls on; returns the most intervals in a day."""
    first, last = _task_moments(s)
    days: list[tuple[date, int, tuple[tuple[int, int], ...]]] = []
    if first is not None and last is not None:
        days = clock.day_table(_local_day(first) - timedelta(days=1), _local_day(last) + timedelta(days=1))
    spans = max((len(d[2]) for d in days), default=0)
    cols = "".join(f", s{i} bigint, e{i} bigint" for i in range(1, spans + 1))
    s.execute(text(f"CREATE TEMP TABLE ev_wcal (day date PRIMARY KEY, cum bigint{cols}) ON COMMIT DROP"))
    rows = [_calendar_row(day, cum, intervals, spans) for day, cum, intervals in days]
    _copy(s, "ev_wcal", rows)
    s.execute(text("ANALYZE ev_wcal"))
    return spans


def _calendar_row(day: date, cum: int, intervals: tuple[tuple[int, int], ...], spans: int) -> tuple[Any, ...]:
    flat: list[int | None] = [v for pair in intervals for v in pair]
    flat += [None] * (2 * spans - len(flat))
    return (day, cum, *flat)


def _load_area_map(s: Session, rollup_area: Callable[[str | None], tuple[int, str]]) -> None:
    s.execute(text("CREATE TEMP TABLE ev_area_map (path text PRIMARY KEY, area_id int, area_path text) "
                   "ON COMMIT DROP"))
    paths = s.execute(text("SELECT DISTINCT area_path FROM events WHERE area_path IS NOT NULL")).scalars()
    _copy(s, "ev_area_map", [(p, *rollup_area(p)) for p in paths])
    s.execute(text("ANALYZE ev_area_map"))


def _copy(s: Session, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    raw = s.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)
