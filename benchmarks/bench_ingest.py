"""HTTP batch ingest of readings on PostgreSQL, and the same rows by a parallel COPY in the same run.

Figures (issue #16, readings ingest): ≥ 50,000 readings/s with threshold evaluation, and ≥ 0.3 × a
parallel ``COPY`` (as many connections as the load) of the same rows into a table with the readings'
key. ``--devices-each`` sets the series (20 indicators × devices; the published run: 200,000 series),
each batch holds at most one reading per series with jittered timestamps, and 10 % of the series change
state every round (they cross the blue band and back, so warnings fire and resolve); ``--prefill``
stores that many readings first, five minutes apart per series, in the daily partitions of ``readings``
(migration 0026; ``volume`` records the layout as read from the catalogue); ``--seconds`` sustains the
load for that long instead of sending ``--readings``.

Setup: a dedicated database (``SHUZHI_BENCH_SENSING_DB``, default ``bench_sensing``) with a district of
50 towns, 20 indicators with 100 devices each (2,000 series) imported through the real importers, and
one threshold rule per indicator, so threshold evaluation really runs on every reading (one series per
indicator sits in the blue band, so a warning fires and that series takes the full path every time).
Then ``uvicorn`` (``--workers 2``) and keep-alive clients POSTing JSON batches of ``--batch`` readings
(``/api/readings``). Besides the rate, the script reports the CPU the server processes and their
PostgreSQL backends spent per reading (from /proc) — a figure that does not depend on other load.
Run: ``.venv/bin/python benchmarks/bench_ingest.py [--quick] [--readings 1000000] [--reuse]``
(``--reuse`` measures on the database a previous run left, emptied of readings; ``--prepare-only``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_BENCH_SENSING_DB", "bench_sensing")
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
CITUS = False  # use_citus(): the database on the local Citus cluster (bench_mqtt.py --citus)
INDICATORS, TOWNS = 20, 50
DEVICES_EACH = 100  # per indicator; main() sets it from --devices-each
BATCH = 20_000


def registered_hooks() -> list[str]:
    """The reading hooks a server process has (both are wired by ``bootstrap``)."""
    from shuzhi.services.bootstrap import bootstrap
    from shuzhi.services.hooks import READING_HOOKS

    bootstrap()

    return [f"{h.__module__}.{h.__qualname__}" for h in READING_HOOKS]


def bench_rule(indicator: str) -> dict[str, object]:
    """The threshold rule of a benchmarked indicator: the generated values (1.0–10.96) stay under blue
    except on the indicator's first device, which :func:`batches` keeps in the blue band — so every
    reading is graded, and one series per indicator takes the full (non-quiet) path every time."""
    return {"code": f"R_{indicator}", "indicator": indicator, "keep_firing_for": "5m", "conditions": [
        {"kind": "value", "op": "above", "levels": {"blue": 20.0, "yellow": 40.0, "orange": 60.0, "red": 80.0}}]}


def device_codes() -> list[str]:
    return [f"DEV-{i:02d}-{d:05d}" for i in range(INDICATORS) for d in range(DEVICES_EACH)]


def prepared() -> bool:
    """True when a previous run left a complete database (indicators, devices and their rules)."""
    try:
        with psycopg.connect(URL.replace("+psycopg", "")) as conn:
            rules = conn.execute("SELECT count(*) FROM threshold_rules WHERE code LIKE 'R_BENCH_%'").fetchone()
            devices = conn.execute("SELECT count(*) FROM devices").fetchone()
    except psycopg.Error:
        return False
    return bool(rules and devices and rules[0] == INDICATORS and devices[0] == INDICATORS * DEVICES_EACH)


def reset_readings() -> None:
    """Empty what a measuring run fills (readings, latest values, rollups, warnings and their events), so
    that a run on a reused database measures the same work as on a fresh one."""
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        # what a run wrote is newer than three days; a prefilled history (older) stays
        conn.execute("DELETE FROM readings WHERE at > now() - interval '3 days'")
        conn.execute("TRUNCATE reading_latest, reading_rollups")
        conn.execute("DELETE FROM warning_changes")
        conn.execute("DELETE FROM warnings")
        conn.execute("DROP TABLE IF EXISTS copy_baseline")
        conn.execute("VACUUM ANALYZE readings")


def use_citus() -> None:
    """Prepare and measure on the local Citus cluster (``_citus.py``): the same database name on its
    coordinator; :func:`prepare` lays it out with ``distribute()`` (readings by series, 48 shards)."""
    import _citus

    global ADMIN_URL, URL, CITUS
    _citus.ensure_cluster()
    ADMIN_URL, URL, CITUS = _citus.ADMIN_URL, _citus.url(DB), True


def prepare_or_reuse(reuse: bool = True) -> list[str]:
    """The sensing database, reused (emptied of readings) while its fingerprint matches, else rebuilt."""
    import _citus
    from _prepared import explain, fingerprint, mark, matches

    fp = fingerprint("sensing", indicators=INDICATORS, devices_each=DEVICES_EACH, towns=TOWNS, codes=2,
                     **(_citus.fingerprint() if CITUS else {}))
    print(explain(ADMIN_URL, URL, fp), flush=True)
    if matches(ADMIN_URL, URL, fp) and prepared():
        if CITUS:  # a database the migrations brought to the head may have tables to lay out
            _citus.distribute(URL)
        reset_readings()
        return device_codes()
    codes = prepare()
    mark(ADMIN_URL, URL, fp)
    return codes


def prepare() -> list[str]:
    """Fresh database with the sensing world and one threshold rule per indicator; returns the device
    codes."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.migrate import upgrade
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing import warning_config
    from shuzhi.services.sensing.indicators import import_devices, import_indicators
    from shuzhi.services.unit_of_work import UnitOfWork

    if CITUS:
        import _citus

        # on every node with the extension, the migrations; laid out once the sensing world is in (below)
        _citus.lay_out(DB, distributed=False)
    else:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB}")
        upgrade(URL)
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("INSERT INTO areas (code, name, level, path, created_at, updated_at) VALUES "
                     "('500111', '大足区', 'district', '/500111/', now(), now())")
        for t in range(1, TOWNS + 1):
            conn.execute("INSERT INTO areas (code, name, level, parent_id, path, created_at, updated_at) "
                         "VALUES (%s, %s, 'town', 1, %s, now(), now())",
                         (f"500111{t:03d}", f"镇{t}", f"/500111/500111{t:03d}/"))
        conn.execute("INSERT INTO units (code, name, kind, level, area_id, active, created_at, updated_at) "
                     "VALUES ('D500111-SWJ', '水务', 'department', 'district', 1, true, now(), now())")
    factory = make_session_factory(make_engine(URL))
    tree = {"sector_code": "S2", "sector_name": "设施运行", "runway_code": "S2.R1", "runway_name": "水务",
            "sub_runway_code": "S2.R1.1", "sub_runway_name": "管网"}
    rows = [{**tree, "code": f"BENCH_{i:02d}", "name": f"压测指标{i}", "unit": "m", "value_type": "number",
             "frequency": "1m", "owner_unit_code": "D500111-SWJ", "level": "town", "areas": "500111",
             "__row__": str(i + 2)} for i in range(INDICATORS)]
    report = import_indicators(UnitOfWork(factory), rows, SYSTEM)
    assert not report.errors, report.errors
    devices = [{"code": f"DEV-{i:02d}-{d:05d}", "indicator_code": f"BENCH_{i:02d}",
                "area_code": f"500111{d % TOWNS + 1:03d}", "__row__": str(i * DEVICES_EACH + d + 2)}
               for i in range(INDICATORS) for d in range(DEVICES_EACH)]
    report = import_devices(UnitOfWork(factory), devices, SYSTEM)
    assert not report.errors, report.errors
    for i in range(INDICATORS):
        warning_config.create_rule(UnitOfWork(factory), SYSTEM, bench_rule(f"BENCH_{i:02d}"))
    factory.kw["bind"].dispose()
    if CITUS:
        import _citus

        _citus.distribute(URL)
    return [d["code"] for d in devices]


