"""Reading → firing warning → event, on PostgreSQL, while other processes ingest readings.

Figure (issue 4): p99 ≤ 1 s from a reading being submitted to its red warning and the event it opens
(registered through intake and dispatched) being committed and visible to another connection, under
a continuous background ingest load with threshold evaluation.

Setup: a dedicated database ``shuzhi_bench_warnings`` (created if missing), the demo district
(2,100+ grids) imported through the real importers, two grid-level indicators measured in every grid
with threshold rules (red → handle, class 1407 防汛险情, dispatched at once).  ``--loaders`` processes
ingest batches of ``--batch`` readings of the load indicator (every grid, mostly normal values, a few
crossing blue and yellow so warnings are written too) through ``services.ingest.ingest`` — the function
the HTTP and MQTT paths call — for ``--seconds``.  Meanwhile the probe sends, every 0.2 s, one reading
that crosses red on a grid not seen before, and times it until a separate connection sees the warning
firing with its event.

Run: ``.venv/bin/python benchmarks/bench_warning_latency.py [--quick]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_BENCH_WARNINGS_DB", "shuzhi_bench_warnings")
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
TREE = {"sector_code": "B2", "sector_name": "设施运行", "runway_code": "B2.R1", "runway_name": "水务",
        "sub_runway_code": "B2.R1.1", "sub_runway_name": "防汛"}


def _rule(code: str, indicator: str) -> dict[str, object]:
    return {"code": code, "indicator": indicator, "keep_firing_for": "10m", "conditions": [
        {"kind": "value", "op": "above", "levels": {"blue": 2.0, "yellow": 2.5, "orange": 3.0, "red": 3.5}}],
        "actions": {"orange": {"mode": "handle", "event_class": "1407", "urgency": "urgent", "dispatch": True},
                    "red": {"mode": "handle", "event_class": "1407", "urgency": "critical", "dispatch": True}}}


def prepare() -> list[str]:
    """Fresh schema, the demo district, two indicators and their rules; returns the grid codes."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base
    from shuzhi.adapters.tabular import ROW
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data
    from shuzhi.services import warning_config
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.indicators import import_indicators
    from shuzhi.services.unit_of_work import UnitOfWork

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    load_reference_data(lambda: UnitOfWork(factory), build_district(1))
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        owner = conn.execute("SELECT code FROM units WHERE kind='department' ORDER BY code LIMIT 1").fetchone()[0]
        district = conn.execute("SELECT code FROM areas WHERE level='district'").fetchone()[0]
        grids = [r[0] for r in conn.execute("SELECT code FROM areas WHERE level='grid' ORDER BY code")]
    rows = [{**TREE, "code": code, "name": name, "unit": "m", "value_type": "number", "frequency": "1m",
             "source_system": "bench", "owner_unit_code": owner, "level": "grid", "areas": district,
             "realtime": "是", "warning": "是", "traceable": "是", "evaluable": "否", "retention_days": "",
             "description": "", ROW: str(i + 2)}
            for i, (code, name) in enumerate([("LOAD_LEVEL", "背景水位"), ("PROBE_LEVEL", "探针水位")])]
    report = import_indicators(UnitOfWork(factory), rows, SYSTEM)
    assert not report.errors, report.errors
    warning_config.create_rule(UnitOfWork(factory), SYSTEM, _rule("LOAD", "LOAD_LEVEL"))
    warning_config.create_rule(UnitOfWork(factory), SYSTEM, _rule("PROBE", "PROBE_LEVEL"))
    engine.dispose()
    return grids


def reuse() -> list[str]:
    """The grids of an already prepared database, without those probed before (a fresh preparation when
    there is none)."""
    try:
        conn = psycopg.connect(URL.replace("+psycopg", ""))
        ready = conn.execute("SELECT count(*) FROM threshold_rules WHERE code IN ('LOAD', 'PROBE')").fetchone()
    except psycopg.Error:
        return prepare()
    if not ready or ready[0] != 2:
        conn.close()
        return prepare()
    with conn:
        conn.execute("UPDATE warnings SET open_key = NULL, state = 'resolved' WHERE indicator_code = 'LOAD_LEVEL'")
        probed = {r[0] for r in conn.execute("SELECT series_key FROM warnings WHERE indicator_code='PROBE_LEVEL'")}
        return [r[0] for r in conn.execute("SELECT code FROM areas WHERE level='grid' ORDER BY code")
                if r[0] not in probed]


