"""The MQTT path on PostgreSQL: readings published to the local Mosquitto at a steady rate, stored by
the real ``shuzhi ingest-mqtt`` process; every published reading must be stored.

Figure (issue 4): ≥ 5,000 readings/s sustained with none lost (count published = count stored).

Setup: the database of ``bench_ingest.py`` (``SHUZHI_BENCH_SENSING_DB``; 20 indicators × 100 devices,
one threshold rule each, so evaluation runs; rebuilt here unless ``--reuse``); a Mosquitto of its own
(``--broker-port``, configured as docs/sensing.md asks: a long queue; ``--shared-broker`` uses
localhost:1883 instead); ``shuzhi ingest-mqtt`` as a subprocess with its own client id and topic root;
a publisher sending, for each device, messages of 20 one-second readings on ``…/{indicator}/{device}``
(QoS 1) at the target rate for ``--seconds``; then SIGTERM, which must stop the subscriber cleanly.
Run: ``.venv/bin/python benchmarks/bench_mqtt.py [--quick] [--rate 6000] [--seconds 60] [--reuse]``.

Scaling out (issue 25): ``--processes 1,2`` runs the same stream once per count through
``shuzhi ingest-mqtt --processes N`` — N members of one MQTT 5 shared subscription (a group of one for
N = 1, so the two runs differ only in the count) — and records ``mqtt_shared_readings_per_s_{N}p`` and
``mqtt_shared_readings_lost_{N}p`` per count; without ``--processes`` the figures above are taken as
before (one process, a plain subscription). Offer more than one process can store (``--rate``) so that
the curve shows the processes, not the offer: the figure is what was stored over the time from the first
publish to the last reading stored, and the run waits for the broker's queue to drain (until nothing more
arrives for 30 s) before it counts a reading as lost.

On Citus (issue 25): ``--citus`` runs the same on the local Citus cluster (``_citus.py``: the database on
the coordinator and both workers, the migrations, the sensing world, then ``distribute()`` — readings,
latest values and roll-ups by series, 48 shards a table); the ingest processes write through the
coordinator. Figures get a ``_citus`` suffix (``mqtt_shared_readings_per_s_2p_citus`` …).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _citus
import bench_ingest
from _results import finish, record
from bench_ingest import cpu_seconds, prepare_or_reuse

PER_MESSAGE = 20
#: The run ends when every reading is stored, or when none has arrived for this long (the rest are lost).
QUIET_S = 30.0
CITUS = False


def _name(figure: str) -> str:
    return _citus.name(figure) if CITUS else figure


def stored_since(start: datetime, end: datetime) -> int:
    """Readings stored in [start, end): the span one run publishes (the runs of one invocation do not overlap)."""
    with psycopg.connect(bench_ingest.URL.replace("+psycopg", "")) as conn:
        return int(conn.execute("SELECT count(*) FROM readings WHERE at >= %s AND at < %s",
                                (start, end)).fetchone()[0])


def span(rate: int, seconds: int, devices: int) -> timedelta:
    """How far the readings' times of one run reach: a window of PER_MESSAGE seconds per round over the devices."""
    messages = rate // PER_MESSAGE * seconds
    return timedelta(seconds=PER_MESSAGE * (-(-messages // devices) + 2))


BROKER_CONF = """listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 0
"""


def own_broker(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """A Mosquitto of the benchmark's own, configured as docs/sensing.md asks of a broker in front of
    ``ingest-mqtt`` (a queue long enough to ride out a slow subscriber): the shared broker's default
    ``max_queued_messages 1000`` drops QoS 1 messages as soon as the subscriber lags ~1,000 messages."""
    conf = workdir / "mosquitto.conf"
    conf.write_text(BROKER_CONF.format(port=port), encoding="utf-8")
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return broker
        except OSError:
            time.sleep(0.1)
    broker.kill()
    raise SystemExit(f"mosquitto did not listen on port {port}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=6000, help="readings per second offered")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="10 seconds")
    ap.add_argument("--reuse", action="store_true", help="measure on the database a previous run prepared")
    ap.add_argument("--prepare-only", action="store_true", help="build the database and stop")
    ap.add_argument("--broker-port", type=int, default=int(os.environ.get("SHUZHI_BENCH_MQTT_PORT", "18830")),
                    help="port for the benchmark's own Mosquitto")
    ap.add_argument("--shared-broker", action="store_true",
                    help="use the broker on localhost:1883 as it is configured instead of an own one")
    ap.add_argument("--processes", default="",
                    help="ingest processes in one shared subscription, a run per count: e.g. 1,2")
    ap.add_argument("--citus", action="store_true", help="on the local Citus cluster (figures named …_citus)")
    args = ap.parse_args()
    if args.citus:
        global CITUS
        bench_ingest.use_citus()
        CITUS = True
    counts = [int(n) for n in args.processes.split(",") if n.strip()]
    seconds = 10 if args.quick else args.seconds
    devices = prepare_or_reuse(args.reuse)
    print(f"database {bench_ingest.DB} ready (threshold rules on every benchmarked indicator)", flush=True)
    if args.prepare_only:
        return
    broker_port = 1883 if args.shared_broker else args.broker_port
    broker = None if args.shared_broker else own_broker(broker_port, Path(tempfile.mkdtemp(prefix="bench-mqtt-")))
    try:
        if not counts:
            run(args, devices, seconds, broker_port)
        reach = span(args.rate, seconds, len(devices))
        for i, n in enumerate(counts):
            run(args, devices, seconds, broker_port, processes=n,
                back=timedelta(hours=6) + (i + 1) * (reach + timedelta(hours=1)))
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)


def members(pid: int) -> list[int]:
    """The subscriber and, for a group, the member processes it keeps."""
    try:
        return [pid, *(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    except OSError:
        return [pid]


def run(args: argparse.Namespace, devices: list[str], seconds: int, broker_port: int,
        processes: int | None = None, back: timedelta = timedelta(hours=6)) -> None:
    """One run; ``processes`` (a count) runs a shared-subscription group of that many members."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}/shuzhi/readings"
    client_id = f"shuzhi-bench-{uuid.uuid4().hex[:8]}"
    url = bench_ingest.URL  # the coordinator's with --citus
    env = {**os.environ, "SHUZHI_DATABASE_URL": url}
    group = [] if processes is None else ["--group", f"bench-{uuid.uuid4().hex[:8]}", "--processes", str(processes),
                                          "--session-expiry", "600"]
    sub = subprocess.Popen([str(Path(sys.executable).with_name("shuzhi")), "ingest-mqtt", "--client-id", client_id,
                            "--port", str(broker_port),
                            "--prefix", prefix, "--batch-size", "10000", "--batch-wait", "0.5", *group], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(sub.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    # a message published before the subscription exists is dropped by the broker: publish only once every
    # member has subscribed (a loaded machine can take well over the few seconds start-up takes when quiet)
    wanted = processes or 1
    deadline = time.monotonic() + 180
    while sum("subscribed to" in line for line in lines) < wanted:
        if time.monotonic() > deadline or sub.poll() is not None:
            sub.kill()
            raise SystemExit("the subscriber did not subscribe:\n" + "".join(lines)[-2000:])
        time.sleep(0.2)
    time.sleep(1.0)  # the SUBACK follows the log line
    pids = members(sub.pid)
    if processes is not None and processes > 1 and len(pids) != processes + 1:
        sub.kill()
        raise SystemExit(f"expected {processes} members, found {len(pids) - 1}")
    sub_cpu0 = cpu_seconds(pids)
    start = datetime.now(UTC).replace(microsecond=0) - back
    end = start + span(args.rate, seconds, len(devices))
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    pub.max_inflight_messages_set(1000)
    pub.connect("localhost", broker_port)
    pub.loop_start()
    per_second = args.rate // PER_MESSAGE
    published = 0
    infos = []
    t0 = time.perf_counter()
    for sec in range(seconds):
        # second `sec` of the run carries readings for a 20-second window of every device in turn
        for m in range(per_second):
            k = sec * per_second + m
            if processes is None:
                device = devices[k % len(devices)]
                window = k // len(devices)
                base = start + timedelta(seconds=window * PER_MESSAGE)
            else:
                # each device's messages come in pairs (k = 2j, 2j + 1), which round robin deals to two
                # members: they hold batches of the same series at once, as in a real stream, so the
                # per-series row lock is in the measurement (one device after another would give each
                # member of two its own half of the devices)
                device = devices[(k // 2) % len(devices)]
                window = k // (2 * len(devices))
                base = start + timedelta(seconds=(2 * window + k % 2) * PER_MESSAGE)
            payload = orjson.dumps([{"value": 1.0 + (j % 7), "at": (base + timedelta(seconds=j)).isoformat()}
                                    for j in range(PER_MESSAGE)])
            infos.append(pub.publish(f"{prefix}/BENCH_{device[4:6]}/{device}", payload, qos=1))
            published += PER_MESSAGE
        lag = t0 + sec + 1 - time.perf_counter()
        if lag > 0:
            time.sleep(lag)
    for info in infos:
        info.wait_for_publish(60)
    publish_s = time.perf_counter() - t0
    # an offer above the subscribers' capacity leaves a queue at the broker: wait while it drains
    stored, last_growth, done_s = 0, time.perf_counter(), time.perf_counter() - t0
    while time.perf_counter() - last_growth < QUIET_S:
        now_stored = stored_since(start, end)
        if now_stored > stored:
            stored, last_growth, done_s = now_stored, time.perf_counter(), time.perf_counter() - t0
        if stored >= published:
            break
        time.sleep(0.5)
    sub_cpu = cpu_seconds(pids) - sub_cpu0
    pub.disconnect()
    pub.loop_stop()
    sub.send_signal(signal.SIGTERM)
    try:
        sub.wait(60)
    except subprocess.TimeoutExpired:
        sub.kill()
        sub.wait()
    reader.join(10)
    out = "".join(lines)
    clean = sub.returncode == 0 and out.count("stopped:") == max(1, processes or 1)
    lost = published - stored
    rate = stored / done_s
    print(out[-600 * max(1, processes or 1):])
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"published {published} in {publish_s:.1f} s, stored {stored} ({lost} lost) in {done_s:.1f} s → "
          f"{rate:.0f} readings/s; clean stop on SIGTERM: {clean}; subscriber CPU {sub_cpu / max(stored, 1) * 1e6:.1f} "
          f"µs/reading; load average {load}")
    volume = {"published": published, "offered_rate": args.rate, "seconds": seconds,
              "readings_per_message": PER_MESSAGE}
    if processes is not None:
        volume["ingest_processes"] = processes
        record(_name(f"mqtt_shared_readings_per_s_{processes}p"), round(rate, 1), "readings/s", None, "higher",
               database=url, volume=volume, stored=stored, lost=lost, clean_sigterm_stop=clean,
               subscriber_cpu_us_per_reading=round(sub_cpu / max(stored, 1) * 1e6, 2), load_average_at_end=load,
               goal=f"MQTT ingest, {processes} process(es) in one shared subscription, evaluation on")
        record(_name(f"mqtt_shared_readings_lost_{processes}p"), lost, "readings", 0, "lower", database=url,
               volume=volume, stored=stored)
        if not clean:
            print("the group did not stop cleanly on SIGTERM")
            raise SystemExit(1)
        return
    record(_name("mqtt_readings_per_s"), round(rate, 1), "readings/s", 5000, "higher", database=url, volume=volume,
           stored=stored, lost=lost, clean_sigterm_stop=clean,
           subscriber_cpu_us_per_reading=round(sub_cpu / max(stored, 1) * 1e6, 2), load_average_at_end=load)
    record(_name("mqtt_readings_lost"), lost, "readings", 0, "lower", database=url, volume=volume, stored=stored)
    if not clean:
        print("the subscriber did not stop cleanly on SIGTERM")
        raise SystemExit(1)


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: the preparation writes through units of work
    main()
    sys.exit(finish())
