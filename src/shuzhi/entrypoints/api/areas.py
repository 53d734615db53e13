"""The area tree: import, browse, GeoJSON for maps, point location."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import read_bytes, upload
from shuzhi.services import areas
from shuzhi.services.errors import Invalid

router = APIRouter(prefix="/api/areas", tags=["areas"])


class AreaOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    path: list[str]
    centroid: tuple[float, float] | None
    children: int
    boundary: dict[str, Any] | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    successor: str | None = None


class AreaDetail(AreaOut):
    chain: list[AreaOut]


class LocationOut(BaseModel):
    found: bool
    lon: float
    lat: float
    grid: AreaOut | None
    chain: list[AreaOut]
    reason: str | None


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    dry_run: bool


def _out(v: areas.AreaView) -> AreaOut:
    return AreaOut(**v.__dict__)


@router.get("", response_model=list[AreaOut])
def list_areas(uow: UowDep, _actor: ActorDep, level: str | None = None, parent_code: str | None = None,
               with_boundary: bool = False, include_retired: bool = False) -> list[AreaOut]:
    """Areas by level and/or parent (boundaries on request; retired versions on request)."""
    return [_out(v) for v in areas.list_areas(uow, level=level, parent_code=parent_code,
                                              with_boundary=with_boundary, include_retired=include_retired)]


@router.get("/geojson")
def areas_geojson(uow: UowDep, _actor: ActorDep, level: str = "town",
                  parent_code: str | None = None) -> dict[str, Any]:
    """A FeatureCollection of one level's boundaries, for drawing maps offline."""
    views = areas.list_areas(uow, level=level, parent_code=parent_code, with_boundary=True, limit=100_000)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": v.boundary,
         "properties": {"code": v.code, "name": v.name, "level": v.level, "parent_code": v.parent_code}}
        for v in views if v.boundary]}


@router.get("/locate", response_model=LocationOut)
def locate(uow: UowDep, _actor: ActorDep, lon: Annotated[float, Query(ge=-180, le=180)],
           lat: Annotated[float, Query(ge=-90, le=90)],
           crs: Annotated[str, Query(pattern="^(wgs84|gcj02)$")] = "wgs84",
           layer: Annotated[str, Query(max_length=12)] = "governance") -> LocationOut:
    """Resolve a point (WGS-84 or GCJ-02) to its grid (the governance grid unless ``layer`` names a
    special-purpose one) and the chain city → grid."""
    loc = areas.locate(uow, lon, lat, crs, layer)
    return LocationOut(found=loc.found, lon=loc.lon, lat=loc.lat, grid=_out(loc.grid) if loc.grid else None,
                       chain=[_out(c) for c in loc.chain], reason=loc.reason)


@router.get("/{code}", response_model=AreaDetail)
def get_area(code: str, uow: UowDep, _actor: ActorDep, with_boundary: bool = True) -> AreaDetail:
    """One area with its boundary and chain."""
    view, chain = areas.get_area(uow, code, with_boundary=with_boundary)
    return AreaDetail(**view.__dict__, chain=[_out(c) for c in chain])


@router.post("/import", response_model=ImportResult)
async def import_areas(file: Annotated[UploadFile, upload(perms.REFERENCE_WRITE)],
                       request: Request, uow: UowDep, actor: ActorDep, dry_run: bool = False,
                       tolerance_m: Annotated[float, Query(ge=0, le=1000)] = 20.0) -> ImportResult:
    """Import a GeoJSON FeatureCollection; all or nothing, every bad feature reported (422)."""
    raw = await read_bytes(file, request.app.state.settings.max_import_bytes)
    try:
        data = await run_in_threadpool(json.loads, raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"not GeoJSON: {exc}", field="file") from None
    report = await run_in_threadpool(areas.import_areas, uow, data, actor=actor, tolerance_m=tolerance_m,
                                     dry_run=dry_run)
    report.raise_if_rejected("areas")
    return ImportResult(created=report.created, updated=report.updated, unchanged=report.unchanged,
                        dry_run=dry_run)
