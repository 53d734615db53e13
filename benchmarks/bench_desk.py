"""抄送知悉 at the centre's real volume, on PostgreSQL and SQLite.

Figures (issue 18, "The desk"):

* ``desk_copy_notice_to_1031_towns_s`` — copying one notice to 1,031 towns (every town and street of
  Chongqing) through a copy list: the real :func:`shuzhi.services.handling.notify`, from loading the
  event to the commit, with every copy's read deadline (working time) and supervision clock; ≤ 1 s;
* ``desk_inbox_100k_unread_copies_ms`` — the inbox of a district centre holding 100,000 unread copies
  opens: the real :func:`shuzhi.services.inbox.copies` (what ``GET /api/my/copies`` calls), first page
  of 50 and the unread counts; ≤ 300 ms.

Each figure is the median of the repeats; ``--sqlite`` takes the same figures on SQLite (names with
``_sqlite``). Setup: a fresh database (PostgreSQL ``bench_desk``; SQLite a temporary file) with a city,
one district and 1,031 towns, each with its centre; the district centre's 100,000 copies (and their
events) are seeded set-based (``generate_series`` / a recursive CTE), then the tables are analysed.
Run: ``.venv/bin/python benchmarks/bench_desk.py [--sqlite] [--quick]`` (``--quick``: 3 repeats instead of
10, same volumes, into ``results-quick.json``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_BENCH_DESK_DB", "bench_desk")
TOWNS = 1031
COPIES = 100_000


def database(sqlite: bool) -> str:
    if sqlite:
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench_desk_')) / 'desk.db'}"
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    return f"postgresql+psycopg://postgres@localhost/{DB}"


def seed(engine: Any) -> None:
    """City, district, 1,031 towns with their centres, the notice class, the district's 100,000 copies."""
    from sqlalchemy import insert, text

    from shuzhi.adapters.db.tables import Area, EventClass, Unit

    now = datetime.now(UTC)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as c:  # the reference rows through the tables' own defaults
        c.execute(insert(Area), [
            {"id": 1, "code": "500000", "name": "重庆市", "level": "city", "parent_id": None, "path": "/500000/"},
            {"id": 2, "code": "500111", "name": "大足区", "level": "district", "parent_id": 1,
             "path": "/500000/500111/"},
            *({"id": 10 + g, "code": f"500111{g:04d}", "name": f"镇街{g}", "level": "town", "parent_id": 2,
               "path": f"/500000/500111/500111{g:04d}/"} for g in range(1, TOWNS + 1))])
        c.execute(insert(Unit), [
            {"id": 1, "code": "C500000", "name": "市中心", "kind": "centre", "level": "city", "area_id": 1},
            {"id": 2, "code": "C500111", "name": "大足区中心", "kind": "centre", "level": "district", "area_id": 2,
             "parent_id": 1},
            *({"id": 10 + g, "code": f"T{g:04d}", "name": f"镇街中心{g}", "kind": "centre", "level": "town",
               "area_id": 10 + g, "parent_id": 2} for g in range(1, TOWNS + 1))])
        c.execute(insert(EventClass).values(id=1, code="9001", name="停水通知", kind="event", major_code="90",
                                            major_name="信息通报", default_mode="notify", default_urgency="normal"))
        if pg:
            series = "generate_series(1, :n) AS s(g)"
            minutes = "(:now - g * interval '1 minute')"
            due = "(:now - g * interval '1 minute' + interval '1 day')"
            number = "'500111-20261207-' || lpad(g::text, 6, '0')"
            prefix = ""
            params: dict[str, Any] = {"now": now, "n": COPIES}
        else:  # SQLite stores UTCDateTime as naive UTC text
            series = "s"
            minutes = "datetime(:now, '-' || g || ' minutes')"
            due = "datetime(:now, '-' || g || ' minutes', '+1 day')"
            number = "'500111-20261207-' || printf('%06d', g)"
            prefix = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
            params = {"now": now.replace(tzinfo=None).isoformat(sep=" "), "n": COPIES}
        c.execute(text(
            f"{prefix}INSERT INTO events (id, number, source, event_class_id, title, description, area_id, area_path, "
            "urgency, mode, state, owner_unit_id, self_handled, rework_count, return_count, received_at, "
            f"dispatched_at, updated_at, version) SELECT g, {number}, 'legacy_system', 1, '通知' || g, '', 2, "
            f"'/500000/500111/', 'normal', 'notify', 'notifying', 1, false, 0, 0, {minutes}, {minutes}, :now, 1 "
            f"FROM {series}"), params)
        c.execute(text(
            f"{prefix}INSERT INTO tasks (id, event_id, unit_id, role, state, dispatched_by_unit_id, dispatched_by, "
            "dispatched_at, read_due_at, rework_count, updated_at, version) SELECT g, g, 2, 'notify', 'notified', 1, "
            f"'市中心', {minutes}, {due}, 0, :now, 1 FROM {series}"), params)
    with engine.connect() as c:
        if pg:
            c.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("areas", "units", "event_classes", "events", "tasks"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))"))
            c.execute(text("VACUUM ANALYZE"))
        else:
            c.execute(text("ANALYZE"))
            c.commit()


