"""Several ``shuzhi ingest-mqtt`` processes in one shared subscription, against the local Mosquitto:
each gets part of the stream and every reading is stored once; a member killed with SIGKILL
mid-stream loses nothing and stores nothing twice; and the members keep one warning state per series
although the broker deals a series' messages to both of them.

The members are real processes (the installed CLI) on the test's database, so SQLite runs them on
its file and PostgreSQL on the test database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
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
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing.ingest import forget_catalogues
from shuzhi.services.sensing.readings import count_readings
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import need_service
from tests.factories import World
from tests.integration.test_mqtt_ingest import HOST, PORT, _broker_up, _wait
from tests.integration.test_warnings import RIVER
from tests.sensing_data import load_sensing

pytestmark = pytest.mark.mqtt

CLI = [sys.executable, "-c", "from shuzhi.main import app; app()", "ingest-mqtt"]
#: The river gauge and the two towns of the test world: three series of RIVER_LEVEL.
SERIES = ("WL-A", "500111001", "500111002")


class Group:
    """Members of one shared subscription on the test's database, each a process with its own log."""

    def __init__(self, engine: Engine, tmp: Path) -> None:
        self.url = engine.url.render_as_string(hide_password=False)
        self.tmp = tmp
        tag = uuid.uuid4().hex[:8]
        self.prefix = f"test-{tag}/shuzhi/readings"
        self.group = f"g{tag}"
        self.client_id = f"shuzhi-test-{tag}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def _args(self) -> list[str]:
        return ["--database-url", self.url, "--host", HOST, "--port", str(PORT), "--prefix", self.prefix,
                "--group", self.group, "--batch-size", "200", "--batch-wait", "0.1", "--session-expiry", "300"]

    def start(self, name: str, *extra: str, members: int = 1) -> None:
        """Start a member (``name`` is its client id suffix), or with ``members`` a supervisor of that
        many; wait until each has subscribed."""
        log = self.logs.setdefault(name, self.tmp / f"{name}.log")
        before = self.subscribed(name)
        with log.open("ab") as out:
            self.procs[name] = subprocess.Popen(
                [*CLI, *self._args(), "--client-id", f"{self.client_id}-{name}", *extra],
                stdout=out, stderr=subprocess.STDOUT)
        _wait(lambda: self.subscribed(name) >= before + members, 60)
        time.sleep(0.5)  # the SUBACK follows the log line

    def subscribed(self, name: str) -> int:
        log = self.logs[name]
        return log.read_text(errors="replace").count("subscribed to $share/") if log.exists() else 0

    def stop(self) -> dict[str, tuple[int, int]]:
        """SIGTERM every member; (stored, duplicate) per ``stopped:`` line of each log."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out: dict[str, tuple[int, int]] = {}
        for name, log in self.logs.items():
            lines = re.findall(r"stopped: (\d+) stored, (\d+) duplicate", log.read_text(errors="replace"))
            out[name] = (sum(int(a) for a, _ in lines), sum(int(b) for _, b in lines))
        return out

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def group(world: World, uow: UnitOfWork, engine: Engine, tmp_path: Path) -> Iterator[Group]:
    need_service(_broker_up(), f"MQTT broker at {HOST}:{PORT}")
    forget_catalogues()
    load_sensing(uow)
    g = Group(engine, tmp_path)
    try:
        yield g
    finally:
        g.kill_all()
        forget_catalogues()


def _publisher() -> mqtt.Client:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.max_inflight_messages_set(100)
    pub.connect(HOST, PORT)
    pub.loop_start()
    return pub


def _stream(prefix: str, n: int, start: datetime) -> list[tuple[str, bytes]]:
    """``n`` messages over the three series: four of five carry five timed readings, every fifth one
    bare value (timed on arrival, so only the receipts keep a redelivery from being a second reading)."""
    out = []
    for i in range(n):
        series = SERIES[i % 3]
        if i % 5 == 4:
            out.append((f"{prefix}/RIVER_LEVEL/{series}", orjson.dumps(1.0 + i / 10_000)))
        else:
            base = start + timedelta(seconds=5 * i)
            out.append((f"{prefix}/RIVER_LEVEL/{series}",
                        orjson.dumps([{"value": 1.0, "at": (base + timedelta(seconds=k)).isoformat()}
                                      for k in range(5)])))
    return out


def _readings_in(messages: list[tuple[str, bytes]]) -> int:
    return sum(len(p) if isinstance(p := orjson.loads(payload), list) else 1 for _, payload in messages)


def test_two_members_share_the_stream_and_every_reading_is_stored_once(group: Group, uow: UnitOfWork) -> None:
    group.start("1")
    group.start("2")
    messages = _stream(group.prefix, 300, datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    expected = _readings_in(messages)
    pub = _publisher()
    for info in [pub.publish(topic, payload, qos=1) for topic, payload in messages]:
        info.wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()
    _wait(lambda: count_readings(uow) >= expected, 60)
    counts = group.stop()
    assert count_readings(uow) == expected
    (stored1, dup1), (stored2, dup2) = counts["1"], counts["2"]
    # round robin: each member got a share, and together they stored each reading once
    assert stored1 > expected // 4 and stored2 > expected // 4
    assert (stored1 + stored2, dup1 + dup2) == (expected, 0)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def test_a_member_killed_mid_stream_loses_nothing_and_stores_nothing_twice(group: Group, uow: UnitOfWork) -> None:
    group.start("sup", "--processes", "2", members=2)  # a supervisor keeping two members
    supervisor = group.procs["sup"]
    [victim, _other] = _children(supervisor.pid)
    messages = _stream(group.prefix, 600, datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3))
    expected = _readings_in(messages)
    done = threading.Event()

    def publish() -> None:
        pub = _publisher()
        infos = []
        for i, (topic, payload) in enumerate(messages):
            infos.append(pub.publish(topic, payload, qos=1))
            if i % 20 == 19:
                time.sleep(0.1)  # ~200 messages a second: the kill lands mid-stream
        for info in infos:
            info.wait_for_publish(30)
        pub.disconnect()
        pub.loop_stop()
        done.set()

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    _wait(lambda: count_readings(uow) > expected // 4, 60)
    os.kill(victim, signal.SIGKILL)
    assert not done.is_set(), "the stream ended before the kill: publish more slowly"
    # the supervisor starts the member again under its client id; the broker hands it back its share
    _wait(lambda: group.subscribed("sup") >= 3, 60)
    thread.join(60)
    _wait(lambda: count_readings(uow) >= expected, 90)
    time.sleep(1.5)  # a redelivery stored twice would show now
    [back] = [pid for pid in _children(supervisor.pid) if pid not in (victim, _other)]
    group.stop()
    assert count_readings(uow) == expected
    assert supervisor.returncode == 0, group.logs["sup"].read_text()[-2000:]
    assert "exited with -9; starting it again" in group.logs["sup"].read_text() and back


def test_a_member_that_leaves_the_group_stores_its_queued_share_and_gets_no_more(group: Group,
                                                                                  uow: UnitOfWork) -> None:
    group.start("1")
    group.start("2")
    group.procs["2"].send_signal(signal.SIGTERM)  # member 2 is away: the broker queues its share
    group.procs["2"].wait(60)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    first = _stream(group.prefix, 60, start)
    pub = _publisher()
    for info in [pub.publish(topic, payload, qos=1) for topic, payload in first]:
        info.wait_for_publish(10)
    _wait(lambda: count_readings(uow) > 0)
    time.sleep(1.0)
    assert count_readings(uow) < _readings_in(first), "member 2's share waits in its session"
    leaving = subprocess.run([*CLI, *group._args(), "--client-id", f"{group.client_id}-2", "--leave"],
                             capture_output=True, text=True, timeout=120)
    assert leaving.returncode == 0, leaving.stdout[-2000:] + leaving.stderr[-2000:]
    assert re.search(r"stopped: [1-9]\d* stored", leaving.stdout), leaving.stdout[-1000:]
    _wait(lambda: count_readings(uow) >= _readings_in(first))
    # the session is gone: everything published now goes to member 1
    later = _stream(group.prefix, 60, start + timedelta(hours=1))
    for info in [pub.publish(topic, payload, qos=1) for topic, payload in later]:
        info.wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()
    expected = _readings_in(first) + _readings_in(later)
    _wait(lambda: count_readings(uow) >= expected)
    group.stop()
    assert count_readings(uow) == expected


def _warnings(sf: sessionmaker[Session]) -> list[IndicatorWarning]:
    with sf() as s:
        return list(s.scalars(select(IndicatorWarning).order_by(IndicatorWarning.id)))


def _changes(sf: sessionmaker[Session], warning_id: int) -> list[str]:
    with sf() as s:
        return list(s.scalars(select(WarningLevelChange.change).where(WarningLevelChange.warning_id == warning_id)
                              .order_by(WarningLevelChange.id)))


def _events(sf: sessionmaker[Session]) -> int:
    with sf() as s:
        return int(s.scalar(select(func.count(Event.id))) or 0)


def _publish_one(pub: mqtt.Client, topic: str, payload: Any) -> None:
    pub.publish(topic, orjson.dumps(payload), qos=1).wait_for_publish(10)


def test_members_taking_turns_on_a_series_see_every_crossing_once(group: Group, uow: UnitOfWork,
                                                                  session_factory: sessionmaker[Session]) -> None:
    """The broker deals the gauge's readings to the two members in turn: each crossing must still be
    exactly one warning (and one event), as one process would make it — a member that trusted its own
    memory of the series would miss the other's resolve and see no new crossing."""
    wc.create_rule(uow, SYSTEM, RIVER)
    group.start("1")
    group.start("2")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    values = [1.0, 2.6, 1.0, 2.6, 1.0, 2.6, 1.0, 3.1]
    pub = _publisher()
    for i, value in enumerate(values):
        _publish_one(pub, f"{group.prefix}/RIVER_LEVEL/WL-A",
                     {"value": value, "at": (start + timedelta(minutes=5 * i)).isoformat()})
        _wait(lambda i=i: count_readings(uow) >= i + 1)  # one at a time: the members take turns
    pub.disconnect()
    pub.loop_stop()
    counts = group.stop()
    assert counts["1"][0] > 0 and counts["2"][0] > 0, counts
    found = _warnings(session_factory)
    assert [w.state for w in found] == ["resolved", "resolved", "resolved", "firing"]
    assert [_changes(session_factory, w.id) for w in found] == [["fired", "resolved"]] * 3 + [["fired"]]
    assert len({w.event_id for w in found}) == 4 and None not in {w.event_id for w in found}
    assert _events(session_factory) == 4


