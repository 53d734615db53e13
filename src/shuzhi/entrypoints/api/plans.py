"""Contingency plans (预案): templates, activation, run boards, stand-down, and reviews (复盘)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shuzhi.domain import permissions as perms
from shuzhi.domain.review import Notes, Review
from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.entrypoints.api.uploads import read_bytes, upload
from shuzhi.services.errors import Invalid
from shuzhi.services.plans import activation as plan_activation
from shuzhi.services.plans import review as r
from shuzhi.services.plans import runs as plan_runs
from shuzhi.services.plans import templates as plan_templates

router = APIRouter(prefix="/api", tags=["plans"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _download(body: bytes, media: str, name: str) -> Response:
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/plans", response_model=list[plan_templates.TemplateRecord])
def list_templates(uow: UowDep, actor: ActorDep) -> list[plan_templates.TemplateRecord]:
    """Every plan template (预案库)."""
    return plan_templates.list_templates(uow, actor)


@router.post("/plans", response_model=plan_templates.TemplateRecord)
def save_template(uow: UowDep, actor: ActorDep,
                  document: Annotated[dict[str, Any], Body()]) -> plan_templates.TemplateRecord:
    """Create or change a template; refused with the JSON path of every problem."""
    return plan_templates.save_template(uow, document, actor)


@router.post("/plans/import", response_model=plan_templates.ImportReport)
async def import_templates(file: Annotated[UploadFile, upload(perms.PLAN_WRITE)], request: Request, uow: UowDep,
                           actor: ActorDep) -> plan_templates.ImportReport:
    """Import templates from JSON or XLSX (sheets plans + tasks), all or nothing."""
    data = await read_bytes(file, request.app.state.settings.max_import_bytes)
    return await run_in_threadpool(plan_templates.import_templates, uow, data, file.filename or "plans.json", actor)


@router.get("/plans/export")
def export_templates(uow: UowDep, actor: ActorDep, format: str = "json") -> Response:
    """Every template as JSON or XLSX, in the form the importer reads."""
    body = plan_templates.export_templates(uow, actor, format)
    media = "application/json" if format == "json" else XLSX
    return _download(body, media, f"预案.{format}")


@router.get("/plans/{code}", response_model=plan_templates.TemplateRecord)
def get_template(code: str, uow: UowDep, actor: ActorDep, version: int | None = None) -> plan_templates.TemplateRecord:
    """One template, or one of its earlier versions."""
    return plan_templates.get_template(uow, code, actor, version)


@router.post("/plans/{code}/activate", status_code=201, response_model=plan_activation.Activation)
def activate_manual(code: str, body: plan_activation.Activate, uow: UowDep, actor: ActorDep, response: Response,
                    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
                    ) -> plan_activation.Activation:
    """Start a plan by hand for the affected areas; an event is registered for the run."""
    done = plan_activation.activate_manual(uow, code, body, actor, idempotency_key=idempotency_key)
    if not done.created:
        response.status_code = 200
    return done


@router.post("/events/{ref}/plans/{code}/activate", status_code=201, response_model=plan_activation.Activation)
def activate_on_event(ref: Ref, code: str, uow: UowDep, actor: ActorDep, response: Response,
                      body: plan_activation.Activate | None = None) -> plan_activation.Activation:
    """One click from an event (一键启动); a second click answers with the first run (200)."""
    done = plan_activation.activate_on_event(uow, ref, code, body or plan_activation.Activate(), actor)
    if not done.created:
        response.status_code = 200
    return done


@router.get("/events/{ref}/plans", response_model=list[plan_runs.RunSummary])
def runs_of_event(ref: Ref, uow: UowDep, actor: ActorDep) -> list[plan_runs.RunSummary]:
    """The plan runs nested under an event."""
    return plan_runs.list_runs(uow, actor, event_ref=ref)


@router.get("/plan-runs", response_model=list[plan_runs.RunSummary])
def list_runs(uow: UowDep, actor: ActorDep, state: str | None = None, warning_id: int | None = None,
              limit: int = 100) -> list[plan_runs.RunSummary]:
    """Plan runs, newest first (filter by state or by the warning that started them)."""
    return plan_runs.list_runs(uow, actor, state=state, warning_id=warning_id, limit=limit)


@router.get("/plan-runs/{run_id}", response_model=plan_runs.RunBoard)
def run_board(run_id: int, uow: UowDep, actor: ActorDep,
              show: Annotated[str, Query(description="all | open | overdue | waiting")] = "all",
              offset: Annotated[int, Query(description="first task of the page (0-based)")] = 0,
              limit: Annotated[int, Query(description="tasks per page, 1–1000")] = plan_runs.BOARD_PAGE,
              ) -> plan_runs.RunBoard:
    """The run's board: counts over every task in the reader's scope, one page of the tasks that match
    ``show`` (unit, state, time left), the affected areas and the triggers."""
    return plan_runs.board(uow, run_id, actor, show=show, offset=offset, limit=limit)


@router.post("/plan-runs/{run_id}/confirm", response_model=plan_activation.Activation)
def confirm(run_id: int, body: plan_activation.Decide, uow: UowDep, actor: ActorDep) -> plan_activation.Activation:
    """Start a proposed run (the duty officer confirms a triggered plan)."""
    return plan_activation.confirm(uow, run_id, body, actor)


@router.post("/plan-runs/{run_id}/dismiss", response_model=plan_runs.RunBoard)
def dismiss(run_id: int, body: plan_activation.Decide, uow: UowDep, actor: ActorDep) -> plan_runs.RunBoard:
    """Decline a proposed run."""
    return plan_runs.dismiss(uow, run_id, body, actor)


@router.post("/plan-runs/{run_id}/stand-down", response_model=plan_runs.RunBoard)
def stand_down(run_id: int, body: plan_runs.StandDown, uow: UowDep, actor: ActorDep) -> plan_runs.RunBoard:
    """Stand down (解除响应): open tasks are cancelled with the reason."""
    return plan_runs.stand_down(uow, run_id, body, actor)


@router.post("/plan-runs/{run_id}/steps/{step_id}/redispatch", response_model=plan_runs.RunBoard)
def redispatch_step(run_id: int, step_id: int, body: plan_runs.Redispatch, uow: UowDep,
                    actor: ActorDep) -> plan_runs.RunBoard:
    """Re-dispatch (改派) a returned or escalated task of the run; its dependants wait for the new one."""
    return plan_runs.redispatch_step(uow, run_id, step_id, body, actor)


# --- review (复盘) ---


class NotesIn(BaseModel):
    notes: str
    expected_version: int | None = None


def _review_response(report: Review, format: str) -> Any:
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


@router.put("/events/{ref}/review/notes", response_model=Notes)
def event_notes(ref: Ref, body: NotesIn, uow: UowDep, actor: ActorDep) -> Notes:
    """Write the lessons learned of an event's review."""
    return r.save_notes(uow, "event", ref, body.notes, actor, body.expected_version)


@router.put("/plan-runs/{run_id}/review/notes", response_model=Notes)
def run_notes(run_id: int, body: NotesIn, uow: UowDep, actor: ActorDep) -> Notes:
    """Write the lessons learned of a plan run's review."""
    return r.save_notes(uow, "run", str(run_id), body.notes, actor, body.expected_version)
