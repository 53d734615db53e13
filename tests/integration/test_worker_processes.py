"""Real ``shuzhi worker`` processes: SIGTERM ends them cleanly after the batch in hand; SIGKILL in the
middle of a sweep loses and doubles nothing (PostgreSQL, several workers at once)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_supervision import Notification, OutboxMessage, SupervisionClock, SupervisionStep
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.supervision import SupervisionRules, TaskClock, plan, plan_to_json
from shuzhi.domain.time_limits import LimitUnit
from shuzhi.services.deadlines import default_calendar
from tests.conftest import PG_URL
from tests.factories import World

SHUZHI = str(Path(sys.executable).with_name("shuzhi"))
STEPS_PER_TASK = 6  # two reminders, overdue, urge, yellow card, red card


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def seed_overdue_tasks(session_factory: sessionmaker[Session], world: World, n: int) -> None:
    """``n`` tasks accepted months ago and left lying: every handling step of every task is due.
    (Accepted: a task never accepted would rise to the centre above at its first step, see
    ``test_supervision_sweep``; here every task runs through every step.)"""
    # a fixed Monday morning in working time, long past: a date relative to today would now and then
    # fall on a holiday eve and plan fewer reminders
    start = datetime(2026, 3, 2, 10, tzinfo=SHANGHAI).astimezone(UTC)
    clock = TaskClock(state=TaskState.ACCEPTED, role=TaskRole.LEAD, dispatched_at=start,
                      accept_due_at=start + timedelta(hours=2), handle_due_at=start + timedelta(days=3),
                      handle_unit=LimitUnit.WORKING_DAYS, since=start)
    steps = plan(clock, SupervisionRules(), default_calendar())
    assert len(steps) == STEPS_PER_TASK
    area, unit, cls = world.areas["500111001001001"], world.units["D500111-CGJ"], world.classes["0101"]
    with session_factory() as s:
        conn = s.connection()
        conn.execute(insert(Event), [
            {"id": i, "number": f"K-{i:06d}", "source": "hotline", "event_class_id": cls.id, "title": f"井盖{i}",
             "description": "", "area_id": area.id, "area_path": area.path, "urgency": "normal", "mode": "handle",
             "state": "handling", "received_at": start, "updated_at": start, "version": 1,
             "self_handled": False, "rework_count": 0, "return_count": 0}
            for i in range(1, n + 1)])
        conn.execute(insert(Task), [
            {"id": i, "event_id": i, "unit_id": unit.id, "role": "lead", "state": "accepted",
             "dispatched_by_unit_id": world.units["C500111"].id, "dispatched_at": start,
             "accepted_at": start + timedelta(hours=1),
             "accept_due_at": clock.accept_due_at, "handle_due_at": clock.handle_due_at, "rework_count": 0,
             "updated_at": start, "version": 1} for i in range(1, n + 1)])
        conn.execute(insert(SupervisionClock), [
            {"task_id": i, "event_id": i, "next_due_at": steps[0].due_at, "plan": plan_to_json(steps),
             "failures": 0, "updated_at": start, "unit_id": unit.id, "dispatched_by_unit_id": world.units["C500111"].id,
             "event_number": f"K-{i:06d}", "event_title": f"井盖{i}", "area_path": area.path, "event_class_id": cls.id}
            for i in range(1, n + 1)])
        if conn.dialect.name == "postgresql":  # explicit ids above: move the sequences past them
            for table in ("events", "tasks"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})"))
        s.commit()


def _start(url: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([SHUZHI, "worker", "--database-url", url, "--interval", "0.2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _watch_for(proc: subprocess.Popen[bytes], text: bytes) -> threading.Event:
    """Set once ``text`` appears on the process's stderr (read in a thread, so the pipe never fills)."""
    seen = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if text in line:
                seen.set()

    threading.Thread(target=read, daemon=True).start()
    return seen


def _count(session_factory: sessionmaker[Session], model: type, *where: object) -> int:
    with session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _wait(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigterm_finishes_the_batch_in_hand_and_exits_cleanly(engine: Engine, session_factory: sessionmaker[Session],
                                                              world: World) -> None:
    n = 400
    seed_overdue_tasks(session_factory, world, n)
    proc = _start(_url(engine), "--batch", "20")
    _wait(lambda: _count(session_factory, SupervisionStep) > 0, 60, "the first steps")
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert b"finishing the job in hand" in err and b"stopped" in err
    # every committed batch is whole: a task has all its steps and no clock, or none and its clock
    remaining = _count(session_factory, SupervisionClock)
    assert 0 <= remaining < n
    assert _count(session_factory, SupervisionStep) == STEPS_PER_TASK * (n - remaining)


def test_sigkill_mid_sweep_then_restart_loses_and_doubles_nothing(engine: Engine,
                                                                  session_factory: sessionmaker[Session],
                                                                  world: World) -> None:
    if not PG_URL:
        # Not a missing service: this is the SQLite pass of the suite; the PostgreSQL pass (which CI
        # always runs, with SHUZHI_REQUIRE_SERVICES=1) runs this test.
        pytest.skip("SKIP LOCKED across worker processes is a PostgreSQL test; it runs in the PostgreSQL pass")
    n = 3000
    seed_overdue_tasks(session_factory, world, n)
    url = _url(engine)
    workers = [_start(url, "--batch", "25") for _ in range(3)]
    victim = workers[0]
    try:
        _wait(lambda: _count(session_factory, SupervisionStep) >= 300, 120, "the sweep to be well under way")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        left_at_kill = _count(session_factory, SupervisionClock)
        assert left_at_kill > 0, "the sweep finished before the kill; make it bigger"
        workers[0] = _start(url, "--batch", "25")  # restart
        # SIGTERM before its handlers are installed would end it with -15: wait until it is running
        started = _watch_for(workers[0], b"started")
        _wait(started.is_set, 120, "the restarted worker to start")
        _wait(lambda: _count(session_factory, SupervisionClock) == 0, 300, "the sweep to finish")
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
    assert victim.returncode == -signal.SIGKILL
    assert all(w.returncode == 0 for w in workers), [w.returncode for w in workers]

    with session_factory() as s:
        per_key = s.execute(select(SupervisionStep.task_id, SupervisionStep.step, func.count())
                            .group_by(SupervisionStep.task_id, SupervisionStep.step)).all()
        lines = s.execute(select(TimelineEntry.task_id, TimelineEntry.action, func.count())
                          .where(TimelineEntry.action.like("supervision.%"))
                          .group_by(TimelineEntry.task_id, TimelineEntry.action)).all()
    # nothing lost: every (task, step) once; nothing doubled: no key twice, and the timeline agrees
    assert len(per_key) == n * STEPS_PER_TASK
    assert {c for _, _, c in per_key} == {1}
    assert sum(c for _, _, c in lines) == n * STEPS_PER_TASK
    remind_lines = {(t, c) for t, a, c in lines if a == "supervision.remind"}
    assert {c for _, c in remind_lines} == {2}  # the 70 % and the 90 % reminder, once each
    assert _count(session_factory, OutboxMessage) == n * STEPS_PER_TASK
    # overdue and both cards also go to the dispatching centre: 3 more per task
    assert _count(session_factory, Notification) == n * (STEPS_PER_TASK + 3)
