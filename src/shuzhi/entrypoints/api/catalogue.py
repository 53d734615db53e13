"""The event-class catalogue: browse, import, export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import ImportResult, import_result, read_upload, table_response, upload
from shuzhi.services import catalogue

router = APIRouter(prefix="/api/event-classes", tags=["catalogue"])


@router.get("")
def list_event_classes(uow: UowDep, _actor: ActorDep, kind: str | None = None, major_code: str | None = None,
                       mode: str | None = None) -> list[dict[str, str]]:
    """Event classes with their default mode, urgency and time limits."""
    return catalogue.list_event_classes(uow, kind=kind, major_code=major_code, mode=mode)


@router.get("/export")
def export_event_classes(uow: UowDep, _actor: ActorDep, format: str = "xlsx") -> Response:
    """The catalogue as CSV or XLSX, in the import format."""
    return table_response(catalogue.export_event_classes(uow), catalogue.CLASS_COLUMNS, format, "event_classes")


@router.post("/import", response_model=ImportResult)
async def import_event_classes(file: Annotated[UploadFile, upload(perms.REFERENCE_WRITE)],
                       request: Request, uow: UowDep, actor: ActorDep, dry_run: bool = False) -> ImportResult:
    """Import the catalogue from CSV/XLSX; all or nothing, limits checked."""
    rows = await read_upload(file, request)
    report = await run_in_threadpool(catalogue.import_event_classes, uow, rows, actor=actor, dry_run=dry_run)
    return import_result(report, "event classes", dry_run)


@router.get("/{code}")
def get_event_class(code: str, uow: UowDep, _actor: ActorDep) -> dict[str, str]:
    """One event class."""
    return catalogue.get_event_class(uow, code)
