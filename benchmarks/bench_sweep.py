"""The supervision sweep on PostgreSQL: 1,000,000 open tasks of which 1 % are due.

Issue #16: the append-only tables hold a year of history first (``--history-events`` past events'
timeline entries, supervision steps, inbox items and outbox rows), the due steps are a mix (reminder,
overdue, urge, yellow card — one due step per clock, in turn; those :func:`_plans` can build), the tasks
sit in 30 towns and 40 departments, and ``--intake`` processes register events through the intake service
during every measurement. Accept timeouts are not in the mix (escalating moves the case, which a repeat
cannot undo), nor red cards (see :data:`MIX`).

Figure (issue 3): the sweep finishes in ≤ 1 s, and its cost grows with the due rows, not the open ones.
Two prepared databases (names from ``SHUZHI_BENCH_SWEEP_DB``, default ``bench_sweep``, with ``_100k`` and
``_1m`` appended), three measurements:

* 100,000 open tasks, 1 % (1,000) due;
* 1,000,000 open tasks, 1 % (10,000) due — the figure;
* 1,000,000 open tasks, 0.1 % (1,000) due — same due rows as the first run, ten times the open ones.

"The sweep" is everything a worker does for the due rows: claim them (``FOR UPDATE SKIP LOCKED``),
record each step once (unique key), write the timeline, the inboxes and the outbox, and move each
clock on — the real :func:`shuzhi.services.supervision.sweep`, one process, with the batch size and
connections of ``shuzhi worker`` and its start-up (``settle_heap``). Rows are seeded with set-based
``INSERT … SELECT generate_series``; the clocks' fill factor keeps each re-armed clock on its page, so
the due rows stay spread over the whole table (one page each), as in life.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--quick] [--prepare-only | --reuse]``. ``--reuse``
measures against the databases a previous run prepared (each measurement first resets the clocks of the
due rows and empties what a sweep writes, so runs can repeat); ``--prepare-only`` seeds and stops.
Besides wall-clock time every measurement records the CPU seconds of the sweeping process, the
statements it sent and the time PostgreSQL spent per statement kind (``--profile`` adds cProfile).

On Citus (issue #25): ``--citus`` prepares the same databases on the local Citus cluster (``_citus.py``: on
the coordinator and both workers, the project's migrations, the rows seeded into the coordinator's tables
and then distributed by ``adapters.db.citus.distribute()``, 48 shards a table) and records the figures with
a ``_citus`` suffix. The district is one district: its clocks share one ``district_code`` and the claim
(``supervision._claim_distributed``) takes them from one shard. The backends' CPU counted there is the
coordinator's only (the workers' backends serve the intake processes too and are not told apart).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _citus
from _prepared import explain, fingerprint, mark, matches
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB_BASE = os.environ.get("SHUZHI_BENCH_SWEEP_DB", "bench_sweep")
CITUS = False  # --citus: the databases on the local Citus cluster's coordinator
#: The district every case row carries (``district_code``, as the product writes it since migration 0039).
DISTRICT = "500111"


def db_url(db: str) -> str:
    return _citus.url(db) if CITUS else f"postgresql+psycopg://postgres@localhost/{db}"


def _name(figure: str) -> str:
    return _citus.name(figure) if CITUS else figure


def fresh_schema(db: str) -> None:
    from shuzhi.adapters.db.engine import make_engine
    from shuzhi.adapters.db.tables import Base

    if CITUS:  # on every node, the project's migrations; distributed once the rows are in (prepare)
        _citus.lay_out(db, distributed=False)
        return
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")
    engine = make_engine(db_url(db))
    Base.metadata.create_all(engine)
    engine.dispose()


def _connect(db: str) -> psycopg.Connection:
    return psycopg.connect(db_url(db).replace("+psycopg", ""), autocommit=True)


# Red cards are left out: with the yellow card not on record for the task, the sweep wrote no step for a
# plan whose head is a red card (seen in a smoke run, not investigated further).
MIX = ("remind_70", "overdue", "urge", "yellow_card")  # step names as domain/supervision.py plans them


def _plans(now: datetime) -> dict[str, object]:
    """The plans the clocks carry: for each kind of step in :data:`MIX`, a plan whose head is one due step
    of that kind (the steps before it done), and one plan that is not due yet (a task dispatched now).
    Accept timeouts are left out: escalating moves the case, which a repeated measurement cannot undo."""
    from shuzhi.domain.events import TaskRole, TaskState
    from shuzhi.domain.supervision import SupervisionRules, TaskClock, plan, plan_to_json
    from shuzhi.domain.time_limits import LimitUnit
    from shuzhi.services.deadlines import default_calendar

    def steps_from(start: datetime) -> list[Any]:
        clock = TaskClock(state=TaskState.ACCEPTED, role=TaskRole.LEAD, dispatched_at=start, accept_due_at=None,
                          handle_due_at=default_calendar().deadline(start, _limit()),
                          handle_unit=LimitUnit.WORKING_DAYS, since=start)
        return plan(clock, SupervisionRules(), default_calendar())

    mix: list[list[object]] = []
    for kind in MIX:
        for hours in range(24, 24 * 60):
            steps = steps_from(now - timedelta(hours=hours))
            due = [i for i, s in enumerate(steps) if s.due_at <= now]
            # the last due step is of this kind and the next one is still to come: the steps before it done
            if due and steps[due[-1]].step == kind:
                rest = steps[due[-1]:]
                mix.append([kind, rest[0].due_at, json.dumps(plan_to_json(rest))])
                break
    later = steps_from(now)
    assert later and later[0].due_at > now and len(mix) >= 3, (len(mix), later[:1])
    return {"now": now, "due_next": mix[0][1], "due_plan": mix[0][2], "later_next": later[0].due_at,
            "later_plan": json.dumps(plan_to_json(later)), "mix": mix}


TOWNS, GRIDS_PER_TOWN, DEPARTMENTS = 30, 40, 40
HISTORY = {"timeline_entries": 6, "supervision_steps": 2, "notifications": 3, "outbox": 2}  # rows per past event


def _grid_path(g: str) -> str:
    """SQL: the area path of the grid a row ``g`` sits in (towns × grids, spread by ``g``)."""
    return (f"'/500000/500111/500111' || lpad((1 + {g} %% {TOWNS})::text, 3, '0') || '/500111' "
            f"|| lpad((1 + {g} %% {TOWNS})::text, 3, '0') || lpad((1 + {g} %% {GRIDS_PER_TOWN})::text, 6, '0') || '/'")


def prepare(db: str, open_tasks: int, now: datetime, history_events: int = 0) -> None:
    """A fresh database: a district of 30 towns × 40 grids, 40 departments and the town centres,
    ``open_tasks`` accepted tasks spread over them, each with a clock that is not due yet (:func:`arm`
    makes some of them due), a year of history in the append-only tables (``history_events`` past
    events' timeline entries, supervision steps, inbox items and outbox rows), and the plans in a table
    of their own."""
    fresh_schema(db)
    plans = _plans(now)
    t0 = time.perf_counter()
    with _connect(db) as conn:
        sizes = {"towns": TOWNS, "grids": GRIDS_PER_TOWN, "departments": DEPARTMENTS}
        # one statement at a time: with parameters psycopg sends each as a prepared statement
        for statement in (
            """INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at) VALUES
              (1, '500000', '重庆市', 'city', NULL, '/500000/', now(), now()),
              (2, '500111', '大足区', 'district', 1, '/500000/500111/', now(), now())""",
            """INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at)
              SELECT 1000 + t, '500111' || lpad(t::text, 3, '0'), '镇街' || t, 'town', 2,
                     '/500000/500111/500111' || lpad(t::text, 3, '0') || '/', now(), now()
              FROM generate_series(1, %(towns)s) t""",
            """INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at)
              SELECT 100000 + t * 1000 + g, '500111' || lpad(t::text, 3, '0') || lpad(g::text, 6, '0'),
                     '网格' || t || '-' || g, 'grid', 1000 + t,
                     '/500000/500111/500111' || lpad(t::text, 3, '0') || '/500111' || lpad(t::text, 3, '0')
                     || lpad(g::text, 6, '0') || '/', now(), now()
              FROM generate_series(1, %(towns)s) t, generate_series(1, %(grids)s) g""",
            """INSERT INTO units (id, code, name, kind, level, area_id, active, created_at, updated_at) VALUES
              (1, 'C500111', '大足区城市运行和治理中心', 'centre', 'district', 2, true, now(), now())""",
            """INSERT INTO units (id, code, name, kind, level, area_id, active, created_at, updated_at)
              SELECT 10 + d, 'D500111-' || lpad(d::text, 2, '0'), '区级部门' || d, 'department', 'district', 2,
                     true, now(), now() FROM generate_series(0, %(departments)s - 1) d""",
            """INSERT INTO units (id, code, name, kind, level, area_id, active, created_at, updated_at)
              SELECT 1000 + t, 'C500111' || lpad(t::text, 3, '0'), '镇街治理中心' || t, 'centre', 'town', 1000 + t,
                     true, now(), now() FROM generate_series(1, %(towns)s) t""",
            """INSERT INTO event_classes (id, code, name, kind, major_code, major_name, default_mode,
                                       default_urgency, time_limits, active, created_at, updated_at)
              VALUES (1, '0101', '井盖破损', 'component', '01', '公用设施', 'handle', 'normal',
                      '{"normal": {"accept": "2wh", "handle": "5wd"}}', true, now(), now())""",
        ):
            conn.execute(statement, sizes if "%(" in statement else None)
        _seed_tasks(conn, open_tasks)
        conn.execute(f"""
            INSERT INTO supervision_clocks (task_id, event_id, next_due_at, plan, failures, updated_at, unit_id,
                                            dispatched_by_unit_id, event_number, event_title, area_path,
                                            event_class_id, district_code)
            SELECT g, g, %(later_next)s, %(later_plan)s::json, 0, now(), 10 + g %% {DEPARTMENTS},
                   1000 + 1 + g %% {TOWNS}, 'B-' || g, '井盖破损 ' || g, {_grid_path("g")}, 1, %(district)s
            FROM generate_series(1, %(n)s) g
        """, {"n": open_tasks, "district": DISTRICT, **plans})
        if history_events:
            _history(conn, open_tasks, history_events, now)
        marks = {table: int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])  # type: ignore[index]
                 for table in HISTORY}
        conn.execute("CREATE TABLE bench_sweep_meta (open_tasks integer, now timestamptz, due_next timestamptz, "
                     "due_plan json, later_next timestamptz, later_plan json, mix json, history json)")
        conn.execute("INSERT INTO bench_sweep_meta VALUES (%(n)s, %(now)s, %(due_next)s, %(due_plan)s::json, "
                     "%(later_next)s, %(later_plan)s::json, %(mix)s::json, %(history)s::json)",
                     {"n": open_tasks, **plans,
                      "mix": json.dumps([[k, d.isoformat(), pl] for k, d, pl in plans["mix"]]),  # type: ignore[attr-defined]
                      "history": json.dumps({"events": history_events, "marks": marks})})
        if CITUS:  # the case rows move from the coordinator's tables to the shards
            _citus.distribute(db_url(db))
        conn.execute("VACUUM ANALYZE")
    print(f"{db}: seeded {open_tasks:,} open tasks and {history_events:,} past events' history in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)


def _history(conn: psycopg.Connection, first_after: int, events: int, now: datetime) -> None:
    """A year of what past (closed) events left in the append-only tables, by set-based SQL: ids beyond
    the open tasks, times spread over the 365 days before ``now``."""
    lo, hi = first_after + 1, first_after + events
    at = "(%(now)s::timestamptz - ((g %% 525600) || ' minutes')::interval)"
    conn.execute(f"""
        INSERT INTO timeline_entries (event_id, task_id, at, actor_id, actor, action, from_state, to_state, reason,
                                      payload, district_code)
        SELECT g, g, {at}, NULL, 'duty.district',
               (ARRAY['event.register','task.dispatch','task.accept','supervision.remind','task.report',
                      'event.close'])[k], NULL, NULL, NULL, '{{}}'::json, %(district)s
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g, generate_series(1, {HISTORY["timeline_entries"]}) k
    """, {"lo": lo, "hi": hi, "now": now, "district": DISTRICT})
    conn.execute(f"""
        INSERT INTO supervision_steps (task_id, event_id, unit_id, step, deadline, due_at, done_at, area_path,
                                       district_code)
        SELECT g, g, 10 + g %% {DEPARTMENTS}, (ARRAY['remind_70','overdue'])[k], {at}, {at}, {at}, {_grid_path("g")},
               %(district)s
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g, generate_series(1, {HISTORY["supervision_steps"]}) k
    """, {"lo": lo, "hi": hi, "now": now, "district": DISTRICT})
    conn.execute(f"""
        INSERT INTO notifications (person_id, unit_id, event_id, task_id, kind, title, body, payload, created_at,
                                   read_at, read_by)
        SELECT NULL, 10 + g %% {DEPARTMENTS}, g, g, (ARRAY['task_assigned','reminder','overdue'])[k], '历史提醒 ' || g,
               '', '{{}}'::json, {at}, {at}, 'duty.district'
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g, generate_series(1, {HISTORY["notifications"]}) k
    """, {"lo": lo, "hi": hi, "now": now})
    conn.execute(f"""
        INSERT INTO outbox (topic, event_id, area_path, class_code, payload, created_at, fanned_out)
        SELECT (ARRAY['event.registered','event.closed'])[k], g, {_grid_path("g")}, '0101', '{{}}'::json, {at}, true
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g, generate_series(1, {HISTORY["outbox"]}) k
    """, {"lo": lo, "hi": hi, "now": now})


def meta(db: str) -> dict[str, Any] | None:
    """What :func:`prepare` left in ``db`` (None when the database or its data is missing)."""
    try:
        with _connect(db) as conn:
            row = conn.execute("SELECT open_tasks, now, due_next, due_plan::text, later_next, later_plan::text, "
                               "mix::text, history::text FROM bench_sweep_meta").fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    out = dict(zip(("open_tasks", "now", "due_next", "due_plan", "later_next", "later_plan", "mix", "history"), row,
                   strict=True))
    out["mix"], out["history"] = json.loads(out["mix"]), json.loads(out["history"])
    return out


def arm(db: str, due: int, m: dict[str, Any]) -> None:
    """Make ``due`` clocks due (spread evenly through the table, as in life; the kinds of :data:`MIX` in
    turn) and every other clock not due; remove what an earlier sweep wrote (the rows after the history).
    Run before each measurement, so that measurements repeat."""
    step = m["open_tasks"] // due
    with _connect(db) as conn:
        for table, mark in m["history"]["marks"].items():
            conn.execute(f"DELETE FROM {table} WHERE id > %s", (mark,))
        conn.execute("TRUNCATE escalations RESTART IDENTITY CASCADE")
        conn.execute("UPDATE supervision_clocks SET next_due_at = %(later_next)s, plan = %(later_plan)s::json, "
                     "failures = 0 WHERE next_due_at <> %(later_next)s", m)
        mix = m["mix"]
        for i, (_kind, due_next, plan) in enumerate(mix):
            conn.execute("UPDATE supervision_clocks SET next_due_at = %s, plan = %s::json "
                         "WHERE task_id %% %s = 0 AND (task_id / %s) %% %s = %s",
                         (due_next, plan, step, step, len(mix), i))
        conn.execute("VACUUM ANALYZE supervision_clocks, supervision_steps, notifications, outbox, timeline_entries")
        conn.execute("CHECKPOINT")


def _seed_tasks(conn: psycopg.Connection, open_tasks: int) -> None:
    # foreign keys are checked by the triggers that replica mode skips: the rows are right by construction
    conn.execute("SET session_replication_role = replica")
    conn.execute(f"""
            INSERT INTO events (id, number, source, event_class_id, title, description, area_id, area_path, urgency,
                                mode, state, owner_unit_id, self_handled, rework_count, return_count, received_at,
                                updated_at, version, district_code)
            SELECT g, 'B-' || g, 'hotline', 1, '井盖破损 ' || g, '',
                   100000 + (1 + g %% 30) * 1000 + 1 + g %% 40, {_grid_path('g')}, 'normal',
                   'handle', 'handling', 1, false, 0, 0, now(), now(), 1, %(district)s
            FROM generate_series(1, %(n)s) g
        """, {"n": open_tasks, "district": DISTRICT})
    conn.execute("""
            INSERT INTO tasks (id, event_id, unit_id, role, state, dispatched_by_unit_id, dispatched_at,
                               handle_due_at, rework_count, updated_at, version, district_code)
            SELECT g, g, 10 + g %% 40, 'lead', 'accepted', 1000 + 1 + g %% 30, now(), now() + interval '7 days',
                   0, now(), 1, %(district)s
            FROM generate_series(1, %(n)s) g
        """, {"n": open_tasks, "district": DISTRICT})
    conn.execute("SET session_replication_role = DEFAULT")
    conn.execute("SELECT setval(pg_get_serial_sequence('events', 'id'), %s)", (open_tasks,))
    conn.execute("SELECT setval(pg_get_serial_sequence('tasks', 'id'), %s)", (open_tasks,))


def _limit():  # type: ignore[no-untyped-def]
    from shuzhi.domain.time_limits import TimeLimit

    return TimeLimit.parse("5wd")


class StatementClock:
    """Counts the statements the process sends and the time each kind takes (as the client sees it:
    round trip plus server work), by wrapping psycopg's cursor — the ORM and the bulk writer both go
    through it. Load-independent enough to show where the time goes."""

    def __init__(self) -> None:
        self.by_kind: dict[str, list[float]] = {}
        self._orig: Any = None

    def __enter__(self) -> StatementClock:
        self._orig = psycopg.Cursor.execute
        orig, by_kind = self._orig, self.by_kind

        def execute(cur: Any, query: Any, *a: Any, **kw: Any) -> Any:
            text = query if isinstance(query, str) else str(getattr(query, "as_string", lambda _c: query)(cur))
            kind = " ".join(text.split())[:70]
            t0 = time.perf_counter()
            try:
                return orig(cur, query, *a, **kw)
            finally:
                entry = by_kind.setdefault(kind, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - t0

        self._orig_copy = psycopg.Cursor.copy
        orig_copy = self._orig_copy

        @contextlib.contextmanager
        def copy(cur: Any, statement: Any, *a: Any, **kw: Any) -> Any:
            kind = " ".join(str(statement).split())[:70]
            t0 = time.perf_counter()
            try:
                with orig_copy(cur, statement, *a, **kw) as c:
                    yield c
            finally:
                entry = by_kind.setdefault(kind, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - t0

        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Cursor.copy = copy  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        psycopg.Cursor.execute = self._orig  # type: ignore[method-assign]
        psycopg.Cursor.copy = self._orig_copy  # type: ignore[method-assign]

    def summary(self) -> list[tuple[str, int, float]]:
        return sorted(((k, int(v[0]), v[1]) for k, v in self.by_kind.items()), key=lambda x: -x[2])


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; PostgreSQL runs here, so its backends'
    /proc entries are readable — the server's share of a sweep, independent of the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """The CPU seconds the sweep's PostgreSQL backends spend between :meth:`start` and :meth:`stop`."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.start_cpu: dict[int, float] = {}
        self.pids: set[int] = set()
        self.measuring = False

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _rec: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = int(cur.fetchone()[0])
            self.pids.add(pid)
            if self.measuring:
                self.start_cpu[pid] = _cpu_of(pid)

    def start(self) -> None:
        self.measuring = True
        self.start_cpu = {pid: _cpu_of(pid) for pid in self.pids}

    def stop(self) -> float:
        self.measuring = False
        return sum(_cpu_of(pid) - t for pid, t in self.start_cpu.items())


