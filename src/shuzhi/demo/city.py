"""``shuzhi demo --scale city``: the whole city (重庆市) — 41 districts, 1,031 towns, ~11,000 villages,
~62,000 grids — with boundaries, organisations, people and days of events at the seeds' mix.

Why not the district demo's way (GeoJSON and CSV through the importers, every case replayed through
the services): the importers add one ORM object per row and flush each area to learn its id, and a
replayed case is a dozen service calls; at 75,000 areas, 75,000 units and tens of thousands of events
a day that is hours, not minutes. So this module writes the rows the importers and services would
write — areas with their materialised paths, boundaries and centroids; units with their duties and
coverage (a unit covers its own area, a department its district, as ``import_units`` does); people;
events with their tasks and timeline lines as ``demo/copies.py`` writes the notices — in bulk inserts
(``adapters/db/bulk.insert_rows``: COPY on PostgreSQL, ``executemany`` on SQLite), one level or one
day at a time. The event classes (40 rows) still go through the real importer, and a handled event
is dispatched live through the real service (the tests do it on a generated event).

Boundaries are rectangles: the city's extent is cut into rows of equal cells for its districts, each
district into its towns, each town into its villages, each village into its grids. Cut points are
computed once per edge and rounded to 1e-6°, so neighbours share edges exactly, the grids tile the
city without gaps or overlaps and every point of the extent falls in exactly one grid (point→grid).

Deterministic for a seed. Not built at city scale: sensing series, plans, ledgers, services, duty
rosters (the district demo has them); unread copies get no supervision clock.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.bulk import create_indexes, drop_secondary_indexes, insert_rows, next_ids, update_rows
from shuzhi.adapters.db.districts import of_number
from shuzhi.adapters.db.sequences import reserve
from shuzhi.adapters.db.tables import (
    Area,
    Event,
    EventClass,
    Person,
    Task,
    TimelineEntry,
    Unit,
    UnitCoverage,
    UnitDuty,
)
from shuzhi.adapters.db.tables_security import Credential
from shuzhi.adapters.tabular import read_table
from shuzhi.demo.accounts import DEMO_PASSWORD
from shuzhi.demo.catalogue_data import DEPARTMENTS
from shuzhi.demo.district import _VILLAGE_HEADS, DemoDistrict, build_district, mobile_number, person_name
from shuzhi.services.catalogue import import_event_classes
from shuzhi.services.intake import number_prefix
from shuzhi.services.security.passwords import hash_password
from shuzhi.services.unit_of_work import UnitOfWork

CITY_CODE, CITY_NAME = "500000", "重庆市"
#: The city's extent (lon, lat): Chongqing's bounding box.
EXTENT = (105.29, 28.16, 110.19, 32.20)
#: 38 districts and counties and 3 functional areas: 41 district centres, as the seeds count them.
DISTRICT_NAMES = [
    "万州区", "黔江区", "涪陵区", "渝中区", "大渡口区", "江北区", "沙坪坝区", "九龙坡区", "南岸区", "北碚区", "大足区",
    "綦江区", "渝北区", "巴南区", "长寿区", "江津区", "合川区", "永川区", "南川区", "璧山区", "铜梁区", "潼南区",
    "荣昌区", "开州区", "梁平区", "武隆区", "城口县", "丰都县", "垫江县", "忠县", "云阳县", "奉节县", "巫山县",
    "巫溪县", "石柱县", "秀山县", "酉阳县", "彭水县", "两江新区", "重庆高新区", "万盛经开区",
]
#: The district whose people get the named demo accounts (大足区, the district demo's), when built.
HOME_DISTRICT = "500111"
#: The seeds' notify share (124,093 of 126,686 events copied for information).
NOTIFY_SHARE = 0.98
SYSTEM = "业务系统推送"

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class CityShape:
    """How big a city to build: the full city by default, a few towns for tests."""

    districts: int = 41
    #: towns in all (spread over the districts), or, with ``towns_per_district``, that many each
    towns: int = 1031
    towns_per_district: int | None = None
    villages_per_town: tuple[int, int] = (9, 12)
    grids_per_village: tuple[int, ...] = (4, 5, 6, 6, 7, 7)  # drawn from: ~5.8 a village

    def town_counts(self) -> list[int]:
        if self.towns_per_district is not None:
            return [self.towns_per_district] * self.districts
        base, extra = divmod(self.towns, self.districts)
        return [base + (1 if i < extra else 0) for i in range(self.districts)]


@dataclass
class CityReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    accounts: list[str] = field(default_factory=list)


def split(rect: Rect, n: int) -> list[Rect]:
    """``n`` rectangles tiling ``rect``: rows of equal height, each row cut into equal cells, in reading
    order. Edges are rounded to 1e-6° once and shared, so the cells tile exactly."""
    x0, y0, x1, y1 = rect
    rows = max(1, round(math.sqrt(n * (y1 - y0) / max(x1 - x0, 1e-9))))
    rows = min(rows, n)
    per_row = [n // rows + (1 if r < n % rows else 0) for r in range(rows)]
    ys = [y0 if r == 0 else y1 if r == rows else round(y0 + (y1 - y0) * r / rows, 6) for r in range(rows + 1)]
    out: list[Rect] = []
    for r, cols in enumerate(per_row):
        xs = [x0 if c == 0 else x1 if c == cols else round(x0 + (x1 - x0) * c / cols, 6) for c in range(cols + 1)]
        out.extend((xs[c], ys[r], xs[c + 1], ys[r + 1]) for c in range(cols))
    return out


def polygon(rect: Rect) -> dict[str, Any]:
    x0, y0, x1, y1 = rect
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def centre(rect: Rect) -> tuple[float, float]:
    return round((rect[0] + rect[2]) / 2, 6), round((rect[1] + rect[3]) / 2, 6)


@dataclass
class Node:
    code: str
    name: str
    level: str
    parent: str | None
    path: str
    rect: Rect


def city_tree(shape: CityShape, seed: int) -> Iterator[Node]:
    """The areas, parents before children (city, then each district's subtree level by level)."""
    rng = random.Random(f"city-{seed}")
    yield Node(CITY_CODE, CITY_NAME, "city", None, f"/{CITY_CODE}/", EXTENT)
    for di, (drect, towns) in enumerate(zip(split(EXTENT, shape.districts), shape.town_counts(), strict=True),
                                        start=1):
        dcode = f"5001{di:02d}"
        dname = DISTRICT_NAMES[di - 1] if di <= len(DISTRICT_NAMES) else f"第{di}区"
        dpath = f"/{CITY_CODE}/{dcode}/"
        yield Node(dcode, dname, "district", CITY_CODE, dpath, drect)
        heads = rng.sample(_VILLAGE_HEADS, min(towns, len(_VILLAGE_HEADS)))  # no two towns of a district alike
        for ti, trect in enumerate(split(drect, towns), start=1):
            tcode = f"{dcode}{ti:03d}"
            head = heads[ti - 1] if ti <= len(heads) else f"{heads[(ti - 1) % len(heads)]}{ti}"
            tname = f"{head}{'街道' if ti <= max(1, towns // 5) else '镇'}"
            tpath = f"{dpath}{tcode}/"
            yield Node(tcode, tname, "town", dcode, tpath, trect)
            for vi, vrect in enumerate(split(trect, rng.randint(*shape.villages_per_town)), start=1):
                vcode = f"{tcode}{vi:03d}"
                vname = f"{rng.choice(_VILLAGE_HEADS)}{'社区' if tname.endswith('街道') else '村'}"
                vpath = f"{tpath}{vcode}/"
                yield Node(vcode, f"{tname}{vname}", "village", tcode, vpath, vrect)
                for gi, grect in enumerate(split(vrect, rng.choice(shape.grids_per_village)), start=1):
                    gcode = f"{vcode}{gi:03d}"
                    yield Node(gcode, f"{vname}第{gi}网格", "grid", vcode, f"{vpath}{gcode}/", grect)


def _progress(console: Console | None) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False, disable=console is None)


