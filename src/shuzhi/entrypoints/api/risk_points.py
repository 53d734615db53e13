"""Risk points (风险点): the register on the map with each point's state, import, kinds, rectification."""

from __future__ import annotations

import gzip
import hashlib
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from shuzhi.adapters.json_table import read_any_table
from shuzhi.adapters.tabular import TableTooLarge, TabularError
from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import ImportResult, import_result, read_bytes, upload
from shuzhi.services.errors import Invalid
from shuzhi.services.sensing import rectification, risk_points
from shuzhi.services.ttl_cache import TTLCache

router = APIRouter(prefix="/api/risk-points", tags=["risk-points"])


class Kind(BaseModel):
    code: str = Field(max_length=30)
    name: str = Field(max_length=60)


class KindsIn(BaseModel):
    kinds: list[Kind] = Field(min_length=1, max_length=100)


class RectificationIn(BaseModel):
    #: true: rectification starts (整改中); false: it ended.
    active: bool
    reason: str = Field(min_length=1, max_length=2000)


class FindingIn(BaseModel):
    finding: str = Field(min_length=1, max_length=2000)


class RectStepIn(BaseModel):
    #: measures | done | verified | rejected | cancelled
    action: str = Field(max_length=12)
    note: str | None = Field(default=None, max_length=2000)
    measures: str | None = Field(default=None, max_length=2000)
    working_days: int | None = None
    version: int | None = None


class CheckIn(BaseModel):
    result: Literal["normal", "abnormal"]
    note: str = Field(default="", max_length=2000)
    lon: float | None = None
    lat: float | None = None


def _rows(data: bytes, filename: str) -> list[dict[str, str]]:
    try:
        return read_any_table(data, filename)
    except TableTooLarge as exc:
        raise Invalid(str(exc), field="file", details={"limit": exc.limit}) from None
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None


@router.get("", response_model=None)
def list_points(request: Request, uow: UowDep, actor: ActorDep,
                kind: Annotated[str | None, Query(max_length=30)] = None, state: str | None = None,
                limit: Annotated[int, Query(ge=1, le=50_000)] = 20_000) -> Response:
    """Risk points in your scope with their state (normal, watch, in_rectification, warning): the map layer.

    A cockpit asks again every half minute and mostly nothing changed: the answer carries an ETag, and
    ``If-None-Match`` gets a 304 without the (20,000-point) body. ``private``: it is cut to your scope.
    A client that accepts gzip gets the body gzipped (20,000 points: about 4.4 MB of JSON, a tenth of it
    compressed — seconds less on a wall display's link); each encoding has its own ETag."""
    return tagged_json(request, orjson.dumps(risk_points.list_points(uow, actor, kind=kind, state=state, limit=limit)))


def tagged_json(request: Request, body: bytes) -> Response:
    """``body`` with an ETag (``If-None-Match`` → 304), gzipped for a client that accepts it."""
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    gzipped = "gzip" in (request.headers.get("accept-encoding") or "").lower()
    tag = f'"{digest}-gz"' if gzipped else f'"{digest}"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if tag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    if gzipped:
        # level 5: most of level 9's size at a fraction of its CPU (the layer is asked every half minute)
        body = gzip.compress(body, compresslevel=5, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


# not under /api/risk-points: a point coded "layer" would hide it
layer_router = APIRouter(prefix="/api/cockpit", tags=["risk-points"])


#: The layer's encodings by (version, gzipped): every cockpit of a scope asks for the same layer.
_encoded: TTLCache[bytes] = TTLCache(ttl=600, maxsize=32)


@layer_router.get("/risk-layer", response_model=None)
def risk_layer(request: Request, uow: UowDep, actor: ActorDep,
               kind: Annotated[str | None, Query(max_length=30)] = None) -> Response:
    """The cockpit map's risk-point layer, compact: parallel arrays of code, kind, state, lon and lat.

    Only what the map draws (20,000 points: about a tenth of ``GET /api/risk-points``' JSON); a click
    fetches the point's details (``GET /api/risk-points/{code}``). ETag and gzip as that route; the ETag
    is the layer's version (``risk_points.map_layer_versioned``), so an unchanged layer is a 304 without
    being encoded, and a layer encoded once is sent as it is to every cockpit that asks for it."""
    layer = risk_points.map_layer_versioned(uow, actor, kind=kind)
    if layer.version is None:
        return tagged_json(request, orjson.dumps(layer.data))
    gzipped = "gzip" in (request.headers.get("accept-encoding") or "").lower()
    tag = f'"{layer.version}-gz"' if gzipped else f'"{layer.version}"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if tag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)

    def encode() -> bytes:
        body = orjson.dumps(layer.data)
        return gzip.compress(body, compresslevel=5, mtime=0) if gzipped else body

    body = _encoded.get((layer.version, gzipped), encode) or encode()
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


@router.get("/kinds")
def get_kinds(uow: UowDep, actor: ActorDep) -> list[dict[str, str]]:
    """The kinds of risk point registered here (危岩、地灾隐患点、易涝点 … by default)."""
    return risk_points.kinds(uow, actor)


@router.put("/kinds")
def put_kinds(body: KindsIn, uow: UowDep, actor: ActorDep) -> list[dict[str, str]]:
    """Replace the kinds (installation-wide; a kind in use stays); audited."""
    return risk_points.put_kinds(uow, actor, [k.model_dump() for k in body.kinds])


@router.post("/import", response_model=ImportResult)
async def import_points(file: Annotated[UploadFile, upload(perms.RISK_POINT_WRITE)], request: Request,
                        uow: UowDep, actor: ActorDep, dry_run: bool = False) -> ImportResult:
    """Import risk points from XLSX, CSV, JSON or GeoJSON (points); all or nothing, every bad row and column."""
    data = await read_bytes(file, request.app.state.settings.max_import_bytes)
    rows = await run_in_threadpool(_rows, data, file.filename or "")
    report = await run_in_threadpool(risk_points.import_risk_points, uow, rows, actor, dry_run=dry_run)
    return import_result(report, "risk points", dry_run)


@router.get("/{point_code}")
def get_point(point_code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One risk point: facts, state, the series watching it with their newest values, and its timeline."""
    return risk_points.get_point(uow, actor, point_code)


@router.post("/{point_code}/rectification")
def rectification_mark(point_code: str, body: RectificationIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Start or end rectification (整改) on the point, with the reason on its timeline."""
    return risk_points.mark_rectification(uow, actor, point_code, active=body.active, reason=body.reason)


@router.post("/{point_code}/checks", status_code=201)
def record_check(point_code: str, body: CheckIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Record a check made on the spot (a grid worker's phone); an abnormal one says what is wrong."""
    return risk_points.record_check(uow, actor, point_code, result=body.result, note=body.note,
                                    lon=body.lon, lat=body.lat)


@router.post("/{point_code}/rectifications")
def start_rectification(point_code: str, body: FindingIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """A problem found at the point: a rectification opens (整改中 on the map) — found → measures → done → verified."""
    return rectification.start(uow, actor, point_code, finding=body.finding)


@router.post("/{point_code}/rectifications/{rect_id}")
def rectification_step(point_code: str, rect_id: int, body: RectStepIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Move a rectification on: measures with a deadline in working days, done, verified, rejected, cancelled."""
    return rectification.step(uow, actor, point_code, rect_id, body.action, note=body.note, measures=body.measures,
                              working_days=body.working_days, expected_version=body.version)
