"""The demo's sensor simulator: deterministic, storms rise and recede, faults stick and go silent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shuzhi.demo.district import build_district
from shuzhi.demo.sensing import Series, build_plan, make_simulator, parse_tree

NOW = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return build_plan(build_district(1))


def test_the_tree_has_the_seven_sectors_and_150_indicators() -> None:
    specs = parse_tree()
    assert [s for s in dict.fromkeys(x.sector[1] for x in specs)] == [
        "党建统领", "设施运行", "社会治理", "应急动员", "文明创建", "生态景观", "生产生活服务"]
    assert len(specs) >= 150 and len({s.code for s in specs}) == len(specs)
    assert {"RIVER_LEVEL", "RAINFALL_1H", "WATER_MAIN_PRESSURE", "GAS_PRESSURE", "MANHOLE_TILT", "MANHOLE_OPEN",
            "BRIDGE_STRAIN", "TUNNEL_CO", "POWER_OUTAGES", "GARBAGE_FILL", "PARKING_OCCUPANCY", "AQI",
            "HOTLINE_CALLS"} <= {s.code for s in specs}


def test_same_seed_same_readings(plan) -> None:  # type: ignore[no-untyped-def]
    a = make_simulator(plan, 1, NOW - timedelta(days=3), NOW)
    b = make_simulator(plan, 1, NOW - timedelta(days=3), NOW)
    some = plan.series[::40]
    ra = list(a.readings(some, NOW - timedelta(hours=6), NOW, 600))
    assert ra == list(b.readings(some, NOW - timedelta(hours=6), NOW, 600)) and len(ra) > 100
    c = make_simulator(plan, 2, NOW - timedelta(days=3), NOW)
    assert ra != list(c.readings(some, NOW - timedelta(hours=6), NOW, 600))


def _one(plan, code: str) -> Series:  # type: ignore[no-untyped-def]
    return next(s for s in plan.series if s.device == code or (s.device is None and s.indicator == code))


def test_a_storm_raises_rain_then_the_river_and_both_come_back_down(plan) -> None:  # type: ignore[no-untyped-def]
    sim = make_simulator(plan, 1, NOW - timedelta(days=7), NOW)
    storm = sim.storms[0]
    assert storm.start < NOW
    rain, river = _one(plan, "RAINFALL_1H"), _one(plan, "RIVER_LEVEL-001")
    hours = [storm.start + timedelta(hours=h) for h in range(-3, 40)]
    rains = [sim.value(rain, t) or 0.0 for t in hours]
    levels = [sim.value(river, t) or 0.0 for t in hours]
    assert rains[0] == 0.0 and max(rains) > 20.0 and rains[-1] == 0.0
    peak_rain, peak_level = rains.index(max(rains)), levels.index(max(levels))
    assert peak_level > peak_rain  # the river answers hours later
    assert max(levels) - levels[0] > 2.0  # metres
    assert levels[-1] - levels[0] < 0.3  # and recedes within a day and a half
    live = sim.storms[-1]
    assert NOW < live.start < NOW + timedelta(hours=1)


def test_faults_stick_and_go_silent(plan) -> None:  # type: ignore[no-untyped-def]
    sim = make_simulator(plan, 1, NOW - timedelta(days=7), NOW)
    stuck = next(f for f in sim.faults if f.kind == "stuck")
    gap = next(f for f in sim.faults if f.kind == "gap")
    s_stuck, s_gap = _one(plan, stuck.series), _one(plan, gap.series)
    inside = [stuck.start + (stuck.end - stuck.start) * k / 5 for k in range(5)]
    assert len({sim.value(s_stuck, t) for t in inside}) == 1
    assert all(sim.value(s_gap, gap.start + timedelta(minutes=m)) is None for m in range(0, 60, 7))
    assert sim.value(s_gap, gap.end + timedelta(minutes=1)) is not None
