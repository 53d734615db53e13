"""Threshold evaluation when other processes evaluate the same series (``share_series``: members of a
shared MQTT subscription): the warnings are the ones a single process makes.

Two processes are played in one by giving each its own memory of series (``_series.data``) and
handing the batches to them in turn, as Mosquitto deals a shared subscription's messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing import warnings as sensing_warnings
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.test_warnings import RIVER, feed, history, warnings_of
from tests.sensing_data import load_sensing


@pytest.fixture
def sensed(world: World, uow: UnitOfWork) -> World:
    load_sensing(uow)
    return world


@pytest.fixture
def shared(sensed: World) -> Iterator[World]:
    sensing_warnings.share_series()
    yield sensed
    sensing_warnings.share_series(False)


class Processes:
    """Memories of series for ``n`` processes; :meth:`turn` makes the next one current."""

    def __init__(self, n: int) -> None:
        self.memories: list[dict[str, Any]] = [{} for _ in range(n)]
        self.next = 0

    def turn(self) -> None:
        sensing_warnings._series.data = self.memories[self.next]
        self.next = (self.next + 1) % len(self.memories)


@pytest.fixture
def processes() -> Iterator[Processes]:
    saved = sensing_warnings._series.data
    yield Processes(2)
    sensing_warnings._series.data = saved


@pytest.mark.parametrize("is_shared", [False, True])
def test_two_processes_taking_turns_see_every_crossing_only_when_they_share_series(
        sensed: World, uow: UnitOfWork, session_factory: sessionmaker[Session], processes: Processes,
        is_shared: bool) -> None:
    sensing_warnings.share_series(is_shared)
    try:
        wc.create_rule(uow, SYSTEM, RIVER)
        for minute, value in [(0, 1.0), (5, 2.6), (10, 1.0), (15, 2.6), (20, 1.0), (25, 3.1)]:
            processes.turn()
            feed(uow, [(minute, value)])
    finally:
        sensing_warnings.share_series(False)
    found = warnings_of(session_factory)
    if is_shared:
        assert [w.state for w in found] == ["resolved", "resolved", "firing"]
        assert [history(session_factory, w.id) for w in found] == [
            [("fired", "yellow"), ("resolved", None)], [("fired", "yellow"), ("resolved", None)],
            [("fired", "orange")]]
    else:
        # what a process that trusts its own memory makes of it: the other's resolve is never seen
        assert len(found) < 3


def test_a_storm_in_batches_dealt_to_two_processes_is_one_episode_as_in_one_process(
        shared: World, uow: UnitOfWork, session_factory: sessionmaker[Session], processes: Processes) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    for batch in ([(0, 1.0), (5, 2.1), (10, 2.6)], [(15, 3.2), (20, 3.7)], [(25, 2.2), (30, 1.0)]):
        processes.turn()
        feed(uow, batch)
    [warning] = warnings_of(session_factory)
    assert history(session_factory, warning.id) == [
        ("fired", "blue"), ("raised", "yellow"), ("raised", "orange"), ("raised", "red"), ("lowered", "blue"),
        ("resolved", None)]
    assert (warning.state, warning.peak_level, warning.open_key) == ("resolved", "red", None)


@pytest.mark.parametrize("is_shared", [False, True])
def test_a_rate_condition_sees_the_readings_the_other_process_stored(
        sensed: World, uow: UnitOfWork, session_factory: sessionmaker[Session], processes: Processes,
        is_shared: bool) -> None:
    sensing_warnings.share_series(is_shared)
    try:
        wc.create_rule(uow, SYSTEM, {
            "code": "RISE", "name": "涨速", "indicator": "RIVER_LEVEL",
            "conditions": [{"kind": "rate", "op": "above", "window": "1h", "levels": {"orange": 0.5}}],
            "actions": {}})
        processes.turn()
        feed(uow, [(0, 1.0)])  # process 1
        processes.turn()
        feed(uow, [(30, 1.0)])  # process 2
        processes.turn()
        # process 1 again: within the hour before minute 70 only process 2's reading of minute 30 lies
        feed(uow, [(70, 1.6)])
    finally:
        sensing_warnings.share_series(False)
    found = warnings_of(session_factory)
    if is_shared:
        [warning] = found
        assert (warning.state, warning.level) == ("firing", "orange")
    else:
        assert found == []  # its own memory of the window holds only minute 0, which has slid out
