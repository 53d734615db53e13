"""Security II — MQTT ingest signs in to the broker: against a private Mosquitto on a free port that
allows no anonymous client, the subscriber with the configured user name and password stores the
readings; with a wrong password it is refused and stores nothing."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from shuzhi.adapters.mqtt import Subscriber
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing.ingest import forget_catalogues, ingest
from shuzhi.services.sensing.readings import count_readings
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import need_service
from tests.factories import World
from tests.sensing_data import load_sensing

pytestmark = pytest.mark.mqtt
PREFIX = "shuzhi/readings"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    """Mosquitto on 127.0.0.1:<free port>, accounts ``ingest`` and ``gauge`` from a password file."""
    need_service(shutil.which("mosquitto") is not None and shutil.which("mosquitto_passwd") is not None,
                 "mosquitto and mosquitto_passwd")
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "ingest", "Ingest-secret-1"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "gauge", "Gauge-secret-1"], check=True)
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    # run as this user (as root, Mosquitto would drop to "mosquitto", who cannot read tmp_path)
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                    f"persistence false\nuser {getpass.getuser()}\n")
    log = (tmp_path / "mosquitto.log").open("w")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.username_pw_set("gauge", "Gauge-secret-1")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    for info in [pub.publish(t, p, qos=1) for t, p in messages]:
        info.wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()


def _run(port: int, uow: UnitOfWork, password: str) -> tuple[Subscriber, threading.Event, threading.Thread]:
    def handle(items: list[Any]) -> None:
        ingest(uow, SYSTEM, items)

    sub = Subscriber(handle, host="127.0.0.1", port=port, client_id=f"ingest-{uuid.uuid4().hex[:6]}",
                     batch_size=100, batch_wait=0.1, session_expiry_s=60, username="ingest", password=password)
    stop = threading.Event()
    thread = threading.Thread(target=sub.run, args=(stop,), daemon=True)
    thread.start()
    return sub, stop, thread


def test_the_subscriber_signs_in_with_its_password_and_a_wrong_one_is_refused(
        broker: int, world: World, uow: UnitOfWork) -> None:
    forget_catalogues()
    load_sensing(uow)
    wrong, stop, thread = _run(broker, uow, "not-the-password")
    deadline = time.monotonic() + 30
    while wrong.refused is None and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(15)
    assert wrong.refused is not None and not wrong.connected.is_set()

    sub, stop, thread = _run(broker, uow, "Ingest-secret-1")
    try:
        assert sub.connected.wait(10), sub.refused
        time.sleep(0.3)  # SUBACK
        at = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
        _publish(broker, [(f"{PREFIX}/RIVER_LEVEL/WL-A",
                           orjson.dumps({"value": 2.0 + i / 10, "at": (at + timedelta(minutes=i)).isoformat()}))
                          for i in range(3)])
        deadline = time.monotonic() + 20
        while count_readings(uow) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(15)
    assert count_readings(uow) == 3
    forget_catalogues()