def _value(code: str, n: int, tick: int, index: int) -> float:
    value = round(1.0 + (n % 997) / 100.0, 2)
    if code.endswith("-00000"):
        value += 25.0  # the indicator's first device sits in the blue band (see bench_rule)
    elif (index + tick) % 10 == 0:
        value += 25.0  # 10 % of the series cross into blue this round (and fall back the next)
    return value


def stream(devices: list[str], start: datetime, seed: int = 7) -> Iterator[list[dict[str, object]]]:
    """Batches of ``BATCH`` readings, without end: each round gives every series one reading at a jittered
    time (± 400 ms around the round's second), so a batch holds at most one reading per series."""
    rng = random.Random(seed)
    current: list[dict[str, object]] = []
    n = tick = 0
    while True:
        base = start + timedelta(seconds=tick)
        for index, code in enumerate(devices):
            at = (base + timedelta(milliseconds=rng.randint(-400, 400))).isoformat()
            current.append({"indicator": f"BENCH_{code[4:6]}", "device": code, "at": at,
                            "value": _value(code, n, tick, index)})
            n += 1
            if len(current) == BATCH:
                yield current
                current = []
        tick += 1


def batches(devices: list[str], total: int, start: datetime) -> list[list[dict[str, object]]]:
    """The first ``total`` readings of :func:`stream`, in batches."""
    out: list[list[dict[str, object]]] = []
    n = 0
    for batch in stream(devices, start):
        take = batch[: total - n]
        out.append(take)
        n += len(take)
        if n >= total:
            return out
    return out


