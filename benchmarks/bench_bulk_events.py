"""Bulk import and export of 100,000 events from a CSV file on PostgreSQL.

Figure (issue: Integration): 100,000 rows in ≤ 60 s, through the service the CLI and the API use —
file read, every row checked, located in the demo district's 2,000+ grids, numbered, owned, first
timeline line written — then a second import of the same file (everything skipped) and an export of
everything to CSV.

Setup: a dedicated database ``bench_integration`` (created fresh), the demo district imported through
the real importers. Run: ``.venv/bin/python benchmarks/bench_bulk_events.py [--rows 100000] [--quick]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_BENCH_BULK_DB", "bench_integration")
URL = f"postgresql+psycopg://postgres@localhost/{DB}"


def prepare() -> list[tuple[float, float, str]]:
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
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        grids = conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level='grid'").fetchall()
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE active")]
    rng = random.Random(11)
    return [(g[0], g[1], rng.choice(classes)) for g in grids]


def make_csv(rows: int, points: list[tuple[float, float, str]]) -> bytes:
    rng = random.Random(5)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["外部编号", "来源", "类别编码", "标题", "描述", "经度", "纬度", "地址", "报告人", "联系电话",
                "受理时间"])
    for i in range(rows):
        lon, lat, cls = rng.choice(points)
        day = 1 + i % 28
        w.writerow([f"OLD-{i:07d}", "legacy_system", cls, f"存量系统案卷 {i}", "从旧系统迁移的历史案卷",
                    f"{lon:.6f}", f"{lat:.6f}", "大足区某路某号", "李明", f"138{i % 100_000_000:08d}",
                    f"2024-05-{day:02d} {8 + i % 10:02d}:{i % 60:02d}"])
    return buf.getvalue().encode("utf-8-sig")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 rows: a smoke run")
    args = parser.parse_args()
    rows = 2_000 if args.quick else args.rows

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.tabular import read_table
    from shuzhi.services import bulk_events
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.queries import EventFilter
    from shuzhi.services.unit_of_work import UnitOfWork

    points = prepare()
    data = make_csv(rows, points)
    print(f"{rows} rows, {len(data) / 1e6:.1f} MB CSV, {len(points)} grids")
    uow = UnitOfWork(make_session_factory(make_engine(URL)))

    load = os.getloadavg()[0]
    t0, cpu0 = time.perf_counter(), time.process_time()
    table = read_table(data, "events.csv")
    report = bulk_events.import_events(uow, SYSTEM, table, label="bench")
    took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert report.created == rows and not report.errors, (report.created, report.errors[:3])

    t1 = time.perf_counter()
    again = bulk_events.import_events(uow, SYSTEM, read_table(data, "events.csv"), label="bench")
    reimport = time.perf_counter() - t1
    assert again.created == 0 and again.skipped == rows

    t2 = time.perf_counter()
    size = sum(len(c) for c in bulk_events.csv_chunks(bulk_events.export_events(uow, SYSTEM, EventFilter())))
    export = time.perf_counter() - t2

    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        stored, numbers, lines, located = conn.execute(
            "SELECT count(*), count(DISTINCT number), (SELECT count(*) FROM timeline_entries), "
            "count(area_id) FROM events").fetchone()
    assert stored == numbers == lines == rows, (stored, numbers, lines)
    print(f"import {took:.1f} s ({rows / took:,.0f} rows/s; this process's CPU {cpu:.1f} s; load average "
          f"{load:.1f} on {os.cpu_count()} cores), {located} located; re-import {reimport:.1f} s; "
          f"export {export:.1f} s ({size / 1e6:.1f} MB)")
    if not args.quick:
        record("bulk_import_events_s", round(took, 1), "s", 60, "lower", rows=rows, rows_per_s=round(rows / took),
               reimport_s=round(reimport, 1), export_s=round(export, 1), client_cpu_s=round(cpu, 1),
               load_average=round(load, 1), engine="postgresql")


if __name__ == "__main__":
    main()
