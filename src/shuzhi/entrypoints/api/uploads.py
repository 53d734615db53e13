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
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

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


@dataclass(frozen=True)
class UploadForm:
    """The file of an upload form and its small text fields (``None`` when not sent)."""

    file: StarletteUpload  # what the parsed form holds (FastAPI's UploadFile is a subclass of it)
    fields: dict[str, str | None]


def _dependency(permissions: tuple[str, ...], fields: tuple[str, ...]) -> Any:
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
            if not fields:
                yield file
                return
            values: dict[str, str | None] = {}
            for name in fields:
                value = form.get(name)
                if value is not None and not isinstance(value, str):
                    raise Invalid(f"{name} must be a text field, not a file", field=name)
                values[name] = value
            yield UploadForm(file, values)
        finally:
            await form.close()

    dependency.takes_upload = True  # type: ignore[attr-defined]  # found by document_uploads
    dependency.form_fields = fields  # type: ignore[attr-defined]
    return Depends(dependency)


def upload(*permissions: str) -> Any:
    """Dependency: the form's ``file``, parsed only after the actor holds one of ``permissions``.

    Use as ``file: UploadFile = upload(P.REFERENCE_WRITE)``; the route must not declare form fields
    (they would make FastAPI parse the body first): a route that needs some takes :func:`upload_form`.
    """
    return _dependency(permissions, ())


def upload_form(*permissions: str, fields: tuple[str, ...]) -> Any:
    """Dependency: an :class:`UploadForm` (the file and the named text ``fields``), parsed only after
    the actor holds one of ``permissions`` — as :func:`upload`, for routes whose form has fields."""
    return _dependency(permissions, fields)


def _upload_body(fields: tuple[str, ...]) -> dict[str, Any]:
    """What an upload route's request body is, for /docs and for clients generated from the document:
    the form is parsed by the dependency, not declared as parameters, so FastAPI cannot see it."""
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary",
                                           "description": "the file (form field 'file')"}}
    properties.update({name: {"type": "string"} for name in fields})
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": properties}}}}}


def document_uploads(routes: Any) -> None:
    """Give every route that takes its file through :func:`upload` its multipart body in the OpenAPI
    document (called once by the app factory, after the routers are included)."""
    from fastapi.routing import APIRoute

    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        for d in route.dependant.dependencies:
            if getattr(d.call, "takes_upload", False):
                body = _upload_body(getattr(d.call, "form_fields", ()))
                route.openapi_extra = {**(route.openapi_extra or {}), **body}


async def read_bytes(file: StarletteUpload, limit: int) -> bytes:
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