def api_key() -> str:
    """A write key for a connected system (made per run: only its hash is stored)."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.security.tokens import NewApiKey, create_api_key
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    raw, _ = create_api_key(UnitOfWork(make_session_factory(engine)), SYSTEM,
                            NewApiKey(name="bench-ingest", write=True, expires_in_days=1))
    engine.dispose()
    return raw


KEY = ""


async def _client(port: int, bodies: list[bytes], counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for body in bodies:
        head = (f"POST /api/readings HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"X-API-Key: {KEY}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        writer.write(head + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        reply = await reader.readexactly(length)
        if status != 200:
            raise SystemExit(f"ingest answered {status}: {reply[:300]!r}")
        result = orjson.loads(reply)
        for k in ("accepted", "duplicate", "rejected"):
            counts[k] += result[k]
    writer.close()


async def _load(port: int, bodies: list[bytes], connections: int) -> tuple[float, dict[str, int]]:
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    share = [bodies[i::connections] for i in range(connections)]
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(port, s, counts) for s in share))
    return time.perf_counter() - t0, counts


class _Bodies:
    """Request bodies made on demand from :func:`stream` until ``seconds`` have passed (a sustained run)."""

    def __init__(self, devices: list[str], start: datetime, seconds: float) -> None:
        self.source = stream(devices, start)
        self.until = time.perf_counter() + seconds
        self.sent: list[list[dict[str, object]]] = []  # the first batches, kept for the COPY baseline

    def __iter__(self) -> _Bodies:
        return self

    def __next__(self) -> bytes:
        if time.perf_counter() >= self.until:
            raise StopIteration
        batch = next(self.source)
        if len(self.sent) < 100:
            self.sent.append(batch)
        return orjson.dumps(batch)


async def _sustained(port: int, bodies: _Bodies, connections: int) -> tuple[float, dict[str, int]]:
    """Every connection takes the next body from one shared source until the time is up."""
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for body in bodies:
            head = (f"POST /api/readings HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                    f"X-API-Key: {KEY}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            writer.write(head + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reply = await reader.readexactly(length)
            if status != 200:
                raise SystemExit(f"ingest answered {status}: {reply[:300]!r}")
            result = orjson.loads(reply)
            for k in ("accepted", "duplicate", "rejected"):
                counts[k] += result[k]
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - t0, counts


def raw_copy(items: list[list[dict[str, object]]], connections: int) -> tuple[float, float]:
    """A parallel COPY of the same rows (``connections`` at once) into a table with the readings' key
    (and nothing else): rows per second and the PostgreSQL backends' CPU µs per row. The rows are resolved
    and formatted as COPY text before the clock starts, so this is the database's own ceiling for them."""
    import threading

    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        ids = dict(conn.execute("SELECT code, id FROM indicators").fetchall())
        areas = dict(conn.execute("SELECT d.code, d.area_id FROM devices d").fetchall())
        conn.execute("DROP TABLE IF EXISTS copy_baseline")
        conn.execute("CREATE TABLE copy_baseline (LIKE readings INCLUDING ALL)")
        conn.commit()
    parts = [items[i::connections] for i in range(connections)]
    texts = ["".join(f"{ids[r['indicator']]}\t{r['device']}\t{r['at']}\t{r['value']!r}\t{areas[r['device']]}\n"
                     for batch in part for r in batch).encode() for part in parts]
    n = sum(len(b) for b in items)
    conns = [psycopg.connect(URL.replace("+psycopg", "")) for _ in range(connections)]
    pids = [int(c.execute("SELECT pg_backend_pid()").fetchone()[0]) for c in conns]  # type: ignore[index]

    def copy_part(conn: psycopg.Connection[Any], text: bytes) -> None:
        with conn.cursor() as cur, cur.copy(
                "COPY copy_baseline (indicator_id, series_key, at, value, area_id) FROM STDIN") as copy:
            for i in range(0, len(text), 1 << 20):
                copy.write(text[i:i + (1 << 20)])
        conn.commit()

    threads = [threading.Thread(target=copy_part, args=(c, txt)) for c, txt in zip(conns, texts, strict=True)]
    cpu0, t0 = cpu_seconds(pids), time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds(pids) - cpu0
    for c in conns:
        c.close()
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP TABLE copy_baseline")
    return n / elapsed, cpu / n * 1e6


