"""MQTT in, against the local Mosquitto: every published reading is stored, also those published while
the subscriber was away (persistent session), and bad payloads are counted, not dropped silently."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from shuzhi.adapters.mqtt import Subscriber
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing.ingest import IngestResult, forget_catalogues, ingest
from shuzhi.services.sensing.readings import count_readings
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import need_service
from tests.factories import World
from tests.sensing_data import load_sensing

pytestmark = pytest.mark.mqtt
HOST, PORT = "localhost", 1883


def _broker_up() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def prefix(world: World, uow: UnitOfWork) -> Iterator[str]:
    need_service(_broker_up(), f"MQTT broker at {HOST}:{PORT}")
    forget_catalogues()
    load_sensing(uow)
    # A root of our own: other runs on the same broker never see these messages.
    yield f"test-{uuid.uuid4().hex[:10]}/shuzhi/readings"
    forget_catalogues()


class Running:
    def __init__(self, uow: UnitOfWork, prefix: str, client_id: str) -> None:
        self.results: list[IngestResult] = []
        self.sub = Subscriber(self.handle, host=HOST, port=PORT, client_id=client_id, prefix=prefix,
                              batch_size=500, batch_wait=0.1, session_expiry_s=120)
        self.uow = uow
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sub.run, args=(self.stop,), daemon=True)

    def handle(self, items: list[Any]) -> None:
        self.results.append(ingest(self.uow, SYSTEM, items))

    def __enter__(self) -> Running:
        self.thread.start()
        assert self.sub.connected.wait(10), "subscriber did not connect"
        time.sleep(0.3)  # the SUBACK follows CONNACK
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()

    def total(self, what: str) -> int:
        return sum(getattr(r, what) for r in self.results)


def _publish(messages: list[tuple[str, bytes]]) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.connect(HOST, PORT)
    pub.loop_start()
    infos = [pub.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()


def _wait(cond: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _messages(prefix: str, n: int, start: datetime) -> list[tuple[str, bytes]]:
    """``n`` readings: single readings of gauge WL-A, arrays for town B, and a gateway batch."""
    out: list[tuple[str, bytes]] = []
    for i in range(n // 2):
        out.append((f"{prefix}/RIVER_LEVEL/WL-A",
                    orjson.dumps({"value": 2 + i / 1000, "at": (start + timedelta(seconds=i)).isoformat()})))
    rest = n - n // 2
    for j in range(0, rest - 10, 10):
        out.append((f"{prefix}/RIVER_LEVEL/500111002",
                    orjson.dumps([{"value": 1.0, "at": (start + timedelta(seconds=j + k)).timestamp()}
                                  for k in range(10)])))
    done = (rest - 10) // 10 * 10 if rest > 10 else 0
    out.append((prefix, orjson.dumps([{"indicator": "OUTAGES", "area": "500111001", "value": k,
                                        "at": (start + timedelta(minutes=k)).isoformat()}
                                       for k in range(rest - done)])))
    return out


def test_every_published_reading_is_stored(prefix: str, uow: UnitOfWork) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with Running(uow, prefix, f"shuzhi-test-{uuid.uuid4().hex[:8]}") as run:
        _publish(_messages(prefix, 2000, start))
        _publish([(f"{prefix}/RIVER_LEVEL/WL-A", b"{not json"), (f"{prefix}/NOPE/WL-A", b"1"),
                  (f"{prefix}/RIVER_LEVEL/WL-A", b'{"value": "NaN"}')])
        _wait(lambda: run.total("accepted") + run.total("rejected") >= 2003)
    assert count_readings(uow) == 2000
    assert (run.total("accepted"), run.total("duplicate"), run.total("rejected")) == (2000, 0, 3)


def test_readings_published_while_the_subscriber_is_away_arrive_when_it_returns(prefix: str,
                                                                               uow: UnitOfWork) -> None:
    client_id = f"shuzhi-test-{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    with Running(uow, prefix, client_id):
        pass  # the broker now holds a session with the subscription
    _publish(_messages(prefix, 300, start))
    with Running(uow, prefix, client_id) as back:
        _wait(lambda: back.total("accepted") >= 300)
    assert count_readings(uow) == 300


def test_a_batch_that_cannot_be_stored_is_kept_unacknowledged_and_retried(prefix: str, uow: UnitOfWork) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    with Running(uow, prefix, f"shuzhi-test-{uuid.uuid4().hex[:8]}") as run:
        failures = {"left": 2}
        real = run.handle

        def flaky(items: list[Any]) -> None:
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("database unavailable")
            real(items)

        run.sub.handle = flaky
        _publish(_messages(prefix, 100, start))
        _wait(lambda: run.total("accepted") >= 100)
    assert failures["left"] == 0 and run.sub.failed_batches == 2
    assert count_readings(uow) == 100


def test_a_reading_without_its_own_time_is_stored_once_when_the_broker_redelivers_it(prefix: str,
                                                                                    uow: UnitOfWork) -> None:
    """A gauge publishes a bare value; the subscriber stores it and dies before acknowledging it, so the
    broker redelivers it to the next one (DUP): it is a duplicate, not a second reading timed later. The
    same value published again afterwards is a new reading."""
    client_id = f"shuzhi-test-{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}/RIVER_LEVEL/WL-A"
    with Running(uow, prefix, client_id) as first:
        first.sub.client.ack = lambda *_args, **_kw: None  # type: ignore[method-assign]  # dies before PUBACK
        _publish([(topic, b"2.5")])
        _wait(lambda: first.total("accepted") >= 1)
    assert count_readings(uow) == 1
    with Running(uow, prefix, client_id) as second:
        _wait(lambda: second.total("accepted") + second.total("duplicate") >= 1)
        time.sleep(0.3)
    assert (second.total("accepted"), second.total("duplicate")) == (0, 1)
    assert count_readings(uow) == 1
    with Running(uow, prefix, client_id) as third:
        _publish([(topic, b"2.5")])
        _wait(lambda: third.total("accepted") >= 1)
    assert count_readings(uow) == 2
