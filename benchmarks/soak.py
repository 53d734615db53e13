"""Soak and fault driver: events over HTTP and readings over HTTP and MQTT, faults on the way, then
count exactly what was stored.

Load (all at fixed rates for ``--duration`` seconds):

- events: ``POST /api/events``, each with an ``Idempotency-Key``, retried (connection errors, 429, 5xx)
  until acknowledged or ``--give-up`` seconds pass, as a connected system would;
- readings over HTTP: ``POST /api/readings`` in batches of ``--reading-batch``, retried the same way
  (a reading's key is its indicator, device and time, so a retried batch is harmless);
- readings over MQTT: gateway batches on ``shuzhi/readings`` with QoS 1 and a persistent session
  (paho re-sends what the broker has not acknowledged after a reconnect), stored by a
  ``shuzhi ingest-mqtt`` process (QoS 1, persistent session, PUBACK only after the commit).

Every reading of a run is unique (its own devices' series, one millisecond apart), so the count is
exact: ``lost`` = sent − stored, ``extra`` = stored − sent (both must be 0), and ``doubled`` = the
hourly roll-ups' count − the stored rows for the run's series (a reading counted twice would show
there; the rows themselves have a unique key). Events are counted by their stored Idempotency-Key
(``intake_key``): ``lost`` = acknowledged − distinct keys stored, ``doubled`` = rows − distinct keys.
p50/p99 are what a client saw (retries included): per event, per HTTP batch, and per MQTT message
from publish to the broker's PUBACK; the MQTT drain time is how long after the load stopped the last
MQTT reading was stored.

Processes: ``shuzhi serve --workers N`` (uvicorn replaces a killed worker), one ``shuzhi worker`` and
one ``shuzhi ingest-mqtt``; these two are restarted by this script when they die, as systemd's
``Restart=always`` would (the count of such restarts is reported: only the SIGKILLed ones may appear).

Faults (``--fault KIND@SECONDS``, repeatable): ``kill-worker`` SIGKILLs one API worker process,
``kill-ingest`` the MQTT ingest process, ``kill-scheduler`` the ``shuzhi worker``; ``restart-postgres``
and ``restart-mosquitto`` restart the *private* PostgreSQL cluster and Mosquitto broker that
``--private-cluster`` creates (PostgreSQL 15 cluster ``soak`` on port 5440 via ``pg_createcluster``,
Mosquitto with persistence on port 1890; both removed at the end), so the shared services are never
touched. Restart faults are refused without ``--private-cluster``.

Full size (the issue; ``make soak``): ``--private-cluster --rate 200 --readings-rate 20000 --duration
600 --fault kill-worker@120 --fault kill-ingest@180 --fault restart-postgres@240 --fault
restart-mosquitto@360``. ``--prepare-only`` builds the database (demo district, sensing tree and
devices) and keeps a dump in ``var/soak/``; ``--reuse`` restores that dump instead of rebuilding.
Only talks to 127.0.0.1; the API listens on port 8160.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "soak"
DB = os.environ.get("SHUZHI_SOAK_DB", "soak_integration")
PG_VERSION, CLUSTER = "15", os.environ.get("SHUZHI_SOAK_CLUSTER", "soak")
PG_PORT = int(os.environ.get("SHUZHI_SOAK_PG_PORT", "5440"))
MQTT_PORT = int(os.environ.get("SHUZHI_SOAK_MQTT_PORT", "1890"))
API_PORT = int(os.environ.get("SHUZHI_SOAK_API_PORT", "8160"))
SHARED_ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
FAULTS = ("kill-worker", "kill-ingest", "kill-scheduler", "restart-postgres", "restart-mosquitto")
DUMP = VAR / f"{DB}.dump"


def log(message: str, started: float | None = None) -> None:
    at = f"[{time.monotonic() - started:6.1f} s] " if started is not None else ""
    print(f"{at}{message}", flush=True)


# --- private PostgreSQL and Mosquitto -------------------------------------------------------------------


def _run(command: list[str], check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[:500]}")
    return done


def _wait_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


class PrivatePostgres:
    """A PostgreSQL cluster of its own (``pg_createcluster``), so that restarting it disturbs no one."""

    def __init__(self, port: int = PG_PORT) -> None:
        self.port = port

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create(self) -> None:
        if CLUSTER in _run(["pg_lsclusters", "--no-header"]).stdout.split():
            self.remove()  # a leftover of an interrupted run
        _run(["pg_createcluster", PG_VERSION, CLUSTER, "--port", str(self.port),
              "-o", "max_connections=200", "-o", "shared_buffers=256MB",
              "--", "--auth=trust"])
        self.start()

    def start(self) -> None:
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, CLUSTER, "start"])
        _wait_port(self.port)

    def restart(self) -> str:
        # fast: open transactions are rolled back and every connection is dropped, as in a fail-over
        done = _run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, CLUSTER, "restart", "-m", "fast"],
                    check=False)
        return f"pg_ctlcluster {PG_VERSION} {CLUSTER} restart -m fast → exit {done.returncode}"

    def remove(self) -> None:
        _run(["pg_dropcluster", PG_VERSION, CLUSTER, "--stop"], check=False)


class PrivateMosquitto:
    """Mosquitto of its own with persistence (sessions and queued QoS 1 messages survive a restart)."""

    def __init__(self, port: int = MQTT_PORT) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="shuzhi-soak-mosquitto-"))
        self.dir.chmod(0o777)  # mosquitto started as root drops to its own user
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.dir}/\nautosave_interval 5\nmax_queued_messages 0\n"
            f"max_inflight_messages 1000\nlog_dest file {self.dir}/mosquitto.log\n", encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the broker writes its persistence file, then exits
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> str:
        old = self.proc.pid if self.proc else None
        self.stop()
        self.start()
        return f"mosquitto {old} stopped (SIGTERM) and started again as {self.proc.pid if self.proc else '?'}"

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Supervised:
    """A process that is started again when it dies (as systemd's ``Restart=always`` does)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log = open(VAR / f"{name}.log", "ab")  # noqa: SIM115  (closed in stop())
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        if not self.thread.is_alive():
            self.thread.start()

    def _watch(self) -> None:
        while not self.stopping.wait(0.5):
            if self.proc is not None and self.proc.poll() is not None and not self.stopping.is_set():
                print(f"{self.name} exited ({self.proc.returncode}); starting it again", flush=True)
                self.restarts += 1
                time.sleep(1.0)
                self.start()

    def kill(self) -> str:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        return f"SIGKILL {self.name} {self.proc.pid}"

    def stop(self) -> None:
        self.stopping.set()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- the database -------------------------------------------------------------------------------------


@dataclass
class World:
    points: list[tuple[float, float, str]]  # grid centre and an event class, for events
    devices: list[tuple[str, str]]  # (indicator code, device code) of numeric indicators


def prepare(admin_url: str, url: str) -> None:
    """A fresh database at the migration head with the demo district and its sensing tree and devices."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.migrate import upgrade
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data
    from shuzhi.demo.sensing import _numbered, build_plan
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing.indicators import import_devices, import_indicators
    from shuzhi.services.unit_of_work import UnitOfWork

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    district = build_district(1)
    load_reference_data(lambda: UnitOfWork(factory), district)
    plan = build_plan(district)
    for what, done in (("indicators", import_indicators(UnitOfWork(factory), _numbered(plan.indicator_rows), SYSTEM)),
                       ("devices", import_devices(UnitOfWork(factory), _numbered(plan.device_rows), SYSTEM))):
        if done.errors:
            raise SystemExit(f"importing the demo {what} failed: {done.errors[:3]}")
    engine.dispose()


def dump(url: str) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    _run(["pg_dump", "-Fc", "-f", str(DUMP), url.replace("+psycopg", "")])


def restore(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    _run(["pg_restore", "--no-owner", "-d", url.replace("+psycopg", ""), str(DUMP)])


def world(url: str) -> World:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        grids = conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level='grid' ORDER BY code").fetchall()
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes WHERE default_mode='handle' "
                                              "ORDER BY code")]
        devices = conn.execute("SELECT i.code, d.code FROM devices d JOIN indicators i ON i.id = d.indicator_id "
                               "WHERE d.active AND i.active AND i.value_type IN ('number', 'integer') "
                               "ORDER BY d.code").fetchall()
    rng = random.Random(3)
    if not devices:
        raise SystemExit("the soak database has no numeric devices: prepare it again (without --reuse)")
    return World([(g[0], g[1], rng.choice(classes)) for g in grids], [(d[0], d[1]) for d in devices])


def api_key(url: str) -> str:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.commands import Source
    from shuzhi.services.security.tokens import NewApiKey, create_api_key
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url)
    uow = UnitOfWork(make_session_factory(engine))
    raw, _ = create_api_key(uow, SYSTEM, NewApiKey(name="soak", sources=[Source.ONLINE_APP], write=True))
    engine.dispose()
    return raw


# --- load ---------------------------------------------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    retries: int = 0
    items: int = 0  # readings in the acknowledged batches
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def seen(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def percentiles(self) -> tuple[float, float]:
        lat = sorted(self.latencies)
        if not lat:
            return float("nan"), float("nan")
        return statistics.median(lat) * 1000, lat[max(0, int(len(lat) * 0.99) - 1)] * 1000


@dataclass
class Readings:
    """One stream of unique readings: device ``i % n`` at ``base + (i // n)`` milliseconds."""

    devices: list[tuple[str, str]]
    base: datetime
    next: int = 0

    def take(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` readings; whole values, which integer indicators accept too."""
        n = len(self.devices)
        out = []
        for i in range(self.next, self.next + count):
            indicator, device = self.devices[i % n]
            at = self.base + timedelta(milliseconds=i // n)
            out.append({"indicator": indicator, "device": device, "at": at.isoformat(), "value": i % 97})
        self.next += count
        return out

    def span(self) -> tuple[datetime, datetime]:
        return self.base, self.base + timedelta(milliseconds=self.next // max(1, len(self.devices)) + 1)


class LoadClientError(Exception):
    """The connection failed or timed out: the request is retried like any 5xx."""


@dataclass
class RawResponse:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)


class RawClient:
    """A lean HTTP/1.1 keep-alive client for the load: a pool of plain asyncio connections.

    httpx costs about 2 ms of CPU per request; at 200 events/s plus the reading batches that alone
    took the driver's whole core, so the driver, not the server, set the pace. This client writes the
    request and reads a Content-Length response (all our API answers carry one), a few tens of µs each.
    A connection that fails is dropped; the next request opens a new one (servers restart in the soak).
    """

    def __init__(self, base: str, size: int = 64) -> None:
        host_port = base.split("://", 1)[1]
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        self.size = size
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(size)

    async def post(self, path: str, body: bytes, headers: dict[str, str], timeout: float = 30) -> RawResponse:
        async with self.slots:
            conn = self.idle.pop() if self.idle else None
            try:
                if conn is None:
                    conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
                response, keep = await asyncio.wait_for(self._exchange(conn, path, body, headers), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                if conn is not None:
                    conn[1].close()
                raise LoadClientError(type(exc).__name__) from exc
            if keep:
                self.idle.append(conn)
            else:
                conn[1].close()
            return response

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str, body: bytes,
                        headers: dict[str, str]) -> tuple[RawResponse, bool]:
        reader, writer = conn
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                     .encode() + body)
        status_line = await reader.readline()
        if not status_line:
            raise asyncio.IncompleteReadError(b"", None)
        length, keep = 0, True
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        content = await reader.readexactly(length) if length else b""
        return RawResponse(int(status_line.split()[1]), content), keep

    async def aclose(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


RETRY = (429, 500, 502, 503, 504)


async def _post_with_retry(client: RawClient, path: str, tally: Tally, give_up: float, rng: random.Random,
                           ok: Any, body: bytes, headers: dict[str, str]) -> None:
    first = time.monotonic()
    delay = 0.2
    while True:
        try:
            r = await client.post(path, body, headers)
            tally.seen(str(r.status_code))
            if r.status_code in (200, 201):
                problem = ok(r)
                if problem is None:
                    tally.acknowledged += 1
                    tally.latencies.append(time.monotonic() - first)
                else:
                    tally.failed += 1
                    print(problem, flush=True)
                return
            if r.status_code not in RETRY:
                tally.failed += 1
                print(f"{path}: {r.status_code} {r.text[:200]}", flush=True)
                return
        except LoadClientError as exc:
            tally.seen(str(exc))
        if time.monotonic() - first > give_up:
            tally.failed += 1
            return
        tally.retries += 1
        await asyncio.sleep(delay + rng.random() * delay)
        delay = min(delay * 2, 5.0)


async def http_load(base: str, key: str, run: str, args: argparse.Namespace, w: World, events: Tally,
                    batches: Tally, readings: Readings, on_fault: Any, started: float) -> None:
    """Events and reading batches, each on its own schedule; faults at their seconds."""
    rng = random.Random(run)
    faults = sorted(args.faults)
    n_events = int(args.rate * args.duration)
    http_readings = int(args.readings_rate * (1 - args.mqtt_share) * args.duration)
    n_batches = -(-http_readings // args.reading_batch) if http_readings else 0
    schedule = sorted([(i / args.rate, "event", i) for i in range(n_events)]
                      + [(j * args.duration / n_batches, "batch", j) for j in range(n_batches)])
    headers = {"X-API-Key": key}

    def readings_ok(size: int) -> Any:
        def check(r: RawResponse) -> str | None:
            body = r.json()
            if body["accepted"] + body["duplicate"] != size:
                return f"reading batch: {body['rejected']} rejected: {body['rejections'][:3]}"
            batches.items += size
            return None
        return check

    client = RawClient(base, size=128)
    try:
        tasks = []

        async def inject(fault_kind: str) -> None:
            log(f"fault {fault_kind} …", started)
            message = await asyncio.to_thread(on_fault, fault_kind)
            log(f"fault {fault_kind}: {message}", started)

        for at, kind, i in schedule:
            while faults and time.monotonic() - started >= faults[0][0]:
                # in the background: requests keep their schedule while a server restarts
                tasks.append(asyncio.create_task(inject(faults.pop(0)[1])))
            wait = started + at - time.monotonic()
            # behind schedule, still yield: the requests already started must make progress
            await asyncio.sleep(max(0.0, wait))
            if kind == "event":
                lon, lat, cls = rng.choice(w.points)
                body = {"source": "online_app", "request_type": "complain", "event_class_code": cls,
                        "title": f"压测事件 {i}", "lon": lon, "lat": lat, "external_ref": f"{run}-{i}"}
                events.sent += 1
                tasks.append(asyncio.create_task(_post_with_retry(
                    client, "/api/events", events, args.give_up, rng, lambda r: None, orjson.dumps(body),
                    {**headers, "Content-Type": "application/json", "Idempotency-Key": f"{run}-{i}"})))
            else:
                size = min(args.reading_batch, http_readings - i * args.reading_batch)
                content = orjson.dumps(readings.take(size))
                batches.sent += 1
                tasks.append(asyncio.create_task(_post_with_retry(
                    client, "/api/readings", batches, args.give_up, rng, readings_ok(size), content,
                    {**headers, "Content-Type": "application/json"})))
        while faults:  # faults scheduled after the last request still happen
            await asyncio.sleep(max(0.0, started + faults[0][0] - time.monotonic()))
            tasks.append(asyncio.create_task(inject(faults.pop(0)[1])))
        await asyncio.gather(*tasks)
    finally:
        await client.aclose()


def topic_root(run: str) -> str:
    """The run's own topic root: on a shared broker no one else's subscriber receives its readings."""
    return f"soak/{run}/shuzhi/readings"


class MqttLoad:
    """Gateway batches on ``shuzhi/readings`` at a fixed rate, QoS 1, persistent session; acknowledged
    means the broker sent PUBACK. paho keeps every unacknowledged message and sends it again after a
    reconnect, so a broker restart delays messages but loses none."""

    def __init__(self, port: int, run: str, readings: Readings, rate: float, batch: int, duration: float) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.readings, self.rate, self.batch, self.duration = readings, rate, batch, duration
        self.total = int(rate * duration)
        self.topic = topic_root(run)  # a gateway batch: the root itself
        self.tally = Tally()
        self.pending: dict[int, float] = {}
        self.early: dict[int, float] = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"shuzhi-soak-pub-{run}",
                                  clean_session=False, protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda *a: self.tally.seen("disconnect")
        self.client.connect_async("127.0.0.1", port, keepalive=15)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_publish(self, _c: Any, _u: Any, mid: int, _reason: Any, _props: Any) -> None:
        # paho calls this holding its own message lock: take ours only briefly, never call paho under it
        now = time.monotonic()
        with self.lock:
            sent = self.pending.pop(mid, None)
            if sent is None:
                self.early[mid] = now  # acknowledged before publish() returned
                return
            self.tally.acknowledged += 1
            self.tally.latencies.append(now - sent)

    def _run(self) -> None:
        started = time.monotonic()
        per_message = max(1, round(self.batch))
        messages = -(-self.total // per_message) if self.total else 0
        for m in range(messages):
            wait = started + m * per_message / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            size = min(per_message, self.total - m * per_message)
            payload = orjson.dumps(self.readings.take(size))
            sent = time.monotonic()
            info = self.client.publish(self.topic, payload, qos=1)
            with self.lock:
                self.tally.sent += 1
                acked = self.early.pop(info.mid, None)
                if acked is not None:
                    self.tally.acknowledged += 1
                    self.tally.latencies.append(acked - sent)
                else:
                    self.pending[info.mid] = sent
            if info.rc != 0:
                self.tally.seen("queued-while-disconnected")

    def start(self) -> None:
        self.thread.start()

    def wait(self, seconds: float) -> None:
        self.thread.join()
        deadline = time.monotonic() + seconds
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.2)
        self.tally.failed = len(self.pending)
        self.client.disconnect()
        self.client.loop_stop()


# --- counting -----------------------------------------------------------------------------------------


def count_events(url: str, run: str) -> tuple[int, int]:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT intake_key) FROM events "
                                      "WHERE intake_key LIKE %s", (f"apikey:%:{run}-%",)).fetchone()
    return int(rows), int(distinct)


def count_readings(url: str, stream: Readings) -> tuple[int, int]:
    """(stored rows, roll-up count) of one stream's readings: its devices within its time span."""
    start, end = stream.span()
    devices = sorted({d for _, d in stream.devices})
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        stored = conn.execute("SELECT count(*) FROM readings WHERE series_key = ANY(%s) AND at >= %s AND at < %s",
                              (devices, start, end)).fetchone()[0]
        # roll-ups of the hours the stream touched, against the rows of those hours (earlier runs too)
        hour0 = start.replace(minute=0, second=0, microsecond=0)
        rolled, rows = conn.execute(
            "SELECT (SELECT coalesce(sum(count), 0) FROM reading_rollups WHERE series_key = ANY(%(d)s) "
            "        AND hour >= %(h0)s AND hour < %(end)s), "
            "(SELECT count(*) FROM readings WHERE series_key = ANY(%(d)s) AND at >= %(h0)s "
            "        AND at < date_trunc('hour', %(end)s::timestamptz) + interval '1 hour')",
            {"d": devices, "h0": hour0, "end": end}).fetchone()
    return int(stored), int(rolled) - int(rows)


def wait_ready(base: str, seconds: float = 600) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def wait_mqtt_stored(url: str, stream: Readings, expected: int, seconds: float) -> tuple[int, float]:
    t0 = time.monotonic()
    stored = 0
    while time.monotonic() - t0 < seconds:
        stored = count_readings(url, stream)[0]
        if stored >= expected:
            break
        time.sleep(1.0)
    return stored, time.monotonic() - t0


def api_workers(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and "multiprocessing" in _cmdline(int(entry.name)):
                out.append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# --- main ---------------------------------------------------------------------------------------------


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="events per second over HTTP")
    parser.add_argument("--readings-rate", type=float, default=20_000, help="readings per second, HTTP + MQTT")
    parser.add_argument("--mqtt-share", type=float, default=0.5, help="part of the readings sent over MQTT")
    parser.add_argument("--reading-batch", type=int, default=500, help="readings per HTTP batch")
    parser.add_argument("--mqtt-batch", type=int, default=200, help="readings per MQTT message")
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    parser.add_argument("--fault", action="append", default=[], help=f"KIND@SECONDS, KIND one of {', '.join(FAULTS)}")
    parser.add_argument("--give-up", type=float, default=600, help="seconds a client keeps retrying one request")
    parser.add_argument("--drain", type=float, default=300, help="seconds to wait for MQTT readings to be stored")
    parser.add_argument("--private-cluster", action="store_true",
                        help=f"own PostgreSQL (cluster {CLUSTER}, port {PG_PORT}) and Mosquitto (port {MQTT_PORT}), "
                             "removed at the end; needed for the restart faults")
    parser.add_argument("--keep-cluster", action="store_true", help="leave the private cluster running at the end")
    parser.add_argument("--reuse", action="store_true", help=f"restore {DUMP.name} instead of preparing the database")
    parser.add_argument("--prepare-only", action="store_true", help="prepare the database, dump it, and stop")
    parser.add_argument("--no-record", action="store_true", help="do not write benchmarks/results.json")
    parser.add_argument("--quick", action="store_true", help="20 events/s + 1,000 readings/s for 20 s, kill-worker@5")
    args = parser.parse_args()
    if args.quick:
        args.rate, args.readings_rate, args.duration = 20, 1000, 20
        args.fault = args.fault or ["kill-worker@5"]
    args.faults = []
    for spec in args.fault:
        kind, _, at = spec.partition("@")
        if kind not in FAULTS or not at:
            raise SystemExit(f"--fault {spec}: use KIND@SECONDS with KIND one of {', '.join(FAULTS)}")
        if kind.startswith("restart-") and not args.private_cluster:
            raise SystemExit(f"--fault {spec} restarts a server: use --private-cluster (the shared PostgreSQL "
                             "and Mosquitto must never be restarted)")
        args.faults.append((float(at), kind))
    return args


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: servers stopped, private cluster removed


def main() -> None:
    args = parse()
    signal.signal(signal.SIGTERM, _interrupt)
    VAR.mkdir(parents=True, exist_ok=True)
    pg = PrivatePostgres() if args.private_cluster else None
    broker = PrivateMosquitto() if args.private_cluster else None
    host = f"127.0.0.1:{PG_PORT}" if pg else "localhost"
    url = f"postgresql+psycopg://postgres@{host}/{DB}"
    admin_url = pg.admin_url if pg else SHARED_ADMIN_URL
    mqtt_port = MQTT_PORT if broker else 1883
    try:
        if pg:
            log(f"creating PostgreSQL cluster {PG_VERSION}/{CLUSTER} on port {PG_PORT}")
            pg.create()
        if args.reuse and DUMP.exists():
            log(f"restoring {DUMP}")
            restore(admin_url, url)
        else:
            log("preparing the database (demo district, sensing tree and devices)")
            t = time.monotonic()
            prepare(admin_url, url)
            dump(url)
            log(f"prepared in {time.monotonic() - t:.0f} s; dump kept in {DUMP}")
        if not args.prepare_only:
            soak(args, url, pg, broker, mqtt_port)
    finally:
        if broker:
            broker.remove()
        if pg and not args.keep_cluster:
            log(f"removing PostgreSQL cluster {PG_VERSION}/{CLUSTER}")
            pg.remove()


def soak(args: argparse.Namespace, url: str, pg: PrivatePostgres | None, broker: PrivateMosquitto | None,
         mqtt_port: int) -> None:
    w = world(url)
    if broker:
        broker.start()
    env = {**os.environ, "SHUZHI_DATABASE_URL": url, "SHUZHI_INTAKE_RATE_PER_S": "100000",
           "SHUZHI_INTAKE_BURST": "100000", "SHUZHI_ACCESS_LOG": "false", "SHUZHI_DATA_DIR": str(VAR),
           "SHUZHI_MQTT_HOST": "127.0.0.1", "SHUZHI_MQTT_PORT": str(mqtt_port)}
    cli = [sys.executable, "-m", "shuzhi.entrypoints.cli"]
    run = f"soak{uuid.uuid4().hex[:8]}"
    ingest = Supervised("ingest-mqtt", [*cli, "ingest-mqtt", "--client-id", f"shuzhi-soak-ingest-{run}",
                                        "--prefix", topic_root(run)], env)
    scheduler = Supervised("worker", [*cli, "worker"], env)
    procs = [ingest, scheduler]
    server_log = open(VAR / "serve.log", "ab")  # noqa: SIM115  (closed below)
    server = subprocess.Popen([*cli, "serve", "--workers", str(args.workers), "--port", str(API_PORT),
                               "--host", "127.0.0.1", "--log-level", "warning", "--worker-start-timeout", "300"],
                              env=env, stdout=server_log, stderr=subprocess.STDOUT)
    try:
        for p in procs:
            p.start()
        base = f"http://127.0.0.1:{API_PORT}"
        wait_ready(base)
        _wait_log(VAR / "ingest-mqtt.log", f"shuzhi-soak-ingest-{run}", 60)
        time.sleep(2)  # the subscription is made on connect: give it a moment before publishing
        key = api_key(url)

        # the run's readings: its own time (an hour ago, never a previous run's) and two device halves
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        http_stream = Readings(w.devices[0::2], when)
        mqtt_stream = Readings(w.devices[1::2], when)
        mqtt_rate = args.readings_rate * args.mqtt_share
        mqtt = MqttLoad(mqtt_port, run, mqtt_stream, mqtt_rate, args.mqtt_batch, args.duration) if mqtt_rate else None
        events, batches = Tally(), Tally()

        def on_fault(kind: str) -> str:
            if kind == "kill-worker":
                workers = api_workers(server.pid)
                if not workers:
                    return "no API worker process found"
                victim = random.choice(workers)
                os.kill(victim, signal.SIGKILL)
                return f"SIGKILL API worker {victim}"
            if kind == "kill-ingest":
                return ingest.kill()
            if kind == "kill-scheduler":
                return scheduler.kill()
            if kind == "restart-postgres" and pg:
                return pg.restart()
            if kind == "restart-mosquitto" and broker:
                return broker.restart()
            return f"{kind}: not possible here"

        load_before = os.getloadavg()[0]
        log(f"run {run}: {args.rate:g} events/s, {args.readings_rate * (1 - args.mqtt_share):g} readings/s over "
            f"HTTP (batches of {args.reading_batch}), {mqtt_rate:g} readings/s over MQTT (messages of "
            f"{args.mqtt_batch}) for {args.duration:g} s; faults {args.fault or 'none'}; "
            f"load average {load_before:.1f}")
        started = time.monotonic()
        cpu0 = time.process_time()
        if mqtt:
            mqtt.start()
        asyncio.run(http_load(base, key, run, args, w, events, batches, http_stream, on_fault, started))
        http_done = time.monotonic() - started
        if mqtt:
            mqtt.wait(args.drain)
        load_after = os.getloadavg()[0]
        mqtt_stored = wait_mqtt_stored(url, mqtt_stream, mqtt_stream.next, args.drain)[0] if mqtt else 0
        # how long after the load stopped the last MQTT reading was stored
        drain = max(0.0, time.monotonic() - started - args.duration) if mqtt else 0.0
        ready_after = wait_ready(base, 60)
        alive = {p.name: p.proc is not None and p.proc.poll() is None for p in procs}
        alive["api"] = server.poll() is None
        took = time.monotonic() - started
        driver_cpu = time.process_time() - cpu0
    finally:
        for p in procs:
            p.stop()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()
    report(args, url, run, events, batches, mqtt, http_stream, mqtt_stream, mqtt_stored, drain, http_done, took,
           alive, procs, load_before, load_after, driver_cpu, ready_after)


def _wait_log(path: Path, text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.2)
    raise SystemExit(f"{path.name}: '{text}' not seen after {seconds:.0f} s")


def report(args: argparse.Namespace, url: str, run: str, events: Tally, batches: Tally, mqtt: MqttLoad | None,
           http_stream: Readings, mqtt_stream: Readings, mqtt_stored: int, drain: float, http_done: float,
           took: float, alive: dict[str, bool], procs: list[Supervised], load_before: float, load_after: float,
           driver_cpu: float, ready_after: float) -> None:
    rows, distinct = count_events(url, run)
    ev_lost, ev_doubled = events.acknowledged - distinct, rows - distinct
    h_stored, h_doubled = count_readings(url, http_stream)
    m_stored, m_doubled = count_readings(url, mqtt_stream) if mqtt else (0, 0)
    h_sent, m_sent = http_stream.next, mqtt_stream.next
    h_acked = batches.items
    e50, e99 = events.percentiles()
    b50, b99 = batches.percentiles()
    m50, m99 = mqtt.tally.percentiles() if mqtt else (float("nan"), float("nan"))
    restarts = {p.name: p.restarts for p in procs}
    killed = {"kill-ingest": "ingest-mqtt", "kill-scheduler": "worker"}
    unexpected = {name: n for name, n in restarts.items()
                  if n > sum(1 for _, k in args.faults if killed.get(k) == name)}
    print()
    print(f"load for {http_done:.0f} s (whole run {took:.0f} s), load average {load_before:.1f} → {load_after:.1f}, "
          f"driver CPU {driver_cpu:.0f} s")
    print(f"events: sent {events.sent}, acknowledged {events.acknowledged}, given up {events.failed}, retries "
          f"{events.retries}; stored {rows} rows, {distinct} distinct Idempotency-Keys → lost {ev_lost}, "
          f"doubled {ev_doubled}; p50 {e50:.0f} ms, p99 {e99:.0f} ms; answers {dict(sorted(events.statuses.items()))}")
    h_lost = max(0, h_acked - h_stored)
    print(f"readings over HTTP: sent {h_sent} in {batches.sent} batches, acknowledged {batches.acknowledged} batches "
          f"({h_acked} readings), given up {batches.failed} batches, retries {batches.retries}; stored {h_stored} → "
          f"lost {h_lost}, extra {max(0, h_stored - h_sent)}, doubled in roll-ups "
          f"{h_doubled}; batch p50 {b50:.0f} ms, p99 {b99:.0f} ms; answers {dict(sorted(batches.statuses.items()))}")
    if mqtt:
        print(f"readings over MQTT: sent {m_sent} in {mqtt.tally.sent} messages, PUBACKed {mqtt.tally.acknowledged}, "
              f"unacknowledged {mqtt.tally.failed}; stored {m_stored} → lost {max(0, m_sent - m_stored)}, extra "
              f"{max(0, m_stored - m_sent)}, doubled in roll-ups {m_doubled}; PUBACK p50 {m50:.0f} ms, p99 "
              f"{m99:.0f} ms; all stored {drain:.0f} s after the load; {dict(sorted(mqtt.tally.statuses.items()))}")
    print(f"recovered without a manual step: /readyz 200 after {ready_after:.1f} s, processes alive {alive}, "
          f"restarts by the supervisor {restarts} (unexpected: {unexpected or 'none'})")
    m_lost = max(0, m_sent - m_stored)  # every MQTT message was PUBACKed (else counted as unacknowledged)
    lost = ev_lost + h_lost + m_lost + max(0, h_stored - h_sent) + max(0, m_stored - m_sent)
    doubled = ev_doubled + h_doubled + m_doubled
    bad = lost or doubled or events.failed or batches.failed or (mqtt and mqtt.tally.failed) or unexpected \
        or not all(alive.values())
    if not args.no_record and not args.quick:
        record("soak_lost_or_doubled", lost + doubled, "items", 0, "lower",
               duration_s=args.duration, rate_events_per_s=args.rate, rate_readings_per_s=args.readings_rate,
               mqtt_share=args.mqtt_share, faults=args.fault, private_cluster=args.private_cluster,
               events={"sent": events.sent, "acknowledged": events.acknowledged, "failed": events.failed,
                       "stored": rows, "distinct_keys": distinct, "lost": ev_lost, "doubled": ev_doubled,
                       "retries": events.retries, "p50_ms": round(e50, 1), "p99_ms": round(e99, 1)},
               readings_http={"sent": h_sent, "batches": batches.sent, "acknowledged_batches": batches.acknowledged,
                              "failed_batches": batches.failed, "stored": h_stored, "doubled": h_doubled,
                              "retries": batches.retries, "p50_ms": round(b50, 1), "p99_ms": round(b99, 1)},
               readings_mqtt={"sent": m_sent, "messages": mqtt.tally.sent if mqtt else 0,
                              "unacknowledged": mqtt.tally.failed if mqtt else 0, "stored": m_stored,
                              "doubled": m_doubled, "puback_p50_ms": round(m50, 1), "puback_p99_ms": round(m99, 1),
                              "drain_s": round(drain, 1)},
               supervisor_restarts=restarts, load_average=[round(load_before, 1), round(load_after, 1)],
               passed=not bad)
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