@functools.lru_cache(maxsize=2)
def _catalogue(seed: int) -> DemoDistrict:
    """The district demo's build, for its event classes (and which department handles each): a few
    seconds of geometry, so built once per process."""
    return build_district(seed)


def build_city(factory: sessionmaker[Session], *, shape: CityShape | None = None, seed: int = 1, days: int = 3,
               events_per_day: int = 3000, now: datetime | None = None, console: Console | None = None,
               clock: Callable[[], float] | None = None) -> CityReport:
    """Build the city into an empty, migrated database; returns counts and seconds per step."""
    import time

    shape = shape or CityShape()
    now = now or datetime.now(UTC)
    tick = clock or time.perf_counter
    report = CityReport()
    district = _catalogue(seed)  # the event catalogue and which class each department handles
    import_ok = import_event_classes(UnitOfWork(factory), read_table(district.event_classes_csv.encode(),
                                                                    "classes.csv"))
    if import_ok.errors:
        raise RuntimeError(f"city demo event classes did not import: {import_ok.errors[:3]}")
    with _progress(console) as bar, factory() as s:
        conn = s.connection()
        t0 = tick()
        nodes = list(city_tree(shape, seed))
        area_ids = _store_areas(conn, nodes, now, bar)
        report.seconds["areas"] = tick() - t0
        t0 = tick()
        classes = {code: cid for cid, code in s.execute(select(EventClass.id, EventClass.code))}
        units = _store_units(conn, nodes, area_ids, district.classes, classes, now, bar)
        report.seconds["units"] = tick() - t0
        t0 = tick()
        report.accounts = _store_people(conn, nodes, units, seed, now, bar)
        report.seconds["people"] = tick() - t0
        s.commit()
        t0 = tick()
        report.counts["events"] = _store_events(s, nodes, area_ids, units, district.classes, classes, seed, days,
                                                events_per_day, now, bar)
        report.seconds["events"] = tick() - t0
        s.commit()
        for level in ("district", "town", "village", "grid"):
            report.counts[level + "s"] = sum(1 for n in nodes if n.level == level)
        report.counts["units"] = len(units)
    from shuzhi.services import geo_index

    geo_index.forget()  # as the importer does: this process sees the new grids at once
    return report


