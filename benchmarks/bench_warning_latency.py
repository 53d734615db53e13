"""Reading → warning → event through MQTT, on PostgreSQL, inside a background stream of readings.

Figure (issue #16, reading → warning → event): p99 ≤ 1 s from publishing a reading on MQTT to the event
it opens being visible through the API, through the production subscriber (``shuzhi ingest-mqtt`` with
its default batching) and the API server; ≥ 1,000 probes arriving at random (Poisson) inside a
background stream of ≥ 20,000 readings/s published on the same broker.

Setup: a database ``shuzhi_bench_warnings`` (reused while its fingerprint matches): the demo district
imported through the real importers (grown by SQL when the probes need more fresh grids: each probe
crosses red on a grid never probed before), two grid-level indicators with threshold rules (red →
handle, class 1407 防汛险情, dispatched at once); a Mosquitto of the benchmark's own (configured as
docs/sensing.md asks); ``shuzhi ingest-mqtt``; ``uvicorn`` with the API. A publisher process sends
gateway batches of the load indicator (every grid, mostly normal values, a few crossing blue and yellow)
at ``--rate`` readings/s; the probes publish one red reading each on ``…/PROBE_LEVEL/{grid}`` at Poisson
times (``--probe-rate`` per second), and a watcher asks ``GET /api/events?source=sensor_warning`` every
``--poll-ms`` as the district's duty officer. A probe's latency runs from its publish to the first
answer that lists its event, so it includes up to one polling interval.
Run: ``.venv/bin/python benchmarks/bench_warning_latency.py [--rate 20000] [--probes 1000] [--quick]``.

``--trace FILE`` (not for the figure) runs the subscriber through ``benchmarks/_trace_ingest.py`` and
prints where each probe's time went: publish → received by the subscriber → handed to ingest (of which
gathering the batch) → readings stored → evaluated (warnings, the event, its dispatch, notices) →
committed → seen in the API, p50/p90/p99. The run also samples the oldest open transaction of the
cluster (any database): while one is held, dead row versions of ``reading_latest`` and
``reading_rollups`` are not pruned and each batch's upsert slows as the run goes on (recorded as
``oldest_open_transaction_s``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _district import grow_grids
from _prepared import explain, fingerprint, mark, matches
from _results import finish, record, tree_rss_mb
from bench_mqtt import own_broker

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
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing import warning_config
    from shuzhi.services.sensing.indicators import import_indicators
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




def fresh_grids(needed: int) -> list[str]:
    """Grids no probe has used yet, at least ``needed`` (the district grown by SQL when short); the load
    indicator's open warnings are resolved so that a run starts from a quiet state."""
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        conn.execute("UPDATE warnings SET open_key = NULL, state = 'resolved' WHERE indicator_code = 'LOAD_LEVEL'")
        conn.commit()
        probed = {r[0] for r in conn.execute("SELECT series_key FROM warnings WHERE indicator_code='PROBE_LEVEL'")}
        grids = [r[0] for r in conn.execute("SELECT code FROM areas WHERE level='grid' ORDER BY code")]
    free = [g for g in grids if g not in probed]
    if len(free) < needed:
        grow_grids(DB, len(grids) + needed - len(free))
        return fresh_grids(needed)
    return free