def test_two_members_racing_on_rising_series_make_one_warning_per_series(
        group: Group, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    """Readings of three series rising through every level, published as fast as the broker takes
    them and dealt to both members at once: one warning and one event per series, fired once."""
    wc.create_rule(uow, SYSTEM, RIVER)
    group.start("1")
    group.start("2")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    ramp = [1.0] * 20 + [2.1, 2.2, 2.6, 2.7, 3.1, 3.2, 3.6, 3.7, 3.8, 3.9] + [3.9] * 10
    pub = _publisher()
    infos = []
    for i, value in enumerate(ramp):
        for series in SERIES:
            infos.append(pub.publish(f"{group.prefix}/RIVER_LEVEL/{series}", orjson.dumps(
                {"value": value, "at": (start + timedelta(minutes=i)).isoformat()}), qos=1))
    for info in infos:
        info.wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()
    _wait(lambda: count_readings(uow) >= len(ramp) * len(SERIES), 60)
    counts = group.stop()
    assert counts["1"][0] > 0 and counts["2"][0] > 0, counts
    found = _warnings(session_factory)
    assert sorted(w.series_key for w in found) == sorted(SERIES)
    assert {(w.state, w.peak_level) for w in found} == {("firing", "red")}
    for w in found:
        changes = _changes(session_factory, w.id)
        assert changes.count("fired") == 1 and "resolved" not in changes, changes
    assert _events(session_factory) == len(SERIES)


def test_on_postgresql_one_series_is_evaluated_by_one_transaction_at_a_time(
        world: World, uow: UnitOfWork, engine: Engine, session_factory: sessionmaker[Session]) -> None:
    """What the members rely on: the statement that stores a batch locks each touched series' latest
    row until commit, so a second batch of the same series reaches the evaluation hook only after the
    first one committed — and then sees what it wrote — while a batch of another series goes ahead."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's single writer serialises whole batches")
    from shuzhi.adapters.db.readings_store import NewReading, store
    from shuzhi.adapters.db.tables_sensing import Device, Indicator
    from shuzhi.services.hooks import READING_HOOKS
    from shuzhi.services.sensing.ingest import ingest

    forget_catalogues()
    load_sensing(uow)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    evaluated: list[tuple[str, float]] = []

    def hook(_s: Session, batch: Any) -> None:
        evaluated.extend((r.series_key, time.monotonic()) for r in batch)

    READING_HOOKS.append(hook)
    try:
        with session_factory() as first:
            ind = first.scalar(select(Indicator.id).where(Indicator.code == "RIVER_LEVEL"))
            area = first.scalar(select(Device.area_id).where(Device.code == "WL-A"))
            assert ind is not None and area is not None
            store(first, [NewReading(ind, "WL-A", at, 1.0, area)])  # in flight, not committed

            def second(series: str) -> threading.Thread:
                item = ({"device": series} if series == "WL-A" else {"area": series})
                t = threading.Thread(target=ingest, args=(UnitOfWork(session_factory), SYSTEM, [
                    {"indicator": "RIVER_LEVEL", "at": (at + timedelta(minutes=1)).isoformat(), "value": 1.0,
                     **item}]), daemon=True)
                t.start()
                return t

            other, same = second("500111002"), second("WL-A")
            other.join(20)
            time.sleep(1.0)
            assert [k for k, _ in evaluated] == ["500111002"], "only the other series may go ahead"
            committed = time.monotonic()
            first.commit()
        same.join(20)
        assert not same.is_alive()
        [(_key, when)] = [e for e in evaluated if e[0] == "WL-A"]
        assert when >= committed
    finally:
        READING_HOOKS.remove(hook)
        forget_catalogues()
