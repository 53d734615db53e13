"""Readings become warnings, warnings become events: graded levels, policies, silences, inhibitions.

alice is the district duty officer, bob town A's, frank town B's; erin handles water (水务, holds class
0301); the river gauge WL-A sits in town A (tests/sensing_data.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.services.actors import SYSTEM, resolve_actor
from shuzhi.services.hooks import WARNING_HOOKS, WarningChange
from shuzhi.services.sensing import warning_checks, warning_records
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing import warning_silences as silences
from shuzhi.services.sensing import warnings as sensing_warnings
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.sensing_data import load_sensing, reading

T0 = datetime(2026, 6, 13, 2, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)

RIVER = {
    "code": "RIVER", "name": "河道水位", "indicator": "RIVER_LEVEL",
    "conditions": [{"kind": "value", "op": "above", "levels": {"blue": 2.0, "yellow": 2.5, "orange": 3.0,
                                                                "red": 3.5}}],
    "actions": {"yellow": {"mode": "handle", "event_class": "0301", "urgency": "normal", "dispatch": True},
                "orange": {"mode": "handle", "event_class": "0301", "urgency": "urgent", "dispatch": True},
                "red": {"mode": "handle", "event_class": "0301", "urgency": "critical", "dispatch": True}},
}


@pytest.fixture
def sensed(world: World, uow: UnitOfWork) -> World:
    load_sensing(uow)
    return world


@pytest.fixture
def changes() -> Iterator[list[WarningChange]]:
    seen: list[WarningChange] = []

    def hook(_s: Session, change: WarningChange) -> None:
        seen.append(change)

    WARNING_HOOKS.append(hook)
    yield seen
    WARNING_HOOKS.remove(hook)


def feed(uow: UnitOfWork, values: list[tuple[int, float]], *, indicator: str = "RIVER_LEVEL",
         device: str | None = "WL-A", area: str | None = None) -> None:
    items = [reading(indicator, (T0 + timedelta(minutes=m)).isoformat(), v, device=device, area=area)
             for m, v in values]
    result = ingest(uow, SYSTEM, items, now=NOW)
    assert result.accepted == len(items), result


def warnings_of(sf: sessionmaker[Session]) -> list[IndicatorWarning]:
    with sf() as s:
        return list(s.scalars(select(IndicatorWarning).order_by(IndicatorWarning.id)))


def history(sf: sessionmaker[Session], warning_id: int) -> list[tuple[str, str | None]]:
    with sf() as s:
        return [(c.change, c.to_level) for c in s.scalars(
            select(WarningLevelChange).where(WarningLevelChange.warning_id == warning_id)
            .order_by(WarningLevelChange.id))]


def timeline(sf: sessionmaker[Session], event_id: int) -> list[tuple[str, dict[str, Any]]]:
    with sf() as s:
        return [(e.action, e.payload) for e in s.scalars(
            select(TimelineEntry).where(TimelineEntry.event_id == event_id).order_by(TimelineEntry.id))]


def test_a_storm_climbs_blue_to_red_opens_one_dispatched_event_and_recovery_only_notes_it(
        sensed: World, uow: UnitOfWork, session_factory: sessionmaker[Session],
        changes: list[WarningChange]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    feed(uow, [(0, 1.0), (5, 2.1), (10, 2.6)])
    feed(uow, [(15, 3.2), (20, 3.7)])  # a second batch: the same episode, remembered between batches
    feed(uow, [(25, 2.2), (30, 1.0)])
    [warning] = warnings_of(session_factory)
    assert history(session_factory, warning.id) == [
        ("fired", "blue"), ("raised", "yellow"), ("raised", "orange"), ("raised", "red"), ("lowered", "blue"),
        ("resolved", None)]
    assert (warning.state, warning.peak_level, warning.open_key) == ("resolved", "red", None)
    assert [(c.level, c.previous_level) for c in changes] == [
        ("blue", None), ("yellow", "blue"), ("orange", "yellow"), ("red", "orange"), ("blue", "red"), (None, "blue")]
    assert len({c.episode_key for c in changes}) == 1 and changes[0].indicator_lineage[-1] == "RIVER_LEVEL"
    with session_factory() as s:
        [event] = s.scalars(select(Event)).all()
        assert (event.source, event.urgency, event.state) == ("sensor_warning", "critical", "dispatched")
        assert event.id == warning.event_id and event.area_path == sensed.areas["500111001"].path
        [task] = s.scalars(select(Task).where(Task.event_id == event.id)).all()
        assert task.unit.code == "D500111-SWJ"
    actions = [a for a, _ in timeline(session_factory, event.id)]
    assert actions[:2] == ["event.register", "warning.fired"]
    assert "event.dispatch" in actions
    raises = [p for a, p in timeline(session_factory, event.id) if a == "event.urgency_raise"]
    assert [(p["from"], p["to"]) for p in raises] == [("normal", "urgent"), ("urgent", "critical")]
    assert actions[-2:] == ["warning.lowered", "warning.resolved"]


def test_a_new_episode_is_a_new_warning_and_a_new_event(sensed: World, uow: UnitOfWork,
                                                        session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    feed(uow, [(0, 2.6), (5, 1.0), (10, 3.1)])
    first, second = warnings_of(session_factory)
    assert (first.state, second.state, second.level) == ("resolved", "firing", "orange")
    assert first.event_id and second.event_id and first.event_id != second.event_id
    with session_factory() as s:
        assert s.scalar(select(func.count(Event.id))) == 2


def test_for_keeps_it_pending_and_a_short_blip_is_cleared(sensed: World, uow: UnitOfWork,
                                                          session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, {**RIVER, "for": "10m", "keep_firing_for": "10m"})
    feed(uow, [(0, 2.6), (5, 1.0)])
    [blip] = warnings_of(session_factory)
    assert blip.state == "cleared" and blip.event_id is None
    feed(uow, [(20, 2.6), (25, 2.7), (30, 2.8), (35, 1.0)])
    [_, storm] = warnings_of(session_factory)
    assert history(session_factory, storm.id) == [("pending", "yellow"), ("fired", "yellow")]
    assert storm.state == "firing"  # the dip at 35 is within keep_firing_for
    # no reading comes; the periodic check lets keep_firing_for run out (at 45, before the gauge's
    # silence reaches the staleness alarm of 3 × 5 min: a longer one is a no-data warning, issue #22)
    report = warning_checks.check_no_data(uow, T0 + timedelta(minutes=45))
    assert report.changes == 1
    assert warnings_of(session_factory)[1].state == "resolved"


def test_a_pending_warnings_for_timer_survives_a_restart(sensed: World, uow: UnitOfWork,
                                                         session_factory: sessionmaker[Session]) -> None:
    """``for`` counts from the stored pending-since time, not from when a process first saw the series:
    a restart in the middle of the 10 minutes neither restarts nor forgets the timer."""
    wc.create_rule(uow, SYSTEM, {**RIVER, "for": "10m"})
    feed(uow, [(0, 2.6)])
    [pending] = warnings_of(session_factory)
    assert (pending.state, pending.level, pending.started_at) == ("pending", "yellow", T0)
    sensing_warnings._series.clear()  # a restart: nothing of the series is left in memory
    feed(uow, [(6, 2.7)])
    assert warnings_of(session_factory)[0].state == "pending"
    sensing_warnings._series.clear()
    # no reading comes; at 11 minutes the check finds the 10 minutes run out since minute 0 (a timer
    # restarted at the restart would wait until minute 16)
    report = warning_checks.check_no_data(uow, T0 + timedelta(minutes=11))
    assert report.changes == 1
    [fired] = warnings_of(session_factory)
    assert (fired.state, fired.level, fired.fired_at, fired.id) == ("firing", "yellow", T0 + timedelta(minutes=11),
                                                                   pending.id)
    assert history(session_factory, fired.id) == [("pending", "yellow"), ("fired", "yellow")]


def test_a_pending_warning_fires_on_the_reading_that_completes_for_after_a_restart(
        sensed: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, {**RIVER, "for": "10m"})
    feed(uow, [(0, 2.6), (4, 2.7)])
    sensing_warnings._series.clear()
    feed(uow, [(10, 2.8)])
    [fired] = warnings_of(session_factory)
    assert (fired.state, fired.started_at, fired.fired_at) == ("firing", T0, T0 + timedelta(minutes=10))


def test_memory_is_rebuilt_from_the_stored_warning(sensed: World, uow: UnitOfWork,
                                                  session_factory: sessionmaker[Session]) -> None:
    """Another process (or a restart) continues the same episode from the database."""
    wc.create_rule(uow, SYSTEM, RIVER)
    feed(uow, [(0, 2.6)])
    sensing_warnings._series.clear()
    feed(uow, [(5, 3.6)])
    sensing_warnings._series.clear()
    feed(uow, [(10, 1.0)])
    [warning] = warnings_of(session_factory)
    assert history(session_factory, warning.id) == [("fired", "yellow"), ("raised", "red"), ("resolved", None)]


def test_a_rolled_back_batch_leaves_no_memory_behind(sensed: World, uow: UnitOfWork,
                                                     session_factory: sessionmaker[Session]) -> None:
    from shuzhi.domain.readings import StoredReading

    wc.create_rule(uow, SYSTEM, RIVER)
    with session_factory() as s:
        ind = s.scalar(select(IndicatorWarning.indicator_id))  # none yet
        assert ind is None
    feed(uow, [(0, 1.0)])
    with UnitOfWork(session_factory) as u:
        from shuzhi.adapters.db.tables_sensing import Indicator

        rid = u.session.scalar(select(Indicator.id).where(Indicator.code == "RIVER_LEVEL"))
        assert rid is not None
        sensing_warnings.evaluate_readings(u.session, [StoredReading(rid, "RIVER_LEVEL", "WL-A", "500111001",
                                                      sensed.areas["500111001"].path, "WL-A",
                                                      T0 + timedelta(minutes=5), 3.6)])
        # not committed: rolled back on exit
    assert warnings_of(session_factory) == []
    feed(uow, [(10, 2.1)])
    [warning] = warnings_of(session_factory)
    assert history(session_factory, warning.id) == [("fired", "blue")]


def test_a_silence_holds_back_the_event_until_it_ends(sensed: World, uow: UnitOfWork,
                                                     session_factory: sessionmaker[Session],
                                                     changes: list[WarningChange]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    silence = silences.create_silence(uow, SYSTEM, silences.NewSilence(
        starts_at=T0, ends_at=T0 + timedelta(hours=1), comment="河道清淤施工",
        matcher={"indicators": ["S2.R1"], "area": "500111001"}), now=T0)
    feed(uow, [(0, 3.1)])
    [warning] = warnings_of(session_factory)
    assert warning.state == "firing" and warning.suppressed == {"kind": "silence", "ref": str(silence["id"]),
                                                                "by_warning": None}
    assert warning.event_id is None and changes == []
    assert warning_checks.check_no_data(uow, T0 + timedelta(minutes=30)).released == 0
    silences.expire_silence(uow, SYSTEM, silence["id"], now=T0 + timedelta(minutes=40))
    assert warning_checks.check_no_data(uow, T0 + timedelta(minutes=41)).released == 1
    [warning] = warnings_of(session_factory)
    assert warning.suppressed is None and warning.event_id is not None
    assert [c.level for c in changes] == ["orange"]


def test_an_upstream_outage_inhibits_the_river_gauge_in_its_town(sensed: World, uow: UnitOfWork,
                                                                 session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    wc.create_rule(uow, SYSTEM, {"code": "OUT", "indicator": "OUTAGES", "conditions": [
        {"kind": "value", "op": "above", "levels": {"yellow": 1}}]})
    silences.put_inhibition(uow, SYSTEM, {"code": "POWER-PUMPS", "source": {"indicators": ["OUTAGES"]},
                                    "target": {"indicators": ["RIVER_LEVEL"]}, "min_level": "yellow"})
    feed(uow, [(0, 2.0)], indicator="OUTAGES", device=None, area="500111001")
    feed(uow, [(1, 3.1)])
    outage, river = warnings_of(session_factory)
    assert outage.state == "firing" and outage.suppressed is None
    assert river.suppressed is not None and river.suppressed["by_warning"] == outage.id
    assert river.event_id is None
    feed(uow, [(60, 0)], indicator="OUTAGES", device=None, area="500111001")  # power is back
    assert warning_checks.check_no_data(uow, T0 + timedelta(minutes=61)).released == 1
    assert warnings_of(session_factory)[1].event_id is not None


def test_no_data_for_a_period_fires_on_the_periodic_check(sensed: World, uow: UnitOfWork,
                                                          session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, {"code": "GAUGE-SILENT", "indicator": "RIVER_LEVEL", "conditions": [
        {"kind": "no_data", "levels": {"blue": "30m", "orange": "2h"}}]})
    feed(uow, [(0, 1.0)])
    sensing_warnings._series.clear()  # the worker is another process: it knows the series only from reading_latest
    assert warning_checks.check_no_data(uow, T0 + timedelta(minutes=20)).changes == 0
    warning_checks.check_no_data(uow, T0 + timedelta(minutes=40))
    warning_checks.check_no_data(uow, T0 + timedelta(hours=3))
    [warning] = warnings_of(session_factory)
    assert (warning.state, warning.level) == ("firing", "orange")
    feed(uow, [(181, 1.0)])
    assert history(session_factory, warning.id) == [("fired", "blue"), ("raised", "orange"), ("resolved", None)]


def test_per_area_override_replaces_the_default(sensed: World, uow: UnitOfWork,
                                                session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    wc.create_rule(uow, SYSTEM, {**RIVER, "code": "RIVER-A", "area": "500111001", "conditions": [
        {"kind": "value", "op": "above", "levels": {"red": 2.0}}]})
    feed(uow, [(0, 2.1)])  # gauge in town A: the override makes 2.1 red
    feed(uow, [(0, 2.1)], device=None, area="500111002")  # town B: the default makes it blue
    a, b = warnings_of(session_factory)
    assert (a.rule_code, a.level, b.rule_code, b.level) == ("RIVER-A", "red", "RIVER", "blue")


def test_warnings_are_scoped_to_the_viewer_and_acknowledged_once(sensed: World, uow: UnitOfWork,
                                                                 session_factory: sessionmaker[Session]) -> None:
    from shuzhi.services.errors import Conflict, NotFound
    from shuzhi.services.security.authz import Forbidden

    wc.create_rule(uow, SYSTEM, RIVER)
    feed(uow, [(0, 3.1)])
    with session_factory() as s:
        bob, frank, carol = (resolve_actor(s, x) for x in ("bob", "frank", "carol"))
    [warning] = warnings_of(session_factory)
    assert warning_records.list_warnings(uow, bob)["total"] == 1
    assert warning_records.list_warnings(uow, frank)["total"] == 0
    with pytest.raises(NotFound):
        warning_records.get_warning(uow, frank, warning.id)
    with pytest.raises(NotFound):
        warning_records.acknowledge(uow, frank, warning.id)
    with pytest.raises(Forbidden):
        warning_records.acknowledge(uow, carol, warning.id)
    done = warning_records.acknowledge(uow, bob, warning.id, "已通知水务")
    assert done["acknowledged_by"].endswith("(bob)") and done["changes"][-1]["change"] == "acknowledged"
    with pytest.raises(Conflict):
        warning_records.acknowledge(uow, bob, warning.id)
    feed(uow, [(5, 3.7)])  # the acknowledgement does not get in the evaluator's way
    assert warnings_of(session_factory)[0].level == "red"


def test_deleting_a_rule_ends_its_open_warnings_at_the_next_check(sensed: World, uow: UnitOfWork,
                                                                  session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    feed(uow, [(0, 3.1)])
    wc.delete_rule(uow, SYSTEM, "RIVER")
    feed(uow, [(5, 3.9)])  # no rule: nothing is evaluated
    warning_checks.check_no_data(uow, T0 + timedelta(minutes=10))
    [warning] = warnings_of(session_factory)
    assert (warning.state, warning.open_key) == ("resolved", None)
    assert history(session_factory, warning.id)[-1] == ("resolved", None)
    assert timeline(session_factory, warning.event_id or 0)[-1][0] == "warning.resolved"
