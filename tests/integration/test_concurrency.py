"""Concurrent writers: event numbers stay unique and no update of one event is lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from shuzhi.services import commands as c
from shuzhi.services import handling
from shuzhi.services.actors import resolve_actor
from shuzhi.services.errors import Conflict
from shuzhi.services.intake import submit_event
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World


def test_event_numbers_are_unique_under_concurrency(world: World, session_factory: sessionmaker[Session]) -> None:
    with UnitOfWork(session_factory) as uow:
        alice = resolve_actor(uow.session, "alice")
    cmd = c.SubmitEvent(source="hotline", title="并发", lon=World.A1[0], lat=World.A1[1])

    def one(_: int) -> int:
        return submit_event(UnitOfWork(session_factory), cmd, alice).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, range(40)))
    with session_factory() as s:
        from sqlalchemy import select

        from shuzhi.adapters.db.tables import Event

        numbers = s.scalars(select(Event.number).where(Event.id.in_(ids))).all()
    assert len(set(numbers)) == 40
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 41))


def test_two_officers_acting_at_once_never_lose_a_write(world: World,
                                                        session_factory: sessionmaker[Session]) -> None:
    with UnitOfWork(session_factory) as uow:
        alice = resolve_actor(uow.session, "alice")
        bob = resolve_actor(uow.session, "bob")
    outcomes: list[str] = []
    for _ in range(5):
        event_id = submit_event(UnitOfWork(session_factory), c.SubmitEvent(
            source="hotline", title="并发处置", event_class_code="0101", lon=World.A1[0], lat=World.A1[1]), alice).id
        barrier = threading.Barrier(2)

        def act(who, action, barrier=barrier):  # type: ignore[no-untyped-def]
            barrier.wait()
            try:
                action(who)
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")

        def cancel(who, ref=str(event_id)):  # type: ignore[no-untyped-def]
            handling.cancel(UnitOfWork(session_factory), ref, c.WithReason(reason="无效", expected_version=1), who)

        def dispatch(who, ref=str(event_id)):  # type: ignore[no-untyped-def]
            handling.dispatch(UnitOfWork(session_factory), ref,
                              c.Dispatch(units=[c.UnitAssignment(unit_code="D500111-CGJ")], expected_version=1), who)

        threads = [threading.Thread(target=act, args=(alice, cancel)),
                   threading.Thread(target=act, args=(bob, dispatch))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with session_factory() as s:
            from shuzhi.adapters.db.tables import Event

            ev = s.get(Event, event_id)
            assert ev is not None
            # exactly one of the two won, and the stored state is the winner's
            assert ev.version == 2
            assert ev.state in ("cancelled", "dispatched")
            assert (ev.state == "dispatched") == bool(ev.tasks)
    assert outcomes.count("ok") == 5 and outcomes.count("conflict") == 5