def _store_areas(conn: Connection, nodes: list[Node], now: datetime, bar: Progress) -> dict[str, int]:
    """Level by level, so each level's parent ids are known; returns code → id."""
    ids: dict[str, int] = {}
    job = bar.add_task("区域 areas", total=len(nodes))
    cols = ["code", "name", "level", "layer", "parent_id", "path", "boundary", "centroid_lon", "centroid_lat",
            "created_at", "updated_at"]
    for level in ("city", "district", "town", "village", "grid"):
        level_nodes = [n for n in nodes if n.level == level]
        for start in range(0, len(level_nodes), 20_000):
            chunk = level_nodes[start:start + 20_000]
            insert_rows(conn, Area.__table__, [
                (n.code, n.name, n.level, "governance", ids[n.parent] if n.parent else None, n.path,
                 polygon(n.rect), *centre(n.rect), now, now) for n in chunk], columns=cols)
            bar.advance(job, len(chunk))
        ids.update({code: aid for aid, code in conn.execute(select(Area.id, Area.code).where(Area.level == level))})
    return ids


def _unit_code(n: Node) -> str:
    return {"village": "V", "grid": "G"}.get(n.level, "C") + n.code


def _store_units(conn: Connection, nodes: list[Node], area_ids: dict[str, int], demo_classes: list[dict[str, Any]],
                 classes: dict[str, int], now: datetime, bar: Progress) -> dict[str, int]:
    """Centres (city, district, town), each district's departments, village committees and grid units,
    with duties (a department's classes; town centres, villages and grids the classes that may stay in
    the town or grid) and coverage (own area; a department its district). Returns unit code → id."""
    town_duties = [classes[c["code"]] for c in demo_classes if c["who"] in ("town", "grid")]
    grid_duties = [classes[c["code"]] for c in demo_classes if c["who"] == "grid"]
    dept_duties = {abbr: [classes[c["code"]] for c in demo_classes if c["dept"].split("-")[1] == abbr]
                   for abbr in DEPARTMENTS}
    ids: dict[str, int] = {}
    job = bar.add_task("组织 units", total=len(nodes) + len(DEPARTMENTS) * sum(n.level == "district" for n in nodes))
    cols = ["code", "name", "kind", "level", "area_id", "parent_id", "phone", "active", "created_at", "updated_at"]
    kinds = {"city": "centre", "district": "centre", "town": "centre", "village": "village", "grid": "grid"}
    duties: list[tuple[int, int]] = []
    coverage: list[tuple[int, int]] = []
    for level in ("city", "district", "town", "village", "grid"):
        rows: list[tuple[Any, ...]] = []
        for n in nodes:
            if n.level != level:
                continue
            parent = ids[f"{'C' if level in ('district', 'town', 'village') else 'V'}{n.parent}"] if n.parent else None
            suffix = {"village": "居委会" if n.name.endswith("社区") else "村委会", "grid": ""}.get(
                level, "城市运行和治理中心")
            rows.append((_unit_code(n), f"{n.name}{suffix}"[:100], kinds[level], level, area_ids[n.code], parent,
                         None, True, now, now))
            if level == "district":
                rows.extend((f"D{n.code}-{abbr}", f"{n.name}{name}"[:100], "department", "district",
                             area_ids[n.code], None, None, True, now, now) for abbr, name in DEPARTMENTS.items())
        for start in range(0, len(rows), 20_000):
            insert_rows(conn, Unit.__table__, rows[start:start + 20_000], columns=cols)
            bar.advance(job, len(rows[start:start + 20_000]))
        new = {code: uid for uid, code in conn.execute(select(Unit.id, Unit.code).where(Unit.level == level))}
        ids.update(new)
        for code, uid in new.items():
            if code.startswith("D"):
                coverage.append((uid, area_ids[code[1:7]]))
                duties.extend((uid, c) for c in dept_duties[code.split("-")[1]])
                continue
            coverage.append((uid, area_ids[code[1:]]))
            duties.extend((uid, c) for c in {"town": town_duties, "village": grid_duties,
                                             "grid": grid_duties}.get(level, []))
    # departments hang under their district centre
    update_rows(conn, Unit.__table__, "id", [{"id": uid, "parent_id": ids[f"C{code[1:7]}"]}
                                             for code, uid in ids.items() if code.startswith("D")])
    for start in range(0, len(duties), 100_000):
        insert_rows(conn, UnitDuty.__table__, duties[start:start + 100_000], columns=["unit_id", "event_class_id"])
    for start in range(0, len(coverage), 100_000):
        insert_rows(conn, UnitCoverage.__table__, coverage[start:start + 100_000], columns=["unit_id", "area_id"])
    return ids


