"""Sensing: the indicator tree and devices (browse, import, export) and readings (in, latest, history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from shuzhi.adapters.json_table import read_json_table, write_json_table
from shuzhi.adapters.tabular import TableTooLarge, TabularError
from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import ImportResult, import_result, read_bytes, table_response, table_rows, upload
from shuzhi.services.commands import ensure_zoned
from shuzhi.services.errors import Invalid
from shuzhi.services.sensing import indicators, ingest, readings

router = APIRouter(tags=["sensing"])


async def _read_file(file: UploadFile, request: Request) -> list[dict[str, str]]:
    """CSV, XLSX or JSON rows, read in the thread pool, with the limits of uploads.table_rows."""
    data = await read_bytes(file, request.app.state.settings.max_import_bytes)
    if (file.filename or "").lower().endswith(".json"):
        return await run_in_threadpool(_json_rows, data)
    return await run_in_threadpool(table_rows, data, file.filename or "")


def _json_rows(data: bytes) -> list[dict[str, str]]:
    try:
        return read_json_table(data)
    except TableTooLarge as exc:
        raise Invalid(str(exc), field="file", details={"limit": exc.limit}) from None
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None


def _export(rows: list[dict[str, str]], columns: list[str], fmt: str, name: str) -> Response:
    if fmt == "json":
        return Response(write_json_table(rows), media_type="application/json",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.json"})
    return table_response(rows, columns, fmt, name)


@router.get("/api/indicators/tree")
def indicator_tree(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The knowledge tree: sectors → runways → sub-runways → indicators."""
    return indicators.tree(uow, actor)


@router.get("/api/indicators/export")
def export_indicators(uow: UowDep, actor: ActorDep, format: str = "xlsx") -> Response:
    """Every indicator with its place in the tree, as XLSX, CSV or JSON in the import format."""
    return _export(indicators.export_indicators(uow, actor), indicators.INDICATOR_COLUMNS, format, "indicators")


@router.post("/api/indicators/import", response_model=ImportResult)
async def import_indicators(file: Annotated[UploadFile, upload(perms.INDICATOR_WRITE)],
                            request: Request, uow: UowDep, actor: ActorDep,
                            dry_run: bool = False) -> ImportResult:
    """Import the tree and its indicators (XLSX/CSV/JSON); all or nothing, every bad row and column (422)."""
    rows = await _read_file(file, request)
    report = await run_in_threadpool(indicators.import_indicators, uow, rows, actor, dry_run=dry_run)
    return import_result(report, "indicators", dry_run)


@router.get("/api/indicators/{code}")
def get_indicator(code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One indicator: lineage, owner, unit, frequency, properties, areas and devices."""
    return indicators.get_indicator(uow, actor, code)


@router.get("/api/devices/export")
def export_devices(uow: UowDep, actor: ActorDep, format: str = "xlsx") -> Response:
    """Devices in the actor's scope, in the import format."""
    return _export(indicators.export_devices(uow, actor), indicators.DEVICE_COLUMNS, format, "devices")


@router.post("/api/devices/import", response_model=ImportResult)
async def import_devices(file: Annotated[UploadFile, upload(perms.INDICATOR_WRITE)],
                         request: Request, uow: UowDep, actor: ActorDep,
                         dry_run: bool = False) -> ImportResult:
    """Import devices (code, indicator, area, position); all or nothing."""
    rows = await _read_file(file, request)
    report = await run_in_threadpool(indicators.import_devices, uow, rows, actor, dry_run=dry_run)
    return import_result(report, "devices", dry_run)


@router.post("/api/readings")
async def submit_readings(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """Submit a batch of readings as JSON (an array, or ``{"readings": [...]}``) or CSV (``text/csv``).
    Each reading is stored, a duplicate, or rejected with its index and reason; the rest are kept."""
    settings = request.app.state.settings
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > settings.max_reading_batch_bytes:
            raise Invalid(f"the body is larger than {settings.max_reading_batch_bytes} bytes", field="body")
    is_csv = request.headers.get("content-type", "").split(";")[0].strip() in ("text/csv", "application/csv")

    def run() -> dict[str, Any]:
        items = ingest.parse_csv_batch(bytes(body)) if is_csv else ingest.parse_json_batch(bytes(body))
        result = ingest.ingest(uow, actor, items, max_future=timedelta(seconds=settings.reading_max_future_s),
                               default_retention_days=settings.reading_retention_days,
                               compress_after_days=settings.reading_compress_after_days)
        return result.as_dict()

    return Response(orjson.dumps(await run_in_threadpool(run)), media_type="application/json")


@router.get("/api/readings/latest")
def latest_readings(uow: UowDep, actor: ActorDep, indicator_code: str | None = None, area_code: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    """The newest value of every series in scope (filter by indicator and area subtree)."""
    return readings.latest(uow, actor, indicator_code=indicator_code, area_code=area_code, limit=limit)


@router.get("/api/readings/history")
def reading_history(uow: UowDep, actor: ActorDep, indicator_code: str, series: str,
                    start: datetime | None = None, end: datetime | None = None,
                    bucket_s: Annotated[int | None, Query(ge=0)] = None,
                    max_points: Annotated[int, Query(ge=10, le=5000)] = 500) -> dict[str, Any]:
    """One series over time; the bucket grows with the range (raw → minutes → hours from the rollups)."""
    ensure_zoned(start=start, end=end)
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=1)
    h = readings.history(uow, actor, indicator_code, series, start, end, bucket_s=bucket_s, max_points=max_points)
    return {"indicator_code": h.indicator_code, "series": h.series, "unit": h.unit, "bucket_s": h.bucket_s,
            "points": h.points}
