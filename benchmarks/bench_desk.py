"""抄送知悉 at the centre's real volume, on PostgreSQL.

Figures (issue 18, "The desk"):

* copying one notice to 1,031 towns (every town and street of Chongqing) takes ≤ 1 s — the real
  :func:`shuzhi.services.handling.notify`, from loading the event to the commit, through a copy list;
* the inbox of a district centre with 100,000 unread copies opens in ≤ 300 ms — the real
  :func:`shuzhi.services.cockpit.my_tasks` (what ``GET /api/my/tasks`` and the handler's page call),
  and the desk's inbox page: :func:`shuzhi.services.desk.inbox` (its first page of unread items) and
  :func:`shuzhi.services.desk.counts` (the header's figures), as ``/inbox`` asks for them.

Setup: a fresh database (``SHUZHI_BENCH_DESK_DB``, default ``bench_desk``) with a city, one district
and 1,031 towns, each with its centre; the 100,000 copies to the district centre are seeded with
set-based ``INSERT … SELECT generate_series``. Each figure is the median of several runs.
Run: ``.venv/bin/python benchmarks/bench_desk.py [--quick]`` (``--quick``: fewer repeats; the figures
are labelled with the machine's load, see ``--label``).
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
DB = os.environ.get("SHUZHI_BENCH_DESK_DB", "bench_desk")
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
TOWNS = 1031
COPIES = 100_000


def fresh_schema() -> None:
    from shuzhi.adapters.db.engine import make_engine
    from shuzhi.adapters.db.tables import Base

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    Base.metadata.create_all(engine)
    engine.dispose()


def seed(conn: psycopg.Connection) -> None:
    """City, district, 1,031 towns with their centres, the notice class, the district's 100,000 copies."""
    from sqlalchemy import insert

    from shuzhi.adapters.db.engine import make_engine
    from shuzhi.adapters.db.tables import Area, EventClass, Unit

    now = datetime.now(UTC)
    engine = make_engine(URL)
    with engine.begin() as c:  # the reference rows through the tables' own defaults
        c.execute(insert(Area), [
            {"id": 1, "code": "500000", "name": "重庆市", "level": "city", "parent_id": None, "path": "/500000/"},
            {"id": 2, "code": "500111", "name": "大足区", "level": "district", "parent_id": 1,
             "path": "/500000/500111/"},
            *({"id": 10 + g, "code": f"500111{g:03d}", "name": f"镇街{g}", "level": "town", "parent_id": 2,
               "path": f"/500000/500111/500111{g:03d}/"} for g in range(1, TOWNS + 1))])
        c.execute(insert(Unit), [
            {"id": 1, "code": "C500000", "name": "市中心", "kind": "centre", "level": "city", "area_id": 1},
            {"id": 2, "code": "C500111", "name": "大足区中心", "kind": "centre", "level": "district", "area_id": 2,
             "parent_id": 1},
            *({"id": 10 + g, "code": f"T{g:04d}", "name": f"镇街中心{g}", "kind": "centre", "level": "town",
               "area_id": 10 + g, "parent_id": 2} for g in range(1, TOWNS + 1))])
        c.execute(insert(EventClass).values(id=1, code="9001", name="停水通知", kind="event", major_code="90",
                                            major_name="信息通报", default_mode="notify", default_urgency="normal"))
    engine.dispose()
    conn.execute(
        "INSERT INTO events (id, number, source, event_class_id, title, description, area_id, area_path, urgency, "
        "mode, state, owner_unit_id, self_handled, rework_count, return_count, received_at, dispatched_at, "
        "updated_at, version) SELECT g, '500111-20261207-' || lpad(g::text, 6, '0'), 'legacy_system', 1, "
        "'通知' || g, '', 2, '/500000/500111/', 'normal', 'notify', 'notifying', 1, false, 0, 0, "
        "%(now)s - g * interval '1 minute', %(now)s - g * interval '1 minute', %(now)s, 1 "
        "FROM generate_series(1, %(n)s) g", {"now": now, "n": COPIES})
    conn.execute(
        "INSERT INTO tasks (id, event_id, unit_id, role, state, dispatched_by_unit_id, dispatched_by, "
        "dispatched_at, rework_count, updated_at, version) SELECT g, g, 2, 'notify', 'notified', 1, '市中心', "
        "%(now)s - g * interval '1 minute', 0, %(now)s, 1 FROM generate_series(1, %(n)s) g",
        {"now": now, "n": COPIES})
    for table in ("areas", "units", "event_classes", "events", "tasks"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    conn.execute("ANALYZE")


def copy_figure(repeats: int) -> list[float]:
    from sqlalchemy import insert

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Event
    from shuzhi.services import commands as c
    from shuzhi.services import copy_lists, handling
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    factory = make_session_factory(engine)
    actor = Actor(code="duty", name="值班员", unit_id=1, permissions=ALL_PERMISSIONS, area_paths=None)
    towns = copy_lists.create(UnitOfWork(factory), copy_lists.CopyListIn(
        name="全市镇街", unit_codes=[f"T{g:04d}" for g in range(1, TOWNS + 1)]), actor)
    times = []
    for i in range(repeats + 1):  # the first run warms the caches and the connection pool
        with factory() as s:
            number = f"500000-20261207-{i + 1:06d}"
            s.execute(insert(Event).values(
                number=number, source="legacy_system", event_class_id=1, title="全市停水通知", area_id=1,
                area_path="/500000/", urgency="normal", mode="notify", state="registered", owner_unit_id=1,
                received_at=datetime.now(UTC)))
            s.commit()
        start = time.perf_counter()
        ev = handling.notify(UnitOfWork(factory), number, c.Notify(copy_lists=[towns.id]), actor)
        elapsed = time.perf_counter() - start
        assert len(ev.tasks) == TOWNS and ev.state == "notifying"
        if i:
            times.append(elapsed)
    engine.dispose()
    return times


def inbox_figure(repeats: int) -> list[float]:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services import cockpit
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    factory = make_session_factory(engine)
    actor = Actor(code="district", name="区值班员", unit_id=2, permissions=ALL_PERMISSIONS,
                  area_paths=("/500000/500111/",))
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        rows = cockpit.my_tasks(UnitOfWork(factory), actor)
        elapsed = time.perf_counter() - start
        assert len(rows) == 200 and all(r.role == "notify" and "read" in r.allowed_actions for r in rows)
        if i:
            times.append(elapsed)
    engine.dispose()
    return times


def desk_inbox_figure(repeats: int) -> list[float]:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services import desk
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    factory = make_session_factory(engine)
    actor = Actor(code="district", name="区值班员", unit_id=2, permissions=ALL_PERMISSIONS,
                  area_paths=("/500000/500111/",))
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        items = desk.inbox(UnitOfWork(factory), actor, box="down", unread=True, limit=50)
        counts = desk.counts(UnitOfWork(factory), actor)
        elapsed = time.perf_counter() - start
        assert len(items) == 50 and all(x.kind == "copy" and x.unread for x in items)
        assert counts.unread_copies >= COPIES
        if i:
            times.append(elapsed)
    engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 10 (a smoke run)")
    parser.add_argument("--label", default="under load",
                        help="how the machine was when measured (full figures: 'idle')")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    fresh_schema()
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        seed(conn)
    # _results records the machine's load, the commit and the quick flag (--quick → results-quick.json)
    volume = {"towns": TOWNS, "copies_to_the_district": COPIES, "repeats": repeats}
    extra = {"label": args.label, "engine": "postgresql"}
    copies = copy_figure(repeats)
    record(f"desk_copy_notice_to_{TOWNS}_towns_s", round(statistics.median(copies), 3), "s", 1.0, "lower",
           samples=copies, volume=volume, database=URL, **extra)
    inbox = [x * 1000 for x in inbox_figure(repeats)]
    record(f"desk_inbox_with_{COPIES // 1000}k_unread_copies_ms", round(statistics.median(inbox), 1), "ms", 300.0,
           "lower", samples=inbox, volume=volume, database=URL, **extra)
    page = [x * 1000 for x in desk_inbox_figure(repeats)]
    record(f"desk_inbox_page_with_{COPIES // 1000}k_unread_copies_ms", round(statistics.median(page), 1), "ms",
           300.0, "lower", samples=page, volume=volume, database=URL, **extra)

if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
