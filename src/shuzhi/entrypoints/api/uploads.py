"""File upload and download helpers shared by the import/export routes.

An upload route takes its file through :func:`upload` rather than a FastAPI ``UploadFile`` parameter:
FastAPI parses a declared form body *before* any dependency runs, so a person without the right would
still make the server read and spool a 50 MB multipart body. Here the actor is resolved and the
permission checked first; only then is the form parsed (one file, few fields, each part bounded).
Reading the file into rows runs in the thread pool, never on the event loop, and stops at the row
and unpacked-size limits of :mod:`shuzhi.adapters.tabular` (413 for bytes, 422 for rows, the limit
named in ``details``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shuzhi.adapters.tabular import TableTooLarge, TabularError, read_table, write_csv, write_xlsx
from shuzhi.entrypoints.api.deps import ActorDep
from shuzhi.services.errors import Invalid, TooLarge
from shuzhi.services.importing import ImportReport
from shuzhi.services.security import authz

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The form of an upload: the file and a handful of small fields.
_MAX_FIELDS = 10
_MAX_FIELD_BYTES = 64 * 1024


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    dry_run: bool


def upload(*permissions: str) -> Any:
    """Dependency: the form's ``file``, parsed only after the actor holds one of ``permissions``.

    Use as ``file: UploadFile = upload(P.REFERENCE_WRITE)``; the route must not declare other form
    fields (they would make FastAPI parse the body first).
    """

    async def dependency(request: Request, actor: ActorDep) -> AsyncIterator[Any]:
        authz.require_any(actor, *permissions)
        try:
            form = await request.form(max_files=1, max_fields=_MAX_FIELDS, max_part_size=_MAX_FIELD_BYTES)
        except Exception as exc:  # starlette raises MultiPartException / HTTPException(400) variants
            if getattr(exc, "status_code", 400) == 413:
                raise
            raise Invalid(f"not a readable upload form: {getattr(exc, 'detail', None) or exc}", field="file") from None
        try:
            file = form.get("file")
            if file is None or isinstance(file, str):
                raise Invalid("send the file as the multipart form field 'file'", field="file")
            yield file
        finally:
            await form.close()

    dependency.takes_upload = True  # type: ignore[attr-defined]  # found by document_uploads
    return Depends(dependency)


#: What an upload route's request body is, for /docs and for clients generated from the document: the
#: form is parsed by :func:`upload`, not declared as a parameter, so FastAPI cannot see it.
_UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "the file (form field 'file')"}},
}}}}}


def document_uploads(routes: Any) -> None:
    """Give every route that takes its file through :func:`upload` its multipart body in the OpenAPI
    document (called once by the app factory, after the routers are included)."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute) and any(getattr(d.call, "takes_upload", False)
                                               for d in route.dependant.dependencies):
            route.openapi_extra = {**(route.openapi_extra or {}), **_UPLOAD_BODY}


async def read_bytes(file: UploadFile, limit: int) -> bytes:
    """At most ``limit`` bytes of the upload; more is a 413 naming the limit."""
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the file is larger than {limit} bytes", field="file",
                       details={"limit": "file_bytes", "max": limit})
    return data


def table_rows(data: bytes, filename: str, sheet: str | None = None) -> list[dict[str, str]]:
    """:func:`read_table` with its errors as the API answers them (413 / 422, the limit named)."""
    try:
        return read_table(data, filename, sheet)
    except TableTooLarge as exc:
        if exc.limit == "rows":
            raise Invalid(str(exc), field="file", details={"limit": exc.limit}) from None
        raise TooLarge(str(exc), field="file", details={"limit": exc.limit}) from None
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None


async def read_upload(file: UploadFile, request: Request) -> list[dict[str, str]]:
    """The uploaded CSV/XLSX as rows, read in the thread pool; over a limit: 413 / 422 on ``file``."""
    data = await read_bytes(file, request.app.state.settings.max_import_bytes)
    return await run_in_threadpool(table_rows, data, file.filename or "")


def import_result(report: ImportReport, what: str, dry_run: bool) -> ImportResult:
    report.raise_if_rejected(what)
    return ImportResult(created=report.created, updated=report.updated, unchanged=report.unchanged, dry_run=dry_run)


def table_response(rows: list[dict[str, str]], columns: list[str], fmt: str, name: str) -> Response:
    if fmt == "xlsx":
        body, media, ext = write_xlsx(rows, columns, title=name), XLSX, "xlsx"
    elif fmt == "csv":
        body, media, ext = write_csv(rows, columns), "text/csv; charset=utf-8", "csv"
    else:
        raise Invalid("format must be csv or xlsx", field="format")
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{ext}"})
