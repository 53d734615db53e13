"""Ledgers (台账) on PostgreSQL: a ledger of 10,000 items with 50 custom columns, and a district's bulletin.

Figures (issue 23):

* ``ledger_open_filtered_ms`` — the ledger opens filtered in ≤ 300 ms: what ``GET /api/ledgers/{code}/items``
  does — :func:`browse.list_items` (scope, the filters, the five-colour counts over every match, the first
  page of 50 in full, every custom value) and the page written as the response's JSON — as a district
  dispatcher, median over several typical filters (a custom choice column, a custom number column, a
  colour, a unit, a text search, none);
* ``ledger_bulletin_s`` — a period's bulletin for a district in ≤ 5 s: the district centre publishes the
  month's bulletin of its ledger (:func:`bulletin.publish`: ranking with the previous period, overdue
  and stalled lists, the five colours, stored and sent to the 50 peers) and the published bulletin is
  drawn as the Word, Excel and HTML files its peers download (:func:`bulletin.get_bulletin`,
  :func:`bulletin.render`). Each repeat starts with no chart kept (a new bulletin draws its chart once).

The items are written set-based (not through the services, which would take an hour here): 30 towns and
20 departments as lead units, 50 typed custom values each, six months of reporting slots (about a
fifth answered late or never), some reopened. Run: ``.venv/bin/python benchmarks/bench_ledgers.py``
(``SHUZHI_BENCH_LEDGERS_DB``, default ``bench_ledgers``, is dropped and recreated). ``--quick`` (figures
to ``results-quick.json``) keeps the goals' volume — 10,000 items written set-based are cheap — and repeats
less: the figures are about that volume, and 1,000 items said nothing about it.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, is_quick, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_BENCH_LEDGERS_DB", "bench_ledgers")
ITEMS = 10_000  # the goals' volume, --quick too (cheap to write; the figures are about it)
REPEATS = 5 if not is_quick() else 3  # per filter
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
COLUMNS = 50
NOW = datetime(2026, 6, 20, 4, 0, tzinfo=UTC)


def prepare() -> object:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Area, Base, Unit
    from shuzhi.adapters.db.tables_ledgers import (
        Ledger,
        LedgerItem,
        LedgerItemAssist,
        LedgerReportSlot,
        LedgerTimelineEntry,
    )

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    rng = random.Random(23)
    with factory() as s:
        city = Area(code="500000", name="重庆市", level="city", path="/500000/")
        s.add(city)
        s.flush()
        district = Area(code="500111", name="大足区", level="district", parent_id=city.id, path="/500000/500111/")
        s.add(district)
        s.flush()
        centre = Unit(code="C500111", name="大足区城市运行和治理中心", kind="centre", level="district",
                      area_id=district.id)
        s.add(centre)
        leads: list[tuple[int, str]] = []
        for i in range(1, 31):
            code = f"500111{i:03d}"
            a = Area(code=code, name=f"第{i}镇街", level="town", parent_id=district.id, path=f"/500000/500111/{code}/")
            s.add(a)
            s.flush()
            u = Unit(code=f"C{code}", name=f"第{i}镇街治理中心", kind="centre", level="town", area_id=a.id)
            s.add(u)
            s.flush()
            leads.append((u.id, a.path))
        for i in range(20):
            u = Unit(code=f"D500111-{i:02d}", name=f"区部门{i:02d}", kind="department", level="district",
                     area_id=district.id)
            s.add(u)
            s.flush()
            leads.append((u.id, district.path))
        s.flush()
        choices = ["经济", "民生", "生态", "治理", "党建"]
        columns = []
        for c in range(COLUMNS):
            kind = ["text", "number", "date", "choice", "bool"][c % 5]
            col = {"key": f"c{c:02d}", "label": f"自定义列{c:02d}", "type": kind, "required": False,
                   "choices": choices if kind == "choice" else []}
            columns.append(col)
        ledger = Ledger(code="BENCH", name="基准台账", kind="key_task", owner_unit_id=centre.id, visibility="peers",
                        schedule="monthly", columns=columns, import_mapping={}, unit_aliases={}, import_layout={},
                        created_by="bench", created_at=NOW - timedelta(days=200), updated_at=NOW)
        s.add(ledger)
        s.commit()
        ledger_id = ledger.id

    def value(c: int) -> object:
        kind = c % 5
        if kind == 0:
            return f"说明文字{rng.randrange(1000)}"
        if kind == 1:
            return rng.randrange(0, 5000)
        if kind == 2:
            return (date(2026, 1, 1) + timedelta(days=rng.randrange(365))).isoformat()
        if kind == 3:
            return rng.choice(choices)
        return rng.random() < 0.5

    states = ["open"] * 2 + ["in_progress"] * 12 + ["pending_sign_off"] + ["closed"] * 5
    rows = []
    for n in range(1, ITEMS + 1):
        lead, path = rng.choice(leads)
        created = NOW - timedelta(days=rng.randrange(20, 200))
        state = rng.choice(states)
        rows.append({"id": n, "ledger_id": ledger_id, "parent_id": None, "path": f"/{n}/", "depth": 0, "number": str(n),
                     "kind": "task", "title": f"重点任务{n}：推进改革事项{rng.randrange(10000)}", "state": state,
                     "lead_unit_id": lead, "area_path": path, "leader_name": f"领导{rng.randrange(12)}",
                     "person_name": None, "milestones": [{"title": "制定方案", "due": None, "done_on": None}],
                     "time_limit": (NOW - timedelta(days=rng.randrange(-200, 60))).date(),
                     "progress": 100 if state == "closed" else rng.randrange(0, 95),
                     "own_progress": 0, "fields": {f"c{c:02d}": value(c) for c in range(COLUMNS)},
                     "created_at": created, "updated_at": created,
                     "last_progress_at": created + timedelta(days=rng.randrange(0, 19)),
                     "closed_at": NOW - timedelta(days=rng.randrange(1, 20)) if state == "closed" else None,
                     "reopen_count": 0, "version": 1})
    slots, assists, reopen = [], [], []
    for r in rows:
        for m in range(1, 7):
            due = datetime(2026, m, 28, 10, 0, tzinfo=UTC)
            late = rng.random()
            slots.append({"item_id": r["id"], "ledger_id": ledger_id, "unit_id": r["lead_unit_id"],
                          "period": f"2026-{m:02d}", "period_start": date(2026, m, 1), "period_end": date(2026, m, 28),
                          "due_at": due, "reported_at": None if late < 0.08 else due + timedelta(
                              days=3 if late < 0.2 else -2)})
        if r["id"] % 4 == 0:
            assists.append({"item_id": r["id"], "unit_id": rng.choice(leads)[0]})
        if r["id"] % 97 == 0:
            reopen.append({"item_id": r["id"], "ledger_id": ledger_id, "at": NOW - timedelta(days=5), "actor": "bench",
                           "action": "item.reopen", "payload": {}})
    with engine.begin() as conn:
        for i in range(0, len(rows), 1000):
            conn.execute(insert(LedgerItem), rows[i:i + 1000])
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('ledger_items', 'id'), {ITEMS})")
        for i in range(0, len(slots), 5000):
            conn.execute(insert(LedgerReportSlot), slots[i:i + 5000])
        conn.execute(insert(LedgerItemAssist), assists)
        conn.execute(insert(LedgerTimelineEntry), reopen)
        conn.exec_driver_sql("ANALYZE")
    return factory, centre_actor(factory)


def centre_actor(factory: object) -> object:
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor

    with factory() as s:  # type: ignore[operator]
        from sqlalchemy import select

        from shuzhi.adapters.db.tables import Unit

        unit_id = s.scalar(select(Unit.id).where(Unit.code == "C500111"))
    return Actor(code="bench", name="区中心调度员", person_id=None, unit_id=unit_id, role="dispatcher",
                 permissions=ALL_PERMISSIONS, area_paths=("/500000/500111/",))


def main() -> int:
    from shuzhi.adapters import report_files
    from shuzhi.services.ledgers import browse, bulletin
    from shuzhi.services.unit_of_work import UnitOfWork

    started = time.monotonic()
    factory, actor = prepare()
    print(f"prepared {ITEMS} items × {COLUMNS} columns in {time.monotonic() - started:.0f} s")

    def uow() -> UnitOfWork:
        return UnitOfWork(factory)  # type: ignore[arg-type]

    filters = [
        browse.ItemFilter(fields={"c03": "民生"}),
        browse.ItemFilter(colour=["red"]),
        browse.ItemFilter(unit="C500111007"),
        browse.ItemFilter(q="推进改革事项12"),
        browse.ItemFilter(fields={"c01": "1200"}, view="all"),
        browse.ItemFilter(),
    ]
    today = NOW.date()
    browse.list_items(uow(), "BENCH", filters[0], actor, today=today)  # warm the caches and the pool
    per_filter = []
    for f in filters:
        times = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            page = browse.list_items(uow(), "BENCH", f, actor, today=today)
            body = page.model_dump_json()  # the route's response
            times.append((time.perf_counter() - t0) * 1000)
        per_filter.append({"filter": f.model_dump(exclude_defaults=True),
                           "median_ms": round(statistics.median(times), 1), "matches": page.total,
                           "page_items": len(page.items), "response_bytes": len(body)})
    medians = [p["median_ms"] for p in per_filter]
    record("ledger_open_filtered_ms", max(medians), "ms", 300, "lower", samples=medians, database=URL,
           volume={"items": ITEMS, "custom_columns": COLUMNS}, page=50, per_filter=per_filter,
           statistic=f"worst filter's median of {REPEATS}")

    times, phases = [], []
    peer = peer_actor(factory)
    for _ in range(3):
        report_files.clear_charts()  # a new bulletin: its chart is drawn once, for the HTML and the Word file
        t0 = time.perf_counter()
        b = bulletin.publish(uow(), "BENCH", actor, period_kind="monthly", day="2026-06-20", now=NOW)
        t1 = time.perf_counter()
        published = bulletin.get_bulletin(uow(), "BENCH", b.id or 0, peer)
        phase = {"publish_s": round(t1 - t0, 3)}
        for fmt in ("html", "xlsx", "docx"):
            t2 = time.perf_counter()
            bulletin.render(published, fmt)
            phase[f"{fmt}_s"] = round(time.perf_counter() - t2, 3)
        times.append(time.perf_counter() - t0)
        phases.append(phase)
    record("ledger_bulletin_s", round(statistics.median(times), 2), "s", 5, "lower", samples=times, database=URL,
           volume={"items": ITEMS, "units": len(b.content["ranking"]), "overdue": b.content["totals"]["overdue"],
                   "overdue_listed": len(b.content["overdue"]), "stalled": b.content["totals"]["stalled"],
                   "stalled_listed": len(b.content["stalled"])},
           formats=["html", "xlsx", "docx"], phases=phases,
           statistic="median of 3 (publish, then the published bulletin drawn as HTML, Excel and Word)")
    return finish()


def peer_actor(factory: object) -> object:
    """A town's duty officer: a peer the bulletin is published to, who downloads its files."""
    from sqlalchemy import select

    from shuzhi.adapters.db.tables import Unit
    from shuzhi.domain.permissions import ROLE_PERMISSIONS, Role
    from shuzhi.services.actors import Actor

    with factory() as s:  # type: ignore[operator]
        unit_id = s.scalar(select(Unit.id).where(Unit.code == "C500111007"))
    return Actor(code="bench-town", name="镇街值班员", person_id=None, unit_id=unit_id, role="duty_officer",
                 permissions=ROLE_PERMISSIONS[Role.DUTY_OFFICER], area_paths=("/500000/500111/500111007/",))


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    sys.exit(main())