PREFILL_STEP_S = 300  # one reading per series every five minutes, as a city's devices report
PREFILL_TICKS_PER_STATEMENT = 10


def prefill(rows: int, devices: list[str], before: datetime) -> int:
    """Store ``rows`` readings of the same series ahead of the run, as history older than ``before``:
    every series one reading each :data:`PREFILL_STEP_S` seconds going back (200,000 series × 500
    readings = 100 M rows over 42 hours), so the rows spread over the daily partitions a real
    installation has. The days' partitions are made first (``readings_partitions.create_days``), so no
    row lands in the default partition. Set-based SQL, a few rounds a statement, with progress; returns
    the readings stored."""
    from shuzhi.adapters.db import readings_partitions
    from shuzhi.adapters.db.engine import make_engine, make_session_factory

    pg = URL.replace("+psycopg", "")
    with psycopg.connect(pg, autocommit=True) as conn:
        have = int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]
    missing = rows - have
    if missing <= 0:
        return have
    n = len(devices)
    first_tick = have // n  # rounds already stored (a top-up continues further back)
    ticks = -(-missing // n)
    oldest = before - timedelta(seconds=PREFILL_STEP_S * (first_tick + ticks))
    engine = make_engine(URL)
    with make_session_factory(engine)() as s:
        day, days = oldest.date(), []
        while day <= before.date():
            days.append(day)
            day += timedelta(days=1)
        made = readings_partitions.create_days(s, days)
        s.commit()
    engine.dispose()
    print(f"prefill: {missing:,} readings over {ticks} rounds of {n:,} series, {oldest:%Y-%m-%d %H:%M} → "
          f"{before:%Y-%m-%d %H:%M}; partitions made {len(made.created)}, skipped {len(made.skipped)}", flush=True)
    t0 = time.perf_counter()
    with psycopg.connect(pg, autocommit=True) as conn:
        for tick in range(first_tick, first_tick + ticks, PREFILL_TICKS_PER_STATEMENT):
            last = min(tick + PREFILL_TICKS_PER_STATEMENT, first_tick + ticks)
            conn.execute(
                """
                WITH d AS (SELECT code, area_id, indicator_id FROM devices)
                INSERT INTO readings (indicator_id, series_key, at, value, area_id)
                SELECT d.indicator_id, d.code, %s::timestamptz - make_interval(secs => (t + 1) * %s::int),
                       1.0 + ((t * 7 + length(d.code)) %% 997) / 100.0, d.area_id
                FROM generate_series(%s::int, %s::int) AS t CROSS JOIN d
                """, (before, PREFILL_STEP_S, tick, last - 1))
            done = (last - first_tick) * n
            rate = done / (time.perf_counter() - t0)
            print(f"  prefill {done:,}/{ticks * n:,} readings ({rate:,.0f}/s)", flush=True)
        conn.execute("VACUUM ANALYZE readings")
        return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]


