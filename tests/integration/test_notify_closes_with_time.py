"""A notify-only event (抄送知悉) closes with a closing time, when its last unit has read it; events
closed before the fix get theirs from the migration (0011)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.engine import make_engine
from shuzhi.adapters.db.migrate import upgrade
from shuzhi.adapters.db.tables import TimelineEntry
from shuzhi.services import commands as c
from shuzhi.services import handling as h
from shuzhi.services import task_handling
from shuzhi.services.actors import resolve_actor
from shuzhi.services.intake import submit_event
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import PG_URL
from tests.factories import World

T0 = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)


def test_closed_at_is_the_moment_the_last_unit_read_it(session_factory: sessionmaker[Session],
                                                       world: World) -> None:
    uow = lambda: UnitOfWork(session_factory)  # noqa: E731
    with session_factory() as s:
        alice, bob = resolve_actor(s, "alice"), resolve_actor(s, "bob")
    body = c.SubmitEvent(source="hotline", event_class_code="9001", title="停水通知", lon=World.A1[0],
                         lat=World.A1[1])
    number = submit_event(uow(), body, alice, now=T0).number
    h.notify(uow(), number, c.Notify(unit_codes=["C500111001", "D500111-SWJ"]), alice, now=T0)
    with session_factory() as s:
        tasks = [t.id for t in h.load_event(s, number).tasks]
    task_handling.read_task(uow(), number, tasks[0], alice, now=T0 + timedelta(minutes=5))
    with session_factory() as s:
        event = h.load_event(s, number)
        assert (event.state, event.closed_at) == ("notifying", None)
    task_handling.read_task(uow(), number, tasks[1], bob, now=T0 + timedelta(minutes=40))
    with session_factory() as s:
        event = h.load_event(s, number)
        assert event.state == "closed"
        assert event.closed_at == T0 + timedelta(minutes=40)
        closing = s.scalars(select(TimelineEntry.at).where(TimelineEntry.event_id == event.id,
                                                           TimelineEntry.action == "event.all_read")).all()
        assert closing == [event.closed_at]


def _fresh_url(tmp_path: Path) -> str:
    if not PG_URL:
        return f"sqlite:///{tmp_path / 'backfill.db'}"
    base, name = PG_URL.rsplit("/", 1)
    database = f"{name}_backfill"  # beside this run's own test database, never a shared one
    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return f"{base}/{database}"


def _utc(at: datetime | str | None) -> datetime | None:
    """SQLite hands raw SQL times back as text, PostgreSQL as aware datetimes."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def test_migration_backfills_closed_at_of_notify_events(tmp_path: Path) -> None:
    url = _fresh_url(tmp_path)
    upgrade(url, "0010")
    engine = make_engine(url)
    read_at = datetime(2024, 6, 3, 2, 30, tzinfo=UTC)
    event_sql = text(
        "INSERT INTO events (id, number, source, title, description, urgency, mode, state, self_handled, "
        "rework_count, return_count, received_at, updated_at, version) VALUES (:id, :number, 'hotline', '通知', '', "
        "'normal', :mode, :state, false, 0, 0, :t0, :t0, 1)")
    with engine.begin() as conn:
        for i, (mode, state) in enumerate([("notify", "closed"), ("notify", "notifying"), ("handle", "closed")], 1):
            conn.execute(event_sql, {"id": i, "number": f"N{i}", "mode": mode, "state": state, "t0": T0})
            conn.execute(text("INSERT INTO timeline_entries (event_id, at, actor, action, payload) "
                              "VALUES (:e, :at, 'bob', 'event.all_read', '{}')"), {"e": i, "at": read_at})
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, closed_at FROM events ORDER BY id")).all()
    engine.dispose()
    closed = {i: _utc(at) for i, at in rows}
    assert closed == {1: read_at, 2: None, 3: None}  # only the closed notify-only event, from its timeline
