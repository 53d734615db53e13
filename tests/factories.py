"""A small, valid world in one call: alice is a district dispatcher (the duty desk, who may also
change dispatch rules), bob a town-A duty officer,
carol handles city management (城管), dave is the grid worker of grid A-1, erin handles water affairs,
frank is a town-B duty officer, admin the administrator and audrey the auditor.

Town A (500111001) has one village with two grids side by side; town B (500111002) one village and
one grid. Boundaries are 0.01° squares near Dazu (105.7 E, 29.7 N).
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, EventClass, Person, Unit, UnitCoverage, UnitDuty
from shuzhi.services.areas import json_safe

LIMITS = {
    "normal": {"accept": "2wh", "handle": "5wd"},
    "urgent": {"accept": "1wh", "handle": "1wd"},
    "critical": {"accept": "0.5h", "handle": "4h"},
}


@dataclass
class World:
    areas: dict[str, Area]
    units: dict[str, Unit]
    people: dict[str, Person]
    classes: dict[str, EventClass]

    # points inside each grid
    A1 = (105.705, 29.705)
    A2 = (105.715, 29.705)
    B1 = (105.725, 29.705)
    OUTSIDE = (110.0, 35.0)


def _area(s: Session, areas: dict[str, Area], code: str, name: str, level: str, parent: str | None,
          bounds: tuple[float, float, float, float]) -> None:
    p = areas.get(parent) if parent else None
    geom = box(*bounds)
    a = Area(code=code, name=name, level=level, parent_id=p.id if p else None,
             path=f"{p.path if p else '/'}{code}/", boundary=json_safe(mapping(geom)),
             centroid_lon=geom.centroid.x, centroid_lat=geom.centroid.y)
    s.add(a)
    s.flush()
    areas[code] = a


def build_world(s: Session) -> World:
    areas: dict[str, Area] = {}
    _area(s, areas, "500000", "重庆市", "city", None, (105.0, 29.0, 107.0, 31.0))
    _area(s, areas, "500111", "大足区", "district", "500000", (105.6, 29.6, 105.9, 29.9))
    _area(s, areas, "500111001", "龙岗街道", "town", "500111", (105.70, 29.70, 105.72, 29.71))
    _area(s, areas, "500111002", "棠香街道", "town", "500111", (105.72, 29.70, 105.73, 29.71))
    _area(s, areas, "500111001001", "北山社区", "village", "500111001", (105.70, 29.70, 105.72, 29.71))
    _area(s, areas, "500111002001", "五星社区", "village", "500111002", (105.72, 29.70, 105.73, 29.71))
    _area(s, areas, "500111001001001", "北山社区第1网格", "grid", "500111001001", (105.70, 29.70, 105.71, 29.71))
    _area(s, areas, "500111001001002", "北山社区第2网格", "grid", "500111001001", (105.71, 29.70, 105.72, 29.71))
    _area(s, areas, "500111002001001", "五星社区第1网格", "grid", "500111002001", (105.72, 29.70, 105.73, 29.71))

    classes = {
        "0101": EventClass(code="0101", name="井盖破损", kind="component", major_code="01", major_name="公用设施",
                           default_mode="handle", default_urgency="normal", time_limits=LIMITS),
        "0201": EventClass(code="0201", name="暴露垃圾", kind="event", major_code="02", major_name="市容环境",
                           default_mode="handle", default_urgency="normal", time_limits=LIMITS),
        "0301": EventClass(code="0301", name="供水管道破裂", kind="component", major_code="03",
                           major_name="公用设施", default_mode="handle", default_urgency="urgent",
                           time_limits=LIMITS),
        "9001": EventClass(code="9001", name="停水通知", kind="event", major_code="90", major_name="信息通报",
                           default_mode="notify", default_urgency="normal", time_limits={}),
    }
    s.add_all(classes.values())
    s.flush()

    units: dict[str, Unit] = {}

    def unit(code: str, name: str, kind: str, level: str, area: str, parent: str | None,
             duties: list[str], coverage: list[str] | None = None) -> None:
        u = Unit(code=code, name=name, kind=kind, level=level, area_id=areas[area].id,
                 parent_id=units[parent].id if parent else None)
        s.add(u)
        s.flush()
        units[code] = u
        s.add_all(UnitDuty(unit_id=u.id, event_class_id=classes[c].id) for c in duties)
        s.add_all(UnitCoverage(unit_id=u.id, area_id=areas[a].id) for a in (coverage or [area]))

    unit("C500000", "重庆市城市运行和治理中心", "centre", "city", "500000", None, [])
    unit("C500111", "大足区城市运行和治理中心", "centre", "district", "500111", "C500000", [])
    unit("C500111001", "龙岗街道城市运行和治理中心", "centre", "town", "500111001", "C500111", ["0201"])
    unit("C500111002", "棠香街道城市运行和治理中心", "centre", "town", "500111002", "C500111", ["0201"])
    unit("D500111-CGJ", "大足区城市管理局", "department", "district", "500111", "C500111", ["0101", "0201"])
    unit("D500111-SWJ", "大足区水务公司", "department", "district", "500111", "C500111", ["0301"])
    unit("G500111001001001", "北山社区第1网格", "grid", "grid", "500111001001001", "C500111001", ["0201"])

    people: dict[str, Person] = {}
    for code, name, unit_code, role in [
        ("alice", "王丽", "C500111", "dispatcher"),
        ("bob", "李波", "C500111001", "duty_officer"),
        ("carol", "陈静", "D500111-CGJ", "handler"),
        ("dave", "赵伟", "G500111001001001", "grid_worker"),
        ("erin", "刘洋", "D500111-SWJ", "handler"),
        ("frank", "孙强", "C500111002", "duty_officer"),
        ("admin", "周敏", "C500111", "administrator"),
        ("audrey", "吴芳", "C500111", "auditor"),
    ]:
        p = Person(code=code, name=name, phone="13800138000", unit_id=units[unit_code].id, role=role)
        s.add(p)
        people[code] = p
    s.flush()
    s.commit()
    return World(areas, units, people, classes)
