"""Bytes on disk per event and per reading, read off the databases the intake and ingest benchmarks built.

Figures (issue #25, the capacity plan's storage lines): what one stored event costs with everything that
hangs off it, and what one stored reading costs, each with its indexes and TOAST, as PostgreSQL reports
them (``pg_total_relation_size``). ``benchmarks/capacity.py`` multiplies them by the city's rates.

- **Per event**: the case tables — every table carrying ``district_code`` (events, tasks, timeline,
  attachments, clocks, steps, urges, escalations: the tables that are distributed by district on Citus)
  plus the intake keys — summed and divided by the events stored. The events are the city generator's
  (``shuzhi demo --scale city``, ``src/shuzhi/demo/city.py``): the seeds' mix, ~98 % notify-only copied
  to 1–6 town centres and a department, 2 % cases handled in a grid, each with its tasks and timeline as
  the services write them — what a city stores, which a benchmark's bare event rows are not.
- **Per reading**: every partition of ``readings`` (the default one included) divided by the rows in them.
  The ingest benchmark's database holds ≥ 100 M readings of 200,000 series spread over daily partitions.
  The roll-ups and latest values are per series, not per reading: recorded beside it per series.

The readings' database is the ingest benchmark's (the same fingerprint and prefill: run this after it,
or it prepares it first, which takes long); the city is built here (``--events``, a few minutes) and
reused while its fingerprint matches. Run: ``.venv/bin/python benchmarks/bench_storage.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record

CITY_DB = os.environ.get("SHUZHI_BENCH_STORAGE_CITY_DB", "bench_storage_city")
ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
SENSING_DB = os.environ.get("SHUZHI_BENCH_SENSING_DB", "bench_sensing")


def _url(db: str) -> str:
    return f"postgresql://postgres@localhost/{db}"


def case_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """The tables of a case: those carrying ``district_code`` (migration 0039), and the intake keys."""
    rows = conn.execute(
        """
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
        WHERE c.table_schema = 'public' AND c.column_name = 'district_code' AND t.table_type = 'BASE TABLE'
        """).fetchall()
    names = sorted({r[0] for r in rows} | ({"intake_keys"} if _exists(conn, "intake_keys") else set()))
    return names


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]  # type: ignore[index,no-any-return]


def _size(conn: psycopg.Connection[Any], table: str) -> int:
    return int(conn.execute("SELECT pg_total_relation_size(to_regclass(%s))", (table,)).fetchone()[0])  # type: ignore[index]


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


CITY = {"districts": 4, "towns_per_district": 5, "villages_per_town": 3, "grids_per_village": 3}


def prepare_city(events_per_day: int, days: int) -> None:
    """A small city by the generator (areas are few; the events are what is measured), reused while the
    fingerprint matches."""
    import subprocess

    from _prepared import explain, fingerprint, mark, matches

    url = _url(CITY_DB).replace("postgresql://", "postgresql+psycopg://")
    fp = fingerprint("storage_city", events_per_day=events_per_day, days=days, seed=1, **CITY)
    print(explain(ADMIN_URL, url, fp), flush=True)
    if matches(ADMIN_URL, url, fp):
        return
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {CITY_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {CITY_DB}")
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in CITY.items()]
    subprocess.run([str(Path(sys.executable).with_name("shuzhi")), "demo", "--scale", "city", "--database-url", url,
                    "--days", str(days), "--events-per-day", str(events_per_day), "--no-serve", *flags], check=True)
    with psycopg.connect(_url(CITY_DB), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    mark(ADMIN_URL, url, fp)


def per_event() -> tuple[float, dict[str, Any]]:
    with psycopg.connect(_url(CITY_DB)) as conn:
        events = _count(conn, "events")
        notify = int(conn.execute("SELECT count(*) FROM events WHERE mode = 'notify'").fetchone()[0])  # type: ignore[index]
        sizes = {t: _size(conn, t) for t in case_tables(conn)}
        rows = {t: _count(conn, t) for t in sizes}
    total = sum(sizes.values())
    return total / events, {"events": events, "notify_only_share": round(notify / events, 3), "bytes_total": total,
                            "tables": {t: {"bytes": sizes[t], "rows": rows[t]} for t in sizes}}


def per_reading() -> tuple[float, dict[str, Any]]:
    with psycopg.connect(_url(SENSING_DB)) as conn:
        parts = [r[0] for r in conn.execute(
            "SELECT relid::regclass::text FROM pg_partition_tree('readings') WHERE isleaf").fetchall()]
        size = sum(_size(conn, p) for p in parts)
        readings = _count(conn, "readings")
        if not readings:
            raise SystemExit(f"{SENSING_DB} holds no readings: run `make bench-one NAME=ingest` first, or this "
                             "script without --no-prepare (it prefills them)")
        series = _count(conn, "reading_latest")
        devices = _count(conn, "devices")  # a series each
        side = {t: _size(conn, t) for t in ("reading_latest", "reading_rollups")}
    # the latest values and roll-ups are per series; emptied between the ingest benchmark's runs, they
    # say nothing then
    per_series = {t: round(b / series, 1) for t, b in side.items()} if series else None
    return size / readings, {"readings": readings, "partitions": len(parts), "bytes_total": size,
                             "series": devices, "per_series_bytes": per_series}


def ensure_sensing() -> None:
    """The readings' database as the ingest benchmark prepares it, with its prefill (reused when its
    fingerprint matches and the rows are there)."""
    from datetime import UTC, datetime, timedelta

    import bench_ingest
    from catalogue import BENCHES

    ingest = next(b.args for b in BENCHES if b.name == "ingest")
    bench_ingest.DEVICES_EACH = int(ingest[ingest.index("--devices-each") + 1])
    devices = bench_ingest.prepare_or_reuse()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    bench_ingest.prefill(int(ingest[ingest.index("--prefill") + 1]), devices, start - timedelta(days=3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events-per-day", type=int, default=10_000, help="the city's events a day")
    ap.add_argument("--days", type=int, default=10, help="days of the city's history")
    ap.add_argument("--no-prepare", action="store_true", help="measure what is there, prepare nothing")
    ap.add_argument("--quick", action="store_true", help="a city of 2 days × 2,000 events; readings as they are")
    args = ap.parse_args()
    if args.quick:
        args.events_per_day, args.days, args.no_prepare = 2_000, 2, True
    prepare_city(args.events_per_day, args.days)
    if not args.no_prepare:
        ensure_sensing()
    bpe, ev = per_event()
    print(f"per event: {bpe:,.0f} bytes over {ev['events']:,} events ({ev['bytes_total'] / 2**30:.2f} GiB in "
          f"{len(ev['tables'])} case tables)")
    record("storage_bytes_per_event", round(bpe), "bytes/event", None, "lower",
           database=_url(CITY_DB).replace("postgresql://", "postgresql+psycopg://"),
           volume={"events": ev["events"], "notify_only_share": ev["notify_only_share"], **CITY}, tables=ev["tables"],
           note="the city generator's events; every table carrying district_code plus intake_keys, with indexes")
    bpr, rd = per_reading()
    print(f"per reading: {bpr:,.1f} bytes over {rd['readings']:,} readings in {rd['partitions']} partitions "
          f"({rd['bytes_total'] / 2**30:.2f} GiB); per series {rd['per_series_bytes']}")
    record("storage_bytes_per_reading", round(bpr, 1), "bytes/reading", None, "lower",
           database=_url(SENSING_DB).replace("postgresql://", "postgresql+psycopg://"),
           volume={"readings": rd["readings"], "series": rd["series"], "partitions": rd["partitions"]},
           per_series_bytes=rd["per_series_bytes"], note="every partition of readings, with indexes")


if __name__ == "__main__":
    main()
    sys.exit(finish())