def _named(nodes: list[Node]) -> dict[str, str]:
    """The named demo accounts → their unit: in 大足区 when it is built, else in the first district."""
    districts = [n for n in nodes if n.level == "district"]
    home = next((d for d in districts if d.code == HOME_DISTRICT), districts[0])
    town = next(n for n in nodes if n.parent == home.code)
    village = next(n for n in nodes if n.parent == town.code)
    grid = next(n for n in nodes if n.parent == village.code)
    return {"admin": f"C{CITY_CODE}", "leader.city": f"C{CITY_CODE}", "duty.city": f"C{CITY_CODE}",
            f"leader.{home.code}": f"C{home.code}", f"duty.{home.code}": f"C{home.code}",
            f"dispatcher.{home.code}": f"C{home.code}", f"handler.{home.code}.cgj": f"D{home.code}-CGJ",
            f"duty.{town.code}": f"C{town.code}", f"grid.{grid.code}": f"G{grid.code}"}


def _store_people(conn: Connection, nodes: list[Node], units: dict[str, int], seed: int, now: datetime,
                  bar: Progress) -> list[str]:
    """Duty officers (two per centre), a leader and a dispatcher per city and district centre, two handlers
    per department, one per village committee, a grid worker per grid; demo passwords for the named
    accounts only (returned)."""
    rng = random.Random(f"city-people-{seed}")
    people: list[tuple[str, str, int]] = [("admin", "administrator", units[f"C{CITY_CODE}"]),
                                          ("auditor", "auditor", units[f"C{CITY_CODE}"])]
    for n in nodes:
        unit = units[_unit_code(n)]
        if n.level in ("city", "district"):
            key = "city" if n.level == "city" else n.code
            people += [(f"duty.{key}", "duty_officer", unit), (f"duty.{key}.2", "duty_officer", unit),
                       (f"leader.{key}", "leader", unit), (f"dispatcher.{key}", "dispatcher", unit)]
            if n.level == "district":
                for abbr in DEPARTMENTS:
                    dept = units[f"D{n.code}-{abbr}"]
                    people += [(f"handler.{n.code}.{abbr.lower()}", "handler", dept),
                               (f"handler.{n.code}.{abbr.lower()}.2", "handler", dept)]
        elif n.level == "town":
            people += [(f"duty.{n.code}", "duty_officer", unit), (f"duty.{n.code}.2", "duty_officer", unit)]
        elif n.level == "village":
            people.append((f"village.{n.code}", "handler", unit))
        else:
            people.append((f"grid.{n.code}", "grid_worker", unit))
    job = bar.add_task("人员 people", total=len(people))
    cols = ["code", "name", "phone", "unit_id", "role", "active", "created_at", "updated_at"]
    for start in range(0, len(people), 20_000):
        chunk = people[start:start + 20_000]
        insert_rows(conn, Person.__table__, [(code, person_name(rng), mobile_number(rng), unit, role, True, now, now)
                                             for code, role, unit in chunk], columns=cols)
        bar.advance(job, len(chunk))
    named = list(_named(nodes))
    hashed = hash_password(DEMO_PASSWORD)  # once, shared: a demo password is public anyway
    person_ids = conn.execute(select(Person.id).where(Person.code.in_(named))).scalars().all()
    insert_rows(conn, Credential.__table__, [(pid, hashed, True, now, 0) for pid in person_ids],
                columns=["person_id", "password_hash", "must_change", "changed_at", "failed_count"])
    return named


