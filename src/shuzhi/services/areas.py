"""The area tree: import from GeoJSON, browse, and resolve a point to its grid and full chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.geo import AreaFeature, parse_area_collection, to_wgs84
from shuzhi.domain.areas import AreaLevel
from shuzhi.domain.grid_teams import GOVERNANCE, layer_problem
from shuzhi.domain.permissions import REFERENCE_WRITE
from shuzhi.services import geo_index
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.geo_index import grid_index
from shuzhi.services.importing import ImportReport, RowError
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork


def _existing(s: Session) -> dict[str, tuple[AreaLevel, Any]]:
    rows = s.execute(select(Area.code, Area.level, Area.boundary)).all()
    return {code: (AreaLevel(level), shape(b) if b else None) for code, level, b in rows}


def json_safe(value: Any) -> Any:
    """Tuples → lists so that the stored JSON compares equal to what is read back."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def import_areas(uow: UnitOfWork, data: Any, *, actor: Actor = SYSTEM, tolerance_m: float = 20.0,
                 dry_run: bool = False) -> ImportReport:
    """Validate every feature, then insert or update by code — all or nothing.

    A rejected file changes nothing and lists every bad feature (row = feature number, from 1).
    An area never moves: its code extends its parent's (GB/T 2260), so the path is fixed by the code.
    Needs ``reference.write``; a stored import is written to the audit log.
    """
    authz.require(actor, REFERENCE_WRITE)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return ImportReport(errors=[RowError(0, "type", str(data.get("type") if isinstance(data, dict) else ""),
                                             "not a GeoJSON FeatureCollection")])
    with uow:
        s = uow.session
        existing = _existing(s)
        features, problems = parse_area_collection(data, existing, tolerance_m=tolerance_m)
        if problems:
            return ImportReport(errors=[RowError(p.index + 1, "geometry", p.code, p.reason) for p in problems])
        report = ImportReport()
        by_code = {a.code: a for a in s.scalars(select(Area))}
        for feature in features:
            _upsert(s, by_code, feature, report)
        if not dry_run:
            audit.record(s, actor, "reference.import", "areas",
                         {"created": report.created, "updated": report.updated, "unchanged": report.unchanged})
            uow.commit()
            geo_index.forget()  # this process sees the new grids at once; others within seconds
        return report


def _upsert(s: Session, by_code: dict[str, Area], f: AreaFeature, report: ImportReport) -> None:
    parent = by_code.get(f.parent_code) if f.parent_code else None
    path = f"{parent.path if parent else '/'}{f.code}/"
    boundary = json_safe(mapping(f.geometry))
    centroid = f.geometry.representative_point()
    area = by_code.get(f.code)
    if area is None:
        area = Area(code=f.code, name=f.name, level=f.level.value, parent_id=parent.id if parent else None,
                    path=path, boundary=boundary, centroid_lon=round(centroid.x, 6),
                    centroid_lat=round(centroid.y, 6))
        s.add(area)
        s.flush()
        by_code[f.code] = area
        report.created += 1
        return
    if area.level != f.level.value:
        raise Invalid(f"area {f.code} is a {area.level}; an import cannot make it a {f.level.value}", field="level")
    changed = (area.name, area.parent_id, area.boundary) != (f.name, parent.id if parent else None, boundary)
    if not changed:
        report.unchanged += 1
        return
    area.name, area.parent_id, area.boundary = f.name, (parent.id if parent else None), boundary
    area.centroid_lon, area.centroid_lat = round(centroid.x, 6), round(centroid.y, 6)
    report.updated += 1


# --- browsing ---------------------------------------------------------------------------------------


@dataclass
class AreaView:
    code: str
    name: str
    level: str
    parent_code: str | None
    path: list[str]
    centroid: tuple[float, float] | None
    children: int
    boundary: dict[str, Any] | None = None
    #: validity (issue #20): ``valid_to`` set = a retired version, ``successor`` its named successor
    valid_from: str | None = None
    valid_to: str | None = None
    successor: str | None = None


