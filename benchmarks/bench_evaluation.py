"""Evaluation queries over the daily roll-ups with 1,000,000 and 10,000,000 events on PostgreSQL.

Figures (issue 7): any evaluation query for the demo district's 27 towns and one month in ≤ 500 ms,
flat between 1M and 10M events (two years of history); the district's monthly report in ≤ 30 s.

Setup, one database per size (``$SHUZHI_BENCH_EVALUATION_DB`` + ``_1m`` / ``_10m``, default
``bench_evaluation_1m`` …): the demo district imported through the real importers; events and one lead
task each filled by set-based ``INSERT … SELECT`` over ``generate_series`` in chunks of 1,000,000 (the
secondary indexes dropped meanwhile and rebuilt from their stored definitions, so the database keeps
exactly production's indexes), at 13,700 events a day back from 30 June 2025, so that a larger size
adds *older* history and the month queried holds the same events at every size; outcomes spread
(closed, called back, reworked, returned, self-handled, open).  Then the roll-ups are built by the real
``refresh_rollups(full=True)``, which on PostgreSQL is the set-based rebuild of
``services/rollup_sql.py``.

Timed per size: every query of the evaluation page and reports for the district's 27 towns and June
2025 through the service layer (figures by town, unit, class, source, class+source, unit kind; the
colour map of towns and of units; the unit ranking), median of 5 runs; the slowest is the figure.
At the largest size, the monthly report of the district.

Run: ``.venv/bin/python benchmarks/bench_evaluation.py [--quick] [--sizes 1000000 10000000] [--reuse]
[--prepare-only]``.  ``--reuse`` measures against databases a previous run prepared (a size whose
database is missing or incomplete is prepared); ``--prepare-only`` prepares and stops.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _prepared import explain, fingerprint, mark, matches
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
BASE = os.environ.get("SHUZHI_BENCH_EVALUATION_DB", "bench_evaluation")
END = datetime(2025, 6, 30, 16, 0, tzinfo=UTC)  # history ends 1 July 2025 00:00 in Shanghai
MONTH = "2025-06"
#: Events arrive at the rate of a large district, 10M in two years; event g is g steps before END, so a
#: larger size adds *older* history and the month queried (the last) is the same at every size.
FULL_HISTORY = 10_000_000
CHUNK = 1_000_000


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 and size % 1_000_000 == 0 else f"{size // 1000}k"


def db_name(size: int) -> str:
    return f"{BASE}_{label(size)}"


def sa_url(db: str) -> str:
    return f"postgresql+psycopg://postgres@localhost/{db}"


def pg_url(db: str) -> str:
    return f"postgresql://postgres@localhost/{db}"


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def is_ready(db: str, size: int) -> bool:
    """True when ``db`` holds ``size`` events and roll-ups built over them (a finished preparation)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is None:
            return False
    with psycopg.connect(pg_url(db)) as conn:
        try:
            have = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
            state = conn.execute("SELECT judged_at FROM evaluation_state").fetchone()
        except psycopg.Error:
            return False
    return bool(have == size and state is not None and state[0] is not None)


def create(db: str) -> None:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data
    from shuzhi.services.unit_of_work import UnitOfWork

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")
    engine = make_engine(sa_url(db))
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    load_reference_data(lambda: UnitOfWork(factory), build_district(1))
    engine.dispose()


_EVENTS_SQL = """
    WITH g_ AS (SELECT id, path, row_number() OVER (ORDER BY id) - 1 AS rn FROM areas WHERE level = 'grid'),
         c_ AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM event_classes
                WHERE default_mode = 'handle')
    INSERT INTO events (id, number, source, title, description, area_id, area_path, event_class_id, urgency,
                        mode, state, owner_unit_id, self_handled, satisfied, rework_count, return_count,
                        received_at, dispatched_at, reported_at, closed_at, called_back_at, updated_at, version)
    SELECT g, 'B-' || lpad(g::text, 9, '0'),
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
           t.r, 1
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
    JOIN g_ a ON a.rn = (g * 7919) %% (SELECT count(*) FROM g_)
    JOIN c_ c ON c.rn = (g * 31) %% (SELECT count(*) FROM c_)
    CROSS JOIN LATERAL (SELECT %(end)s::timestamptz - g * (interval '730 days' / %(full)s) AS r) t
"""