def run_sweep(db: str, now: datetime, batch: int, profile: bool = False, connections: int = 1) -> dict[str, Any]:
    from sqlalchemy.orm import configure_mappers

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.entrypoints.worker import settle_heap
    from shuzhi.services import supervision
    from shuzhi.services.supervision import sweep
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(db_url(db))
    backends = BackendCpu(engine)
    factory = make_session_factory(engine)
    configure_mappers()
    with factory() as s:  # warm the pool and the statement caches, as a running worker has them
        conn = s.connection()
        supervision._process(conn, [], now, supervision.SweepResult())
        s.rollback()
    settle_heap()  # as ``shuzhi worker`` does after start-up
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    with StatementClock() as clock:
        backends.start()
        t0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        result = sweep(lambda: UnitOfWork(factory), now, batch=batch, connections=connections)
        if prof:
            prof.disable()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        server_cpu = backends.stop()
    engine.dispose()
    if prof:
        import pstats

        pstats.Stats(prof).sort_stats(os.environ.get("SHUZHI_PROFILE_SORT", "cumulative")).print_stats(25)
    statements = clock.summary()
    return {"elapsed": elapsed, "cpu": cpu, "server_cpu": server_cpu, "steps": result.steps,
            "statements": statements}


def intake_load(db: str, stop: Any, counter: Any) -> None:
    """Events registered through the intake service, one after another, until ``stop`` is set."""
    import random

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.bootstrap import bootstrap
    from shuzhi.services.commands import SubmitEvent
    from shuzhi.services.intake import submit_event
    from shuzhi.services.unit_of_work import UnitOfWork

    bootstrap()  # a spawned process: wired like the server it stands for
    factory = make_session_factory(make_engine(db_url(db)))
    rng = random.Random(os.getpid())
    while not stop.is_set():
        town, grid = rng.randint(1, TOWNS), rng.randint(1, GRIDS_PER_TOWN)
        code = f"500111{town:03d}{grid:06d}"
        submit_event(UnitOfWork(factory), SubmitEvent(source="hotline", title="井盖破损", area_code=code,
                                                      event_class_code="0101"), SYSTEM)
        with counter.get_lock():
            counter.value += 1


