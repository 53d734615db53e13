"""Units (centres, departments, village and grid units) and people: browse, import, export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import ImportResult, import_result, read_upload, table_response, upload
from shuzhi.services import organisation as org

router = APIRouter(tags=["organisation"])


@router.get("/api/units")
def list_units(uow: UowDep, _actor: ActorDep, kind: str | None = None, level: str | None = None,
               area_code: str | None = None) -> list[dict[str, str]]:
    """Units, filtered by kind, level and area (code prefix = subtree)."""
    return org.list_units(uow, kind=kind, level=level, area_code=area_code)


@router.get("/api/units/export")
def export_units(uow: UowDep, _actor: ActorDep, format: str = "xlsx") -> Response:
    """All units as CSV or XLSX, in the import format."""
    return table_response(org.export_units(uow), org.UNIT_COLUMNS, format, "units")


@router.post("/api/units/import", response_model=ImportResult)
async def import_units(file: Annotated[UploadFile, upload(perms.REFERENCE_WRITE)],
                       request: Request, uow: UowDep, actor: ActorDep, dry_run: bool = False) -> ImportResult:
    """Import units from CSV/XLSX; all or nothing, every bad row and column reported (422)."""
    rows = await read_upload(file, request)
    report = await run_in_threadpool(org.import_units, uow, rows, actor=actor, dry_run=dry_run)
    return import_result(report, "units", dry_run)


@router.get("/api/units/{code}")
def get_unit(code: str, uow: UowDep, _actor: ActorDep) -> dict[str, str]:
    """One unit with its duties and coverage."""
    return org.get_unit(uow, code)


@router.get("/api/people")
def list_people(uow: UowDep, actor: ActorDep, unit_code: str | None = None,
                role: str | None = None) -> list[dict[str, str]]:
    """People of the units in one's scope, by unit and role."""
    return org.list_people(uow, actor=actor, unit_code=unit_code, role=role)


@router.get("/api/people/export")
def export_people(uow: UowDep, actor: ActorDep, format: str = "xlsx") -> Response:
    """All people as CSV or XLSX (administrators; audited)."""
    return table_response(org.export_people(uow, actor), org.PEOPLE_COLUMNS, format, "people")


@router.post("/api/people/import", response_model=ImportResult)
async def import_people(file: Annotated[UploadFile, upload(perms.USER_ADMIN)],
                       request: Request, uow: UowDep, actor: ActorDep, dry_run: bool = False) -> ImportResult:
    """Import people from CSV/XLSX; all or nothing."""
    rows = await read_upload(file, request)
    report = await run_in_threadpool(org.import_people, uow, rows, actor=actor, dry_run=dry_run)
    return import_result(report, "people", dry_run)
