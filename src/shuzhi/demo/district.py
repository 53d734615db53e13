"""A deterministic, realistic demo district modelled on Chongqing's Dazu district (大足区, 500111).

``build_district(seed)`` produces the files an administrator would import — a GeoJSON area tree (city,
district, 27 towns/streets with Dazu's real names, ~300 villages/communities, 2,000+ grids), and CSV
lists of units, people and event classes — so the demo exercises the real importers.

Boundaries are Voronoi tessellations of seeded points clipped to the parent, level by level (urban
streets denser), snapped to a 1e-6° grid with ``shapely.set_precision`` so that neighbours share
edges exactly and every polygon stays valid.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from shuzhi.demo.catalogue_data import CLASSES, DEPARTMENTS, MAJORS, PROFILES

CENTRE = (105.72, 29.70)
CITY_CODE, DISTRICT_CODE = "500000", "500111"
#: A lightly populated neighbour (铜梁区) so that the city level has two districts to compare (一贯到底):
#: two towns, a few villages and grids, its centres and a handful of people; no departments of its own.
SIBLING_CODE, SIBLING_NAME = "500151", "铜梁区"
SIBLING_TOWNS = [("巴川街道", "bachuan"), ("安居镇", "anju")]

# (name, pinyin key for demo accounts, is a street 街道)
TOWNS: list[tuple[str, str, bool]] = [
    ("龙岗街道", "longgang", True), ("棠香街道", "tangxiang", True), ("智凤街道", "zhifeng", True),
    ("龙滩子街道", "longtanzi", True), ("双路街道", "shuanglu", True), ("通桥街道", "tongqiao", True),
    ("龙水镇", "longshui", False), ("宝顶镇", "baoding", False), ("中敖镇", "zhongao", False),
    ("三驱镇", "sanqu", False), ("宝兴镇", "baoxing", False), ("玉龙镇", "yulong", False),
    ("石马镇", "shima", False), ("拾万镇", "shiwan", False), ("回龙镇", "huilong", False),
    ("金山镇", "jinshan", False), ("万古镇", "wangu", False), ("国梁镇", "guoliang", False),
    ("雍溪镇", "yongxi", False), ("珠溪镇", "zhuxi", False), ("龙石镇", "longshi", False),
    ("邮亭镇", "youting", False), ("铁山镇", "tieshan", False), ("高升镇", "gaosheng", False),
    ("季家镇", "jijia", False), ("古龙镇", "gulong", False), ("高坪镇", "gaoping", False),
]
_VILLAGE_HEADS = ["北山", "南山", "东关", "西门", "宝顶", "石刻", "香山", "龙岗", "双桥", "五星", "红岩", "金桥", "玉屏", "青龙", "白鹤", "观音", "新华", "光明", "胜利", "团结", "长河", "清溪", "桂花", "荷花", "柏林", "松林", "枣园", "梨园", "石门", "石桥", "田坝", "河坝", "高坡", "凤凰", "狮子", "天堂", "富民", "和平", "兴隆", "永安"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌波辉鹏飞云霞宇浩然欣怡子涵梓轩佳琪"



@dataclass
class DemoDistrict:
    seed: int
    areas_geojson: dict[str, Any]
    units_csv: str
    people_csv: str
    event_classes_csv: str
    # for the history generator
    towns: list[dict[str, Any]] = field(default_factory=list)
    villages: list[dict[str, Any]] = field(default_factory=list)
    grids: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)
    classes: list[dict[str, Any]] = field(default_factory=list)
    #: the neighbouring district's grids (code, town, point): kept apart, so Dazu's history is unchanged
    sibling_grids: list[dict[str, Any]] = field(default_factory=list)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "areas.geojson").write_text(json.dumps(self.areas_geojson, ensure_ascii=False), "utf-8")
        for name, text in (("units.csv", self.units_csv), ("people.csv", self.people_csv),
                           ("event_classes.csv", self.event_classes_csv)):
            (directory / name).write_text(text, encoding="utf-8-sig")


def _district_shape(rng: random.Random) -> Polygon:
    """A star-shaped irregular outline of about 1,400 km² around Dazu."""
    pts = []
    n = 36
    for i in range(n):
        a = 2 * math.pi * i / n
        r = 0.19 * (1 + 0.18 * math.sin(3 * a + 1.3) + 0.08 * rng.uniform(-1, 1))
        pts.append((CENTRE[0] + r * math.cos(a) / math.cos(math.radians(CENTRE[1])), CENTRE[1] + r * math.sin(a)))
    return Polygon(pts)


def _points_in(poly: BaseGeometry, n: int, rng: random.Random, near: tuple[float, float] | None = None,
               spread: float = 1.0) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = poly.bounds
    prepared = prep(poly)
    out: list[tuple[float, float]] = []
    tries = 0
    while len(out) < n and tries < n * 500:
        tries += 1
        if near is not None:
            x = rng.gauss(near[0], (maxx - minx) * 0.25 * spread)
            y = rng.gauss(near[1], (maxy - miny) * 0.25 * spread)
        else:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if prepared.contains(Point(x, y)):
            out.append((x, y))
    return out


def _tessellate(parent: BaseGeometry, points: list[tuple[float, float]]) -> list[BaseGeometry]:
    """Voronoi cells of ``points`` clipped to ``parent`` and snapped, in the order of the points.

    Snapping moves shared edges by up to 1e-6°, so each cell then gives up what an earlier sibling
    already holds: siblings never overlap, and every cell stays inside its parent.
    """
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=parent)
    out: list[BaseGeometry] = []
    taken: BaseGeometry | None = None
    for x, y in points:
        p = Point(x, y)
        cell = next(c for c in cells.geoms if c.contains(p) or c.touches(p))
        piece = _snap(cell.intersection(parent)).intersection(parent)
        if taken is not None:
            piece = piece.difference(taken)
        piece = _polygonal(piece)
        taken = piece if taken is None else taken.union(piece)
        out.append(piece)
    return out


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type == "GeometryCollection":
        geom = shapely.union_all([g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) > 1:
        largest = max(geom.geoms, key=lambda g: g.area)
        if sum(g.area for g in geom.geoms) - largest.area < largest.area * 0.01:
            geom = largest  # drop slivers left by clipping; they are not real exclaves
    return geom


def _snap(geom: BaseGeometry) -> BaseGeometry:
    return _polygonal(shapely.set_precision(geom, 1e-6))


def _feature(code: str, name: str, level: str, parent: str | None, geom: BaseGeometry) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "name": name, "level": level, "parent_code": parent},
            "geometry": json.loads(json.dumps(mapping(geom)))}


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def mobile_number(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def build_district(seed: int = 1) -> DemoDistrict:
    rng = random.Random(seed)
    district = _snap(_district_shape(rng))
    sibling = _snap(_sibling_shape(district))
    city = _snap(district.union(sibling).buffer(0.05).envelope)
    features = [_feature(CITY_CODE, "重庆市", "city", None, city),
                _feature(DISTRICT_CODE, "大足区", "district", CITY_CODE, district)]
    towns: list[dict[str, Any]] = []
    villages: list[dict[str, Any]] = []
    grids: list[dict[str, Any]] = []

    # Streets cluster around the urban core; towns spread over the rest of the district.
    street_pts = _points_in(district, 6, rng, near=CENTRE, spread=0.25)
    town_pts = _points_in(district, 21, rng)
    town_cells = _tessellate(district, street_pts + town_pts)
    used_names: set[str] = set()
    for ti, ((name, key, street), cell) in enumerate(zip(TOWNS, town_cells, strict=True), start=1):
        tcode = f"{DISTRICT_CODE}{ti:03d}"
        tgeom = cell
        features.append(_feature(tcode, name, "town", DISTRICT_CODE, tgeom))
        towns.append({"code": tcode, "name": name, "key": key, "street": street})
        n_villages = rng.randint(13, 16) if street else rng.randint(9, 11)
        vcells = _tessellate(tgeom, _points_in(tgeom, n_villages, rng))
        for vi, vcell in enumerate(vcells, start=1):
            vcode = f"{tcode}{vi:03d}"
            head = rng.choice(_VILLAGE_HEADS)
            while f"{name}{head}" in used_names:
                head = rng.choice(_VILLAGE_HEADS) + rng.choice("上下东西南北新")
            used_names.add(f"{name}{head}")
            vname = head + ("社区" if street or rng.random() < 0.15 else "村")
            vgeom = vcell
            features.append(_feature(vcode, vname, "village", tcode, vgeom))
            villages.append({"code": vcode, "name": vname, "town": tcode, "street": street})
            n_grids = rng.randint(8, 10) if street else rng.randint(5, 8)
            gcells = _tessellate(vgeom, _points_in(vgeom, n_grids, rng))
            for gi, gcell in enumerate(gcells, start=1):
                gcode = f"{vcode}{gi:03d}"
                ggeom = gcell
                features.append(_feature(gcode, f"{name}{vname}第{gi}网格", "grid", vcode, ggeom))
                c = ggeom.representative_point()
                grids.append({"code": gcode, "village": vcode, "town": tcode, "street": street,
                              "name": f"{vname}第{gi}网格", "point": (c.x, c.y), "geom": ggeom})

    classes = []
    class_rows = []
    for code, name, profile, urgency, dept, who, weight in CLASSES:
        major = code[:2]
        major_name, kind = MAJORS[major]
        limits = PROFILES[profile]
        row: dict[str, Any] = {"code": code, "name": name, "kind": kind, "major_code": major,
                               "major_name": major_name, "default_mode": "notify" if profile == "notify" else "handle",
                               "default_urgency": urgency}
        for u in ("normal", "urgent", "critical"):
            a, h = limits.get(u, ("", ""))
            row[f"accept_{u}"], row[f"handle_{u}"] = a, h
        class_rows.append(row)
        classes.append({"code": code, "name": name, "dept": f"D500111-{dept}", "who": who, "weight": weight,
                        "mode": row["default_mode"], "major": major})

    # --- units ------------------------------------------------------------------------------------
    units: list[dict[str, Any]] = [
        {"code": "C500000", "name": "重庆市城市运行和治理中心", "kind": "centre", "level": "city",
         "area_code": CITY_CODE, "parent_code": "", "duties": "", "coverage": "", "phone": "023-63896110"},
        {"code": "C500111", "name": "大足区城市运行和治理中心", "kind": "centre", "level": "district",
         "area_code": DISTRICT_CODE, "parent_code": "C500000", "duties": "", "coverage": "",
         "phone": "023-43721110"},
    ]
    town_duties = ";".join(c["code"] for c in classes if c["who"] in ("town", "grid"))
    for t in towns:
        units.append({"code": f"C{t['code']}", "name": f"{t['name']}城市运行和治理中心", "kind": "centre",
                      "level": "town", "area_code": t["code"], "parent_code": "C500111", "duties": town_duties,
                      "coverage": "", "phone": f"023-437{rng.randint(10000, 99999)}"})
    for abbr, name in DEPARTMENTS.items():
        duties = ";".join(c["code"] for c in classes if c["dept"] == f"D500111-{abbr}")
        units.append({"code": f"D500111-{abbr}", "name": name, "kind": "department", "level": "district",
                      "area_code": DISTRICT_CODE, "parent_code": "C500111", "duties": duties,
                      "coverage": DISTRICT_CODE, "phone": f"023-437{rng.randint(10000, 99999)}"})
    grid_duties = ";".join(c["code"] for c in classes if c["who"] == "grid")
    for v in villages:
        units.append({"code": f"V{v['code']}", "name": f"{v['name']}{'居委会' if v['name'].endswith('社区') else '村委会'}",
                      "kind": "village", "level": "village", "area_code": v["code"], "parent_code": f"C{v['town']}",
                      "duties": grid_duties, "coverage": "", "phone": ""})
    for g in grids:
        units.append({"code": f"G{g['code']}", "name": g["name"], "kind": "grid", "level": "grid",
                      "area_code": g["code"], "parent_code": f"V{g['village']}", "duties": grid_duties,
                      "coverage": "", "phone": ""})

    # --- people -----------------------------------------------------------------------------------
    people: list[dict[str, str]] = []

    def person(code: str, unit: str, role: str) -> None:
        people.append({"code": code, "name": person_name(rng), "phone": mobile_number(rng), "unit_code": unit,
                       "role": role})

    person("admin", "C500111", "administrator")
    person("auditor", "C500111", "auditor")
    person("integrator", "C500111", "integrator")
    person("leader.city", "C500000", "leader")
    person("duty.city", "C500000", "duty_officer")
    person("leader.district", "C500111", "leader")
    person("duty.district", "C500111", "duty_officer")
    for i in range(2, 5):
        person(f"duty.district{i}", "C500111", "duty_officer")
    for i in range(1, 3):
        person(f"dispatcher.district{i}", "C500111", "dispatcher")
    for t in towns:
        person(f"duty.{t['key']}", f"C{t['code']}", "duty_officer")
        person(f"dispatcher.{t['key']}", f"C{t['code']}", "dispatcher")
        person(f"leader.{t['key']}", f"C{t['code']}", "leader")
    for abbr in DEPARTMENTS:
        key = abbr.lower()
        person(f"handler.{key}", f"D500111-{abbr}", "handler")
        for i in range(2, rng.randint(3, 5)):
            person(f"handler.{key}{i}", f"D500111-{abbr}", "handler")
    for v in villages:
        person(f"village.{v['code']}", f"V{v['code']}", "handler")
    per_town: dict[str, int] = {}
    for g in grids:
        town = next(t for t in towns if t["code"] == g["town"])
        per_town[town["key"]] = per_town.get(town["key"], 0) + 1
        n = per_town[town["key"]]
        code = f"grid.{town['key']}{n:02d}" if n <= 99 else f"grid.{town['key']}{n}"
        person(code, f"G{g['code']}", "grid_worker")
        g["worker"] = code

    # the neighbour comes last, from its own random stream: Dazu's areas, people and history stay as they were
    sibling_grids = _add_sibling(sibling, features, units, people, town_duties, grid_duties,
                                 random.Random(seed * 7_919 + 151))

    unit_cols = ["code", "name", "kind", "level", "area_code", "parent_code", "duties", "coverage", "phone"]
    class_cols = ["code", "name", "kind", "major_code", "major_name", "default_mode", "default_urgency",
                  "accept_normal", "handle_normal", "accept_urgent", "handle_urgent", "accept_critical",
                  "handle_critical"]
    return DemoDistrict(
        seed=seed,
        areas_geojson={"type": "FeatureCollection", "features": features},
        units_csv=_csv(unit_cols, units),
        people_csv=_csv(["code", "name", "phone", "unit_code", "role"], people),
        event_classes_csv=_csv(class_cols, class_rows),
        towns=towns, villages=villages, grids=grids, people=people, classes=classes, sibling_grids=sibling_grids,
    )


def _sibling_shape(district: BaseGeometry) -> Polygon:
    """铜梁区, east of Dazu: a plain quadrilateral beside the district's eastern edge, not touching it."""
    east = district.bounds[2] + 0.02
    return Polygon([(east, 29.58), (east + 0.22, 29.60), (east + 0.24, 29.84), (east + 0.01, 29.82)])


