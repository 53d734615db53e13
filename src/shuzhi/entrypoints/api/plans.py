"""Contingency plans (预案): templates, activation, run boards, stand-down, and reviews (复盘)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Header, Request, Response, UploadFile
from pydantic import BaseModel

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import plans as p
from shuzhi.services import review as r
from shuzhi.services.errors import Invalid

router = APIRouter(prefix="/api", tags=["plans"])
Ref = Annotated[str, "event number (500111-20240613-000123) or id"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _download(body: bytes, media: str, name: str) -> Response:
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/plans", response_model=list[p.TemplateRecord])
def list_templates(uow: UowDep, actor: ActorDep) -> list[p.TemplateRecord]:
    """Every plan template (预案库)."""
    return p.list_templates(uow, actor)


@router.post("/plans", response_model=p.TemplateRecord)
def save_template(uow: UowDep, actor: ActorDep, document: Annotated[dict[str, Any], Body()]) -> p.TemplateRecord:
    """Create or change a template; refused with the JSON path of every problem."""
    return p.save_template(uow, document, actor)


@router.post("/plans/import", response_model=p.ImportReport)
async def import_templates(file: UploadFile, request: Request, uow: UowDep, actor: ActorDep) -> p.ImportReport:
    """Import templates from JSON or XLSX (sheets plans + tasks), all or nothing."""
    limit = request.app.state.settings.max_import_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise Invalid(f"the file is larger than {limit} bytes", field="file")
    return p.import_templates(uow, data, file.filename or "plans.json", actor)


@router.get("/plans/export")
def export_templates(uow: UowDep, actor: ActorDep, format: str = "json") -> Response:
    """Every template as JSON or XLSX, in the form the importer reads."""
    body = p.export_templates(uow, actor, format)
    media = "application/json" if format == "json" else XLSX
    return _download(body, media, f"预案.{format}")


@router.get("/plans/{code}", response_model=p.TemplateRecord)
def get_template(code: str, uow: UowDep, actor: ActorDep, version: int | None = None) -> p.TemplateRecord:
    """One template, or one of its earlier versions."""
    return p.get_template(uow, code, actor, version)


@router.post("/plans/{code}/activate", status_code=201, response_model=p.Activation)
def activate_manual(code: str, body: p.Activate, uow: UowDep, actor: ActorDep, response: Response,
                    idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> p.Activation:
    """Start a plan by hand for the affected areas; an event is registered for the run."""
    done = p.activate_manual(uow, code, body, actor, idempotency_key=idempotency_key)
    if not done.created:
        response.status_code = 200
    return done


@router.post("/events/{ref}/plans/{code}/activate", status_code=201, response_model=p.Activation)
def activate_on_event(ref: Ref, code: str, uow: UowDep, actor: ActorDep, response: Response,
                      body: p.Activate | None = None) -> p.Activation:
    """One click from an event (一键启动); a second click answers with the first run (200)."""
    done = p.activate_on_event(uow, ref, code, body or p.Activate(), actor)
    if not done.created:
        response.status_code = 200
    return done


@router.get("/events/{ref}/plans", response_model=list[p.RunSummary])
def runs_of_event(ref: Ref, uow: UowDep, actor: ActorDep) -> list[p.RunSummary]:
    """The plan runs nested under an event."""
    return p.list_runs(uow, actor, event_ref=ref)


@router.get("/plan-runs", response_model=list[p.RunSummary])
def list_runs(uow: UowDep, actor: ActorDep, state: str | None = None, warning_id: int | None = None,
              limit: int = 100) -> list[p.RunSummary]:
    """Plan runs, newest first (filter by state or by the warning that started them)."""
    return p.list_runs(uow, actor, state=state, warning_id=warning_id, limit=limit)


@router.get("/plan-runs/{run_id}", response_model=p.RunBoard)
def run_board(run_id: int, uow: UowDep, actor: ActorDep) -> p.RunBoard:
    """The run's board: every task with its unit, state and time left, and the affected areas."""
    return p.board(uow, run_id, actor)


@router.post("/plan-runs/{run_id}/confirm", response_model=p.Activation)
def confirm(run_id: int, body: p.Decide, uow: UowDep, actor: ActorDep) -> p.Activation:
    """Start a proposed run (the duty officer confirms a triggered plan)."""
    return p.confirm(uow, run_id, body, actor)


@router.post("/plan-runs/{run_id}/dismiss", response_model=p.RunBoard)
def dismiss(run_id: int, body: p.Decide, uow: UowDep, actor: ActorDep) -> p.RunBoard:
    """Decline a proposed run."""
    return p.dismiss(uow, run_id, body, actor)


@router.post("/plan-runs/{run_id}/stand-down", response_model=p.RunBoard)
def stand_down(run_id: int, body: p.StandDown, uow: UowDep, actor: ActorDep) -> p.RunBoard:
    """Stand down (解除响应): open tasks are cancelled with the reason."""
    return p.stand_down(uow, run_id, body, actor)


@router.post("/plan-runs/{run_id}/steps/{step_id}/redispatch", response_model=p.RunBoard)
def redispatch_step(run_id: int, step_id: int, body: p.Redispatch, uow: UowDep, actor: ActorDep) -> p.RunBoard:
    """Re-dispatch (改派) a returned or escalated task of the run; its dependants wait for the new one."""
    return p.redispatch_step(uow, run_id, step_id, body, actor)


# --- review (复盘) ---


class NotesIn(BaseModel):
    notes: str
    expected_version: int | None = None


def _review_response(report: r.Review, format: str) -> Any:
    if format == "json":
        return report
    from shuzhi.adapters import review_export

    if format == "html":
        return Response(review_export.to_html(report), media_type="text/html; charset=utf-8")
    if format == "docx":
        return _download(review_export.to_docx(report), DOCX, f"复盘-{report.subject}.docx")
    raise Invalid("format must be json, html or docx", field="format")


@router.get("/events/{ref}/review", response_model=None)
def review_event(ref: Ref, uow: UowDep, actor: ActorDep, format: str = "json") -> Any:
    """Review of a closed event: timeline, stage times against limits, lateness, returns, notes."""
    return _review_response(r.review_event(uow, ref, actor), format)


@router.get("/plan-runs/{run_id}/review", response_model=None)
def review_run(run_id: int, uow: UowDep, actor: ActorDep, format: str = "json") -> Any:
    """Review of a finished plan run (stood down, or its event closed); json, html or docx."""
    return _review_response(r.review_run(uow, run_id, actor), format)


@router.put("/events/{ref}/review/notes", response_model=r.Notes)
def event_notes(ref: Ref, body: NotesIn, uow: UowDep, actor: ActorDep) -> r.Notes:
    """Write the lessons learned of an event's review."""
    return r.save_notes(uow, "event", ref, body.notes, actor, body.expected_version)


@router.put("/plan-runs/{run_id}/review/notes", response_model=r.Notes)
def run_notes(run_id: int, body: NotesIn, uow: UowDep, actor: ActorDep) -> r.Notes:
    """Write the lessons learned of a plan run's review."""
    return r.save_notes(uow, "run", str(run_id), body.notes, actor, body.expected_version)
