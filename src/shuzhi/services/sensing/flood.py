"""The flood-season view (汛期, issue #22): every waterlogging point (易涝点) in the reader's scope with its
state and, for each measure (rainfall, river level, water depth), the newest value of the nearest
monitoring series within a radius.

A series' position is its device's, or for a series measured at an area (a town's hourly rainfall) the
area's centroid. The nearest is found through a grid of cells one radius wide (only the 3 × 3 cells
around a point are measured), so the work grows with the points, not points × series. A measure with no
series within the radius falls back to a series of that indicator attached to the point (its watching
series), said so by ``via``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_sensing import Device, Indicator, LatestReading, RiskPoint, RiskPointSeries
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain import permissions as p
from shuzhi.domain import risk_points as rp
from shuzhi.domain.thresholds import LEVEL_RANK
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import authz
from shuzhi.services.sensing.risk_points import _kinds, _states
from shuzhi.services.sensing.vital_signs import _rule
from shuzhi.services.unit_of_work import UnitOfWork

#: The measures shown per point and the indicators that measure each (the demo's codes by default).
DEFAULT_MEASURES: dict[str, tuple[str, ...]] = {
    "rainfall": ("RAINFALL_1H",), "water_level": ("RIVER_LEVEL",), "water_depth": ("WATERLOGGING_DEPTH",)}
MAX_RADIUS_M = 50_000
STATE_ORDER = {"warning": 0, "watch": 1, "in_rectification": 2, "normal": 3}


class _Grid:
    """Candidates bucketed in cells about one radius wide (degrees of latitude; longitude widened by lat)."""

    def __init__(self, radius_m: float, items: Sequence[tuple[float, float, dict[str, Any]]]) -> None:
        self.cell = max(radius_m / 111_000.0, 1e-6)
        self.cells: dict[tuple[int, int], list[tuple[float, float, dict[str, Any]]]] = defaultdict(list)
        self.lon_cell = self.cell / max(0.2, math.cos(math.radians(30)))  # Chongqing sits near 30° N
        for it in items:
            self.cells[self._key(it[0], it[1])].append(it)

    def _key(self, lon: float, lat: float) -> tuple[int, int]:
        return math.floor(lon / self.lon_cell), math.floor(lat / self.cell)

    def near(self, lon: float, lat: float) -> list[tuple[float, float, object]]:
        kx, ky = self._key(lon, lat)
        return [it for dx in (-1, 0, 1) for dy in (-1, 0, 1) for it in self.cells.get((kx + dx, ky + dy), ())]


def _candidates(s: Session, actor: Actor, codes: Sequence[str], now: datetime,
                stale_after: float) -> list[tuple[float, float, dict[str, Any]]]:
    """Every series of the indicators ``codes`` in scope with a position and a newest reading."""
    out: list[tuple[float, float, dict[str, Any]]] = []
    rows = s.execute(
        select(Indicator.id, Indicator.code, Indicator.name, Indicator.unit, Indicator.frequency_s,
               LatestReading.series_key, LatestReading.at, LatestReading.value, Area.code, Area.name,
               Area.centroid_lon, Area.centroid_lat, Device.lon, Device.lat)
        .join(LatestReading, LatestReading.indicator_id == Indicator.id)
        .join(Area, Area.id == LatestReading.area_id)
        .outerjoin(Device, Device.code == LatestReading.series_key)
        .where(Indicator.code.in_(codes), authz.area_clause(actor, Area.path))).all()
    for (ind_id, code, name, unit, freq, key, at, value, area_code, area_name, alon, alat, dlon, dlat) in rows:
        lon, lat = (dlon, dlat) if dlon is not None and dlat is not None else (alon, alat)
        if lon is None or lat is None:
            continue
        out.append((float(lon), float(lat), {
            "indicator_id": ind_id, "indicator_code": code, "indicator_name": name, "unit": unit,
            "series_key": key, "area_code": area_code, "area_name": area_name, "value": value, "at": at,
            "stale": at < now - timedelta(seconds=freq * stale_after)}))
    return out


def flood_season(uow: UnitOfWork, actor: Actor, *, radius_m: float = 3000, kind: str = "waterlogging",
                 measures: dict[str, Sequence[str]] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """All points of ``kind`` (易涝点) in scope, their state, and each measure's nearest series in ``radius_m``."""
    authz.require(actor, p.INDICATOR_READ)
    if not 1 <= radius_m <= MAX_RADIUS_M:
        raise Invalid(f"the radius is 1 to {MAX_RADIUS_M} metres", field="radius_m")
    wanted = {k: tuple(v) for k, v in (measures or DEFAULT_MEASURES).items() if v}
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        if kind not in dict(_kinds(s)):
            raise Invalid(f"unknown kind '{kind}'", field="kind")
        stale_after = _rule(s).stale_after
        points = s.execute(
            select(RiskPoint.id, RiskPoint.code, RiskPoint.name, RiskPoint.grade, RiskPoint.lon, RiskPoint.lat,
                   RiskPoint.rectifying, Area.code.label("area_code"), Area.name.label("area_name"))
            .join(Area, Area.id == RiskPoint.area_id)
            .where(RiskPoint.kind == kind, RiskPoint.active.is_(True), authz.area_clause(actor, RiskPoint.area_path))
            .order_by(RiskPoint.code)).all()
        states = _states(s, None, actor)
        codes = sorted({c for v in wanted.values() for c in v})
        cands = _candidates(s, actor, codes, at, stale_after)
        firing: dict[tuple[int, str], str | None] = {}
        for ind_id, key, level in s.execute(
                select(IndicatorWarning.indicator_id, IndicatorWarning.series_key, IndicatorWarning.level)
                .join(Indicator, Indicator.id == IndicatorWarning.indicator_id)
                .where(Indicator.code.in_(codes), IndicatorWarning.state == "firing")):
            firing[(ind_id, key)] = level
        attached: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for pid, code, key in s.execute(
                select(RiskPointSeries.risk_point_id, Indicator.code, RiskPointSeries.series_key)
                .join(Indicator, Indicator.id == RiskPointSeries.indicator_id)
                .where(Indicator.code.in_(codes), RiskPointSeries.risk_point_id.in_([x.id for x in points] or [0]))):
            attached[pid].append((code, key))
    by_measure = {m: _Grid(radius_m, [c for c in cands if c[2]["indicator_code"] in inds])
                  for m, inds in wanted.items()}
    by_series = {(c[2]["indicator_code"], c[2]["series_key"]): c for c in cands}
    out = []
    counts: dict[str, int] = defaultdict(int)
    for pt in points:
        levels, pending = states.get(pt.id, ([], 0))
        state = rp.point_state(levels, pending, pt.rectifying).value
        counts[state] += 1
        entry: dict[str, Any] = {"code": pt.code, "name": pt.name, "grade": pt.grade, "lon": pt.lon, "lat": pt.lat,
                                 "area_code": pt.area_code, "area_name": pt.area_name, "state": state}
        for m, inds in wanted.items():
            found = rp.nearest(pt.lon, pt.lat, by_measure[m].near(pt.lon, pt.lat), radius_m)
            via = "nearest"
            if found is None:
                own = next((by_series[(c, k)] for c, k in attached.get(pt.id, ()) if c in inds and (c, k) in by_series),
                           None)
                found = (own[2], rp.distance_m(pt.lon, pt.lat, own[0], own[1])) if own is not None else None
                via = "attached"
            if found is None:
                entry[m] = None
                continue
            ser, dist = found
            assert isinstance(ser, dict)
            entry[m] = {**{k: v for k, v in ser.items() if k != "indicator_id"}, "distance_m": round(dist),
                        "via": via, "warning_level": firing.get((ser["indicator_id"], ser["series_key"]))}
        out.append(entry)

    def severity(e: dict[str, Any]) -> tuple[int, int, float, str]:
        worst = max((LEVEL_RANK.get((e[m] or {}).get("warning_level") or "", -1) for m in wanted), default=-1)
        rain = (e.get("rainfall") or {}).get("value") or 0.0
        return (STATE_ORDER.get(e["state"], 9), -worst, -float(rain), e["code"])

    out.sort(key=severity)
    return {"at": at, "kind": kind, "radius_m": radius_m, "measures": {k: list(v) for k, v in wanted.items()},
            "counts": dict(counts), "points": out}


def parse_measures(rain: str | None, level: str | None, depth: str | None) -> dict[str, Sequence[str]] | None:
    """``?rain=RAINFALL_1H&level=RIVER_LEVEL,RESERVOIR_LEVEL&depth=`` → the measures (None: the default)."""
    if rain is None and level is None and depth is None:
        return None
    out: dict[str, Sequence[str]] = {}
    for name, text, default in (("rainfall", rain, DEFAULT_MEASURES["rainfall"]),
                                ("water_level", level, DEFAULT_MEASURES["water_level"]),
                                ("water_depth", depth, DEFAULT_MEASURES["water_depth"])):
        codes = default if text is None else tuple(c.strip() for c in text.split(",") if c.strip())
        if len(codes) > 20 or any(len(c) > 40 for c in codes):
            raise Invalid("at most 20 indicator codes of 40 characters", field=name)
        out[name] = codes
    return out

