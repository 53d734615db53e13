"""The demo's sensors go through the real importer and the real ingest: the tree, a stored storm, live ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.db.tables_sensing import Device, Indicator, IndicatorNode, Reading
from shuzhi.demo.sensing import live_tick, seed_sensing
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing.ingest import forget_catalogues
from shuzhi.services.sensing.readings import history
from shuzhi.services.sensing.risk_points import get_point, list_points
from shuzhi.services.sensing.vital_signs import vital_signs
from shuzhi.services.unit_of_work import UnitOfWork

NOW = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)


def test_demo_sensors_tell_the_storm_through_the_real_services(demo_district: Any,
                                                               session_factory: sessionmaker[Session]) -> None:
    forget_catalogues()
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    demo = seed_sensing(uow, session_factory, district, NOW - timedelta(days=2, hours=8), NOW, 1)
    with session_factory() as s:
        sectors = s.scalars(select(IndicatorNode.name).where(IndicatorNode.kind == "sector")).all()
        assert len(sectors) == 7
        assert (s.scalar(select(func.count(Indicator.id))) or 0) >= 150
        owners = set(s.scalars(select(Unit.kind).join(Indicator, Indicator.owner_unit_id == Unit.id)))
        assert owners == {"department", "centre"}
        assert (s.scalar(select(func.count(Device.id))) or 0) > 300
        stored = s.scalar(select(func.count()).select_from(Reading)) or 0
    assert stored == demo.stored and demo.rejected == 0 and stored > 50_000
    storm = demo.sim.storms[0]
    assert storm.start < NOW
    level = history(uow(), SYSTEM, "RIVER_LEVEL", "RIVER_LEVEL-001", storm.start - timedelta(hours=6), NOW,
                    bucket_s=3600)
    values = [p["max"] for p in level.points]
    assert max(values) - values[0] > 2.0 and values[-1] < max(values) - 2.0
    rain = history(uow(), SYSTEM, "RAINFALL_1H", district.towns[0]["code"], storm.start, storm.start
                   + timedelta(hours=storm.hours), bucket_s=0)
    assert max(p["value"] for p in rain.points) > 15.0
    # the vital signs (issue #22): every sector and runway has its lead unit and a colour; the 易涝点 are
    # registered where the depth gauges stand, watched by them, the town's rain and its river gauge
    vitals = vital_signs(uow(), SYSTEM, depth="runway", now=NOW)["sectors"]
    assert len(vitals) == 7 and all(x["lead_unit_code"] == "C500111" and x["colour"] for x in vitals)
    assert all(r["lead_unit_code"] and r["colour"] for x in vitals for r in x["children"])
    points = list_points(uow(), SYSTEM, kind="waterlogging")
    assert len(points) == 8 and all(p["state"] in ("normal", "watch", "warning") for p in points)
    watched = get_point(uow(), SYSTEM, points[0]["code"])["series"]
    assert {w["indicator_code"] for w in watched} >= {"WATERLOGGING_DEPTH", "RAINFALL_1H"}
    assert all(w["value"] is not None for w in watched)
    # live: the readings due in the next five minutes arrive, through ingest, once
    added = live_tick(demo, uow, NOW + timedelta(minutes=5))
    assert added > 300
    assert live_tick(demo, uow, NOW + timedelta(minutes=5)) == 0
    forget_catalogues()


def test_a_demo_storm_turns_the_flood_runway_orange_then_red_and_the_waterlogging_points_to_warning(demo_district: Any,
        session_factory: sessionmaker[Session]) -> None:
    """Issue #22's demo: the live storm (ten minutes after the start) through the real ingest and warnings."""
    from shuzhi.demo.warnings import seed_warnings

    forget_catalogues()
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    seed_warnings(uow, session_factory, district)
    demo = seed_sensing(uow, session_factory, district, NOW - timedelta(hours=12), NOW, 1)

    def flood(at: datetime) -> str | None:
        [sector] = [x for x in vital_signs(uow(), SYSTEM, depth="runway", now=at)["sectors"] if x["code"] == "S2"]
        [runway] = [r for r in sector["children"] if r["name"] == "排水防涝"]
        return runway["colour"]

    colours, states = [], set()
    for step in range(1, 37):  # six hours in ten-minute ticks
        at = NOW + timedelta(minutes=10 * step)
        live_tick(demo, uow, at)
        colours.append(flood(at))
        states |= {p["state"] for p in list_points(uow(), SYSTEM, kind="waterlogging", now=at)}
    worst = [c for i, c in enumerate(colours) if i == 0 or c != colours[i - 1]]
    assert "orange" in worst and "red" in worst and worst.index("orange") < worst.index("red"), colours
    assert "warning" in states, states
    forget_catalogues()


def test_the_demo_shows_a_partly_online_plan_stale_series_and_a_rectification_under_way(demo_district: Any,
        session_factory: sessionmaker[Session]) -> None:
    """Issue #22's collection governance in the demo: through the real services."""
    from shuzhi.adapters.db.tables_warnings import IndicatorWarning
    from shuzhi.demo.collection import TO_COME, seed_collection
    from shuzhi.services.sensing import collection, rectification, warning_checks

    forget_catalogues()
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    seed_sensing(uow, session_factory, district, NOW - timedelta(hours=12), NOW, 1)
    seed_collection(uow, session_factory, NOW)
    gov = collection.governance(uow(), SYSTEM, now=NOW)
    plan = gov["plan"]
    assert 0 < plan["online"] < plan["planned"] and plan["overdue"] >= 2
    assert {b["batch"] for b in plan["batches"]} == {"第一批", "第二批", "第三批"}
    assert plan["planned"] == len(gov["indicators"]) + len(TO_COME)
    stale = {s["series_key"] for s in gov["stale_series"]}
    assert {"GAS_PRESSURE-002", "BRIDGE_STRAIN-001"} <= stale
    # the replayed history arrives batch by batch as it happened: only a batch's older readings are late
    assert 0 < gov["totals"]["late"] < gov["totals"]["readings"]
    # the silent sensors raise no-data warnings through the periodic check
    warning_checks.check_no_data(uow(), NOW)
    with session_factory() as s:
        silent = set(s.scalars(select(IndicatorWarning.series_key).where(IndicatorWarning.state == "firing",
                                                                         IndicatorWarning.level == "blue")))
    assert {"GAS_PRESSURE-002", "BRIDGE_STRAIN-001"} <= silent
    open_ = rectification.list_open(uow(), SYSTEM, now=NOW)
    assert sorted(r["state"] for r in open_) == ["found", "in_progress"]
    assert {p["state"] for p in list_points(uow(), SYSTEM, kind="waterlogging") if p["code"] in
            {r["point_code"] for r in open_}} <= {"in_rectification", "warning"}
    forget_catalogues()
