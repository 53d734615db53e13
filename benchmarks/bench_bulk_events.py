"""Bulk import and export of 100,000 events from a CSV file on PostgreSQL.

Figure (issue: Integration): 100,000 rows in ≤ 60 s, through the service the CLI and the API use —
file read, every row checked, located in the demo district's 2,000+ grids, numbered, owned, first
timeline line written — then a second import of the same file (everything skipped) and an export of
everything to CSV.

Both formats: the same rows as CSV and as XLSX (each imported into an empty ``events`` table, each
exported again); wall time and this process's CPU seconds for each step (the CPU figure does not depend
on the load others put on the machine).

Setup: a dedicated database ``bench_integration`` (created fresh), the demo district imported through
the real importers. ``--prepare-only`` builds it; ``--reuse`` measures against it (imported events are
deleted first, so every run starts from the district alone). Run: ``.venv/bin/python
benchmarks/bench_bulk_events.py [--rows 100000] [--reuse] [--formats csv,xlsx] [--quick]``.
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
from _prepared import explain, fingerprint, mark, matches
from _results import finish, record

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


def world() -> list[tuple[float, float, str]]:
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        grids = conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level='grid' ORDER BY code").fetchall()
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE active ORDER BY code")]
    rng = random.Random(11)
    return [(g[0], g[1], rng.choice(classes)) for g in grids]


def empty_events() -> None:
    """Back to the district alone: the events (and what hangs off them) of an earlier run deleted."""
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        # numbers keep counting up from the earlier run (event_sequences), so they stay unique
        # the append-only records name events without a foreign key (migration 0014): emptied by name
        conn.execute("TRUNCATE events, timeline_entries, supervision_steps, notifications, outbox CASCADE")
        conn.execute("VACUUM ANALYZE events")


def make_xlsx(data: bytes) -> bytes:
    """The same rows as a workbook (write-only: built in constant memory)."""
    from openpyxl import Workbook

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("events")
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def server_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to the benchmark database (read
    from /proc: the server runs here). Like the client's CPU, it does not depend on others' load."""
    tick = os.sysconf("SC_CLK_TCK")
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # not on this machine, or gone
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def timed(step: object) -> tuple[object, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = step()  # type: ignore[operator]
    return result, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 rows: a smoke run")
    parser.add_argument("--reuse", action="store_true", help="measure against the database a previous run prepared")
    parser.add_argument("--prepare-only", action="store_true", help="prepare the database and stop")
    parser.add_argument("--formats", default="csv,xlsx", help="csv, xlsx or both")
    args = parser.parse_args()
    rows = 2_000 if args.quick else args.rows

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.tabular import read_table
    from shuzhi.services import bulk_events
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.queries import EventFilter
    from shuzhi.services.unit_of_work import UnitOfWork

    # reused while its fingerprint (schema head, seed) matches; --reuse is kept for old commands
    fp = fingerprint("bulk", seed=1)
    print(explain(ADMIN_URL, URL, fp), flush=True)
    if matches(ADMIN_URL, URL, fp):
        points = world()
    else:
        points = prepare()
        mark(ADMIN_URL, URL, fp)
    if args.prepare_only:
        return
    data = make_csv(rows, points)
    files = {"csv": ("events.csv", data)}
    if "xlsx" in args.formats:
        files["xlsx"] = ("events.xlsx", make_xlsx(data))
    print(f"{rows} rows, {len(data) / 1e6:.1f} MB CSV, {len(points)} grids")
    uow = UnitOfWork(make_session_factory(make_engine(URL)))
    figures: dict[str, dict[str, float]] = {}
    for fmt in [f for f in ("csv", "xlsx") if f in args.formats]:
        name, content = files[fmt]
        empty_events()
        load = os.getloadavg()[0]
        table, read_s, read_cpu = timed(lambda n=name, c=content: read_table(c, n))
        server0 = server_cpu()
        report, store_s, store_cpu = timed(lambda t=table: bulk_events.import_events(uow, SYSTEM, t, label="bench"))
        server = server_cpu() - server0
        took, cpu = read_s + store_s, read_cpu + store_cpu
        assert report.created == rows and not report.errors, (report.created, report.errors[:3])  # type: ignore[attr-defined]
        again, reimport, _ = timed(lambda n=name, c=content: bulk_events.import_events(
            uow, SYSTEM, read_table(c, n), label="bench"))
        assert again.created == 0 and again.skipped == rows  # type: ignore[attr-defined]
        writer = bulk_events.csv_chunks if fmt == "csv" else bulk_events.xlsx_bytes

        def export(w: object = writer) -> int:
            out = w(bulk_events.export_events(uow, SYSTEM, EventFilter()))  # type: ignore[operator]
            return len(out) if isinstance(out, bytes) else sum(len(c) for c in out)

        size, export_s, export_cpu = timed(export)
        with psycopg.connect(URL.replace("+psycopg", "")) as conn:
            stored, numbers, lines, located = conn.execute(
                "SELECT count(*), count(DISTINCT number), (SELECT count(*) FROM timeline_entries), "
                "count(area_id) FROM events").fetchone()
        assert stored == numbers == lines == rows, (stored, numbers, lines)
        print(f"{fmt}: import {took:.1f} s ({rows / took:,.0f} rows/s; file read {read_s:.1f} s; this process's CPU "
              f"{cpu:.1f} s = {cpu / rows * 1e6:.0f} µs/row; PostgreSQL backends' CPU {server:.1f} s; "
              f"load average {load:.1f} on {os.cpu_count()} cores), "
              f"{located} located; re-import {reimport:.1f} s; export {export_s:.1f} s, CPU {export_cpu:.1f} s "
              f"({int(size) / 1e6:.1f} MB)")  # type: ignore[call-overload]
        figures[fmt] = {"import_s": round(took, 1), "read_s": round(read_s, 1), "client_cpu_s": round(cpu, 1),
                        "cpu_us_per_row": round(cpu / rows * 1e6), "server_cpu_s": round(server, 1),
                        "rows_per_s": round(rows / took),
                        "reimport_s": round(reimport, 1), "export_s": round(export_s, 1),
                        "export_cpu_s": round(export_cpu, 1), "load_average": round(load, 1)}
    # a quick run goes to results-quick.json (the record decides), never to results.json
    main_fmt = "csv" if "csv" in figures else next(iter(figures))
    f = figures[main_fmt]
    record("bulk_import_events_s", f["import_s"], "s", 60, "lower", database=URL,
           volume={"rows": rows, "format": main_fmt, "grids": len(points), "csv_bytes": len(data)},
           rows_per_s=f["rows_per_s"], reimport_s=f["reimport_s"], export_s=f["export_s"],
           client_cpu_s=f["client_cpu_s"], server_cpu_s=f["server_cpu_s"], formats=figures)


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
