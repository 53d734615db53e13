"""Evaluation queries over the daily roll-ups with 1,000,000 and 10,000,000 events on PostgreSQL.

Figures (issue 7): any evaluation query for the demo district's 27 towns and one month in ≤ 500 ms,
flat between 1M and 10M events (two years of history); the district's monthly report in ≤ 30 s.

Setup: a dedicated database ``bench_evaluation`` (dropped and created), the demo district imported through
the real importers, events and one lead task each filled by set-based INSERT … SELECT over
``generate_series`` at 13,700 events a day back from 30 June 2025, so that a larger size adds older
history (outcomes spread: closed, called back, reworked, returned, self-handled, open), then the roll-ups
built by the real ``refresh_rollups(full=True)``.  Timed per size: the colour map of the
towns (grain 2), the unit ranking (grain 1), per class (3), per source (4) and a class+source filter
(grain 0), each the median of 5 runs through the service layer; the slowest is the figure.
Run: ``.venv/bin/python benchmarks/bench_evaluation.py [--quick] [--sizes 1000000 10000000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = "bench_evaluation"
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
END = datetime(2025, 6, 30, 16, 0, tzinfo=UTC)  # history ends 1 July 2025 00:00 in Shanghai
MONTH = "2025-06"
#: Events arrive at the rate of a large district, 10M in two years; event g is g steps before END, so a
#: larger size adds *older* history and the month queried (the last) is the same at every size.
FULL_HISTORY = 10_000_000


def prepare() -> None:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data
    from shuzhi.services.unit_of_work import UnitOfWork

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    load_reference_data(lambda: UnitOfWork(factory), build_district(1))
    engine.dispose()


def fill(total: int) -> float:
    """Grow the history back in time to ``total`` events (13,700 a day), with one lead task each."""
    t0 = time.perf_counter()
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        if have >= total:
            return 0.0
        owner = conn.execute("SELECT id FROM units WHERE kind='centre' AND level='district'").fetchone()[0]
        conn.execute(
            """
            WITH g_ AS (SELECT id, path, row_number() OVER (ORDER BY id) - 1 AS rn FROM areas WHERE level = 'grid'),
                 c_ AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM event_classes
                        WHERE default_mode = 'handle')
            INSERT INTO events (number, source, title, description, area_id, area_path, event_class_id, urgency,
                                mode, state, owner_unit_id, self_handled, satisfied, rework_count, return_count,
                                received_at, dispatched_at, reported_at, closed_at, called_back_at, updated_at,
                                version)
            SELECT 'B-' || lpad(g::text, 9, '0'),
                   (ARRAY['hotline','citizen_platform','grid_patrol','sensor_warning','online_app','legacy_system',
                          'duty_officer','upper_centre'])[1 + (g * 7) %% 8],
                   '历史事件', '', a.id, a.path, c.id, 'normal', 'handle',
                   CASE WHEN g %% 20 = 0 THEN 'handling' WHEN g %% 3 = 0 THEN 'closed' ELSE 'called_back' END,
                   %(owner)s, g %% 31 = 0,
                   CASE WHEN g %% 20 = 0 OR g %% 3 = 0 THEN NULL ELSE g %% 11 <> 0 END,
                   (g %% 17 = 0)::int, (g %% 23 = 0)::int,
                   t.r, t.r + interval '10 minutes',
                   CASE WHEN g %% 20 = 0 THEN NULL ELSE t.r + ((g %% 96) || ' hours')::interval END,
                   CASE WHEN g %% 20 = 0 THEN NULL ELSE t.r + ((g %% 96) + 2 || ' hours')::interval END,
                   CASE WHEN g %% 20 = 0 OR g %% 3 = 0 THEN NULL ELSE t.r + ((g %% 96) + 26 || ' hours')::interval END,
                   now(), 1
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
            JOIN g_ a ON a.rn = (g * 7919) %% (SELECT count(*) FROM g_)
            JOIN c_ c ON c.rn = (g * 31) %% (SELECT count(*) FROM c_)
            CROSS JOIN LATERAL (SELECT %(end)s::timestamptz - g * (interval '730 days' / %(full)s) AS r) t
            """,
            {"owner": owner, "lo": have + 1, "hi": total, "end": END, "full": FULL_HISTORY},
        )
        conn.execute(
            """
            WITH d_ AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM units WHERE kind = 'department')
            INSERT INTO tasks (event_id, unit_id, role, state, dispatched_at, accept_due_at, handle_due_at,
                               accepted_at, reported_at, verified_at, rework_count, updated_at, version)
            SELECT e.id, d.id, 'lead',
                   CASE WHEN e.state = 'handling' THEN 'accepted' ELSE 'verified' END,
                   e.dispatched_at, e.dispatched_at + interval '2 hours', e.dispatched_at + interval '5 days',
                   e.dispatched_at + ((e.id % 5) * 40 || ' minutes')::interval,
                   e.reported_at, e.closed_at, e.rework_count, now(), 1
            FROM events e JOIN d_ d ON d.rn = e.id % (SELECT count(*) FROM d_)
            WHERE e.id > (SELECT coalesce(max(event_id), 0) FROM tasks)
            """
        )
        conn.execute("ANALYZE")
    return time.perf_counter() - t0


def build_rollups() -> float:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.rollups import refresh_rollups
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    t0 = time.perf_counter()
    refresh_rollups(UnitOfWork(make_session_factory(engine)), END, full=True)
    engine.dispose()
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("ANALYZE evaluation_rollups")
    return time.perf_counter() - t0


def time_queries() -> dict[str, float]:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services import evaluation as ev
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    factory = make_session_factory(engine)
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        cls = conn.execute(
            "SELECT code FROM event_classes WHERE default_mode='handle' ORDER BY id LIMIT 1").fetchone()[0]
    queries = {
        "colour_map_towns": lambda: ev.colour_map(UnitOfWork(factory), SYSTEM, area="500111", period=MONTH),
        "ranking_units": lambda: ev.rankings(UnitOfWork(factory), SYSTEM, area="500111", period=MONTH, by="unit"),
        "by_class": lambda: ev.figures(UnitOfWork(factory), SYSTEM, area="500111", period=MONTH, group_by="class"),
        "by_source": lambda: ev.figures(UnitOfWork(factory), SYSTEM, area="500111", period=MONTH, group_by="source"),
        "towns_class_and_source": lambda: ev.figures(UnitOfWork(factory), SYSTEM, area="500111", period=MONTH,
                                                     group_by="area", event_class=cls, source="hotline"),
    }
    out = {}
    for name, run in queries.items():
        run()  # warm caches and the connection pool
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            result = run()
            times.append((time.perf_counter() - t0) * 1000)
        assert result, name
        out[name] = statistics.median(times)
        print(f"  {name}: {out[name]:.1f} ms")
    engine.dispose()
    return out


def time_report() -> float:
    from datetime import date

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.reports import generate_report
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    t0 = time.perf_counter()
    generate_report(UnitOfWork(make_session_factory(engine)), SYSTEM, "monthly", day=date(2025, 6, 1),
                    area="500111", refresh=False)
    engine.dispose()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--quick", action="store_true", help="20k and 100k events: a smoke run")
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run and grow it")
    args = parser.parse_args()
    sizes = [20_000, 100_000] if args.quick else sorted(args.sizes)
    if not args.reuse:
        prepare()
    slowest: dict[int, float] = {}
    for size in sizes:
        seeded = fill(size)
        built = build_rollups()
        print(f"{size} events: seeded in {seeded:.0f} s, roll-ups built in {built:.0f} s")
        times = time_queries()
        slowest[size] = max(times.values())
        if not args.quick:
            label = f"{size // 1_000_000}M"
            record(f"evaluation_27_towns_month_ms_{label}", round(slowest[size], 1), "ms", 500, "lower",
                   queries={k: round(v, 1) for k, v in times.items()}, events=size)
            record(f"evaluation_rollup_full_build_s_{label}", round(built, 1), "s", None, "lower", events=size)
    report_s = time_report()
    print(f"monthly report of the district: {report_s:.1f} s")
    if not args.quick:
        record("evaluation_monthly_report_s", round(report_s, 2), "s", 30, "lower", events=max(sizes))
        if len(sizes) > 1:
            ratio = slowest[sizes[-1]] / slowest[sizes[0]]
            record("evaluation_query_growth_10x_history", round(ratio, 2), "×", 2.0, "lower",
                   note="slowest query at the largest size / at the smallest")


if __name__ == "__main__":
    main()