def loader(grids: list[str], batch: int, seconds: float, seed: int, counter: mp.Value) -> None:  # type: ignore[type-arg]
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.entrypoints.serving import tune_gc
    from shuzhi.services import wiring  # noqa: F401
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.ingest import ingest
    from shuzhi.services.unit_of_work import UnitOfWork

    tune_gc()  # as in a server process
    factory = make_session_factory(make_engine(URL))
    rng = random.Random(seed)
    # each loader has its own grids, so two loaders never write the same series at the same instant
    mine = grids[seed::2]
    at = datetime.now(UTC) - timedelta(minutes=10) + timedelta(microseconds=seed)
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        items = []
        for _ in range(batch):
            grid = mine[i % len(mine)]
            i += 1
            if i % len(mine) == 0:
                at += timedelta(milliseconds=10)
            value = 1.0 + rng.random() if rng.random() > 0.002 else 2.0 + rng.random() * 0.8
            items.append({"indicator": "LOAD_LEVEL", "area": grid, "at": at.isoformat(), "value": value})
        result = ingest(UnitOfWork(factory), SYSTEM, items)
        with counter.get_lock():
            counter.value += result.accepted


def probe(grids: list[str], seconds: float, interval: float) -> list[float]:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.entrypoints.serving import tune_gc
    from shuzhi.services import wiring  # noqa: F401
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.ingest import ingest
    from shuzhi.services.unit_of_work import UnitOfWork

    tune_gc()
    factory = make_session_factory(make_engine(URL))
    watcher = psycopg.connect(URL.replace("+psycopg", ""), autocommit=True)
    latencies = []
    # One untimed probe first: like a server process that has handled a request, the probe's process
    # then has its caches (catalogue, rules, dispatch rules, statements) — the figure is about a warm
    # server, not about the first request after a start.
    ingest(UnitOfWork(factory), SYSTEM, [{"indicator": "PROBE_LEVEL", "area": grids[0],
                                          "at": datetime.now(UTC).isoformat(), "value": 3.9}])
    end = time.monotonic() + seconds
    for grid in grids[1:]:
        if time.monotonic() >= end:
            break
        started = time.perf_counter()
        ingest(UnitOfWork(factory), SYSTEM, [{"indicator": "PROBE_LEVEL", "area": grid,
                                              "at": datetime.now(UTC).isoformat(), "value": 3.9}])
        while True:
            row = watcher.execute(
                "SELECT w.level, e.state FROM warnings w JOIN events e ON e.id = w.event_id "
                "WHERE w.indicator_code = 'PROBE_LEVEL' AND w.series_key = %s AND w.state = 'firing'",
                (grid,)).fetchone()
            if row is not None:
                assert row[0] == "red" and row[1] == "dispatched", row
                break
            time.sleep(0.001)
        latencies.append(time.perf_counter() - started)
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    watcher.close()
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--loaders", type=int, default=2)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--reuse", action="store_true", help="keep the prepared database (probes use fresh grids)")
    ap.add_argument("--prepare-only", action="store_true", help="build the database and stop")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.batch = 8.0, 2000
    t0 = time.perf_counter()
    grids = reuse() if args.reuse else prepare()
    print(f"prepared {len(grids)} grids in {time.perf_counter() - t0:.0f} s ({DB})", flush=True)
    if args.prepare_only:
        return
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    procs = [ctx.Process(target=loader, args=(grids, args.batch, args.seconds + 60, i, counter))
             for i in range(args.loaders)]
    for p in procs:
        p.start()
    waited = time.monotonic()
    while counter.value == 0 and time.monotonic() - waited < 60:  # probe only once the load is running
        time.sleep(0.2)
    started = time.perf_counter()
    before = counter.value
    latencies = probe(grids[::-1], args.seconds, 0.2)
    load_rate = (counter.value - before) / (time.perf_counter() - started)
    for p in procs:
        p.terminate()
        p.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    p50 = statistics.median(latencies)
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{len(latencies)} probes; p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max "
          f"{latencies[-1] * 1000:.0f} ms; background {load_rate:,.0f} readings/s with threshold evaluation; "
          f"load average {load}")
    record("warning_latency_p99", round(p99, 3), "s", 1.0, "lower", database=URL,
           volume={"probes": len(latencies), "background_readings_per_s": round(load_rate), "loaders": args.loaders,
                   "batch": args.batch, "path": "services.ingest.ingest in process (not MQTT, not the API)",
                   "probe_arrivals": "every 0.2 s"},
           p50_s=round(p50, 3), max_s=round(latencies[-1], 3))


if __name__ == "__main__":
    main()
    sys.exit(finish())
