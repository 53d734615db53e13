"""A warning's notify action copies the units its policy names (抄送知悉); a level that needs handling
later turns the copied notice into a case, keeping the copies."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, TimelineEntry
from shuzhi.domain.thresholds import parse_rule
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.test_warnings import feed
from tests.sensing_data import load_sensing

RIVER = {
    "code": "RIVER", "name": "河道水位", "indicator": "RIVER_LEVEL",
    "conditions": [{"kind": "value", "op": "above", "levels": {"blue": 2.0, "yellow": 2.5, "orange": 3.0,
                                                                "red": 3.5}}],
    "actions": {"yellow": {"mode": "notify", "event_class": "0301", "copy": ["C500111001", "D500111-SWJ"]},
                "red": {"mode": "handle", "event_class": "0301", "urgency": "critical", "dispatch": True}},
}


@pytest.fixture
def sensed(world: World, uow: UnitOfWork) -> World:
    load_sensing(uow)
    return world


def _copies(s: Session, ev: Event) -> dict[str, str]:
    return {t.unit.code: t.state for t in ev.tasks if t.role == "notify"}


def test_a_warnings_notify_action_copies_the_units_its_policy_names(
        sensed: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    feed(uow, [(0, 1.0), (5, 2.6)])
    with session_factory() as s:
        [ev] = s.scalars(select(Event)).all()
        assert (ev.mode, ev.state) == ("notify", "notifying")
        assert _copies(s, ev) == {"C500111001": "notified", "D500111-SWJ": "notified"}
    feed(uow, [(10, 3.7)])  # red: the policy handles it — the copied notice becomes a case
    with session_factory() as s:
        [ev] = s.scalars(select(Event)).all()
        assert (ev.mode, ev.state) == ("handle", "dispatched")
        assert _copies(s, ev) == {"C500111001": "notified", "D500111-SWJ": "notified"}
        assert any(t.role == "lead" for t in ev.tasks)


def test_a_policy_copying_a_unit_that_is_gone_leaves_the_notice_for_the_duty_officer(
        sensed: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    rule = {**RIVER, "actions": {"yellow": {"mode": "notify", "event_class": "9001", "copy": ["X-GONE"]}}}
    wc.create_rule(uow, SYSTEM, rule)
    feed(uow, [(0, 1.0), (5, 2.6)])
    with session_factory() as s:
        [ev] = s.scalars(select(Event)).all()
        assert (ev.mode, ev.state, ev.tasks) == ("notify", "registered", [])
        failed = s.scalars(select(TimelineEntry).where(TimelineEntry.action == "event.notify_failed")).one()
        assert "X-GONE" in (failed.reason or "")


@pytest.mark.parametrize(("action", "problem"), [
    ({"mode": "handle", "event_class": "0301", "copy": ["C500111001"]}, "only a 'notify' action copies"),
    ({"mode": "notify", "event_class": "9001", "copy": "C500111001"}, "expected a list of unit codes"),
    ({"mode": "notify", "event_class": "9001", "copy": ["A", "A"]}, "each named once"),
])
def test_a_policys_copy_list_is_checked(action: dict[str, object], problem: str) -> None:
    rule, problems = parse_rule({**RIVER, "actions": {"yellow": action}})
    assert rule is None and [p.path for p in problems] == ["$.actions.yellow.copy"]
    assert problem in problems[0].message