def run_days(start: datetime) -> None:
    """The day partitions the measured readings land in (from ``start``, a day back, to tomorrow), made as
    the worker's hourly job makes them, so that the run writes where production writes and not into the
    default partition."""
    from shuzhi.adapters.db import readings_partitions
    from shuzhi.adapters.db.engine import make_engine, make_session_factory

    engine = make_engine(URL)
    with make_session_factory(engine)() as s:
        if readings_partitions.partitioned(s):
            today = datetime.now(UTC).date()
            readings_partitions.create_days(s, [start.date() + timedelta(days=n)
                                                for n in range((today - start.date()).days + 2)])
            s.commit()
    engine.dispose()


def readings_partitioning() -> dict[str, object]:
    """How ``readings`` is laid out, read from the catalogue (for the record's volume): partitioned or
    not, its partitions, and how many rows sit in the default partition."""
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('readings')").fetchone()
        parts = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass('readings')").fetchone()
        default = conn.execute("SELECT count(*) FROM readings_default").fetchone() if kind and kind[0] == "p" else None
    return {"partitioned": bool(kind and kind[0] == "p"), "partitions": int(parts[0]) if parts else 0,
            "rows_in_default_partition": int(default[0]) if default else None}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds these processes have used (from /proc; a gone process counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def children(pid: int) -> list[int]:
    """``pid`` and every process below it (uvicorn's supervisor and its workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def backends() -> list[int]:
    """The PostgreSQL backends connected to the benchmark database (the servers' pooled connections)."""
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        return [int(r[0]) for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (DB,))]


def main() -> None:
    global BATCH, KEY, DEVICES_EACH
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument("--devices-each", type=int, default=100, help="devices per indicator (20 indicators)")
    ap.add_argument("--prefill", type=int, default=0, help="readings stored before the run")
    ap.add_argument("--seconds", type=float, default=0, help="sustain the load this long (instead of --readings)")
    ap.add_argument("--quick", action="store_true", help="200,000 readings (a smoke run)")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=int(os.environ.get("SHUZHI_BENCH_PORT", "0")),
                    help="the server's port (default: a free one)")
    ap.add_argument("--batch", type=int, default=BATCH, help="readings per request")
    ap.add_argument("--reuse", action="store_true", help="measure on the database a previous run prepared")
    ap.add_argument("--prepare-only", action="store_true", help="build the database and stop")
    args = ap.parse_args()
    if args.quick:
        args.readings, args.devices_each, args.prefill, args.seconds = 200_000, 100, 100_000, 0
    BATCH, DEVICES_EACH = args.batch, args.devices_each
    total = args.readings
    t0 = time.perf_counter()
    devices = prepare_or_reuse()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    stored_before = prefill(args.prefill, devices, start - timedelta(days=3)) if args.prefill else 0
    run_days(start)
    print(f"database {DB} ready in {time.perf_counter() - t0:.0f} s ({len(devices):,} series, "
          f"{stored_before:,} readings stored)", flush=True)
    if args.prepare_only:
        return
    KEY = api_key()
    warm = batches(devices, 4 * BATCH, start - timedelta(hours=1))
    items = [] if args.seconds else batches(devices, total, start)
    bodies = [orjson.dumps(b) for b in items]
    port = args.port or _free_port()
    env = {**os.environ, "SHUZHI_DATABASE_URL": URL}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "shuzhi.entrypoints.api.app:create_app", "--factory", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-access-log",
         # as `shuzhi serve` does: on a busy host a worker takes longer than uvicorn's 5 s to start
         "--timeout-worker-healthcheck", "120"], env=env)
    try:
        for _ in range(1500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"the server did not listen on port {port} within five minutes")
        asyncio.run(_load(port, [orjson.dumps(b) for b in warm], args.connections))
        server_pids, pg_pids = children(server.pid), backends()
        load_before = Path("/proc/loadavg").read_text().split()[0]
        cpu0, pg0 = cpu_seconds(server_pids), cpu_seconds(pg_pids)
        if args.seconds:
            source = _Bodies(devices, start, args.seconds)
            elapsed, counts = asyncio.run(_sustained(port, source, args.connections))
            total, items = counts["accepted"] + counts["duplicate"] + counts["rejected"], source.sent
        else:
            elapsed, counts = asyncio.run(_load(port, bodies, args.connections))
        # a backend the servers' pools opened during the run counts whole
        late = [p for p in backends() if p not in pg_pids]
        server_cpu, pg_cpu = cpu_seconds(server_pids) - cpu0, cpu_seconds(pg_pids + late) - pg0
        load = Path("/proc/loadavg").read_text().split()[0]
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if counts["accepted"] != total:
        raise SystemExit(f"not every reading was stored: {counts}")
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        firing = conn.execute("SELECT count(*) FROM warnings WHERE state = 'firing'").fetchone()[0]  # type: ignore[index]
    rate = total / elapsed
    copy_rate, copy_cpu = raw_copy(items, args.connections)
    hooks = registered_hooks()
    server_us, pg_us = server_cpu / total * 1e6, pg_cpu / total * 1e6
    print(f"threshold evaluation ON: {INDICATORS} rules on the {INDICATORS} benchmarked indicators, reading hooks "
          f"{hooks}; {firing} warnings firing at the end (one series per indicator sits in the blue band)")
    print(f"HTTP ingest {rate:,.0f} readings/s ({total:,} readings, batches of {BATCH:,}, {args.workers} workers, "
          f"{args.connections} connections); server CPU {server_us:.2f} µs/reading, PostgreSQL CPU {pg_us:.2f} "
          f"µs/reading; load average {load_before} → {load}")
    print(f"raw COPY of the same rows {copy_rate:,.0f} rows/s (PostgreSQL CPU {copy_cpu:.2f} µs/row); "
          f"ratio {rate / copy_rate:.3f}")
    volume = {"readings": total, "series": len(devices), "batch": BATCH, "threshold_rules": INDICATORS,
              "readings_stored_before": stored_before, **readings_partitioning(), "sustained_s": round(elapsed),
              "series_changing_state_per_round": "10 %", "api_workers": args.workers,
              "connections": args.connections, "copy_baseline_rows": sum(len(b) for b in items)}
    record("ingest_http_readings_per_s", round(rate, 1), "readings/s", 50_000, "higher", database=URL, volume=volume,
           reading_hooks=hooks, warnings_firing=firing,
           server_cpu_us_per_reading=round(server_us, 2), pg_cpu_us_per_reading=round(pg_us, 2))
    record("ingest_http_vs_raw_copy_ratio", round(rate / copy_rate, 3), "ratio", 0.3, "higher", database=URL,
           volume=volume,
           ratio={"numerator": {"label": "HTTP ingest", "value": round(rate, 1), "unit": "readings/s"},
                  "denominator": {"label": "one COPY of the same rows", "value": round(copy_rate, 1),
                                  "unit": "rows/s"}},
           raw_copy_pg_cpu_us_per_row=round(copy_cpu, 2))
    record("ingest_http_cpu_us_per_reading", round(server_us + pg_us, 2), "µs CPU/reading", None, "lower",
           database=URL, volume=volume, server=round(server_us, 2), postgresql=round(pg_us, 2))


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
