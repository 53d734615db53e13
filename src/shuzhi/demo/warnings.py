"""The demo's warnings: threshold rules and warning → event policies for the demo indicators
(:mod:`shuzhi.demo.sensing`), imported through the real importer before the sensor history is replayed.

Bounds are set against the simulated storms so that the story reads like a real flood season: hourly
rainfall climbs blue → yellow → orange and in the wettest towns red (气象: notify the centre; red opens
a case for the water bureau); river gauges lag the rain by a few hours and every gauge climbs from blue
to red (yellow notifies, orange turns the notice into a dispatched 防汛险情 case, red raises it to
critical); waterlogging points open 路面积水 cases; a gauge that goes silent raises a no-data warning.
A town-wide power outage inhibits the secondary-supply pump faults it causes (停电 → 二次供水泵房).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shuzhi.demo.district import DemoDistrict
from shuzhi.services.actors import resolve_actor
from shuzhi.services.sensing.warning_config import import_rules
from shuzhi.services.sensing.warning_silences import put_inhibition
from shuzhi.services.unit_of_work import UnitOfWork


def _handle(cls: str, urgency: str) -> dict[str, Any]:
    return {"mode": "handle", "event_class": cls, "urgency": urgency, "dispatch": True}


RULES: list[dict[str, Any]] = [
    {"code": "RIVER-LEVEL", "name": "河道水位超警戒", "indicator": "RIVER_LEVEL", "for": "5m",
     "keep_firing_for": "30m",
     "conditions": [{"kind": "value", "op": "above", "levels": {"blue": 2.8, "yellow": 3.3, "orange": 3.8,
                                                                 "red": 4.2}},
                    {"kind": "rate", "op": "above", "window": "1h", "levels": {"yellow": 0.6}},
                    {"kind": "no_data", "levels": {"blue": "30m"}}],
     "actions": {"yellow": {"mode": "notify", "event_class": "1407", "urgency": "normal"},
                 "orange": _handle("1407", "urgent"), "red": _handle("1407", "critical")}},
    {"code": "RAINFALL-1H", "name": "小时降雨量", "indicator": "RAINFALL_1H", "keep_firing_for": "20m",
     "conditions": [{"kind": "value", "op": "above", "levels": {"blue": 8, "yellow": 15, "orange": 25,
                                                                 "red": 35}}],
     "actions": {"orange": {"mode": "notify", "event_class": "9003", "urgency": "normal"},
                 "red": _handle("1407", "urgent")}},
    {"code": "WATERLOGGING", "name": "易涝点积水", "indicator": "WATERLOGGING_DEPTH", "for": "5m",
     "keep_firing_for": "20m",
     "conditions": [{"kind": "value", "op": "above", "levels": {"blue": 10, "yellow": 15, "orange": 25,
                                                                 "red": 40}}],
     "actions": {"orange": _handle("1401", "urgent"), "red": _handle("1401", "critical")}},
    {"code": "POWER-OUTAGES", "name": "停电事件", "indicator": "POWER_OUTAGES",
     "conditions": [{"kind": "value", "op": "above", "levels": {"yellow": 2, "orange": 5, "red": 10}}],
     "actions": {"yellow": {"mode": "notify", "event_class": "9002", "urgency": "normal"}}},
    {"code": "PUMP-FAULTS", "name": "二次供水泵房故障", "indicator": "SECONDARY_PUMP_FAULTS",
     "conditions": [{"kind": "value", "op": "above", "levels": {"yellow": 1, "orange": 3}}],
     "actions": {"yellow": {"mode": "notify", "event_class": "9001", "urgency": "normal"}}},
]

INHIBITIONS: list[dict[str, Any]] = [
    {"code": "OUTAGE-OVER-PUMPS", "name": "停电时抑制其供电范围内的泵房故障预警",
     "source": {"indicators": ["POWER_OUTAGES"]}, "target": {"indicators": ["SECONDARY_PUMP_FAULTS"]},
     "min_level": "yellow", "scope": "subtree"},
]


def seed_warnings(uow: Callable[[], UnitOfWork], factory: sessionmaker[Session], district: DemoDistrict) -> None:
    """Import the indicator tree (idempotent: the sensing seed imports the same rows), then the rules
    and inhibitions, as the administrator — before any reading arrives."""
    from shuzhi.demo.sensing import _check, _numbered, build_plan
    from shuzhi.services.sensing.indicators import import_indicators

    with factory() as s:
        admin = resolve_actor(s, "admin")
    _check(import_indicators(uow(), _numbered(build_plan(district).indicator_rows), admin), "indicators")
    import_rules(uow(), admin, json.dumps({"rules": RULES}, ensure_ascii=False).encode(), "demo_rules.json")
    for doc in INHIBITIONS:
        put_inhibition(uow(), admin, doc)
