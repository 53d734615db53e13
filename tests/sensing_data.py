"""A small indicator tree over the test world (tests/factories.py), imported through the real importer.

River level is measured per town in the district, manhole covers per grid, outages per town in town A
only; water-level gauge WL-A sits in town A, manhole sensor MH-A1 in grid A-1.
"""

from __future__ import annotations

from typing import Any

from shuzhi.adapters.tabular import ROW
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing.indicators import import_devices, import_indicators
from shuzhi.services.unit_of_work import UnitOfWork

TREE = {"sector_code": "S2", "sector_name": "设施运行", "runway_code": "S2.R1", "runway_name": "水务",
        "sub_runway_code": "S2.R1.1", "sub_runway_name": "防汛"}


def indicator_row(code: str, name: str, **fields: str) -> dict[str, str]:
    row = {**TREE, "code": code, "name": name, "unit": "m", "value_type": "number", "frequency": "5m",
           "source_system": "水文监测平台", "owner_unit_code": "D500111-SWJ", "level": "town", "areas": "500111",
           "realtime": "是", "warning": "是", "traceable": "是", "evaluable": "否", "retention_days": "",
           "description": ""}
    row.update(fields)
    return row


def rows(*items: dict[str, str]) -> list[dict[str, str]]:
    return [{**r, ROW: str(i)} for i, r in enumerate(items, start=2)]


INDICATORS = [
    indicator_row("RIVER_LEVEL", "河道水位"),
    indicator_row("MANHOLE_OPEN", "井盖开启", unit="", value_type="boolean", frequency="1m", level="grid",
                  owner_unit_code="D500111-CGJ", runway_code="S2.R2", runway_name="市政设施",
                  sub_runway_code="S2.R2.1", sub_runway_name="窨井盖", areas=""),
    indicator_row("OUTAGES", "停电次数", unit="次", value_type="integer", frequency="1h", areas="500111001"),
]
DEVICES = [
    {"code": "WL-A", "name": "龙岗水位计", "indicator_code": "RIVER_LEVEL", "area_code": "500111001",
     "lon": "105.71", "lat": "29.705"},
    {"code": "MH-A1", "name": "北山1号井盖", "indicator_code": "MANHOLE_OPEN", "area_code": "500111001001001",
     "lon": "", "lat": ""},
]


def load_sensing(uow: UnitOfWork) -> None:
    report = import_indicators(uow, rows(*INDICATORS), SYSTEM)
    assert not report.errors, report.errors
    report = import_devices(uow, rows(*DEVICES), SYSTEM)
    assert not report.errors, report.errors


def reading(indicator: str, at: str, value: Any, *, area: str | None = None,
            device: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"indicator": indicator, "at": at, "value": value}
    if area is not None:
        out["area"] = area
    if device is not None:
        out["device"] = device
    return out
