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
        ingest(UnitOfWork(uow._factory), SYSTEM, items)  # its own unit of work: this runs in another thread

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
        while count_readings(UnitOfWork(uow._factory)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(15)
    assert count_readings(UnitOfWork(uow._factory)) == 3
    forget_catalogues()


@pytest.fixture
def acl_broker(tmp_path: Path, world: World, uow: UnitOfWork, engine: Any) -> Iterator[int]:
    """Mosquitto with accounts ``ingest`` and ``WL-A`` (the gauge) and the ACL `shuzhi mqtt-acl` writes."""
    from typer.testing import CliRunner

    from shuzhi.entrypoints.cli import app

    need_service(shutil.which("mosquitto") is not None, "mosquitto")
    forget_catalogues()
    load_sensing(uow)
    acl = tmp_path / "acl"
    url = engine.url.render_as_string(hide_password=False)
    made = CliRunner().invoke(app, ["mqtt-acl", str(acl), "--database-url", url, "--subscriber", "ingest",
                                    "--prefix", PREFIX])
    assert made.exit_code == 0, made.output
    assert f"user WL-A\ntopic write {PREFIX}/RIVER_LEVEL/WL-A" in acl.read_text()
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "ingest", "Ingest-secret-1"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "WL-A", "Gauge-secret-1"], check=True)
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                    f"acl_file {acl}\npersistence false\nuser {getpass.getuser()}\n")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        forget_catalogues()


def test_a_gauge_credential_publishes_only_its_own_readings(acl_broker: int, uow: UnitOfWork) -> None:
    sub, stop, thread = _run(acl_broker, uow, "Ingest-secret-1")
    try:
        assert sub.connected.wait(10), sub.refused
        time.sleep(0.3)
        at = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        pub.username_pw_set("WL-A", "Gauge-secret-1")
        pub.connect("127.0.0.1", acl_broker)
        pub.loop_start()
        forged = pub.publish(f"{PREFIX}/MANHOLE_OPEN/MH-A1", orjson.dumps({"value": 1, "at": at}), qos=1)
        own = pub.publish(f"{PREFIX}/RIVER_LEVEL/WL-A", orjson.dumps({"value": 2.5, "at": at}), qos=1)
        forged.wait_for_publish(10)
        own.wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()
        deadline = time.monotonic() + 20
        while count_readings(UnitOfWork(uow._factory)) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the forged one would have arrived by now
    finally:
        stop.set()
        thread.join(15)
    # the gauge's own reading; the manhole reading it forged was dropped by the broker
    assert count_readings(UnitOfWork(uow._factory)) == 1