def publisher(port: int, prefix: str, grids: list[str], rate: int, seconds: float, per_message: int,
              counter: mp.Value) -> None:  # type: ignore[type-arg]
    """Gateway batches of the load indicator at ``rate`` readings/s on the root topic, QoS 1."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-load-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    rng = random.Random(3)
    at = datetime.now(UTC) - timedelta(minutes=10)
    per_second = max(1, rate // per_message)
    i = second = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(per_second):
            items = []
            for _ in range(per_message):
                grid = grids[i % len(grids)]
                i += 1
                if i % len(grids) == 0:
                    at += timedelta(milliseconds=10)
                value = 1.0 + rng.random() if rng.random() > 0.002 else 2.0 + rng.random() * 0.8
                items.append({"indicator": "LOAD_LEVEL", "area": grid, "at": at.isoformat(), "value": value})
            client.publish(prefix, orjson.dumps(items), qos=1)
            with counter.get_lock():
                counter.value += per_message
        second += 1
        lag = t0 + second - time.perf_counter()
        if lag > 0:
            time.sleep(lag)
    client.loop_stop()
    client.disconnect()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token() -> str:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.security.tokens import mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(URL)
    try:
        return mint_token_for(UnitOfWork(make_session_factory(engine)), "duty.district", name="bench-warnings")
    finally:
        engine.dispose()


class Watcher(threading.Thread):
    """Asks the API for the newest sensor-warning events every ``poll`` seconds and notes when each
    probed grid's event first appears."""

    def __init__(self, base: str, token: str, poll: float) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.poll = poll
        self.pending: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.states: dict[str, str] = {}
        self.published_wall: dict[str, float] = {}
        self.seen_wall: dict[str, float] = {}
        self.asks: list[float] = []
        self.lock, self.stop = threading.Lock(), threading.Event()

    def expect(self, grid: str, published: float) -> None:
        with self.lock:
            self.pending[grid] = published
            self.published_wall[grid] = time.time()

    def run(self) -> None:
        while not self.stop.is_set():
            asked = time.perf_counter()
            r = self.client.get("/api/events", params={"source": "sensor_warning", "sort": "-received_at",
                                                         "limit": 200})
            now = time.perf_counter()
            wall = time.time()
            self.asks.append(now - asked)
            if r.status_code == 200:
                with self.lock:
                    for item in r.json()["items"]:
                        grid = item.get("area_code")
                        if grid in self.pending:
                            self.seen[grid] = now - self.pending.pop(grid)
                            self.seen_wall[grid] = wall
                            self.states[grid] = item.get("state", "")
            self.stop.wait(self.poll)


