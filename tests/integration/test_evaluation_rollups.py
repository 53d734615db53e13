"""Incremental roll-ups stay exact: random histories, refreshed at random moments, equal a recount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Base
from shuzhi.services import commands as c
from shuzhi.services import handling as h
from shuzhi.services import task_handling
from shuzhi.services.actors import resolve_actor
from shuzhi.services.errors import ServiceError
from shuzhi.services.intake import submit_event
from shuzhi.services.rollups import rebuild_matches, recount, refresh_rollups, stored
from shuzhi.services.ttl_cache import clear_all
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World, build_world

START = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
UNITS = ["D500111-CGJ", "D500111-SWJ", "C500111001"]
STEPS = st.lists(st.tuples(
    st.sampled_from(["submit", "dispatch", "accept", "return", "report", "verify_ok", "verify_fail", "close",
                     "callback_ok", "callback_bad", "suspend", "cancel", "refresh"]),
    st.integers(0, 5), st.integers(0, 2), st.integers(1, 40)), min_size=5, max_size=40)


def _reset(factory: sessionmaker[Session]) -> None:
    clear_all()
    with factory() as s:
        bind = s.get_bind()
        if bind.dialect.name == "postgresql":
            names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
            s.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in reversed(Base.metadata.sorted_tables):
                s.execute(t.delete())
        s.commit()
        build_world(s)


@settings(max_examples=12, deadline=None, phases=[Phase.generate, Phase.target],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_incremental_rollups_equal_recount(session_factory: sessionmaker[Session], steps: list) -> None:
    _reset(session_factory)
    uow = lambda: UnitOfWork(session_factory)  # noqa: E731
    with session_factory() as s:
        alice, carol = resolve_actor(s, "alice"), resolve_actor(s, "carol")
    numbers: list[str] = []
    now = START
    for action, which, unit, hours in steps:
        now += timedelta(hours=hours)
        if action == "refresh":
            refresh_rollups(uow(), now)
            continue
        if action == "submit" or not numbers:
            body = c.SubmitEvent(source="hotline", event_class_code="0101", title="井盖", lon=World.A1[0],
                                 lat=World.A1[1])
            numbers.append(submit_event(uow(), body, alice, now=now).number)
            continue
        number = numbers[which % len(numbers)]
        with session_factory() as s:
            event = h.load_event(s, number)
            live = [t.id for t in event.tasks if t.state in ("dispatched", "accepted", "reported_back")]
        task = live[0] if live else 0
        try:
            if action == "dispatch":
                h.dispatch(uow(), number, c.Dispatch(units=[c.UnitAssignment(unit_code=UNITS[unit])]), alice, now=now)
            elif action == "accept":
                task_handling.accept_task(uow(), number, task, c.OptionalReason(), carol, now=now)
            elif action == "return":
                task_handling.return_task(uow(), number, task, c.WithReason(reason="非本单位"), carol, now=now)
            elif action == "report":
                task_handling.report_back(uow(), number, task, c.ReportBack(result="done"), carol, now=now)
            elif action in ("verify_ok", "verify_fail"):
                h.verify(uow(), number, c.Verify(passed=action == "verify_ok", reason="核查"), alice, now=now)
            elif action == "close":
                h.close(uow(), number, c.OptionalReason(), alice, now=now)
            elif action in ("callback_ok", "callback_bad"):
                h.callback(uow(), number, c.Callback(satisfied=action == "callback_ok"), alice, now=now)
            elif action == "suspend":
                task_handling.suspend_task(uow(), number, task, c.WithReason(reason="等待"), alice, now=now)
            elif action == "cancel":
                h.cancel(uow(), number, c.WithReason(reason="无效"), alice, now=now)
        except ServiceError:
            pass  # an action the state does not allow changes nothing
    now += timedelta(days=3)  # deadlines pass with nothing happening
    refresh_rollups(uow(), now)
    with session_factory() as s:
        assert stored(s) == recount(s, now)
    same, why = rebuild_matches(uow(), now)
    assert same, why
