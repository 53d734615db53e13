"""Soak and fault driver: sustained events/s over HTTP, faults on the way, then count what was stored.

Every event is sent with an ``Idempotency-Key`` and retried (connection errors, 5xx, 429) until it is
acknowledged or ``--give-up`` seconds pass, as a real connected system would. At the end the database
is counted: every acknowledged event must be stored exactly once (``lost`` = acknowledged − stored,
``doubled`` = rows − distinct references); p50/p99 are the latencies a client saw, retries included.

Faults (``--fault KIND@SECONDS``, repeatable): ``kill-worker`` SIGKILLs one API worker process (uvicorn
starts a new one), ``restart-postgres`` runs ``pg_ctlcluster --skip-systemctl-redirect 15 main restart``,
``restart-mosquitto`` runs ``service mosquitto restart`` (both commands can be changed). The server is
started here (``shuzhi serve --workers N`` on a fresh database ``soak_integration`` with the demo district)
unless ``--url`` names a running one (then ``--database-url`` must name its database for the count).

Full size (the issue): ``.venv/bin/python benchmarks/soak.py --rate 200 --duration 600
--fault kill-worker@120 --fault restart-postgres@240 --fault restart-mosquitto@360``.
Smoke: ``--quick`` (20 events/s for 15 s, one worker killed). Only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = os.environ.get("SHUZHI_SOAK_DB", "soak_integration")
FAULT_COMMANDS = {
    "restart-postgres": "pg_ctlcluster --skip-systemctl-redirect 15 main restart",
    "restart-mosquitto": "service mosquitto restart",
}


@dataclass
class Tally:
    acknowledged: int = 0
    failed: int = 0
    retries: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


def prepare(url: str) -> list[tuple[float, float, str]]:
    """A fresh database at the migration head with the demo district; grid points and classes to send."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.migrate import upgrade
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data
    from shuzhi.services.unit_of_work import UnitOfWork

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    upgrade(url)
    engine = make_engine(url)
    load_reference_data(lambda: UnitOfWork(make_session_factory(engine)), build_district(1))
    engine.dispose()
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        grids = conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level='grid'").fetchall()
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE default_mode='handle'")]
    rng = random.Random(3)
    return [(g[0], g[1], rng.choice(classes)) for g in grids]


def api_key(url: str) -> str:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.auth import NewApiKey, create_api_key
    from shuzhi.services.commands import Source
    from shuzhi.services.unit_of_work import UnitOfWork

    uow = UnitOfWork(make_session_factory(make_engine(url)))
    raw, _ = create_api_key(uow, SYSTEM, NewApiKey(name="soak", sources=[Source.ONLINE_APP], write=True))
    return raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def fault(kind: str, server: subprocess.Popen[bytes] | None, commands: dict[str, str]) -> str:
    if kind == "kill-worker":
        if server is None:
            return "kill-worker needs the server started by this script"
        workers = [p for p in children(server.pid) if "multiprocessing" in _cmdline(p) or "spawn" in _cmdline(p)]
        if not workers:
            return "no worker process found"
        victim = random.choice(workers)
        os.kill(victim, signal.SIGKILL)
        return f"SIGKILL worker {victim}"
    command = commands[kind]
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    return f"{command} → exit {done.returncode}"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


async def send_all(base: str, key: str, run: str, rate: float, duration: float,
                   points: list[tuple[float, float, str]], give_up: float, tally: Tally,
                   faults: list[tuple[float, str]], on_fault: object) -> int:
    total = int(rate * duration)
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    started = time.monotonic()
    rng = random.Random(run)

    async def one(i: int, client: httpx.AsyncClient) -> None:
        lon, lat, cls = rng.choice(points)
        body = {"source": "online_app", "request_type": "complain", "event_class_code": cls,
                "title": f"压测事件 {i}", "lon": lon, "lat": lat, "external_ref": f"{run}-{i}"}
        headers = {"X-API-Key": key, "Idempotency-Key": f"{run}-{i}"}
        first = time.monotonic()
        delay = 0.2
        while True:
            try:
                r = await client.post(f"{base}/api/events", json=body, headers=headers, timeout=30)
                tally.statuses[str(r.status_code)] = tally.statuses.get(str(r.status_code), 0) + 1
                if r.status_code in (200, 201):
                    tally.acknowledged += 1
                    tally.latencies.append(time.monotonic() - first)
                    return
                if r.status_code not in (429, 500, 502, 503, 504):
                    tally.failed += 1
                    print(f"event {i}: {r.status_code} {r.text[:200]}")
                    return
            except httpx.HTTPError as exc:
                name = type(exc).__name__
                tally.statuses[name] = tally.statuses.get(name, 0) + 1
            if time.monotonic() - first > give_up:
                tally.failed += 1
                return
            tally.retries += 1
            await asyncio.sleep(delay + rng.random() * delay)
            delay = min(delay * 2, 5.0)

    async with httpx.AsyncClient(limits=limits) as client:
        tasks = []
        pending_faults = sorted(faults)
        for i in range(total):
            at = started + i / rate
            now = time.monotonic()
            while pending_faults and now - started >= pending_faults[0][0]:
                _, kind = pending_faults.pop(0)
                message = await asyncio.to_thread(on_fault, kind)  # type: ignore[arg-type]
                print(f"[{now - started:6.1f} s] fault {kind}: {message}")
            if at > now:
                await asyncio.sleep(at - now)
            tasks.append(asyncio.create_task(one(i, client)))
        await asyncio.gather(*tasks)
    return total