def _add_sibling(shape: BaseGeometry, features: list[dict[str, Any]], units: list[dict[str, Any]],
                 people: list[dict[str, str]], town_duties: str, grid_duties: str,
                 rng: random.Random) -> list[dict[str, Any]]:
    """The neighbouring district: 2 towns × 3 villages × 3 grids, its centres, duty officers and grid workers."""
    features.append(_feature(SIBLING_CODE, SIBLING_NAME, "district", CITY_CODE, shape))
    units.append({"code": f"C{SIBLING_CODE}", "name": f"{SIBLING_NAME}城市运行和治理中心", "kind": "centre",
                  "level": "district", "area_code": SIBLING_CODE, "parent_code": "C500000", "duties": "",
                  "coverage": "", "phone": "023-45671110"})

    def person(code: str, unit: str, role: str) -> None:
        people.append({"code": code, "name": person_name(rng), "phone": mobile_number(rng), "unit_code": unit,
                       "role": role})

    person("leader.tongliang", f"C{SIBLING_CODE}", "leader")
    person("duty.tongliang", f"C{SIBLING_CODE}", "duty_officer")
    grids: list[dict[str, Any]] = []
    town_cells = _tessellate(shape, _points_in(shape, len(SIBLING_TOWNS), rng))
    for ti, ((name, key), tcell) in enumerate(zip(SIBLING_TOWNS, town_cells, strict=True), start=1):
        tcode = f"{SIBLING_CODE}{ti:03d}"
        features.append(_feature(tcode, name, "town", SIBLING_CODE, tcell))
        units.append({"code": f"C{tcode}", "name": f"{name}城市运行和治理中心", "kind": "centre", "level": "town",
                      "area_code": tcode, "parent_code": f"C{SIBLING_CODE}", "duties": town_duties,
                      "coverage": "", "phone": ""})
        person(f"duty.{key}", f"C{tcode}", "duty_officer")
        vcells = _tessellate(tcell, _points_in(tcell, 3, rng))
        for vi, vcell in enumerate(vcells, start=1):
            vcode = f"{tcode}{vi:03d}"
            vname = f"{_VILLAGE_HEADS[(ti * 7 + vi) % len(_VILLAGE_HEADS)]}村"
            features.append(_feature(vcode, vname, "village", tcode, vcell))
            units.append({"code": f"V{vcode}", "name": f"{vname}村委会", "kind": "village", "level": "village",
                          "area_code": vcode, "parent_code": f"C{tcode}", "duties": grid_duties, "coverage": "",
                          "phone": ""})
            for gi, gcell in enumerate(_tessellate(vcell, _points_in(vcell, 3, rng)), start=1):
                gcode = f"{vcode}{gi:03d}"
                features.append(_feature(gcode, f"{name}{vname}第{gi}网格", "grid", vcode, gcell))
                units.append({"code": f"G{gcode}", "name": f"{vname}第{gi}网格", "kind": "grid", "level": "grid",
                              "area_code": gcode, "parent_code": f"V{vcode}", "duties": grid_duties,
                              "coverage": "", "phone": ""})
                worker = f"grid.{key}{(vi - 1) * 3 + gi:02d}"
                person(worker, f"G{gcode}", "grid_worker")
                c = gcell.representative_point()
                grids.append({"code": gcode, "town": tcode, "point": (c.x, c.y), "worker": worker})
    return grids
