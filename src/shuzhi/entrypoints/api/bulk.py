"""Bulk import and export of events as CSV or XLSX files."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep, client_ip
from shuzhi.entrypoints.api.uploads import read_bytes, table_rows, upload
from shuzhi.services import bulk_events
from shuzhi.services.commands import ensure_zoned
from shuzhi.services.queries import EventFilter

router = APIRouter(prefix="/api/bulk/events", tags=["events"])


class RowErrorOut(BaseModel):
    row: int
    column: str | None
    value: str | None
    message: str


class BulkReportOut(BaseModel):
    rows: int
    created: int
    skipped: int
    rejected: int
    errors: list[RowErrorOut]


@router.post("/import", response_model=BulkReportOut)
async def import_events(file: Annotated[UploadFile, upload(perms.EVENT_IMPORT)],
                        request: Request, uow: UowDep, actor: ActorDep) -> BulkReportOut:
    """Import events from CSV/XLSX: valid rows are registered, bad rows listed by row and column;
    rows imported before (same source and external_ref) are skipped."""


    data = await read_bytes(file, request.app.state.settings.max_import_bytes)
    name = file.filename or "events.csv"
    rows = await run_in_threadpool(table_rows, data, name)
    report = await run_in_threadpool(bulk_events.import_events, uow, actor, rows, label=name[:100])
    return BulkReportOut(rows=report.rows, created=report.created, skipped=report.skipped, rejected=report.rejected,
                         errors=[RowErrorOut(**e.__dict__) for e in report.errors[:1000]])


@router.get("/export")
def export_events(
    request: Request,
    uow: UowDep,
    actor: ActorDep,
    format: Literal["csv", "xlsx"] = "csv",
    state: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    event_class: Annotated[list[str], Query()] = [],  # noqa: B006
    source: Annotated[list[str], Query()] = [],  # noqa: B006
    area_code: str | None = None,
    unit_code: str | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    reveal: Annotated[bool, Query(description="reporters' personal data unmasked (audited)")] = False,
    reason: Annotated[str, Query(max_length=500, description="why the data is needed (with reveal)")] = "",
) -> Response:
    """Export the events you may see that match the filters; reporters' data masked unless revealed."""
    ensure_zoned(received_from=received_from, received_to=received_to)
    f = EventFilter(state=state, event_class=event_class, source=source, area_code=area_code, unit_code=unit_code,
                    received_from=received_from, received_to=received_to)
    rows = bulk_events.export_events(uow, actor, f, reveal=reveal, reason=reason, ip=client_ip(request))
    filename = f"events.{format}"
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
    if format == "xlsx":
        return Response(bulk_events.xlsx_bytes(rows), headers=headers,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return StreamingResponse(bulk_events.csv_chunks(rows), media_type="text/csv; charset=utf-8", headers=headers)