class HorizonWatch(threading.Thread):
    """The oldest transaction holding back the cluster's xmin horizon, sampled every 2 s: while any
    session of the cluster (any database) keeps a transaction open, PostgreSQL prunes no newer dead row
    versions, and the rows every batch updates (``reading_latest``, ``reading_rollups``) pile them up —
    each batch's upsert then walks them and slows down as the run goes on."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.oldest_s = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while not self.stop.wait(2.0):
                row = conn.execute("SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0) FROM "
                                   "pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid()"
                                   ).fetchone()
                self.oldest_s = max(self.oldest_s, float(row[0] or 0) if row else 0.0)


def _wait_http(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit("the API server exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the API server did not start")


def _publish_probe(pub: object, prefix: str, grid: str) -> None:
    payload = orjson.dumps({"value": 3.9, "at": datetime.now(UTC).isoformat()})
    pub.publish(f"{prefix}/PROBE_LEVEL/{grid}", payload, qos=1)  # type: ignore[attr-defined]


def _pct(values: list[float]) -> str:
    if not values:
        return "-"
    v = sorted(values)
    return (f"p50 {statistics.median(v) * 1000:7.0f}  p90 {v[int(len(v) * 0.9)] * 1000:7.0f}  "
            f"p99 {v[min(len(v) - 1, int(len(v) * 0.99))] * 1000:7.0f}  max {v[-1] * 1000:7.0f} ms")


def stages(path: str, watcher: Watcher, warm: str) -> None:
    """Where each probe's time went, from the subscriber's trace and the watcher's times."""
    recv: dict[str, float] = {}
    batch_of: dict[str, dict[str, float]] = {}
    event: dict[str, dict[str, float]] = {}
    batches = []
    for line in Path(path).read_bytes().splitlines():
        row = orjson.loads(line)
        if row["k"] == "recv":
            recv.setdefault(row["grid"], row["t"])
        elif row["k"] == "batch":
            batches.append(row)
            for grid in row.get("probes", ()):
                batch_of.setdefault(grid, row)
        elif row["k"] == "event":
            event.setdefault(row["grid"], row)
    cols: dict[str, list[float]] = {k: [] for k in (
        "publish → received", "received → batch handed to ingest", "  of which: gathering the batch",
        "batch: readings stored", "batch: evaluated (warnings, event, dispatch)",
        "  of which: event registered → dispatched", "batch: commit", "committed → seen in the API",
        "total (publish → seen)")}
    for grid, seen in watcher.seen_wall.items():
        if grid == warm or grid not in recv or grid not in batch_of:
            continue
        pub, b = watcher.published_wall[grid], batch_of[grid]
        cols["publish → received"].append(recv[grid] - pub)
        cols["received → batch handed to ingest"].append(b["start"] - recv[grid])
        cols["  of which: gathering the batch"].append(b["start"] - max(b["collect"], recv[grid]))
        cols["batch: readings stored"].append(b["stored"] - b["start"])
        cols["batch: evaluated (warnings, event, dispatch)"].append(b["hooked"] - b["stored"])
        if grid in event and "dispatched" in event[grid]:
            cols["  of which: event registered → dispatched"].append(
                event[grid]["dispatched"] - event[grid]["registered"])
        cols["batch: commit"].append(b["committed"] - b["hooked"])
        cols["committed → seen in the API"].append(seen - b["committed"])
        cols["total (publish → seen)"].append(seen - pub)
    print(f"stages of {len(cols['total (publish → seen)'])} probes (wall clock):")
    for name, values in cols.items():
        print(f"  {name:46s} {_pct(values)}")
    print(f"  {'the watcher GET /api/events':46s} {_pct(watcher.asks)}")
    timed = [b for b in batches if "committed" in b]
    if timed:
        print(f"{len(timed)} batches: readings p50 {statistics.median(b['n'] for b in timed):.0f}, "
              f"max {max(b['n'] for b in timed)}; queued messages at hand-over p50 "
              f"{statistics.median(b['queued'] for b in timed):.0f}, max {max(b['queued'] for b in timed)}")
        print(f"  {'batch: gathering':46s} {_pct([b['start'] - b['collect'] for b in timed])}")
        print(f"  {'batch: ingest → committed':46s} {_pct([b['committed'] - b['start'] for b in timed])}")
        print(f"  {'batch: readings stored':46s} {_pct([b['stored'] - b['start'] for b in timed])}")
        print(f"  {'batch: evaluated':46s} {_pct([b['hooked'] - b['stored'] for b in timed])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--rate", type=int, default=20_000, help="background readings per second on MQTT")
    ap.add_argument("--probes", type=int, default=1000)
    ap.add_argument("--probe-rate", type=float, default=2.0, help="probes per second on average (Poisson)")
    ap.add_argument("--per-message", type=int, default=500, help="readings per background message")
    ap.add_argument("--poll-ms", type=float, default=20.0, help="how often the watcher asks the API")
    ap.add_argument("--broker-port", type=int, default=int(os.environ.get("SHUZHI_BENCH_MQTT_PORT", "18831")))
    ap.add_argument("--quick", action="store_true", help="2,000 readings/s, 30 probes at 3/s")
    ap.add_argument("--reuse", action="store_true", help="(kept for old commands: reuse follows the fingerprint)")
    ap.add_argument("--trace", metavar="FILE", help=(
        "run the subscriber through benchmarks/_trace_ingest.py and print where each probe's time went "
        "(stage timestamps as JSON lines in FILE); not for the published figure"))
    ap.add_argument("--prepare-only", action="store_true", help="build the database and stop")
    args = ap.parse_args()
    if args.quick:
        args.rate, args.probes, args.probe_rate = 2000, 30, 3.0
    t0 = time.perf_counter()
    fp = fingerprint("warnings", indicators=2, seed=1)
    print(explain(ADMIN_URL, URL, fp), flush=True)
    if not matches(ADMIN_URL, URL, fp):
        prepare()
        mark(ADMIN_URL, URL, fp)
    probes = fresh_grids(args.probes + 1)[: args.probes + 1]
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        load_grids = [r[0] for r in conn.execute(
            "SELECT code FROM areas WHERE level='grid' AND code NOT LIKE 'X%%' ORDER BY code")]
    print(f"{DB} ready in {time.perf_counter() - t0:.0f} s; {len(probes)} fresh grids for the probes", flush=True)
    if args.prepare_only:
        return
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    broker = own_broker(args.broker_port, Path(tempfile.mkdtemp(prefix="bench-warnings-")))
    prefix = f"bench-{uuid.uuid4().hex[:8]}/shuzhi/readings"
    env = {**os.environ, "SHUZHI_DATABASE_URL": URL}
    # the production subscriber with its default batching (no --batch-size / --batch-wait)
    command = [str(Path(sys.executable).with_name("shuzhi"))]
    if args.trace:
        Path(args.trace).unlink(missing_ok=True)
        env["SHUZHI_TRACE_FILE"] = args.trace
        command = [sys.executable, str(Path(__file__).with_name("_trace_ingest.py"))]
    sub = subprocess.Popen([*command, "ingest-mqtt", "--client-id",
                            f"bench-{uuid.uuid4().hex[:8]}", "--port", str(args.broker_port), "--prefix", prefix],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = _free_port()
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "shuzhi.entrypoints.api.app:create_app", "--factory",
                            "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
                           env=env)
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    load = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(base, api)
        time.sleep(3)  # the subscriber's start-up and subscription
        watcher = Watcher(base, _token(), args.poll_ms / 1000)
        watcher.start()
        horizon = HorizonWatch()
        horizon.start()
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{uuid.uuid4().hex[:8]}")
        pub.connect("127.0.0.1", args.broker_port)
        pub.loop_start()
        # one untimed probe first: the subscriber and the API have then handled a warning (warm caches)
        warm = probes[0]
        watcher.expect(warm, time.perf_counter())
        _publish_probe(pub, prefix, warm)
        duration = args.probes / args.probe_rate + 90
        load = ctx.Process(target=publisher, args=(args.broker_port, prefix, load_grids, args.rate, duration,
                                                   args.per_message, counter), daemon=True)
        load.start()
        while counter.value == 0 and load.is_alive():
            time.sleep(0.1)
        time.sleep(5)  # the stream is flowing before the first probe
        rng = random.Random(29)
        started, before = time.perf_counter(), counter.value
        for grid in probes[1:]:
            time.sleep(rng.expovariate(args.probe_rate))
            watcher.expect(grid, time.perf_counter())
            _publish_probe(pub, prefix, grid)
        background = (counter.value - before) / (time.perf_counter() - started)
        deadline = time.perf_counter() + 60
        while watcher.pending and time.perf_counter() < deadline:
            time.sleep(0.2)
        watcher.stop.set()
        watcher.join(10)
        horizon.stop.set()
        memory = {"ingest": tree_rss_mb(sub.pid), "api": tree_rss_mb(api.pid)}
        pub.loop_stop()
    finally:
        if load is not None:
            load.terminate()
            load.join(10)
        for proc in (api, sub, broker):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    latencies = sorted(v for k, v in watcher.seen.items() if k != warm)
    missing = [g for g in probes[1:] if g not in watcher.seen]
    if missing:
        print(f"{len(missing)} probes never became visible within 60 s of the last one: counted as 60 s")
        latencies = sorted(latencies + [60.0] * len(missing))
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    p50 = statistics.median(latencies)
    states = {s: list(watcher.states.values()).count(s) for s in set(watcher.states.values())}
    print(f"{len(latencies)} probes; p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms; background {background:,.0f} readings/s on MQTT; "
          f"event states seen {states}; oldest open transaction in the cluster {horizon.oldest_s:.0f} s")
    if args.trace:
        stages(args.trace, watcher, warm)
        return
    record("warning_latency_p99", round(p99, 3), "s", 1.0, "lower", database=URL,
           volume={"probes": len(latencies), "probe_arrivals": f"Poisson, {args.probe_rate:g}/s",
                   "background_readings_per_s": round(background), "background_offered_per_s": args.rate,
                   "path": "MQTT → shuzhi ingest-mqtt (default batching) → API", "poll_ms": args.poll_ms},
           p50_s=round(p50, 3), max_s=round(latencies[-1], 3), oldest_open_transaction_s=round(horizon.oldest_s),
           not_visible=len(missing), event_states=states,
           memory_ingest_mb=memory["ingest"].get("largest_peak_mb"),
           memory_api_mb=memory["api"].get("largest_peak_mb"))


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
