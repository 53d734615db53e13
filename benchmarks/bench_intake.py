"""Intake of events over HTTP on PostgreSQL with 2,000+ grids and 1,000,000 stored events.

Figure (issue: Core): ≥ 500 events/s on this 2-core machine, reported as a ratio to plain
single-row INSERTs (one transaction each, like an intake) of the same rows in the same run.

Figure (issue: Security): sign-in, permission and scope checks add ≤ 10 % to intake. The same run
serves the API twice, alternately: as it is (a bearer token per request, ``event.submit`` and
source checks, per-submitter idempotency keys, the intake rate limiter) and as it was before
sign-in (``benchmarks/_intake_unchecked_app.py``: the staff code in ``X-Actor``, no checks).

Besides the rate, which depends on whatever else the machine runs, every run reports the CPU time
per request of the API processes, of the PostgreSQL backends serving the benchmark database and of
the client (read from ``/proc`` before and after the measured requests): these do not depend on
the load, so they show what a change did even on a shared machine.

Setup: a dedicated database ``shuzhi_bench`` (``SHUZHI_BENCH_DB``) on the local PostgreSQL, the demo
district imported through the real importers, 1,000,000 events filled by one INSERT … SELECT, then
uvicorn with ``--workers 2`` and a keep-alive asyncio client with 32 connections.
Run: ``.venv/bin/python benchmarks/bench_intake.py [--events 1000000] [--requests 6000] [--rounds 3]``;
``--prepare-only`` builds the database and stops, ``--reuse`` measures against the one a previous run
left (a few minutes), ``--quick`` is a smoke run (20,000 events, 600 requests, 1 round).
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

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_BENCH_DB", "shuzhi_bench")
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
HERE = Path(__file__).resolve().parent


def prepare(stored_events: int) -> list[tuple[float, float, str]]:
    """Fresh schema, the demo district, ``stored_events`` rows; returns grid points with class codes."""
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
    district = build_district(1)
    factory = make_session_factory(engine)
    load_reference_data(lambda: UnitOfWork(factory), district)
    engine.dispose()
    t0 = time.perf_counter()
    with psycopg.connect(URL.replace("+psycopg", ""), autocommit=True) as conn:
        grids = conn.execute("SELECT id, path, centroid_lon, centroid_lat FROM areas WHERE level='grid'").fetchall()
        owner = conn.execute("SELECT id FROM units WHERE kind='centre' AND level='district'").fetchone()[0]
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE default_mode='handle'")]
        # One set-based statement: history as a real district would have it, spread over two years.
        conn.execute(
            """
            WITH g_ AS (SELECT id, path, centroid_lon, centroid_lat,
                               row_number() OVER (ORDER BY id) - 1 AS rn
                        FROM areas WHERE level = 'grid')
            INSERT INTO events (number, source, title, description, lon, lat, area_id, area_path, urgency, mode,
                                state, owner_unit_id, self_handled, rework_count, return_count, received_at,
                                updated_at, version)
            SELECT '500111-H-' || lpad(g::text, 8, '0'), 'hotline', '历史事件 ' || g, '', a.centroid_lon,
                   a.centroid_lat, a.id, a.path, 'normal', 'handle',
                   (ARRAY['called_back','closed','handling','registered'])[1 + g %% 4], %s, false, 0, 0,
                   now() - (g || ' minutes')::interval, now(), 1
            FROM generate_series(1, %s) AS g JOIN g_ a ON a.rn = g %% %s
            """,
            (owner, stored_events, len(grids)),
        )
        conn.execute("ANALYZE")
    print(f"filled {stored_events} events in {time.perf_counter() - t0:.0f} s")
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


async def _client(port: int, bodies: list[bytes], latencies: list[float], statuses: dict[int, int],
                  credential: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for body in bodies:
        head = (f"POST /api/events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"{credential}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        t0 = time.perf_counter()
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
        latencies.append(time.perf_counter() - t0)
        code = int(status_line.split()[1])
        statuses[code] = statuses.get(code, 0) + 1
    writer.close()


async def _load(port: int, bodies: list[bytes], connections: int, credential: str
                ) -> tuple[float, list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    share = [bodies[i::connections] for i in range(connections)]
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(port, s, latencies, statuses, credential) for s in share))
    return time.perf_counter() - t0, latencies, statuses


def _bodies(points: list[tuple[float, float, str]], n: int, tag: str) -> list[bytes]:
    rng = random.Random(11)
    out = []
    for i in range(n):
        lon, lat, cls = rng.choice(points)
        out.append(json.dumps({"source": "hotline", "request_type": "complain", "event_class_code": cls,
                               "title": f"压测事件 {tag} {i}", "description": "路灯不亮，影响夜间出行",
                               "lon": lon, "lat": lat, "reporter_phone": "13800138000"},
                              ensure_ascii=False).encode())
    return out


def plain_inserts(rows: int) -> float:
    """Rows per second for single-row INSERTs of the same columns, one transaction each."""
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        area_id, path = conn.execute("SELECT id, path FROM areas WHERE level='grid' LIMIT 1").fetchone()
        # A tag per run keeps numbers unique across --reuse runs without deleting rows (deleting events
        # would check the unindexed events.master_event_id reference once per row).
        tag = f"{int(time.time()) % 10**6:06d}"
        t0 = time.perf_counter()
        for i in range(rows):
            conn.execute(
                "INSERT INTO events (number, source, title, description, lon, lat, area_id, area_path, urgency,"
                " mode, state, self_handled, rework_count, return_count, received_at, updated_at, version)"
                " VALUES (%s,'hotline',%s,'',105.7,29.7,%s,%s,'normal','handle','registered',false,0,0,now(),"
                " now(),1)", (f"500111-P{tag}-{i:08d}", f"plain {i}", area_id, path))
            conn.commit()
        return rows / (time.perf_counter() - t0)


def _bearer_token() -> str:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.security.tokens import mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    try:
        return mint_token_for(UnitOfWork(make_session_factory(engine)), "duty.district", name="bench")
    finally:
        engine.dispose()


#: (label, uvicorn app factory, the credential header line)
VARIANTS = {
    "checked": ("shuzhi.entrypoints.api.app:create_app", "Authorization: Bearer {token}"),
    "unchecked": ("_intake_unchecked_app:create_app", "X-Actor: duty.district"),
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


def _measure(variant: str, token: str, points: list[tuple[float, float, str]], args: argparse.Namespace,
             tag: str) -> Run:
    """One server of the variant, warmed up, then ``args.requests`` intakes."""
    app_spec, credential = VARIANTS[variant]
    credential = credential.format(token=token)
    port = _free_port()
    env = {**os.environ, "SHUZHI_DATABASE_URL": URL, "SHUZHI_INTAKE_RATE_PER_S": "1000000",
           "SHUZHI_INTAKE_BURST": "1000000", "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app_spec, "--factory", "--port", str(port), "--workers", str(args.workers),
         "--log-level", "warning", "--no-access-log",
         # as `shuzhi serve` does: on a busy host a worker takes longer than uvicorn's 5 s to start,
         # and the supervisor would kill it mid-run (dropping the benchmark's connections)
         "--timeout-worker-healthcheck", "120"], env=env)
    try:
        _wait_for(port, server)
        asyncio.run(_load(port, _bodies(points, 400, f"warm-{tag}"), args.connections, credential))
        bodies = _bodies(points, args.requests, tag)
        meter = CpuMeter(server.pid, DB)
        client_t0 = time.process_time()
        elapsed, lat, statuses = asyncio.run(_load(port, bodies, args.connections, credential))
        client_cpu = time.process_time() - client_t0
        server_cpu, pg_cpu = meter.stop()
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
    print(f"  {variant:<9} {run.events_per_s:6.0f} events/s (p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms); "
          f"CPU per request: API {run.server_cpu_ms:.2f} ms, PostgreSQL {run.pg_cpu_ms:.2f} ms, "
          f"client {run.client_cpu_ms:.2f} ms; load average {run.load_average:.1f}", flush=True)
    return run


def _median(runs: list[Run], field: str) -> float:
    return round(statistics.median(getattr(r, field) for r in runs), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="alternating checked/unchecked runs of each")
    ap.add_argument("--reuse", action="store_true", help="measure against the database of a previous run")
    ap.add_argument("--prepare-only", action="store_true", help="build the database, measure nothing")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20,000 events, 600 requests, 1 round")
    args = ap.parse_args()
    if args.quick:
        args.events, args.requests, args.rounds = 20_000, 600, 1
    points = reuse() if args.reuse else prepare(args.events)
    if args.prepare_only:
        print(f"prepared {DB}; measure with: benchmarks/bench_intake.py --reuse")
        return
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        stored = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    token = _bearer_token()
    runs: dict[str, list[Run]] = {"checked": [], "unchecked": []}
    stamp = f"{int(time.time()) % 10**6:06d}"
    overheads = []
    for r in range(args.rounds):
        # alternate the order so that drift on a shared machine does not favour one variant
        order = ("unchecked", "checked") if r % 2 == 0 else ("checked", "unchecked")
        print(f"round {r + 1} of {args.rounds}", flush=True)
        for variant in order:
            runs[variant].append(_measure(variant, token, points, args, f"{variant}-{stamp}-{r}"))
        checked, unchecked = runs["checked"][-1], runs["unchecked"][-1]
        overheads.append({
            "rate_pct": round((unchecked.events_per_s - checked.events_per_s) / unchecked.events_per_s * 100, 1),
            "api_cpu_pct": round((checked.server_cpu_ms - unchecked.server_cpu_ms) / unchecked.server_cpu_ms * 100, 1),
        })
        print(f"  round {r + 1}: checks cost {overheads[-1]['rate_pct']:+.1f} % of the rate, "
              f"{overheads[-1]['api_cpu_pct']:+.1f} % of the API's CPU per request", flush=True)
    checked_runs, unchecked_runs = runs["checked"], runs["unchecked"]
    rate, base = _median(checked_runs, "events_per_s"), _median(unchecked_runs, "events_per_s")
    rate_overhead = statistics.median(o["rate_pct"] for o in overheads)
    cpu_overhead = statistics.median(o["api_cpu_pct"] for o in overheads)
    plain = plain_inserts(3000)
    print(f"HTTP intake {rate:.0f}/s with checks, {base:.0f}/s without (median of rounds: {rate_overhead:+.1f} % "
          f"of the rate, {cpu_overhead:+.1f} % of the API's CPU); plain INSERT {plain:.0f}/s")
    loads = [r.load_average for r in checked_runs + unchecked_runs]
    record("intake_http_events_per_s", rate, "events/s", 500, "higher", stored_events=stored,
           grids=len(points), workers=args.workers, connections=args.connections,
           p50_ms=_median(checked_runs, "p50_ms"), p99_ms=_median(checked_runs, "p99_ms"),
           credential="bearer token", rounds=args.rounds, requests_per_run=args.requests,
           load_average=[min(loads), max(loads)])
    record("intake_http_cpu_ms_per_event", round(_median(checked_runs, "server_cpu_ms")
                                                 + _median(checked_runs, "pg_cpu_ms"), 3),
           "ms CPU/event", None, "lower", api_ms=_median(checked_runs, "server_cpu_ms"),
           postgresql_ms=_median(checked_runs, "pg_cpu_ms"), client_ms=_median(checked_runs, "client_cpu_ms"),
           note="API processes + PostgreSQL backends, per request; independent of other load")
    record("intake_http_vs_plain_insert_ratio", round(rate / plain, 3), "ratio", None, "higher",
           plain_insert_rows_per_s=round(plain, 1))
    record("intake_security_overhead_pct", round(rate_overhead, 1), "%", 10, "lower",
           with_checks_events_per_s=rate, without_checks_events_per_s=base,
           api_cpu_overhead_pct=round(cpu_overhead, 1), rounds=args.rounds, requests_per_run=args.requests,
           stored_events=stored, per_round=overheads,
           runs={k: [asdict(x) for x in v] for k, v in runs.items()})


if __name__ == "__main__":
    main()
