"""File upload and download helpers shared by the import/export routes."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response, UploadFile
from pydantic import BaseModel

from shuzhi.adapters.tabular import TabularError, read_table, write_csv, write_xlsx
from shuzhi.services.errors import Invalid
from shuzhi.services.importing import ImportReport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    dry_run: bool


async def read_upload(file: UploadFile, request: Request) -> list[dict[str, str]]:
    """The uploaded CSV/XLSX as rows; too large or unreadable files are a 422 on ``file``."""
    limit = request.app.state.settings.max_import_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise Invalid(f"the file is larger than {limit} bytes", field="file")
    try:
        return read_table(data, file.filename or "")
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None


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
