"""Intake of events over HTTP on PostgreSQL with the demo district's 2,000+ grids and 1,000,000 stored events.

Figures (issue #16, intake over HTTP):

- ≥ 500 events/s over HTTP (median of rounds), closed loop from ``--connections`` keep-alive connections,
  each with a token of its own (many tokens), an ``Idempotency-Key`` on every request, and the intake
  rate limiter at its production setting (``Settings.intake_rate_per_s`` / ``intake_burst``, per token);
- ≥ 0.5 × the baseline: the identical rows — the event and its first timeline entry in one statement,
  the number drawn on an autocommit connection, as ``services.intake`` writes them — by plain SQL from
  the same number of connections, in the same run, each SQL round right after an HTTP round;
- p99 latency open loop: requests sent at Poisson arrival times at 80 % of the peak rate measured,
  the latency counted from each request's planned send time (no coordinated omission);
- the sign-in, permission and scope checks' cost (issue #5): the same requests served by the API
  without them (``benchmarks/_intake_unchecked_app.py``), rounds alternating; a negative overhead is noise.

Every run also reports the CPU per request of the API processes, of PostgreSQL's backends for the
benchmark database and of the client (from ``/proc``), which does not depend on other load, and the
resident memory of the largest API worker.

Setup: a database ``shuzhi_bench`` (``SHUZHI_BENCH_DB``) with the schema of this checkout, the demo
district imported through the real importers, ``--events`` events each with its first timeline entry
filled by set-based SQL; reused while its fingerprint (schema head, events, seed) matches.
Run: ``.venv/bin/python benchmarks/bench_intake.py [--events 1000000] [--requests 6000] [--rounds 3]``;
``--prepare-only`` builds the database and stops; ``--quick`` is a smoke run (20,000 events, 600 requests, 1 round).

On Citus (issue #25): ``--citus`` takes the same measurement on the local Citus cluster (``_citus.py``: the
database on the coordinator and both workers, the project's migrations, the history filled into the
coordinator's tables and then distributed by ``adapters.db.citus.distribute()``, 48 shards a table) and
records every figure with a ``_citus`` suffix beside the one-machine one. The demo district is one district:
its cases share one ``district_code``, so every intake is a single-shard transaction on one worker, sent
through the coordinator (the number drawn from the coordinator's ``event_sequences``). The CPU per request
then counts the backends of the benchmark database on the coordinator and on the workers. The SQL
baseline writes the event and its first line as two single-shard statements there, as
``adapters.db.event_insert`` does on Citus.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _citus
from _prepared import explain, fingerprint, mark, matches
from _results import finish, record, tree_rss_mb

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_BENCH_DB", "shuzhi_bench")
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
HERE = Path(__file__).resolve().parent
CITUS = False  # --citus: ADMIN_URL and URL name the local Citus cluster's coordinator (use_citus)


def use_citus() -> None:
    """Measure on the local Citus cluster: the same database name, on its coordinator."""
    global ADMIN_URL, URL, CITUS
    _citus.ensure_cluster()
    ADMIN_URL, URL, CITUS = _citus.ADMIN_URL, _citus.url(DB), True


def _name(figure: str) -> str:
    """The record's name of a figure: with the ``_citus`` suffix when measured on Citus."""
    return _citus.name(figure) if CITUS else figure