def _view(s: Session, a: Area, with_boundary: bool, children: int | None = None) -> AreaView:
    codes = [c for c in a.path.split("/") if c]
    if children is None:
        children = int(s.scalar(select(func.count(Area.id)).where(Area.parent_id == a.id)) or 0)
    return AreaView(code=a.code, name=a.name, level=a.level, parent_code=codes[-2] if len(codes) > 1 else None,
                    path=codes, centroid=(a.centroid_lon, a.centroid_lat)
                    if a.centroid_lon is not None and a.centroid_lat is not None else None,
                    children=children, boundary=a.boundary if with_boundary else None,
                    valid_from=a.valid_from.isoformat() if a.valid_from else None,
                    valid_to=a.valid_to.isoformat() if a.valid_to else None,
                    successor=s.scalar(select(Area.code).where(Area.id == a.successor_id)) if a.successor_id else None)


def get_area(uow: UnitOfWork, code: str, *, with_boundary: bool = True) -> tuple[AreaView, list[AreaView]]:
    """An area and its chain from the city down."""
    with uow:
        s = uow.session
        area = s.scalar(select(Area).where(Area.code == code))
        if area is None:
            raise NotFound(f"area {code} not found")
        chain_codes = [c for c in area.path.split("/") if c]
        chain = {a.code: a for a in s.scalars(select(Area).where(Area.code.in_(chain_codes)))}
        return _view(s, area, with_boundary), [_view(s, chain[c], False, 0) for c in chain_codes if c in chain]


def list_areas(uow: UnitOfWork, *, level: str | None = None, parent_code: str | None = None,
               with_boundary: bool = False, limit: int = 5000, include_retired: bool = False) -> list[AreaView]:
    """Areas by level and/or parent: the versions valid now, and the retired ones on request."""
    if level is not None and level not in {lv.value for lv in AreaLevel}:
        raise Invalid(f"level must be one of {', '.join(lv.value for lv in AreaLevel)}", field="level")
    with uow:
        s = uow.session
        stmt = select(Area)
        if not include_retired:
            stmt = stmt.where(Area.valid_to.is_(None))
        if level:
            stmt = stmt.where(Area.level == level)
        if parent_code:
            parent = s.scalar(select(Area).where(Area.code == parent_code))
            if parent is None:
                raise Invalid(f"unknown area '{parent_code}'", field="parent_code")
            stmt = stmt.where(Area.parent_id == parent.id)
        areas = list(s.scalars(stmt.order_by(Area.code).limit(limit)))
        counts = dict(s.execute(
            select(Area.parent_id, func.count(Area.id))
            .where(Area.parent_id.in_([a.id for a in areas])).group_by(Area.parent_id)).all())
        return [_view(s, a, with_boundary, int(counts.get(a.id, 0))) for a in areas]


@dataclass
class Location:
    found: bool
    lon: float
    lat: float
    grid: AreaView | None
    chain: list[AreaView]
    reason: str | None = None


def locate(uow: UnitOfWork, lon: float, lat: float, crs: str = "wgs84", layer: str = GOVERNANCE) -> Location:
    """Point → grid → city…grid chain. A point outside every grid is an answer, not an error. The grid is
    the governance grid's unless a special-purpose ``layer`` (the dual grid) is asked for."""
    if (problem := layer_problem(layer)) is not None:
        raise Invalid(problem, field="layer")
    try:
        wlon, wlat = to_wgs84(lon, lat, crs)
    except ValueError as exc:
        raise Invalid(str(exc), field="lon") from None
    with uow:
        code = grid_index(uow.session, layer).locate(wlon, wlat)
    if code is None:
        return Location(False, wlon, wlat, None, [], reason="the point is outside every grid")
    grid, chain = get_area(uow, code, with_boundary=False)
    return Location(True, wlon, wlat, grid, chain)
