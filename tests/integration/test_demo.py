"""The demo is seeded through the real importers and services, and /healthz waits for it."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, Event, Person, Task, TimelineEntry, Unit
from shuzhi.adapters.db.tables_desk import CopyList
from shuzhi.adapters.db.tables_ledgers import LedgerEventLink
from shuzhi.adapters.db.tables_supervision import SupervisionStep
from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from tests.conftest import DEMO_NOW


def test_demo_seed_builds_a_district_with_history(demo_history: Any, session_factory: sessionmaker[Session]) -> None:
    now = DEMO_NOW  # a Wednesday noon in Chongqing
    replayer, pending, _ = demo_history
    with session_factory() as s:
        grids = s.scalar(select(func.count(Area.id)).where(Area.level == "grid"))
        assert grids is not None and grids >= 2000
        assert (s.scalar(select(func.count(Unit.id))) or 0) > 2000
        assert (s.scalar(select(func.count(Person.id))) or 0) > 2000
        # sensor warnings open events of their own (tests/integration/test_demo_warnings.py)
        events = s.scalar(select(func.count(Event.id)).where(
            or_(Event.intake_key.is_(None), and_(Event.intake_key.not_like("warning:%"),
                                                 Event.intake_key.not_like("demo-copy:%"))))) or 0
        # the seeds' shape: nearly every event is copied for information (抄送知悉), ~2-4 % handled
        modes = dict(s.execute(select(Event.mode, func.count(Event.id)).group_by(Event.mode)).all())
        assert 0.95 <= modes["notify"] / sum(modes.values()) <= 0.99, modes
        # the notices go to realistic copy lists: a basin's towns, a list of departments, a town and a company
        copied = s.execute(select(Task.event_id, func.count(Task.id)).where(Task.role == "notify")
                           .group_by(Task.event_id)).all()
        assert max(n for _, n in copied) >= 8 and min(n for _, n in copied) >= 1
        # most are read in time; of those still unread, few are past their read deadline
        read = dict(s.execute(select(Task.state, func.count(Task.id)).where(Task.role == "notify")
                              .group_by(Task.state)).all())
        late = s.scalar(select(func.count(Task.id)).where(Task.role == "notify", Task.state == "notified",
                                                          Task.read_due_at < now)) or 0
        assert read["read"] > read["notified"] and late < 0.03 * (read["read"] + read["notified"]), (read, late)
        assert (s.scalar(select(func.count(CopyList.id))) or 0) >= 6
        states = dict(s.execute(select(Event.state, func.count(Event.id)).group_by(Event.state)).all())
        assert (s.scalar(select(func.count(TimelineEntry.id))) or 0) > events * 3
        assert s.scalar(select(func.max(Event.received_at))) <= now
        # the supervision sweep is the history's clock: reminders, overdue and escalations happened in it
        steps = dict(s.execute(select(SupervisionStep.step, func.count()).group_by(SupervisionStep.step)).all())
        assert {"remind_70", "overdue", "accept_timeout"} <= set(steps), steps
        assert all(at <= now for at in s.scalars(select(SupervisionStep.done_at)))
        # 台账: the history's hot spot made one problem on the rectification list, linked to its events
        pattern = s.execute(select(LedgerEventLink.item_id, func.count()).where(LedgerEventLink.relation == "pattern")
                            .group_by(LedgerEventLink.item_id)).all()
        assert len(pattern) == 1 and pattern[0][1] >= 2, pattern
    assert events == len(replayer.numbers) and events > 100
    # 一贯到底: the city's leader sees two districts, the neighbour lightly populated, and goes down from it
    from shuzhi.services import levels
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.unit_of_work import UnitOfWork

    with session_factory() as s:
        mayor, tongliang = resolve_actor(s, "leader.city"), resolve_actor(s, "duty.tongliang")
    city = levels.level_view(UnitOfWork(session_factory), mayor, now=now)
    opened = {c["code"]: c["open"] for c in city["children"]}
    assert set(opened) == {"500111", "500151"} and opened["500111"] > opened["500151"] > 0, opened
    flows = levels.cross_level(UnitOfWork(session_factory), tongliang, "500151", now=now)
    assert flows["down"] == [{"from_level": "district", "to_level": "town", "count": 3}]
    assert {"dispatched", "handling", "closed", "cancelled"} <= set(states), states
    # steps still in the future wait for the live loop; refused steps are few and explained
    assert all(step.at > now for _, step in pending)
    assert len(replayer.failures) <= events // 20, replayer.failures[:5]


def test_healthz_waits_for_the_data(session_factory: sessionmaker[Session], tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://"))
    with TestClient(app) as client:
        app.state.ready = False
        assert client.get("/healthz").status_code == 503
        app.state.ready = True
        assert client.get("/healthz").json() == {"status": "ok"}


def test_live_loop_brings_new_events_and_dispatches_them(demo_history: Any,
                                                         session_factory: sessionmaker[Session]) -> None:
    import threading

    from shuzhi.demo.runner import _live_loop

    replayer, pending, district = demo_history
    before = len(replayer.numbers)
    stop = threading.Event()
    worker = threading.Thread(target=_live_loop, args=(session_factory, replayer, pending, district, 1, stop, 0.05))
    worker.start()
    # the loop makes an event every 0.05 s; wait (bounded, so a slow machine is not a failure) for five
    # new ones and for one of them to be dispatched automatically (most new reports follow a script)
    def dispatched(numbers: list[str]) -> int:
        with session_factory() as s:
            return s.scalar(select(func.count(TimelineEntry.id)).join(Event, Event.id == TimelineEntry.event_id)
                            .where(Event.number.in_(numbers), TimelineEntry.action == "event.dispatch")) or 0

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (len(replayer.numbers) - before < 5
                                           or not dispatched(replayer.numbers[before:])):
        time.sleep(0.2)
    stop.set()
    worker.join(10)
    new = replayer.numbers[before:]
    assert len(new) >= 5
    assert dispatched(new) >= 1, replayer.failures[-5:]
    with session_factory() as s:
        states = s.scalars(select(Event.state).where(Event.number.in_(new))).all()
    assert set(states) <= {"registered", "dispatched", "notifying", "cancelled", "merged"}