def prepare(stored_events: int) -> list[tuple[float, float, str]]:
    """Fresh schema, the demo district, ``stored_events`` rows; returns grid points with class codes."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data
    from shuzhi.services.unit_of_work import UnitOfWork

    if CITUS:
        # on every node, with the extension; the project's migrations build the schema, as `shuzhi init`
        # does on a coordinator; the tables stay the coordinator's until the history is in (below)
        _citus.lay_out(DB, distributed=False)
    else:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    if not CITUS:
        Base.metadata.create_all(engine)
    district = build_district(1)
    factory = make_session_factory(engine)
    load_reference_data(lambda: UnitOfWork(factory), district)
    engine.dispose()
    t0 = time.perf_counter()
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        grids = conn.execute("SELECT id, path, centroid_lon, centroid_lat FROM areas WHERE level='grid'").fetchall()
        owner = conn.execute("SELECT id FROM units WHERE kind='centre' AND level='district'").fetchone()[0]
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE default_mode='handle'")]
        district = conn.execute("SELECT code FROM areas WHERE level='district'").fetchone()[0]
        # One set-based statement: history as a real district would have it, spread over two years.
        conn.execute(
            """
            WITH g_ AS (SELECT id, path, centroid_lon, centroid_lat,
                               row_number() OVER (ORDER BY id) - 1 AS rn
                        FROM areas WHERE level = 'grid')
            INSERT INTO events (number, source, title, description, lon, lat, area_id, area_path, urgency, mode,
                                state, owner_unit_id, self_handled, rework_count, return_count, received_at,
                                updated_at, version, district_code)
            SELECT '500111-H-' || lpad(g::text, 8, '0'), 'hotline', '历史事件 ' || g, '', a.centroid_lon,
                   a.centroid_lat, a.id, a.path, 'normal', 'handle',
                   (ARRAY['called_back','closed','handling','registered'])[1 + g %% 4], %s, false, 0, 0,
                   now() - (g || ' minutes')::interval, now(), 1, %s
            FROM generate_series(1, %s) AS g JOIN g_ a ON a.rn = g %% %s
            """,
            (owner, district, stored_events, len(grids)),
        )
        # each stored event has its first timeline entry, as intake writes it
        conn.execute(
            """
            INSERT INTO timeline_entries (event_id, task_id, at, actor_id, actor, action, from_state, to_state,
                                          reason, payload, district_code)
            SELECT id, NULL, received_at, NULL, 'bench', 'event.register', NULL, 'registered', NULL, '{}'::json,
                   district_code
            FROM events
            """)
    if CITUS:  # the rows move from the coordinator's tables to the shards
        _citus.distribute(URL)
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("ANALYZE")
    print(f"filled {stored_events} events and their timeline entries in {time.perf_counter() - t0:.0f} s")
    rng = random.Random(7)
    return [(g[2], g[3], rng.choice(classes)) for g in grids]


def reuse() -> list[tuple[float, float, str]]:
    """The grid points and classes of an already prepared benchmark database."""
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        grids = conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level='grid'").fetchall()
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE default_mode='handle'")]
        stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"reusing {stored} stored events")
    rng = random.Random(7)
    return [(g[0], g[1], rng.choice(classes)) for g in grids]


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> dict[int, tuple[int, float]]:
    """Every process's parent and CPU seconds (user + system) from ``/proc``."""
    out: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="latin-1") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    return out