def _databases(quick: bool) -> tuple[tuple[str, int], tuple[str, int]]:
    if quick:
        return (f"{DB_BASE}_10k", 10_000), (f"{DB_BASE}_100k_q", 100_000)
    return (f"{DB_BASE}_100k", 100_000), (f"{DB_BASE}_1m", 1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 open tasks (a smoke run)")
    parser.add_argument("--reuse", action="store_true", help="measure against the databases prepared before")
    parser.add_argument("--prepare-only", action="store_true", help="prepare the databases and stop")
    from shuzhi.services.scheduler import SWEEP_BATCH, SWEEP_CONNECTIONS

    parser.add_argument("--batch", type=int, default=SWEEP_BATCH, help="default: what shuzhi worker uses")
    parser.add_argument("--connections", type=int, default=SWEEP_CONNECTIONS,
                        help="connections one sweep uses at once (SKIP LOCKED splits the batches); "
                             "default: what shuzhi worker uses")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each sweep")
    parser.add_argument("--history-events", type=int, default=1_000_000,
                        help="past events whose year of history fills the append-only tables (big database)")
    parser.add_argument("--intake", type=int, default=1, help="processes registering events during the sweeps")
    parser.add_argument("--citus", action="store_true", help="on the local Citus cluster (figures named …_citus)")
    args = parser.parse_args()
    if args.citus:
        global ADMIN_URL, CITUS
        _citus.ensure_cluster()
        ADMIN_URL, CITUS = _citus.ADMIN_URL, True
    if args.quick:
        args.history_events = 20_000
    (small_db, small), (big_db, big) = _databases(args.quick)
    now = datetime.now(UTC)
    metas: dict[str, dict[str, Any]] = {}
    for db, n in ((small_db, small), (big_db, big)):
        # reused while its fingerprint (schema head, volume) matches; --reuse is kept for old commands
        history = args.history_events * n // big
        fp = fingerprint("sweep", open_tasks=n, history_events=history, towns=TOWNS, mix=list(MIX),
                         district_code=DISTRICT, **(_citus.fingerprint() if CITUS else {}))
        print(explain(ADMIN_URL, db_url(db), fp), flush=True)
        m = meta(db) if matches(ADMIN_URL, db_url(db), fp) else None
        if m is not None and CITUS:  # a database the migrations brought to the head may have tables to lay out
            _citus.distribute(db_url(db))
        if m is None or m["open_tasks"] != n:
            prepare(db, n, now, history)
            m = meta(db)
            mark(ADMIN_URL, db_url(db), fp)
        assert m is not None
        metas[db] = m
    if args.prepare_only:
        return
    runs = [(small_db, small, small // 100), (big_db, big, big // 100), (big_db, big, small // 100)]
    out: dict[tuple[int, int], dict[str, Any]] = {}
    ctx = mp.get_context("spawn")
    stop, registered = ctx.Event(), ctx.Value("q", 0)
    # intake keeps running through every measurement, as it would on a working day
    # daemons: a measurement that fails takes them down with it
    intake = [ctx.Process(target=intake_load, args=(big_db, stop, registered), daemon=True)
              for _ in range(args.intake)]
    for proc in intake:
        proc.start()
    while args.intake and registered.value == 0 and all(p.is_alive() for p in intake):
        time.sleep(0.2)
    intake_t0, intake_n0 = time.perf_counter(), registered.value
    for db, open_tasks, due in runs:
        m = metas[db]
        # the machine is shared: several sweeps over the same rows, the median is the figure
        measured = []
        for _rep in range(args.repeat):
            arm(db, due, m)
            r = run_sweep(db, m["now"], args.batch, profile=args.profile, connections=args.connections)
            assert r["steps"] == due, f"expected {due} steps, the sweep did {r['steps']}"
            measured.append(r)
        measured.sort(key=lambda r: r["elapsed"])
        med = {**measured[len(measured) // 2], "all": [r["elapsed"] for r in measured]}
        out[(open_tasks, due)] = med
        print(f"open {open_tasks:>9,}  due {due:>7,}: {med['elapsed']:.3f} s median of "
              f"{[round(r['elapsed'], 3) for r in measured]} ({med['elapsed'] / due * 1e6:.0f} µs per due row; "
              f"CPU: sweeping process {med['cpu']:.3f} s, its PostgreSQL backends {med['server_cpu']:.3f} s; "
              f"{sum(n for _k, n, _t in med['statements'])} statements; load {_load()})", flush=True)
        for kind, n, t in med["statements"][:8]:
            print(f"    {t * 1000:8.1f} ms  {n:4d} ×  {kind}")
    intake_rate = (registered.value - intake_n0) / (time.perf_counter() - intake_t0)
    stop.set()
    for proc in intake:
        proc.join(30)
    fig = out[(big, big // 100)]
    small_run, same_due = out[(small, small // 100)], out[(big, small // 100)]
    same_due_ratio = same_due["elapsed"] / small_run["elapsed"]
    due_ratio = fig["elapsed"] / small_run["elapsed"]
    volume = {"open_tasks": big, "due": big // 100, "batch": args.batch, "connections": args.connections,
              "history_events": metas[big_db]["history"]["events"], "history_rows_per_event": HISTORY,
              "due_mix": [k for k, _d, _p in metas[big_db]["mix"]], "towns": TOWNS, "departments": DEPARTMENTS,
              "intake_processes": args.intake, "intake_events_per_s": round(intake_rate, 1),
              "repeats": args.repeat}
    record(_name(f"sweep_{big // 1000}k_open_1pct_due_s"), round(fig["elapsed"], 3), "s", 1.0, "lower",
           samples=[round(x, 3) for x in fig["all"]], database=db_url(big_db), volume=volume,
           per_due_row_us=round(fig["elapsed"] / (big // 100) * 1e6, 1), client_cpu_s=round(fig["cpu"], 3),
           server_cpu_s=round(fig["server_cpu"], 3),
           server_cpu_scope="the coordinator's backends of the sweep (workers not counted)" if CITUS
           else "the sweep's PostgreSQL backends",
           cpu_per_due_row_us=round((fig["cpu"] + fig["server_cpu"]) / (big // 100) * 1e6, 1),
           statements=sum(n for _k, n, _t in fig["statements"]),
           small_open_1pct_s=round(small_run["elapsed"], 3), ratio_10x_open_10x_due=round(due_ratio, 2),
           # the sweeping process is what `shuzhi worker` runs: its peak resident memory over every sweep
           memory_sweeper_peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    record(_name("sweep_cost_open_x10_same_due_ratio"), round(same_due_ratio, 2), "ratio", None, "lower",
           database=db_url(big_db), volume={**volume, "due": small // 100, "open_tasks_small": small},
           ratio={"numerator": {"label": f"{small // 100:,} due among {big:,} open",
                                "value": round(same_due["elapsed"], 3), "unit": "s"},
                  "denominator": {"label": f"{small // 100:,} due among {small:,} open",
                                  "value": round(small_run["elapsed"], 3), "unit": "s"}})


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