_TASKS_SQL = """
    WITH d_ AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM units WHERE kind = 'department')
    INSERT INTO tasks (id, event_id, unit_id, role, state, dispatched_at, accept_due_at, handle_due_at,
                       accepted_at, reported_at, verified_at, rework_count, updated_at, version)
    SELECT e.id, e.id, d.id, 'lead',
           CASE WHEN e.state = 'handling' THEN 'accepted' ELSE 'verified' END,
           e.dispatched_at, e.dispatched_at + interval '2 hours', e.dispatched_at + interval '5 days',
           e.dispatched_at + ((e.id %% 5) * 40 || ' minutes')::interval,
           e.reported_at, e.closed_at, e.rework_count, e.received_at, 1
    FROM events e JOIN d_ d ON d.rn = e.id %% (SELECT count(*) FROM d_)
    WHERE e.id BETWEEN %(lo)s AND %(hi)s
"""


def _indexes(tables: tuple[str, ...]) -> list[Any]:
    """The schema's own secondary indexes on ``tables`` (not those backing keys and unique constraints)."""
    from shuzhi.adapters.db.tables import Base

    return [ix for name in tables for ix in Base.metadata.tables[name].indexes]


def fill(db: str, total: int) -> float:
    """Events 1…``total`` (event g is g steps of 730 days / 10M before END) with one lead task each.

    Chunks of ``CHUNK`` with progress; resumes where an interrupted run stopped.  The schema's
    secondary indexes are dropped during the load and created again from the model afterwards
    (building an index once is far cheaper than 10M inserts into eight of them), so the database
    ends with exactly production's indexes.
    """
    from shuzhi.adapters.db.engine import make_engine

    t0 = time.perf_counter()
    engine = make_engine(sa_url(db))
    indexes = _indexes(("events", "tasks"))
    with psycopg.connect(pg_url(db), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        have = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        owner = conn.execute("SELECT id FROM units WHERE kind='centre' AND level='district'").fetchone()[0]
        if have < total:
            for ix in indexes:
                ix.drop(engine, checkfirst=True)
        for lo in range(have + 1, total + 1, CHUNK):
            hi = min(total, lo + CHUNK - 1)
            params = {"owner": owner, "lo": lo, "hi": hi, "end": END, "full": FULL_HISTORY}
            with conn.transaction():  # a chunk is all there or not at all, so a rerun resumes cleanly
                conn.execute(_EVENTS_SQL, params)
                conn.execute(_TASKS_SQL, params)
            log(f"{db}: events and tasks {hi:,} / {total:,} ({time.perf_counter() - t0:.0f} s)")
        with engine.connect() as sa_conn:
            sa_conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
            for ix in indexes:
                ix.create(sa_conn, checkfirst=True)
            sa_conn.commit()
        log(f"{db}: indexes ready ({time.perf_counter() - t0:.0f} s)")
        # Ids were given explicitly; move the sequences past them, where the application inserts next.
        for table in ("events", "tasks"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        if have < total:
            conn.execute("VACUUM ANALYZE events")
            conn.execute("VACUUM ANALYZE tasks")
    engine.dispose()
    return time.perf_counter() - t0


def _backend_cpu_s(pid: int) -> float:
    """CPU seconds a PostgreSQL backend on this machine has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_rollups(db: str) -> dict[str, float]:
    """Full rebuild through the service, with progress per chunk.  Besides wall seconds (which depend
    on the machine's load), the CPU seconds of the PostgreSQL backend doing it and of this process."""
    from sqlalchemy import text

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.rollups import refresh_rollups
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(sa_url(db), pool_size=1)
    with engine.connect() as conn:  # the pool's one connection: the refresh will run on this backend
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    cpu0 = _backend_cpu_s(pid)
    t0, c0 = time.perf_counter(), time.process_time()

    def progress(msg: str) -> None:
        log(f"{db}: {msg} ({time.perf_counter() - t0:.0f} s, backend CPU {_backend_cpu_s(pid) - cpu0:.0f} s, "
            f"load {_loadavg()})")

    refresh_rollups(UnitOfWork(make_session_factory(engine)), END, full=True, progress=progress)
    out = {"wall_s": time.perf_counter() - t0, "backend_cpu_s": _backend_cpu_s(pid) - cpu0,
           "python_cpu_s": time.process_time() - c0}
    engine.dispose()
    with psycopg.connect(pg_url(db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE evaluation_rollups")
        conn.execute("VACUUM ANALYZE evaluation_event_facts")
    return out


def _database_exists(db: str) -> bool:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is not None


def prepare(size: int, resume: bool) -> None:
    """Database, events and roll-ups for ``size``; with ``resume``, keep what an earlier run made."""
    db = db_name(size)
    if not (resume and _database_exists(db)):
        log(f"creating {db}")
        create(db)
    seeded = fill(db, size)
    log(f"{db}: {size:,} events in place ({seeded:.0f} s); building the roll-ups")
    built = build_rollups(db)
    log(f"{db}: roll-ups built in {built['wall_s']:.0f} s (backend CPU {built['backend_cpu_s']:.0f} s)")
    if size >= 1_000_000 and size % 1_000_000 == 0:
        record(f"evaluation_rollup_full_build_s_{label(size).upper()}", round(built["wall_s"], 1), "s", None,
               "lower", database=sa_url(db), volume={"events_stored": size},
               backend_cpu_s=round(built["backend_cpu_s"], 1), python_cpu_s=round(built["python_cpu_s"], 1))


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def queries(db: str) -> dict[str, Callable[[], Any]]:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services import evaluation as ev
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.unit_of_work import UnitOfWork

    factory = make_session_factory(make_engine(sa_url(db)))
    with psycopg.connect(pg_url(db)) as conn:
        cls = conn.execute(
            "SELECT code FROM event_classes WHERE default_mode='handle' ORDER BY id LIMIT 1").fetchone()[0]

    def u() -> UnitOfWork:
        return UnitOfWork(factory)

    a = {"area": "500111", "period": MONTH}
    return {
        "towns": lambda: ev.figures(u(), SYSTEM, **a, group_by="area"),
        "by_unit": lambda: ev.figures(u(), SYSTEM, **a, group_by="unit"),
        "by_department": lambda: ev.figures(u(), SYSTEM, **a, group_by="unit", unit_kind="department"),
        "by_class": lambda: ev.figures(u(), SYSTEM, **a, group_by="class"),
        "by_source": lambda: ev.figures(u(), SYSTEM, **a, group_by="source"),
        "towns_one_class": lambda: ev.figures(u(), SYSTEM, **a, group_by="area", event_class=cls),
        "towns_class_and_source": lambda: ev.figures(u(), SYSTEM, **a, group_by="area", event_class=cls,
                                                     source="hotline"),
        "colour_map_towns": lambda: ev.colour_map(u(), SYSTEM, **a),
        "colour_map_units": lambda: ev.colour_map(u(), SYSTEM, **a, by="unit"),
        "ranking_units": lambda: ev.rankings(u(), SYSTEM, **a, by="unit"),
        "ranking_towns": lambda: ev.rankings(u(), SYSTEM, **a, by="area"),
    }


def time_queries(db: str) -> dict[str, float]:
    out = {}
    for name, run in queries(db).items():
        run()  # warm caches and the connection pool
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            result = run()
            times.append((time.perf_counter() - t0) * 1000)
        assert result, name
        out[name] = statistics.median(times)
        log(f"  {db} {name}: {out[name]:.1f} ms")
    return out


def time_http_cold(db: str) -> dict[str, float]:
    """The evaluation page's requests over HTTP as the district's duty officer, each asked first on a
    freshly started API process (its caches empty; PostgreSQL's buffers as the earlier queries left them):
    ms per request."""
    import socket
    import subprocess

    import httpx

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.security.tokens import mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(sa_url(db))
    token = mint_token_for(UnitOfWork(make_session_factory(engine)), "duty.district", name="bench-evaluation")
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "shuzhi.entrypoints.api.app:create_app", "--factory", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "SHUZHI_DATABASE_URL": sa_url(db)})
    out: dict[str, float] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        page = {"colour_map": f"/api/evaluation/colour-map?period={MONTH}&by=area&area=500111",
                "rankings": f"/api/evaluation/rankings?period={MONTH}&by=unit&area=500111",
                "figures_by_town": f"/api/evaluation/figures?period={MONTH}&area=500111&group_by=area"}
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            for name, path in page.items():
                t0 = time.perf_counter()
                r = client.get(path)
                out[name] = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
                log(f"  {db} cold over HTTP {name}: {out[name]:.0f} ms")
    finally:
        server.terminate()
        server.wait(30)
    return out


def rollup_reads(db: str) -> dict[str, dict[str, Any]]:
    """For each query, the roll-up statements it runs, explained: pages touched (shared buffers hit or
    read) and rows read — figures that do not depend on the machine's load, unlike milliseconds."""
    import json

    from sqlalchemy import event

    from shuzhi.adapters.db.engine import make_engine

    seen: list[tuple[str, Any]] = []
    out: dict[str, dict[str, Any]] = {}
    engine = make_engine(sa_url(db))

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "evaluation_rollups" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine.__class__, "before_cursor_execute", capture)
    try:
        for name, run in queries(db).items():
            seen.clear()
            run()
            pages = rows = 0
            plans = []
            with psycopg.connect(pg_url(db)) as conn:
                for statement, parameters in seen:
                    plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement,
                                        parameters).fetchone()[0]
                    top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
                    pages += top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
                    rows += _rows_read(top)
                    plans.append(_scan_summary(top))
            out[name] = {"statements": len(seen), "pages": pages, "rows_read": rows, "scans": plans}
            log(f"  {db} {name}: {len(seen)} roll-up statement(s), {pages} pages, {rows} rows read; {plans}")
    finally:
        event.remove(engine.__class__, "before_cursor_execute", capture)
        engine.dispose()
    return out


def _rows_read(node: dict[str, Any]) -> int:
    """Rows produced by the scans at the leaves of a plan (what was read from the table)."""
    kids = node.get("Plans", [])
    if not kids:
        return int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
    return sum(_rows_read(k) for k in kids)


def _scan_summary(node: dict[str, Any]) -> list[str]:
    if "Scan" in node.get("Node Type", ""):
        return [f"{node['Node Type']} {node.get('Index Name', node.get('Relation Name', ''))}".strip()]
    return [s for k in node.get("Plans", []) for s in _scan_summary(k)]


def time_report(db: str) -> float:
    from datetime import date

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.reports import generate_report
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(sa_url(db))
    t0 = time.perf_counter()
    generate_report(UnitOfWork(make_session_factory(engine)), SYSTEM, "monthly", day=date(2025, 6, 1),
                    area="500111", refresh=False)
    engine.dispose()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--quick", action="store_true", help="20k and 100k events: a smoke run")
    parser.add_argument("--reuse", action="store_true", help="measure the databases an earlier run prepared")
    parser.add_argument("--prepare-only", action="store_true", help="prepare the databases and stop")
    args = parser.parse_args()
    sizes = [20_000, 100_000] if args.quick else sorted(args.sizes)
    for size in sizes:
        # reused while its fingerprint (schema head, events, history's end) matches and it is complete
        fp = fingerprint("evaluation", events=size, end=END.isoformat())
        log(explain(ADMIN_URL, sa_url(db_name(size)), fp))
        if not (matches(ADMIN_URL, sa_url(db_name(size)), fp) and is_ready(db_name(size), size)):
            prepare(size, resume=False)
            mark(ADMIN_URL, sa_url(db_name(size)), fp)
    if args.prepare_only:
        return
    slowest: dict[int, float] = {}
    for size in sizes:
        times = time_queries(db_name(size))
        reads = rollup_reads(db_name(size))
        slowest[size] = max(times.values())
        cold = time_http_cold(db_name(size))
        record(f"evaluation_cold_http_ms_{label(size).upper()}", round(max(cold.values()), 1), "ms", 500, "lower",
               database=sa_url(db_name(size)),
               volume={"events_stored": size, "area": "district (27 towns)", "period": MONTH,
                       "person": "duty.district", "api": "fresh process, first request of each"},
               requests={k: round(v, 1) for k, v in cold.items()})
        record(f"evaluation_27_towns_month_ms_{label(size).upper()}", round(slowest[size], 1), "ms", 500,
               "lower", database=sa_url(db_name(size)),
               volume={"events_stored": size, "towns": 27, "period": "one month", "path": "service in process"},
               queries={k: round(v, 1) for k, v in times.items()},
               pages={k: v["pages"] for k, v in reads.items()},
               rows_read={k: v["rows_read"] for k, v in reads.items()})
    report_s = time_report(db_name(sizes[-1]))
    log(f"monthly report of the district: {report_s:.1f} s")
    record("evaluation_monthly_report_s", round(report_s, 2), "s", 30, "lower", database=sa_url(db_name(sizes[-1])),
           volume={"events_stored": sizes[-1]})
    if len(sizes) > 1:
        ratio = slowest[sizes[-1]] / slowest[sizes[0]]
        record("evaluation_query_growth_10x_history", round(ratio, 2), "×", 2.0, "lower",
               database=sa_url(db_name(sizes[-1])), volume={"events_stored": sizes},
               ratio={"numerator": {"label": f"{sizes[-1]:,} events", "value": round(slowest[sizes[-1]], 1),
                                    "unit": "ms"},
                      "denominator": {"label": f"{sizes[0]:,} events", "value": round(slowest[sizes[0]], 1),
                                      "unit": "ms"}})


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