def count(url: str, run: str) -> tuple[int, int]:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT external_ref) FROM events "
                                      "WHERE external_ref LIKE %s", (f"{run}-%",)).fetchone()
    return int(rows), int(distinct)


def wait_ready(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="events per second")
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fault", action="append", default=[], help="KIND@SECONDS, e.g. kill-worker@120")
    parser.add_argument("--give-up", type=float, default=120, help="seconds a client keeps retrying one event")
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--database-url", default=f"postgresql+psycopg://postgres@localhost/{DB}")
    parser.add_argument("--postgres-restart", default=FAULT_COMMANDS["restart-postgres"])
    parser.add_argument("--mosquitto-restart", default=FAULT_COMMANDS["restart-mosquitto"])
    parser.add_argument("--quick", action="store_true", help="20 events/s for 15 s, one worker killed at 5 s")
    args = parser.parse_args()
    if args.quick:
        args.rate, args.duration, args.fault = 20, 15, args.fault or ["kill-worker@5"]
    faults = []
    for spec in args.fault:
        kind, _, at = spec.partition("@")
        if kind not in ("kill-worker", "restart-postgres", "restart-mosquitto") or not at:
            raise SystemExit(f"--fault {spec}: use kill-worker@S, restart-postgres@S or restart-mosquitto@S")
        faults.append((float(at), kind))
    commands = {"restart-postgres": args.postgres_restart, "restart-mosquitto": args.mosquitto_restart}

    server = None
    base = args.url
    if base is None:
        points = prepare(args.database_url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SHUZHI_DATABASE_URL": args.database_url, "SHUZHI_INTAKE_RATE_PER_S": "100000",
               "SHUZHI_INTAKE_BURST": "100000", "SHUZHI_ACCESS_LOG": "false",
               "SHUZHI_DATA_DIR": str(Path("var/soak").resolve())}
        server = subprocess.Popen([sys.executable, "-m", "shuzhi.entrypoints.cli", "serve", "--workers",
                                   str(args.workers), "--port", str(port), "--log-level", "warning"], env=env)
    else:
        with psycopg.connect(args.database_url.replace("+psycopg", "")) as conn:
            grids = conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level='grid'").fetchall()
            classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE default_mode='handle'")]
        points = [(g[0], g[1], random.choice(classes)) for g in grids]
    try:
        wait_ready(base)
        key = api_key(args.database_url)
        run = f"soak{uuid.uuid4().hex[:8]}"
        tally = Tally()
        t0 = time.monotonic()
        sent = asyncio.run(send_all(base, key, run, args.rate, args.duration, points, args.give_up, tally, faults,
                                    lambda kind: fault(kind, server, commands)))
        took = time.monotonic() - t0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    rows, distinct = count(args.database_url, run)
    lat = sorted(tally.latencies)
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else float("nan")
    lost = tally.acknowledged - distinct
    doubled = rows - distinct
    print(f"sent {sent} in {took:.0f} s ({sent / took:.0f}/s offered {args.rate}/s); acknowledged "
          f"{tally.acknowledged}, failed {tally.failed}, retries {tally.retries}; stored {rows} rows, "
          f"{distinct} distinct → lost {lost}, doubled {doubled}; p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"answers: {dict(sorted(tally.statuses.items()))}")
    if not args.quick:
        record("soak_events_lost", lost, "events", 0, "lower", sent=sent, acknowledged=tally.acknowledged,
               failed=tally.failed, stored=rows, doubled=doubled, rate=args.rate, duration_s=args.duration,
               p50_ms=round(p50, 1), p99_ms=round(p99, 1), faults=args.fault, retries=tally.retries)
    if lost or doubled or tally.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