def copy_figure(factory: Any, repeats: int) -> list[float]:
    from sqlalchemy import insert

    from shuzhi.adapters.db.tables import Event
    from shuzhi.services import commands as c
    from shuzhi.services import copy_lists, handling
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor
    from shuzhi.services.unit_of_work import UnitOfWork

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
        assert all(t.read_due_at is not None for t in ev.tasks)
        if i:
            times.append(elapsed)
    return times


def inbox_figure(factory: Any, repeats: int) -> list[float]:
    from shuzhi.services import inbox
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor
    from shuzhi.services.unit_of_work import UnitOfWork

    actor = Actor(code="district", name="区值班员", unit_id=2, person_id=None, permissions=ALL_PERMISSIONS,
                  area_paths=("/500000/500111/",))
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        page = inbox.copies(UnitOfWork(factory), actor, now=datetime.now(UTC) + timedelta(hours=12))
        elapsed = time.perf_counter() - start
        assert page.unread == COPIES and len(page.items) == 50 and page.items[0].task_id == COPIES
        assert 0 < page.unread_overdue < COPIES
        if i:
            times.append(elapsed)
    return times


def desk_inbox_figure(factory: Any, repeats: int) -> list[float]:
    """The desk's inbox page (``/inbox``): its first page of unread items from below and the header's
    counts, as :func:`shuzhi.services.desk.inbox` and :func:`shuzhi.services.desk.counts` give them."""
    from shuzhi.services import desk
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor
    from shuzhi.services.unit_of_work import UnitOfWork

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
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="the same figures on SQLite")
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 10, into results-quick.json")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base

    url = database(args.sqlite)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    seed(engine)
    factory = make_session_factory(engine)
    tag = "_sqlite" if args.sqlite else ""
    volume = {"towns": TOWNS, "unread_copies_of_the_district": COPIES, "events": COPIES, "repeats": repeats}
    copies = copy_figure(factory, repeats)
    record(f"desk_copy_notice_to_{TOWNS}_towns_s{tag}", round(statistics.median(copies), 3), "s", 1.0, "lower",
           volume=volume, database=url, samples=[round(x, 4) for x in copies],
           goal=f"one notice copied to {TOWNS} towns through a copy list (notify, read deadlines, clocks, commit)")
    inbox = inbox_figure(factory, repeats)
    record(f"desk_inbox_{COPIES // 1000}k_unread_copies_ms{tag}", round(statistics.median(inbox) * 1000, 1), "ms",
           300.0, "lower", volume=volume, database=url, samples=[round(x * 1000, 2) for x in inbox],
           goal="a district centre's inbox of copies opens: first page of 50 and the unread counts")
    page = desk_inbox_figure(factory, repeats)
    record(f"desk_inbox_page_{COPIES // 1000}k_unread_copies_ms{tag}", round(statistics.median(page) * 1000, 1), "ms",
           300.0, "lower", volume=volume, database=url, samples=[round(x * 1000, 2) for x in page],
           goal="the desk's inbox page (/inbox): first page of unread items and the header's counts")
    engine.dispose()
    sys.exit(finish())


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()
    main()