def _store_events(s: Session, nodes: list[Node], area_ids: dict[str, int], units: dict[str, int],
                  demo_classes: list[dict[str, Any]], classes: dict[str, int], seed: int, days: int,
                  per_day: int, now: datetime, bar: Progress) -> int:
    """``days`` × ``per_day`` events ending now, ~98 % notify-only (a district centre copies a notice to
    some of its town centres and a department; most copies read), the rest handled cases in a grid:
    older ones closed after a grid unit or department handled them, the last day's still registered, waiting
    for dispatch. Written as ``demo/copies.py`` writes the notices: event, tasks, timeline lines."""
    rng = random.Random(f"city-events-{seed}")
    districts = [n for n in nodes if n.level == "district"]
    towns_of: dict[str, list[Node]] = {}
    grids_of: dict[str, list[Node]] = {}
    for n in nodes:
        if n.level == "town":
            towns_of.setdefault(n.parent or "", []).append(n)
        elif n.level == "grid":
            grids_of.setdefault(n.path.split("/")[2], []).append(n)
    notify_classes = [classes[c["code"]] for c in demo_classes if c["mode"] == "notify"]
    handle_classes = [(classes[c["code"]], c["dept"].split("-")[1], c["who"]) for c in demo_classes
                      if c["mode"] != "notify"]
    depts = list(DEPARTMENTS)
    job = bar.add_task("事件 events", total=days * per_day)
    total = 0
    # PostgreSQL, tables still empty: ids drawn from the sequences (nothing read back), and the indexes
    # no constraint needs built once at the end rather than kept up row by row (a 5 M-event city's
    # indexes outgrow memory, and then every row costs a random read per index)
    pg = s.get_bind().dialect.name == "postgresql"
    deferred: list[str] = []
    if pg and s.scalar(select(Event.id).limit(1)) is None:
        deferred = drop_secondary_indexes(s.connection(), [Event.__table__, Task.__table__, TimelineEntry.__table__])
        s.commit()
    try:
        for day in range(days):
            day_end = now - timedelta(days=days - 1 - day)
            batch = []
            for _ in range(per_day):
                at = day_end - timedelta(seconds=rng.uniform(60, 86_400))
                batch.append((at, rng.choice(districts), rng.random() < NOTIFY_SHARE))
            batch.sort(key=lambda b: b[0])
            events: list[dict[str, Any]] = []
            plans: list[dict[str, Any]] = []
            numbers: dict[str, list[int]] = {}
            for at, d, notify in batch:
                numbers.setdefault(number_prefix(d.code, at), []).append(len(plans))
                owner = units[f"C{d.code}"]
                if notify:
                    towns = rng.sample(towns_of[d.code], min(len(towns_of[d.code]), rng.randint(1, 6)))
                    copied = [f"C{t.code}" for t in towns] + [f"D{d.code}-{rng.choice(depts)}"]
                    area = towns[0] if len(towns) == 1 else d
                    notified_at = at + timedelta(minutes=rng.uniform(3, 40))
                    reads = [notified_at + timedelta(hours=rng.uniform(0.2, 20)) if rng.random() < 0.97 else None
                             for _ in copied]
                    reads = [r if r is not None and r < now else None for r in reads]
                    closed = max(reads) if all(r is not None for r in reads) else None  # type: ignore[type-var]
                    plans.append({"notify": True, "copied": copied, "reads": reads, "notified_at": notified_at,
                                  "at": at, "owner": owner, "district": d.code})
                    events.append({"source": "legacy_system", "event_class_id": rng.choice(notify_classes),
                                   "title": f"{d.name}工作通报", "description": "请各单位知悉并做好相关工作。",
                                   "lon": None, "lat": None, "area_id": area_ids[area.code], "area_path": area.path,
                                   "urgency": "normal", "mode": "notify", "state": "closed" if closed else "notifying",
                                   "owner_unit_id": owner, "received_at": at, "dispatched_at": notified_at,
                                   "closed_at": closed, "updated_at": closed or notified_at, "version": 2 + len(copied)})
                else:
                    g = rng.choice(grids_of[d.code])
                    cls, dept, who = rng.choice(handle_classes)
                    lead = f"G{g.code}" if who == "grid" else f"D{d.code}-{dept}"
                    open_ = at > now - timedelta(hours=24)
                    closed_at = None if open_ else at + timedelta(hours=rng.uniform(2, 30))
                    if closed_at is not None and closed_at > now:
                        closed_at = None
                        open_ = True
                    lon, lat = centre(g.rect)
                    plans.append({"notify": False, "lead": lead, "at": at, "closed_at": closed_at, "owner": owner,
                                  "district": d.code})
                    events.append({"source": rng.choice(("hotline", "app", "grid")), "event_class_id": cls,
                                   "title": "群众反映问题", "description": "网格内发现问题，请处置。", "lon": lon,
                                   "lat": lat, "area_id": area_ids[g.code], "area_path": g.path, "urgency": "normal",
                                   "mode": "handle", "state": "registered" if open_ else "closed",
                                   "owner_unit_id": owner, "received_at": at,
                                   "dispatched_at": None if open_ else at + timedelta(minutes=10),
                                   "closed_at": closed_at, "updated_at": closed_at or at, "version": 1 if open_ else 6})
            for prefix, idx in sorted(numbers.items()):
                first = reserve(s, prefix, len(idx))
                for k, i in enumerate(idx):
                    events[i]["number"] = f"{prefix}-{first + k:06d}"
            for e in events:
                e.update({"intake_key": f"city-demo:{e['number']}", "district_code": of_number(e["number"]),
                          "self_handled": False, "rework_count": 0,
                          "return_count": 0})
            conn = s.connection()
            if pg:
                for e, new_id in zip(events, next_ids(conn, Event.__table__, len(events)), strict=True):
                    e["id"] = new_id
            insert_rows(conn, Event.__table__, events)
            if pg:
                ids = {e["number"]: e["id"] for e in events}
            else:
                ids = dict(s.execute(select(Event.number, Event.id).where(
                    Event.received_at >= day_end - timedelta(days=1, minutes=1), Event.received_at <= day_end,
                    Event.intake_key.like("city-demo:%"))).all())
            tasks = []
            for e, p in zip(events, plans, strict=True):
                eid = ids[e["number"]]
                if p["notify"]:
                    for code, read_at in zip(p["copied"], p["reads"], strict=True):
                        tasks.append({"event_id": eid, "district_code": e["district_code"], "unit_id": units[code],
                                      "role": "notify",
                                      "state": "read" if read_at else "notified", "dispatched_by_unit_id": p["owner"],
                                      "dispatched_by": SYSTEM, "dispatched_at": p["notified_at"], "read_at": read_at,
                                      "ended_at": read_at, "accepted_at": None, "reported_at": None,
                                      "verified_at": None, "rework_count": 0,
                                      "updated_at": read_at or p["notified_at"], "version": 2 if read_at else 1})
                elif p["closed_at"] is not None:
                    d_at = p["at"] + timedelta(minutes=10)
                    tasks.append({"event_id": eid, "district_code": e["district_code"], "unit_id": units[p["lead"]],
                                  "role": "lead", "state": "verified",
                                  "dispatched_by_unit_id": p["owner"], "dispatched_by": f"dispatcher.{p['district']}",
                                  "dispatched_at": d_at, "read_at": None, "ended_at": p["closed_at"],
                                  "accepted_at": d_at + timedelta(minutes=20),
                                  "reported_at": p["closed_at"] - timedelta(minutes=30),
                                  "verified_at": p["closed_at"], "rework_count": 0, "updated_at": p["closed_at"],
                                  "version": 4})
            if pg:
                for t, new_id in zip(tasks, next_ids(conn, Task.__table__, len(tasks)), strict=True):
                    t["id"] = new_id
            insert_rows(conn, Task.__table__, tasks)
            if pg:
                task_ids = {(t["event_id"], t["unit_id"]): t["id"] for t in tasks}
            else:
                # this day's events were numbered last: their tasks are those of events from its first id on
                task_ids = {(e, u): t for t, e, u in s.execute(select(Task.id, Task.event_id, Task.unit_id).where(
                    Task.event_id >= min(ids.values())))}
            lines: list[tuple[Any, ...]] = []
            for e, p in zip(events, plans, strict=True):
                eid = ids[e["number"]]
                lines.append((eid, None, p["at"], SYSTEM, "event.register", None, "registered",
                              {"source": e["source"], "owner": f"C{p['district']}"}))
                if p["notify"]:
                    lines.append((eid, None, p["notified_at"], SYSTEM, "event.notify", "registered", "notifying",
                                  {"units": p["copied"], "copy_lists": []}))
                    for code, read_at in zip(p["copied"], p["reads"], strict=True):
                        tid = task_ids[(eid, units[code])]
                        lines.append((eid, tid, p["notified_at"], SYSTEM, "task.create", None, "notified",
                                      {"unit": code, "role": "notify"}))
                        if read_at is not None:
                            lines.append((eid, tid, read_at, f"{code}值班员", "task.read", "notified", "read",
                                          {"unit": code, "role": "notify"}))
                    if e["closed_at"] is not None:
                        lines.append((eid, None, e["closed_at"], SYSTEM, "event.all_read", "notifying", "closed", {}))
                elif p["closed_at"] is not None:
                    tid = task_ids[(eid, units[p["lead"]])]
                    who, d_at = f"dispatcher.{p['district']}", p["at"] + timedelta(minutes=10)
                    lines += [(eid, None, d_at, who, "event.dispatch", "registered", "dispatched", {"lead": p["lead"]}),
                              (eid, tid, d_at, who, "task.create", None, "dispatched", {"unit": p["lead"], "role": "lead"}),
                              (eid, tid, d_at + timedelta(minutes=20), p["lead"], "task.accept", "dispatched", "accepted",
                               {}),
                              (eid, tid, p["closed_at"] - timedelta(minutes=30), p["lead"], "task.report_back",
                               "accepted", "reported_back", {}),
                              (eid, tid, p["closed_at"], who, "task.verify", "reported_back", "verified", {}),
                              (eid, None, p["closed_at"], who, "event.close", "verified", "closed", {})]
            district = {ids[e["number"]]: e["district_code"] for e in events}
            insert_rows(conn, TimelineEntry.__table__, [(line[0], district[line[0]], *line[1:]) for line in lines],
                        columns=["event_id", "district_code", "task_id", "at", "actor", "action", "from_state", "to_state", "payload"])
            s.commit()
            total += len(events)
            bar.advance(job, len(events))
    finally:
        if deferred:
            s.rollback()
            job = bar.add_task("索引 indexes", total=len(deferred))
            create_indexes(s.connection(), deferred)
            s.commit()
            bar.advance(job, len(deferred))
    return total


