"""Ledgers (台账): ledgers, items, progress reports, sign-off, Excel import/export, bulletins, figures."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from shuzhi.domain import permissions as P
from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.entrypoints.api.uploads import UploadForm, read_bytes, upload_form
from shuzhi.services.errors import Invalid
from shuzhi.services.ledgers import board, books, browse, bulletin, event_links, excel, figures, items, progress

router = APIRouter(prefix="/api", tags=["ledgers"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: bytes, media: str, name: str, inline: bool = False) -> Response:
    kind = "inline" if inline else "attachment"
    return Response(body, media_type=media, headers={"Content-Disposition": f"{kind}; filename*=UTF-8''{quote(name)}",
                                                     "X-Content-Type-Options": "nosniff"})


@router.get("/ledger-board", response_model=board.LedgerBoard)
def ledger_board(uow: UowDep, actor: ActorDep) -> board.LedgerBoard:
    """The five-colour state of every ledger you see, and their sum (the cockpit's ledger panel)."""
    return board.board(uow, actor)


@router.get("/ledgers", response_model=list[books.LedgerRecord])
def list_ledgers(uow: UowDep, actor: ActorDep) -> list[books.LedgerRecord]:
    """The ledgers in the caller's scope (whole, or its own items of them)."""
    return books.list_ledgers(uow, actor)


@router.post("/ledgers", response_model=books.LedgerRecord)
def save_ledger(cmd: books.LedgerCommand, uow: UowDep, actor: ActorDep) -> books.LedgerRecord:
    """Create a ledger, or change one (same code): kind, columns, owner, visibility, schedule."""
    return books.save_ledger(uow, cmd, actor)


@router.get("/ledgers/{code}", response_model=books.LedgerRecord)
def get_ledger(code: str, uow: UowDep, actor: ActorDep) -> books.LedgerRecord:
    """One ledger with its columns and counts."""
    return books.get_ledger(uow, actor, code)


def _field_filters(field: list[str]) -> dict[str, str]:
    out = {}
    for i, f in enumerate(field):
        key, sep, value = f.partition(":")
        if not sep or not key:
            raise Invalid("field filters are key:value", field=f"field[{i}]")
        out[key] = value
    return out


@router.get("/ledgers/{code}/items", response_model=browse.ItemPage)
def list_items(code: str, uow: UowDep, actor: ActorDep, view: str = "active",
               state: Annotated[list[str] | None, Query()] = None,
               colour: Annotated[list[str] | None, Query()] = None, unit: str | None = None,
               leader: str | None = None, q: str | None = None,
               field: Annotated[list[str] | None, Query(description="custom column filter key:value")] = None,
               top_level: bool = False, limit: int = 50, offset: int = 0) -> browse.ItemPage:
    """The ledger's items in scope, filtered, a page at a time, with the five-colour counts."""
    f = browse.ItemFilter.model_validate({"view": view, "state": state or [], "colour": colour or [], "unit": unit,
                                         "leader": leader, "q": q, "fields": _field_filters(field or []),
                                         "top_level": top_level, "limit": limit, "offset": offset})
    return browse.list_items(uow, code, f, actor)


@router.post("/ledgers/{code}/items", status_code=201, response_model=items.ItemView)
def create_item(code: str, cmd: items.ItemCommand, uow: UowDep, actor: ActorDep) -> items.ItemView:
    """A new item, or a sub-item (``parent_id``) assigned down the levels."""
    return items.create_item(uow, code, cmd, actor)


@router.get("/ledgers/{code}/leaders", response_model=list[str])
def list_leaders(code: str, uow: UowDep, actor: ActorDep) -> list[str]:
    """The responsible leaders named in the ledger."""
    return browse.leaders(uow, code, actor)


def _json_form(text: str | None, name: str) -> Any:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise Invalid(f"{name} must be JSON", field=name) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise Invalid(f"{name} must be an object of texts", field=name)
    return value


#: The import form: the sheet, the column mapping and the confirmed unit names (JSON texts). Parsed
#: only once the person may manage ledgers at all (uploads.upload_form); which ledger he may manage is
#: the service's check.
ImportForm = Annotated[UploadForm, upload_form(P.LEDGER_MANAGE, fields=("mapping", "unit_aliases"))]


@router.post("/ledgers/{code}/import/preview", response_model=excel.ImportPreview)
async def preview_import(code: str, form: ImportForm, request: Request, uow: UowDep,
                         actor: ActorDep) -> excel.ImportPreview:
    """What importing the spreadsheet would write, every row error (in Chinese) and unit suggestions."""
    data = await read_bytes(form.file, request.app.state.settings.max_import_bytes)
    return excel.preview(uow, code, data, form.file.filename or "ledger.xlsx", actor,
                         mapping=_json_form(form.fields["mapping"], "mapping"),
                         unit_aliases=_json_form(form.fields["unit_aliases"], "unit_aliases"))


@router.post("/ledgers/{code}/import", response_model=excel.ImportResult)
async def commit_import(code: str, form: ImportForm, request: Request, uow: UowDep,
                        actor: ActorDep) -> excel.ImportResult:
    """Import the spreadsheet, all or nothing; the mapping and confirmed unit names are remembered."""
    data = await read_bytes(form.file, request.app.state.settings.max_import_bytes)
    return excel.commit(uow, code, data, form.file.filename or "ledger.xlsx", actor,
                        mapping=_json_form(form.fields["mapping"], "mapping"),
                        unit_aliases=_json_form(form.fields["unit_aliases"], "unit_aliases"))


@router.get("/ledgers/{code}/export")
def export_ledger(code: str, uow: UowDep, actor: ActorDep) -> Response:
    """The ledger as .xlsx, in the layout of its last import."""
    body, name = excel.export(uow, code, actor)
    return _download(body, XLSX, name)


def _bulletin_response(b: bulletin.BulletinView, format: str) -> Any:
    if format == "json":
        return b
    body, media, name = bulletin.render(b, format)
    return _download(body, media, name, inline=format == "html")


@router.get("/ledgers/{code}/bulletin", response_model=None)
def preview_bulletin(code: str, uow: UowDep, actor: ActorDep, period_kind: str = "monthly", day: str | None = None,
                     format: str = "json") -> Any:
    """The period's bulletin as it would be published (json, html, xlsx or docx)."""
    return _bulletin_response(bulletin.build(uow, code, actor, period_kind=period_kind, day=day), format)


class PublishCommand(BaseModel):
    period_kind: str = "monthly"
    day: str | None = None


@router.post("/ledgers/{code}/bulletins", status_code=201, response_model=bulletin.BulletinView)
def publish_bulletin(code: str, cmd: PublishCommand, uow: UowDep, actor: ActorDep) -> bulletin.BulletinView:
    """Publish the period's bulletin (晒账) to the ledger's peers."""
    return bulletin.publish(uow, code, actor, period_kind=cmd.period_kind, day=cmd.day)


@router.get("/ledgers/{code}/bulletins", response_model=list[bulletin.BulletinView])
def list_bulletins(code: str, uow: UowDep, actor: ActorDep) -> list[bulletin.BulletinView]:
    """Published bulletins, newest first."""
    return bulletin.list_bulletins(uow, code, actor)


@router.get("/ledgers/{code}/bulletins/{bulletin_id}", response_model=None)
def get_bulletin(code: str, bulletin_id: int, uow: UowDep, actor: ActorDep, format: str = "json") -> Any:
    """A published bulletin (json, html, xlsx or docx)."""
    return _bulletin_response(bulletin.get_bulletin(uow, code, bulletin_id, actor), format)


@router.get("/ledger-items/{item_id}", response_model=items.ItemView)
def get_item(item_id: int, uow: UowDep, actor: ActorDep) -> items.ItemView:
    """One item with its colour and the actions the caller may take."""
    return progress.get_item(uow, item_id, actor)


@router.put("/ledger-items/{item_id}", response_model=items.ItemView)
def update_item(item_id: int, cmd: items.ItemCommand, uow: UowDep, actor: ActorDep,
                expected_version: int | None = None) -> items.ItemView:
    """Change an item's "四合一" (the ledger's runner)."""
    return items.update_item(uow, item_id, cmd, actor, expected_version=expected_version)


@router.post("/ledger-items/{item_id}/actions", response_model=items.ItemView)
def act(item_id: int, cmd: items.ActionCommand, uow: UowDep, actor: ActorDep) -> items.ItemView:
    """start, submit, sign_off, reject, reopen, suspend, resume, cancel."""
    return items.act(uow, item_id, cmd, actor)


@router.post("/ledger-items/{item_id}/reports", response_model=items.ItemView)
def report(item_id: int, cmd: progress.ReportCommand, uow: UowDep, actor: ActorDep) -> items.ItemView:
    """Report progress (对账) as the item's lead unit."""
    return progress.report_progress(uow, item_id, cmd, actor)


@router.get("/ledger-items/{item_id}/reports", response_model=list[progress.ReportView])
def list_reports(item_id: int, uow: UowDep, actor: ActorDep) -> list[progress.ReportView]:
    """The item's progress reports, newest first."""
    return progress.list_reports(uow, item_id, actor)


@router.get("/ledger-items/{item_id}/children", response_model=list[items.ItemView])
def list_children(item_id: int, uow: UowDep, actor: ActorDep) -> list[items.ItemView]:
    """The sub-items in scope."""
    return progress.children(uow, item_id, actor)


@router.get("/ledger-items/{item_id}/timeline", response_model=list[progress.TimelineView])
def timeline(item_id: int, uow: UowDep, actor: ActorDep) -> list[progress.TimelineView]:
    """The item's immutable history."""
    return progress.timeline(uow, item_id, actor)


@router.post("/ledger-items/{item_id}/attachments", status_code=201, response_model=progress.AttachmentView)
async def upload(item_id: int, form: Annotated[UploadForm, upload_form(P.LEDGER_REPORT,
                                                                       fields=("purpose",))],
                 request: Request, uow: UowDep, actor: ActorDep) -> progress.AttachmentView:
    """Evidence, a reply document or a report's annex (JPEG, PNG, WebP, PDF, DOCX, XLSX); form fields
    ``file`` and ``purpose`` (default evidence)."""
    limit = request.app.state.settings.max_attachment_bytes
    data = await form.file.read(limit + 1)
    return progress.add_attachment(uow, item_id, form.fields["purpose"] or "evidence", form.file.filename or "file",
                                   form.file.content_type or "", data, actor, max_bytes=limit)


@router.get("/ledger-items/{item_id}/attachments", response_model=list[progress.AttachmentView])
def list_attachments(item_id: int, uow: UowDep, actor: ActorDep) -> list[progress.AttachmentView]:
    """The item's files."""
    return progress.list_attachments(uow, item_id, actor)


@router.get("/ledger-attachments/{ledger_attachment_id}")
def download(ledger_attachment_id: int, uow: UowDep, actor: ActorDep) -> Response:
    """The file itself, never sniffed as HTML."""
    att = progress.get_attachment(uow, ledger_attachment_id, actor)
    return _download(att.data, att.content_type, att.filename, inline=True)


@router.post("/ledger-items/{item_id}/links", response_model=list[progress.LinkView])
def link(item_id: int, cmd: progress.LinkCommand, uow: UowDep, actor: ActorDep) -> list[progress.LinkView]:
    """Link the item to an event (a case from this task, or one of the events behind a problem)."""
    return progress.link_event(uow, item_id, cmd, actor)


@router.get("/ledger-items/{item_id}/links", response_model=list[progress.LinkView])
def links(item_id: int, uow: UowDep, actor: ActorDep) -> list[progress.LinkView]:
    """The events linked to the item (those in the caller's scope)."""
    return progress.list_links(uow, item_id, actor)


@router.post("/ledgers/{code}/items/from-events", status_code=201, response_model=items.ItemView)
def from_events(code: str, cmd: event_links.FromEventsCommand, uow: UowDep, actor: ActorDep) -> items.ItemView:
    """A pattern of events (a hot spot) made one problem to rectify, linked to every event, in one action."""
    return event_links.problem_from_events(uow, code, cmd, actor)


@router.get("/events/{ref}/ledger-items", response_model=list[event_links.EventItem])
def event_items(ref: Ref, uow: UowDep, actor: ActorDep) -> list[event_links.EventItem]:
    """The ledger items linked to the event (the task it arose from, the problem it is part of)."""
    return event_links.items_of_event(uow, ref, actor)


@router.get("/ledger-figures", response_model=figures.Figures)
def ledger_figures(uow: UowDep, actor: ActorDep, period_kind: str = "monthly", day: str | None = None,
                   ledger: str | None = None, by: str = "unit") -> figures.Figures:
    """Ranked figures per unit or leader for 每月通报/季度/半年小结/年度考评, with the previous period."""
    return figures.figures(uow, actor, period_kind=period_kind, day=day, ledger_code=ledger, by=by)
