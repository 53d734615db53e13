"""The supervision sweep on PostgreSQL: 1,000,000 open tasks of which 1 % are due.

Figure (issue 3): the sweep finishes in ≤ 1 s, and its cost grows with the due rows, not the open ones.
Three runs on a fresh database ``bench_supervision``:

* 100,000 open tasks, 1 % (1,000) due;
* 1,000,000 open tasks, 1 % (10,000) due — the figure;
* 1,000,000 open tasks, 0.1 % (1,000) due — same due rows as the first run, ten times the open ones.

"The sweep" is everything a worker does for the due rows: claim them (``FOR UPDATE SKIP LOCKED``),
record each step once (unique key), write the timeline, the inboxes and the outbox, and move each
clock on — the real :func:`shuzhi.services.supervision.sweep`, one process. Rows are seeded with
set-based ``INSERT … SELECT generate_series`` (a million rows in seconds).
Run: ``.venv/bin/python benchmarks/bench_sweep.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = "bench_supervision"
URL = f"postgresql+psycopg://postgres@localhost/{DB}"


def fresh_schema() -> None:
    from shuzhi.adapters.db.engine import make_engine
    from shuzhi.adapters.db.tables import Base

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    Base.metadata.create_all(engine)
    engine.dispose()


def seed(open_tasks: int, due: int, now: datetime, *, tasks: bool = True) -> Callable[[], None]:
    """A district with one town and 100 grids, ``open_tasks`` accepted tasks, ``due`` of them due
    (with ``tasks=False`` only the clocks are rebuilt, over the tasks already there)."""
    from shuzhi.domain.events import TaskRole, TaskState
    from shuzhi.domain.supervision import SupervisionRules, TaskClock, plan, plan_to_json
    from shuzhi.domain.time_limits import LimitUnit
    from shuzhi.services.deadlines import default_calendar

    def plan_json(start: datetime) -> tuple[datetime, str, int]:
        clock = TaskClock(state=TaskState.ACCEPTED, role=TaskRole.LEAD, dispatched_at=start, accept_due_at=None,
                          handle_due_at=default_calendar().deadline(start, _limit()),
                          handle_unit=LimitUnit.WORKING_DAYS, since=start)
        steps = plan(clock, SupervisionRules(), default_calendar())
        return steps[0].due_at, json.dumps(plan_to_json(steps)), sum(1 for x in steps if x.due_at <= now)

    # due rows: started long enough ago that exactly their 70 % reminder is due; the others just now
    for hours in range(24, 24 * 14):
        due_next, due_plan, due_steps = plan_json(now - timedelta(hours=hours))
        if due_steps == 1:
            break
    later_next, later_plan, later_steps = plan_json(now)
    assert due_next <= now < later_next and due_steps == 1 and later_steps == 0
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("TRUNCATE supervision_clocks, supervision_steps, notifications, outbox, timeline_entries "
                     "RESTART IDENTITY CASCADE")
        if tasks:
            conn.execute("TRUNCATE tasks, events RESTART IDENTITY CASCADE")
        if conn.execute("SELECT count(*) FROM areas").fetchone()[0] == 0:
            conn.execute("""
                INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at) VALUES
                  (1, '500000', '重庆市', 'city', NULL, '/500000/', now(), now()),
                  (2, '500111', '大足区', 'district', 1, '/500000/500111/', now(), now()),
                  (3, '500111001', '龙岗街道', 'town', 2, '/500000/500111/500111001/', now(), now());
                INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at)
                  SELECT 100 + g, '500111001' || lpad(g::text, 6, '0'), '网格' || g, 'grid', 3,
                         '/500000/500111/500111001/500111001' || lpad(g::text, 6, '0') || '/', now(), now()
                  FROM generate_series(1, 100) g;
                INSERT INTO units (id, code, name, kind, level, area_id, active, created_at, updated_at) VALUES
                  (1, 'C500111', '大足区城市运行和治理中心', 'centre', 'district', 2, true, now(), now()),
                  (2, 'C500111001', '龙岗街道城市运行和治理中心', 'centre', 'town', 3, true, now(), now()),
                  (3, 'D500111-CGJ', '大足区城市管理局', 'department', 'district', 2, true, now(), now());
                INSERT INTO event_classes (id, code, name, kind, major_code, major_name, default_mode,
                                           default_urgency, time_limits, active, created_at, updated_at)
                  VALUES (1, '0101', '井盖破损', 'component', '01', '公用设施', 'handle', 'normal',
                          '{"normal": {"accept": "2wh", "handle": "5wd"}}', true, now(), now());
            """)
        t0 = time.perf_counter()
        if tasks:
            _seed_tasks(conn, open_tasks)
        # the due rows are spread evenly through the table, as they would be in life
        step = open_tasks // due
        conn.execute("""
            INSERT INTO supervision_clocks (task_id, event_id, next_due_at, plan, failures, updated_at)
            SELECT g, g,
                   CASE WHEN g %% %(step)s = 0 THEN %(due_next)s ELSE %(later_next)s END,
                   CASE WHEN g %% %(step)s = 0 THEN %(due_plan)s::json ELSE %(later_plan)s::json END, 0, now()
            FROM generate_series(1, %(n)s) g
        """, {"n": open_tasks, "step": step, "due_next": due_next, "later_next": later_next, "due_plan": due_plan,
              "later_plan": later_plan})
        conn.execute("VACUUM ANALYZE")
        print(f"seeded {open_tasks:,} open tasks ({due:,} due) in {time.perf_counter() - t0:.1f} s", flush=True)

    def reset() -> None:
        """Undo a sweep: the due rows due again, nothing recorded (for a repeated measurement)."""
        with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("TRUNCATE supervision_steps, notifications, outbox, timeline_entries RESTART IDENTITY CASCADE")
            conn.execute("UPDATE supervision_clocks SET next_due_at = %(d)s, plan = %(p)s::json "
                         "WHERE task_id %% %(step)s = 0", {"d": due_next, "p": due_plan, "step": step})
            conn.execute("VACUUM ANALYZE supervision_clocks")

    return reset


def _seed_tasks(conn: psycopg.Connection, open_tasks: int) -> None:
    # foreign keys are checked by the triggers that replica mode skips: the rows are right by construction
    conn.execute("SET session_replication_role = replica")
    conn.execute("""
            INSERT INTO events (id, number, source, event_class_id, title, description, area_id, area_path, urgency,
                                mode, state, owner_unit_id, self_handled, rework_count, return_count, received_at,
                                updated_at, version)
            SELECT g, 'B-' || g, 'hotline', 1, '井盖破损 ' || g, '', 101 + g %% 100,
                   '/500000/500111/500111001/500111001' || lpad((1 + g %% 100)::text, 6, '0') || '/', 'normal',
                   'handle', 'handling', 1, false, 0, 0, now(), now(), 1
            FROM generate_series(1, %(n)s) g
        """, {"n": open_tasks})
    conn.execute("""
            INSERT INTO tasks (id, event_id, unit_id, role, state, dispatched_by_unit_id, dispatched_at,
                               handle_due_at, rework_count, updated_at, version)
            SELECT g, g, 3, 'lead', 'accepted', 1, now(), now() + interval '7 days', 0, now(), 1
            FROM generate_series(1, %(n)s) g
        """, {"n": open_tasks})
    conn.execute("SET session_replication_role = DEFAULT")
    conn.execute("SELECT setval(pg_get_serial_sequence('events', 'id'), %s)", (open_tasks,))
    conn.execute("SELECT setval(pg_get_serial_sequence('tasks', 'id'), %s)", (open_tasks,))


def _limit():  # type: ignore[no-untyped-def]
    from shuzhi.domain.time_limits import TimeLimit

    return TimeLimit.parse("5wd")


def run_sweep(now: datetime, batch: int) -> tuple[float, int]:
    from sqlalchemy.orm import configure_mappers

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services import supervision
    from shuzhi.services.supervision import sweep
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    factory = make_session_factory(engine)
    configure_mappers()
    with factory() as s:  # warm the pool and the statement caches, as a running worker has them
        conn = s.connection()
        supervision._process(conn, [], now, supervision.SweepResult())
        supervision._record(conn, [-1], now)
        s.rollback()
    t0 = time.perf_counter()
    result = sweep(lambda: UnitOfWork(factory), now, batch=batch)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed, result.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 open tasks (a smoke run)")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    big = 100_000 if args.quick else 1_000_000
    small = big // 10
    now = datetime.now(UTC)
    fresh_schema()
    runs = [(small, small // 100), (big, big // 100), (big, small // 100)]
    out: dict[tuple[int, int], float] = {}
    seeded = 0
    for open_tasks, due in runs:
        reset = seed(open_tasks, due, now, tasks=open_tasks != seeded)
        seeded = open_tasks
        # the machine is shared: three sweeps over the same rows, the median is the figure
        times = []
        for rep in range(args.repeat):
            if rep:
                reset()
            elapsed, steps = run_sweep(now, args.batch)
            assert steps == due, f"expected {due} steps, the sweep did {steps}"
            times.append(elapsed)
        elapsed = statistics.median(times)
        out[(open_tasks, due)] = elapsed
        print(f"open {open_tasks:>9,}  due {due:>7,}: {elapsed:.3f} s median of {[round(t, 3) for t in times]} "
              f"({elapsed / due * 1e6:.0f} µs per due row)", flush=True)
    figure = out[(big, big // 100)]
    same_due_ratio = out[(big, small // 100)] / out[(small, small // 100)]
    tag = "_quick" if args.quick else ""
    record(f"sweep_{big // 1000}k_open_1pct_due_s{tag}", round(figure, 3), "s", 1.0 if not args.quick else None,
           "lower", open_tasks=big, due=big // 100, batch=args.batch,
           per_due_row_us=round(figure / (big // 100) * 1e6, 1))
    record(f"sweep_cost_open_x10_same_due_ratio{tag}", round(same_due_ratio, 2), "ratio", None, "lower",
           note=f"sweep time with {big:,} open vs {small:,} open tasks, {small // 100:,} due in both",
           small_open_s=round(out[(small, small // 100)], 3), big_open_s=round(out[(big, small // 100)], 3),
           small_open_1pct_s=round(out[(small, small // 100)], 3))


if __name__ == "__main__":
    main()