def _backend_of(pid: int, database: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    return cmd.startswith(b"postgres: ") and f" {database} ".encode() in cmd


class CpuMeter:
    """CPU seconds of a server's process tree and of the PostgreSQL backends of one database.

    Sampled every quarter second, so that backends which end during the run (a connection closed
    by the pool) still count with their last reading.
    """

    def __init__(self, root: int, database: str) -> None:
        self.root, self.database = root, database
        self.first_server, self.first_pg = self._read()
        self.last_server, self.last_pg = dict(self.first_server), dict(self.first_pg)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read(self) -> tuple[dict[int, float], dict[int, float]]:
        procs = _cpu_seconds()
        tree, grew = {self.root}, True
        while grew:
            grew = False
            for pid, (parent, _) in procs.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        server = {pid: procs[pid][1] for pid in tree if pid in procs}
        pg = {pid: cpu for pid, (_, cpu) in procs.items() if _backend_of(pid, self.database)}
        return server, pg

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            server, pg = self._read()
            self.last_server.update(server)
            self.last_pg.update(pg)

    def stop(self) -> tuple[float, float]:
        """CPU seconds since the start: (server, PostgreSQL)."""
        self._stop.set()
        self._thread.join()
        server, pg = self._read()
        self.last_server.update(server)
        self.last_pg.update(pg)
        return (sum(v - self.first_server.get(k, 0.0) for k, v in self.last_server.items()),
                sum(v - self.first_pg.get(k, 0.0) for k, v in self.last_pg.items()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, credential: str,
                key: str, body: bytes) -> int:
    """One intake on a keep-alive connection; returns the status code."""
    head = (f"POST /api/events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"{credential}\r\nIdempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    writer.write(head + body)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _client(port: int, bodies: list[tuple[str, bytes]], latencies: list[float], statuses: dict[int, int],
                  credential: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for key, body in bodies:
        t0 = time.perf_counter()
        code = await _send(reader, writer, credential, key, body)
        latencies.append(time.perf_counter() - t0)
        statuses[code] = statuses.get(code, 0) + 1
    writer.close()


async def _load(port: int, bodies: list[tuple[str, bytes]], connections: int, credentials: list[str]
                ) -> tuple[float, list[float], dict[int, int]]:
    """Closed loop: each connection sends its next request as soon as the previous one is answered."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    share = [bodies[i::connections] for i in range(connections)]
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(port, s, latencies, statuses, credentials[i % len(credentials)])
                           for i, s in enumerate(share)))
    return time.perf_counter() - t0, latencies, statuses


async def _open_loop(port: int, bodies: list[tuple[str, bytes]], rate: float, connections: int,
                     credentials: list[str]) -> tuple[float, list[float], dict[int, int]]:
    """Open loop: request i is due at a Poisson arrival time at ``rate``/s, whether or not earlier ones are
    answered; its latency counts from when it was due (a request waiting for a free connection waits
    as a caller would), so a slow server cannot hide its queue (no coordinated omission)."""
    rng = random.Random(17)
    due, at = [], 0.0
    for _ in bodies:
        at += rng.expovariate(rate)
        due.append(at)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter, str]] = asyncio.Queue()
    for i in range(connections):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        pool.put_nowait((r, w, credentials[i % len(credentials)]))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(when: float, key: str, body: bytes) -> None:
        await asyncio.sleep(max(0.0, start + when - loop.time()))
        conn = await pool.get()
        try:
            code = await _send(conn[0], conn[1], conn[2], key, body)
        finally:
            pool.put_nowait(conn)
        latencies.append(loop.time() - (start + when))
        statuses[code] = statuses.get(code, 0) + 1

    await asyncio.gather(*(one(w, k, b) for w, (k, b) in zip(due, bodies, strict=True)))
    elapsed = loop.time() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return elapsed, latencies, statuses


def _bodies(points: list[tuple[float, float, str]], n: int, tag: str) -> list[tuple[str, bytes]]:
    """Request bodies with their idempotency keys (unique per run)."""
    rng = random.Random(11)
    out = []
    for i in range(n):
        lon, lat, cls = rng.choice(points)
        body = {"source": "hotline", "request_type": "complain", "event_class_code": cls,
                "title": f"压测事件 {tag} {i}", "description": "路灯不亮，影响夜间出行",
                "lon": lon, "lat": lat, "reporter_phone": "13800138000"}
        out.append((f"{tag}-{i}", json.dumps(body, ensure_ascii=False).encode()))
    return out


def _baseline_rows(points: list[tuple[float, float, str]], n: int, tag: str) -> list[dict[str, Any]]:
    """The rows intake writes for the same requests (:func:`_bodies`), as ``services.intake`` builds them."""
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        grids = {(r[0], r[1]): (r[2], r[3], r[4]) for r in conn.execute(
            "SELECT centroid_lon, centroid_lat, id, path, code FROM areas WHERE level='grid'")}
        classes = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT code, id, default_mode FROM event_classes")}
        owner_id, owner_code = conn.execute(
            "SELECT id, code FROM units WHERE kind='centre' AND level='district'").fetchone()  # type: ignore[misc]
        actor_id = conn.execute("SELECT id FROM people WHERE code='duty.district'").fetchone()[0]  # type: ignore[index]
    rng = random.Random(11)
    rows = []
    for i in range(n):
        lon, lat, cls = rng.choice(points)
        area_id, path, grid = grids[(lon, lat)]
        class_id, mode = classes[cls]
        rows.append({
            "event": {"source": "hotline", "request_type": "complain", "event_class_id": class_id,
                      "title": f"压测事件 {tag} {i}", "description": "路灯不亮，影响夜间出行", "lon": lon, "lat": lat,
                      "address": None, "area_id": area_id, "area_path": path, "reporter_name": None,
                      "reporter_phone": "13800138000", "reporter_id_number": None, "urgency": "normal",
                      "mode": mode, "state": "registered", "external_ref": None,
                      "intake_key": f"duty.district:{tag}-{i}", "owner_unit_id": owner_id, "self_handled": False,
                      "rework_count": 0, "return_count": 0, "version": 1},
            "line": {"task_id": None, "actor_id": actor_id, "actor": "duty.district", "action": "event.register",
                     "from_state": None, "to_state": "registered", "reason": None,
                     "payload": json.dumps({"source": "hotline", "owner": owner_code, "grid": grid,
                                            "located": True})},
        })
    return rows


def _citus_statements() -> tuple[str, str]:
    from shuzhi.adapters.db.event_insert import EVENT_COLUMNS, LINE_COLUMNS

    event = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
             f"VALUES ({', '.join(f'%(e_{c})s' for c in EVENT_COLUMNS)}) RETURNING id")
    line = (f"INSERT INTO timeline_entries (event_id, district_code, {', '.join(LINE_COLUMNS)}) "
            f"VALUES (%(event_id)s, %(e_district_code)s, "
            f"{', '.join(f'%(l_{c})s::json' if c == 'payload' else f'%(l_{c})s' for c in LINE_COLUMNS)})")
    return event, line


_CITUS_EVENT, _CITUS_LINE = _citus_statements()


async def _sql_baseline(rows: list[dict[str, Any]], connections: int) -> tuple[float, list[float]]:
    """The rows by plain SQL from ``connections`` connections: the number drawn on one of four autocommit
    connections (``synchronous_commit`` off, as ``adapters.db.sequences.draw``), then the event and its
    first timeline entry in one statement (``adapters.db.event_insert``), committed: one intake's writes."""
    from datetime import UTC, datetime

    from shuzhi.adapters.db.districts import of_number
    from shuzhi.adapters.db.event_insert import _PG_SQL, EVENT_COLUMNS, LINE_COLUMNS
    from shuzhi.adapters.db.sequences import _NUMBERS_SQL, format_number
    from shuzhi.services.intake import number_prefix

    dsn = URL.replace("+psycopg", "")
    draws: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for _ in range(4):
        c = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        await c.execute("SET synchronous_commit TO off")
        draws.put_nowait(c)
    writers = [await psycopg.AsyncConnection.connect(dsn) for _ in range(connections)]
    latencies: list[float] = []

    async def one(conn: psycopg.AsyncConnection[Any], share: list[dict[str, Any]]) -> None:
        for row in share:
            t0 = time.perf_counter()
            now = datetime.now(UTC)
            prefix = number_prefix("500111", now)
            d = await draws.get()
            try:
                cur = await d.execute(_NUMBERS_SQL, {"prefix": prefix})
                value = (await cur.fetchone())[0]  # type: ignore[index]
            finally:
                draws.put_nowait(d)
            number = format_number(prefix, int(value))
            # both rows carry the district the number starts with, as adapters.db.event_insert writes them
            event = {**row["event"], "number": number, "received_at": now, "updated_at": now,
                     "district_code": of_number(number)}
            params = {f"e_{c}": event[c] for c in EVENT_COLUMNS}
            params.update({f"l_{c}": (now if c == "at" else row["line"][c]) for c in LINE_COLUMNS})
            if CITUS:  # two single-shard statements, as adapters.db.event_insert writes them on Citus
                cur = await conn.execute(_CITUS_EVENT, params)
                params["event_id"] = (await cur.fetchone())[0]  # type: ignore[index]
                await conn.execute(_CITUS_LINE, params)
            else:
                await conn.execute(_PG_SQL, params)
            await conn.commit()
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(w, rows[i::connections]) for i, w in enumerate(writers)))
    elapsed = time.perf_counter() - t0
    for c in writers:
        await c.close()
    while not draws.empty():
        await (draws.get_nowait()).close()
    return elapsed, latencies


def sql_baseline(points: list[tuple[float, float, str]], n: int, connections: int, tag: str) -> float:
    """Rows per second of the baseline (a short warm-up first, as the HTTP rounds have)."""
    asyncio.run(_sql_baseline(_baseline_rows(points, 200, f"{tag}w"), connections))
    elapsed, _lat = asyncio.run(_sql_baseline(_baseline_rows(points, n, tag), connections))
    return n / elapsed


def _bearer_tokens(n: int) -> list[str]:
    """``n`` bearer tokens of the district's duty officer: one per connection, each its own limiter bucket."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.security.tokens import mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    try:
        factory = make_session_factory(engine)
        return [mint_token_for(UnitOfWork(factory), "duty.district", name=f"bench-{i}") for i in range(n)]
    finally:
        engine.dispose()


def _actors(n: int) -> list[str]:
    """``n`` people of the district (the unchecked variant names one per connection)."""
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        codes = [r[0] for r in conn.execute("SELECT code FROM people WHERE active ORDER BY code LIMIT %s", (n,))]
    return [codes[i % len(codes)] for i in range(n)]


#: (label, uvicorn app factory, the credential header line)
VARIANTS = {
    "checked": ("shuzhi.entrypoints.api.app:create_app", "Authorization: Bearer {token}"),
    # one person per connection: the limiter's bucket is per credential, so both variants get as many
    "unchecked": ("_intake_unchecked_app:create_app", "X-Actor: {actor}"),
}


def _wait_for(port: int, server: subprocess.Popen[bytes], seconds: float = 180.0) -> None:
    """Until the server accepts connections (slow to start on a loaded machine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the API server exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            time.sleep(1.0)  # let every worker finish starting
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the API server did not start within {seconds:.0f} s")


@dataclass(frozen=True)
class Run:
    events_per_s: float
    p50_ms: float
    p99_ms: float
    #: CPU milliseconds per request: the API processes, PostgreSQL's backends, the load client.
    server_cpu_ms: float
    pg_cpu_ms: float
    client_cpu_ms: float
    load_average: float


def _measure(variant: str, tokens: list[str], points: list[tuple[float, float, str]], args: argparse.Namespace,
             tag: str, open_rate: float | None = None) -> tuple[Run, dict[str, Any]]:
    """One server of the variant, warmed up, then ``args.requests`` intakes: closed loop, or open loop at
    ``open_rate``. Returns the run and the memory of the server's processes at the end."""
    app_spec, credential = VARIANTS[variant]
    credentials = [credential.format(token=tok, actor=who) for tok, who in zip(tokens, _actors(len(tokens)),
                                                                                 strict=True)]
    port = _free_port()
    # the rate limiter stays at its production setting: nothing here overrides SHUZHI_INTAKE_RATE_PER_S
    env = {**os.environ, "SHUZHI_DATABASE_URL": URL,
           "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for name in ("SHUZHI_INTAKE_RATE_PER_S", "SHUZHI_INTAKE_BURST"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app_spec, "--factory", "--port", str(port), "--workers", str(args.workers),
         "--log-level", "warning", "--no-access-log",
         # as `shuzhi serve` does: on a busy host a worker takes longer than uvicorn's 5 s to start,
         # and the supervisor would kill it mid-run (dropping the benchmark's connections)
         "--timeout-worker-healthcheck", "120",
         # the open loop's spare connections may idle longer than uvicorn's 5 s at a low rate (a loaded
         # machine, Citus): a connection the server closed under the client is no measurement
         "--timeout-keep-alive", "120"], env=env)
    try:
        _wait_for(port, server)
        asyncio.run(_load(port, _bodies(points, 400, f"warm-{tag}"), args.connections, credentials))
        bodies = _bodies(points, args.requests, tag)
        meter = CpuMeter(server.pid, DB)
        client_t0 = time.process_time()
        if open_rate is None:
            elapsed, lat, statuses = asyncio.run(_load(port, bodies, args.connections, credentials))
        else:
            elapsed, lat, statuses = asyncio.run(_open_loop(port, bodies, open_rate, args.connections * 2,
                                                            credentials))
        client_cpu = time.process_time() - client_t0
        server_cpu, pg_cpu = meter.stop()
        memory = tree_rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if statuses.get(201, 0) != args.requests:
        raise SystemExit(f"not every intake succeeded ({variant}): {statuses}")
    lat.sort()
    n = args.requests
    run = Run(events_per_s=round(n / elapsed, 1), p50_ms=round(statistics.median(lat) * 1000, 1),
              p99_ms=round(lat[int(len(lat) * 0.99)] * 1000, 1), server_cpu_ms=round(server_cpu * 1000 / n, 3),
              pg_cpu_ms=round(pg_cpu * 1000 / n, 3), client_cpu_ms=round(client_cpu * 1000 / n, 3),
              load_average=float(Path("/proc/loadavg").read_text().split()[0]))
    mode = "closed loop" if open_rate is None else f"open loop at {open_rate:.0f}/s"
    print(f"  {variant:<9} {mode}: {run.events_per_s:6.0f} events/s "
          f"(p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms); "
          f"CPU per request: API {run.server_cpu_ms:.2f} ms, PostgreSQL {run.pg_cpu_ms:.2f} ms, "
          f"client {run.client_cpu_ms:.2f} ms; load average {run.load_average:.1f}", flush=True)
    return run, memory


def _median(runs: list[Run], field: str) -> float:
    return round(statistics.median(getattr(r, field) for r in runs), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of HTTP (checked, unchecked) and SQL baseline")
    ap.add_argument("--reuse", action="store_true", help="(kept for old commands: reuse follows the fingerprint)")
    ap.add_argument("--prepare-only", action="store_true", help="build the database, measure nothing")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20,000 events, 600 requests, 1 round")
    ap.add_argument("--citus", action="store_true", help="on the local Citus cluster (figures named …_citus)")
    args = ap.parse_args()
    if args.quick:
        args.events, args.requests, args.rounds = 20_000, 600, 1
    if args.citus:
        use_citus()
    # the history carries its district code, as intake writes it (on Citus: the shard it sits in)
    fp = fingerprint("intake", events=args.events, seed=1, district_code=True,
                     **(_citus.fingerprint() if CITUS else {}))
    print(explain(ADMIN_URL, URL, fp), flush=True)
    if matches(ADMIN_URL, URL, fp):
        if CITUS:  # a database the migrations brought to the head may have tables to lay out
            _citus.distribute(URL)
        points = reuse()
    else:
        points = prepare(args.events)
        mark(ADMIN_URL, URL, fp)
    if args.prepare_only:
        print(f"prepared {DB}")
        return
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        stored = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]
        lines = int(conn.execute("SELECT count(*) FROM timeline_entries").fetchone()[0])  # type: ignore[index]
    tokens = _bearer_tokens(args.connections)
    runs: dict[str, list[Run]] = {"checked": [], "unchecked": []}
    baseline: list[float] = []
    memory: dict[str, Any] = {}
    stamp = f"{int(time.time()) % 10**6:06d}"
    overheads = []
    for r in range(args.rounds):
        # alternate the order so that drift on a shared machine does not favour one variant
        order = ("unchecked", "checked") if r % 2 == 0 else ("checked", "unchecked")
        print(f"round {r + 1} of {args.rounds}", flush=True)
        for variant in order:
            run, mem = _measure(variant, tokens, points, args, f"{variant}-{stamp}-{r}")
            runs[variant].append(run)
            if variant == "checked":
                memory = mem
            if variant == "checked":
                # the baseline right after the HTTP round, same connections, same rows
                baseline.append(sql_baseline(points, args.requests, args.connections, f"sql-{stamp}-{r}"))
                print(f"  SQL baseline: {baseline[-1]:6.0f} rows/s (event + first timeline entry + drawn number, "
                      f"{args.connections} connections)", flush=True)
        checked, unchecked = runs["checked"][-1], runs["unchecked"][-1]
        overheads.append({
            "rate_pct": round((unchecked.events_per_s - checked.events_per_s) / unchecked.events_per_s * 100, 1),
            "api_cpu_pct": round((checked.server_cpu_ms - unchecked.server_cpu_ms) / unchecked.server_cpu_ms * 100, 1),
        })
        print(f"  round {r + 1}: checks cost {overheads[-1]['rate_pct']:+.1f} % of the rate, "
              f"{overheads[-1]['api_cpu_pct']:+.1f} % of the API's CPU per request", flush=True)
    checked_runs, unchecked_runs = runs["checked"], runs["unchecked"]
    rates = [r.events_per_s for r in checked_runs]
    rate, base = _median(checked_runs, "events_per_s"), _median(unchecked_runs, "events_per_s")
    sql_rate = statistics.median(baseline)
    peak = max(rates)
    open_run, _mem = _measure("checked", tokens, points, args, f"open-{stamp}", open_rate=0.8 * peak)
    rate_overhead = statistics.median(o["rate_pct"] for o in overheads)
    cpu_overhead = statistics.median(o["api_cpu_pct"] for o in overheads)
    print(f"HTTP intake {rate:.0f}/s with checks, {base:.0f}/s without; SQL baseline {sql_rate:.0f}/s; "
          f"open loop at {0.8 * peak:.0f}/s: p99 {open_run.p99_ms:.0f} ms")
    volume = {"events_stored": stored, "timeline_entries_stored": lines, "tasks_stored": 0, "clocks_stored": 0,
              "grids": len(points), "requests_per_round": args.requests, "rounds": args.rounds,
              "connections": args.connections, "tokens": len(tokens), "api_workers": args.workers, "seed": 1,
              "districts": 1}
    loads = [r.load_average for r in checked_runs + unchecked_runs]
    record(_name("intake_http_events_per_s"), rate, "events/s", 500, "higher", samples=rates, database=URL,
           volume=volume,
           p50_ms=_median(checked_runs, "p50_ms"), p99_closed_loop_ms=_median(checked_runs, "p99_ms"),
           credential="bearer token per connection", idempotency_keys=True, rate_limiter="production setting",
           load_average=[min(loads), max(loads)])
    ratios = [c.events_per_s / b for c, b in zip(checked_runs, baseline, strict=True)]
    record(_name("intake_http_vs_sql_baseline_ratio"), round(rate / sql_rate, 3), "ratio", 0.5, "higher",
           samples=[round(x, 3) for x in ratios], database=URL, volume=volume,
           ratio={"numerator": {"label": "HTTP intake", "value": rate, "unit": "events/s"},
                  "denominator": {"label": "plain SQL, same rows and connections", "value": round(sql_rate, 1),
                                  "unit": "rows/s"}},
           baseline_rows_per_s=[round(x, 1) for x in baseline])
    record(_name("intake_http_p99_open_loop_ms"), open_run.p99_ms, "ms", None, "lower", database=URL, volume=volume,
           offered_rate=round(0.8 * peak, 1), peak_rate=peak, achieved_rate=open_run.events_per_s,
           p50_ms=open_run.p50_ms, arrivals="Poisson")
    record(_name("intake_http_cpu_ms_per_event"), round(_median(checked_runs, "server_cpu_ms")
                                                 + _median(checked_runs, "pg_cpu_ms"), 3),
           "ms CPU/event", None, "lower", database=URL, volume=volume,
           samples=[round(r.server_cpu_ms + r.pg_cpu_ms, 3) for r in checked_runs],
           api_ms=_median(checked_runs, "server_cpu_ms"), postgresql_ms=_median(checked_runs, "pg_cpu_ms"),
           client_ms=_median(checked_runs, "client_cpu_ms"),
           note="API processes + PostgreSQL backends, per request; independent of other load")
    record(_name("intake_security_overhead_pct"), round(rate_overhead, 1), "%", 10, "lower", kind="overhead",
           samples=[o["rate_pct"] for o in overheads], database=URL, volume=volume,
           ratio={"numerator": {"label": "with checks", "value": rate, "unit": "events/s"},
                  "denominator": {"label": "without checks", "value": base, "unit": "events/s"}},
           api_cpu_overhead_pct=round(cpu_overhead, 1), per_round=overheads,
           runs={k: [asdict(x) for x in v] for k, v in runs.items()})
    record(_name("memory_api_worker_intake_mb"), memory.get("largest_peak_mb") or 0.0, "MB", 400, "lower", database=URL,
           volume={**volume, "scale": "district"}, processes=memory.get("processes"),
           note="peak resident memory (VmHWM) of the largest API worker after a checked round")


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
