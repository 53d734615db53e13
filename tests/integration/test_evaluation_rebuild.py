"""The from-scratch rebuild (set-based SQL on PostgreSQL) equals the incremental path, row for row.

Random events and tasks are written straight into the tables — every state, role, missing moment,
returned and suspended lead tasks, several lead tasks per event, times with microseconds and half
seconds (rounding), moments on holidays, nights and weekends — then the facts and roll-ups made by
the per-event incremental path (:func:`apply_all_incrementally`) are compared with a rebuild.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, Task
from shuzhi.services.rollups import apply_all_incrementally, rebuild_matches
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World

NOW = datetime(2024, 10, 8, 3, 0, tzinfo=UTC)
START = datetime(2024, 9, 20, tzinfo=UTC)  # around the National Day holiday (1–7 October)
EVENT_STATES = ["registered", "dispatched", "handling", "reported_back", "closed", "called_back", "cancelled",
                "merged"]
TASK_STATES = ["dispatched", "accepted", "extension_requested", "reported_back", "verified", "returned",
               "cancelled", "suspended"]


def _moment(rng: random.Random, after: datetime) -> datetime:
    at = after + timedelta(seconds=rng.randint(0, 6 * 86400))
    micro = rng.choice([0, 0, 500_000, rng.randint(0, 999_999)])  # half seconds test the rounding
    return at + timedelta(microseconds=micro)


def _maybe(rng: random.Random, at: datetime) -> datetime | None:
    return at if rng.random() < 0.7 else None


def _fill(factory: sessionmaker[Session], world: World, seed: int, n: int = 120) -> None:
    rng = random.Random(seed)
    units = [u.id for u in world.units.values()]
    classes = [c.id for c in world.classes.values()] + [None]
    paths = [a.path for a in world.areas.values()] + [None, "/999999/"]
    with factory() as s:
        for i in range(n):
            received = _moment(rng, START)
            dispatched = _maybe(rng, _moment(rng, received))
            reported = _maybe(rng, _moment(rng, dispatched or received))
            closed = _maybe(rng, _moment(rng, reported or received))
            called = _maybe(rng, _moment(rng, closed or received))
            event = Event(number=f"R{seed}-{i}", source=rng.choice(["hotline", "grid_patrol", "sensor_warning"]),
                          title="随机", area_path=rng.choice(paths), event_class_id=rng.choice(classes),
                          urgency="normal", mode=rng.choice(["handle", "handle", "notify"]),
                          state=rng.choice(EVENT_STATES), owner_unit_id=rng.choice([*units, None]),
                          self_handled=rng.random() < 0.15, satisfied=rng.choice([True, False, None]),
                          rework_count=rng.choice([0, 0, 1, 2]), return_count=rng.choice([0, 0, 1]),
                          received_at=received, dispatched_at=dispatched, reported_at=reported, closed_at=closed,
                          called_back_at=called)
            s.add(event)
            s.flush()
            sent = received
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                # the same moment for two tasks tests the tie on dispatch time (the later id decides)
                sent = sent if sent != received and rng.random() < 0.4 else _moment(rng, received)
                accepted = _maybe(rng, _moment(rng, sent))
                s.add(Task(event_id=event.id, unit_id=rng.choice(units), role=rng.choice(["lead", "lead", "assist",
                                                                                          "notify"]),
                           state=rng.choice(TASK_STATES), dispatched_at=sent,
                           accept_due_at=_maybe(rng, sent + timedelta(hours=rng.choice([2, 4, 30]))),
                           handle_due_at=_maybe(rng, sent + timedelta(days=rng.choice([1, 3, 5]))),
                           accepted_at=accepted, reported_at=_maybe(rng, _moment(rng, accepted or sent)),
                           ended_at=_maybe(rng, _moment(rng, sent))))
        s.commit()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_rebuild_equals_incremental_on_random_rows(session_factory: sessionmaker[Session], world: World,
                                                   seed: int) -> None:
    _fill(session_factory, world, seed)
    assert apply_all_incrementally(UnitOfWork(session_factory), NOW) == 120
    same, why = rebuild_matches(UnitOfWork(session_factory), NOW)
    assert same, why


def test_the_comparison_can_fail(session_factory: sessionmaker[Session], world: World) -> None:
    """A changed fact after the incremental pass is noticed (the check is not vacuous)."""
    _fill(session_factory, world, 5, n=10)
    apply_all_incrementally(UnitOfWork(session_factory), NOW)
    with session_factory() as s:  # received a day later, with no refresh: the stored facts are stale
        for event in s.query(Event):
            event.received_at += timedelta(days=1)
        s.commit()
    same, why = rebuild_matches(UnitOfWork(session_factory), NOW)
    assert not same and why.startswith("facts of event")