def run_city_demo(*, url: str, host: str, port: int, data_dir: Any, seed: int, days: int, events_per_day: int,
                  shape: CityShape, serve: bool, console: Console) -> CityReport | None:
    """Migrate ``url``, build the city into it unless it holds one, then serve it (no live loop)."""
    import threading
    import time

    from sqlalchemy import func

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.migrate import upgrade

    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with factory() as s:
        existing = s.scalar(select(func.count(Area.id))) or 0
    report = None
    if existing:
        console.print(f"[green]reusing[/green] the {existing} areas in the database (build into an empty one "
                      "to rebuild)")
    else:
        started = time.monotonic()
        report = build_city(factory, shape=shape, seed=seed, days=days, events_per_day=events_per_day,
                            console=console)
        console.print(f"[green]city ready[/green] in {time.monotonic() - started:.0f} s: "
                      + ", ".join(f"{v:,} {k}" for k, v in report.counts.items()))
        console.print("  steps: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.seconds.items()))
        console.print(f"  demo accounts (password '{DEMO_PASSWORD}'): " + ", ".join(report.accounts))
    if serve:
        import uvicorn

        from shuzhi.config import Settings
        from shuzhi.entrypoints.api.app import create_app
        from shuzhi.services.dispatching.deciding import warm
        from shuzhi.services.scheduler import start_in_thread

        settings = Settings(data_dir=data_dir, database_url=url, demo_mode=True)
        app = create_app(factory, settings)
        start_in_thread(factory)
        # the first dispatch decision would compile the whole organisation (tens of seconds at city
        # scale): built in the background while the server starts
        threading.Thread(target=warm, args=(UnitOfWork(factory),), name="warm-directory", daemon=True).start()
        console.print(f"\n[bold]数治 shuzhi city demo[/bold] — http://{host}:{port}/levels")
        uvicorn.run(app, host=host, port=port, log_level="warning")
    return report
