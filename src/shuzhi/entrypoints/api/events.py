"""Events and their tasks: intake, the closed loop, lists, timeline and attachments."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from shuzhi.adapters.db.tables import Attachment
from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api import deps
from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep, client_ip, get_uow
from shuzhi.entrypoints.api.ratelimit import TokenBuckets
from shuzhi.entrypoints.api.schemas import Created, EventOut, EventPage, TimelineOut
from shuzhi.entrypoints.api.uploads import upload
from shuzhi.services import attachments, handling, intake, queries, task_handling
from shuzhi.services import commands as c
from shuzhi.services.commands import ensure_zoned
from shuzhi.services.security import personal_data

router = APIRouter(prefix="/api/events", tags=["events"])


def _intake_buckets(request: Request) -> TokenBuckets:
    state = request.app.state
    if not hasattr(state, "intake_buckets"):
        settings = state.settings
        state.intake_buckets = TokenBuckets(settings.intake_rate_per_s, settings.intake_burst)
    buckets: TokenBuckets = state.intake_buckets
    return buckets


#: The ``Idempotency-Key`` header's limit (checked alike on both ways of :class:`_IntakeRoute`).
_KEY_MAX = 100


def submit_event(
    body: c.SubmitEvent,
    request: Request,
    uow: UowDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header(max_length=_KEY_MAX)] = None,
) -> Response:
    """Register an event from any source (受理); a retry with the same Idempotency-Key returns the first."""
    _intake_buckets(request).check(f"{actor.credential}:{actor.credential_id or actor.code}",
                                   "too many events from this client")
    done = intake.submit_event(uow, body, actor, intake_key=idempotency_key)
    # The answer is three plain fields: written directly rather than validated again through the
    # response model, a measurable share of the hottest route's CPU (docs/benchmarks.md, Intake).
    return Response(orjson.dumps({"id": done.id, "number": done.number, "created": done.created}),
                    status_code=201 if done.created else 200, media_type="application/json")


class _IntakeRoute(APIRoute):
    """The intake route with a direct way for the common request, FastAPI's own for everything else.

    FastAPI solves a route's dependencies generically on every request (the actor's three credential
    schemes, the unit of work, the header, the body): that was the largest single share of the API's
    CPU per intake (docs/benchmarks.md, Intake). A well-formed JSON request is served here by the same
    steps in the same order — body, credential (:func:`deps.get_actor`, so the same 401/403), header,
    body model — and then the same endpoint. Anything else (another content type, malformed JSON, an
    invalid body or header, overridden dependencies, tracing on) goes to FastAPI's handler, which
    answers exactly as before; the route's declaration, and so /docs, is unchanged.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()

        async def handler(request: Request) -> Response:
            direct = await _direct_intake(request)
            return direct if direct is not None else await standard(request)

        return handler


async def _direct_intake(request: Request) -> Response | None:
    """The response to a well-formed intake request, or ``None`` for FastAPI's handler to answer."""
    if request.app.dependency_overrides or request.scope.get("fastapi.telemetry") is not None:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return None
    # FastAPI reads and parses the body before the credential: a malformed body is a 422 even unsigned
    raw = await request.body()
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    actor = await deps.actor_of(request)  # looked up here: the unchecked benchmark variant replaces it
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > _KEY_MAX:
        return None
    try:
        body = c.SubmitEvent.model_validate(data)
    except ValidationError:
        return None
    uow = await get_uow(request)
    response: Response = await run_in_threadpool(
        submit_event, body=body, request=request, uow=uow, actor=actor, idempotency_key=key)
    return response


router.add_api_route("", submit_event, methods=["POST"], status_code=201, response_model=Created,
                     responses={200: {"model": Created}}, route_class_override=_IntakeRoute)


@router.get("", response_model=EventPage)
def list_events(
    uow: UowDep,
    actor: ActorDep,
    state: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    event_class: Annotated[list[str], Query()] = [],  # noqa: B006
    major_class: str | None = None,
    source: Annotated[list[str], Query()] = [],  # noqa: B006
    area_code: str | None = None,
    unit_code: str | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    dispatched_from: datetime | None = None,
    closed_from: datetime | None = None,
    closed_to: datetime | None = None,
    overdue: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: str = "-received_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    with_total: bool = False,
) -> EventPage:
    """List events with filters (state, class, source, area subtree, unit, time), sorted, by cursor."""
    ensure_zoned(received_from=received_from, received_to=received_to, dispatched_from=dispatched_from,
                 closed_from=closed_from, closed_to=closed_to)
    f = queries.EventFilter(state=state, event_class=event_class, major_class=major_class, source=source,
                            area_code=area_code, unit_code=unit_code, received_from=received_from,
                            received_to=received_to, q=q, dispatched_from=dispatched_from, closed_from=closed_from,
                            closed_to=closed_to, overdue_at=datetime.now(UTC) if overdue else None)
    items, next_cursor = queries.list_events(uow, f, actor=actor, sort=sort, cursor=cursor, limit=limit)
    total = queries.count_events(uow, f, actor=actor) if with_total else None
    return EventPage(items=[EventOut.of(e) for e in items], next_cursor=next_cursor, total=total)


@router.get("/{ref}", response_model=EventOut)
def get_event(ref: Ref, uow: UowDep, actor: ActorDep) -> EventOut:
    """One event with its tasks, their clocks and the actions allowed now (reporter data masked)."""
    view = queries.get_event(uow, ref, actor)
    return EventOut.of(view.event, view.tasks)


@router.get("/{ref}/timeline", response_model=list[TimelineOut])
def get_timeline(ref: Ref, uow: UowDep, actor: ActorDep) -> list[TimelineOut]:
    """Every change of the event, oldest first (immutable)."""
    return [TimelineOut.of(t) for t in queries.timeline(uow, ref, actor)]


class RevealedOut(BaseModel):
    number: str
    reporter_name: str | None
    reporter_phone: str | None
    reporter_id_number: str | None
    #: As written: responses mask phone and ID numbers found in it.
    description: str | None = None


@router.post("/{ref}/reveal", response_model=RevealedOut)
def reveal_personal_data(ref: Ref, body: personal_data.Reveal, request: Request, uow: UowDep,
                         actor: ActorDep) -> RevealedOut:
    """The reporter's name, phone and ID number unmasked, with a reason; written to the audit log."""
    r = personal_data.reveal(uow, ref, body, actor, ip=client_ip(request))
    return RevealedOut(number=r.number, reporter_name=r.reporter_name, reporter_phone=r.reporter_phone,
                       reporter_id_number=r.reporter_id_number, description=r.description)


@router.post("/{ref}/dispatch", response_model=EventOut)
def dispatch(ref: Ref, body: c.Dispatch, uow: UowDep, actor: ActorDep) -> EventOut:
    """Dispatch to lead and assisting units (分拨/交办)."""
    return EventOut.of(handling.dispatch(uow, ref, body, actor))


@router.post("/{ref}/notify", response_model=EventOut)
def notify(ref: Ref, body: c.Notify, uow: UowDep, actor: ActorDep) -> EventOut:
    """Triage as notify-only (抄送知悉)."""
    return EventOut.of(handling.notify(uow, ref, body, actor))


@router.post("/{ref}/withdraw", response_model=EventOut)
def withdraw(ref: Ref, body: c.WithReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Withdraw every open task to re-dispatch (撤回)."""
    return EventOut.of(handling.withdraw(uow, ref, body, actor))


@router.post("/{ref}/self-handle", response_model=EventOut)
def self_handle(ref: Ref, body: c.SelfHandle, uow: UowDep, actor: ActorDep) -> EventOut:
    """Record that the reporting grid worker handled it on the spot (自行处置)."""
    return EventOut.of(handling.self_handle(uow, ref, body, actor))


@router.post("/{ref}/verify", response_model=EventOut)
def verify(ref: Ref, body: c.Verify, uow: UowDep, actor: ActorDep) -> EventOut:
    """Verify the reported work: passed, or rework with a reason (核查/返工)."""
    return EventOut.of(handling.verify(uow, ref, body, actor))


@router.post("/{ref}/close", response_model=EventOut)
def close(ref: Ref, body: c.OptionalReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Close a verified event (结案)."""
    return EventOut.of(handling.close(uow, ref, body, actor))


@router.post("/{ref}/callback", response_model=EventOut)
def callback(ref: Ref, body: c.Callback, uow: UowDep, actor: ActorDep) -> EventOut:
    """Record the call-back: satisfied, or dissatisfied and reopened (回访)."""
    return EventOut.of(handling.callback(uow, ref, body, actor))


@router.post("/{ref}/merge", response_model=EventOut)
def merge(ref: Ref, body: c.Merge, uow: UowDep, actor: ActorDep) -> EventOut:
    """Merge this duplicate into a master event (合并)."""
    return EventOut.of(handling.merge(uow, ref, body, actor))


@router.post("/{ref}/cancel", response_model=EventOut)
def cancel(ref: Ref, body: c.WithReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Cancel as invalid, with a reason (作废)."""
    return EventOut.of(handling.cancel(uow, ref, body, actor))


@router.post("/{ref}/reclassify", response_model=EventOut)
def reclassify(ref: Ref, body: c.Reclassify, uow: UowDep, actor: ActorDep) -> EventOut:
    """Change class/urgency; re-dispatches when the responsible unit changes (重新分类)."""
    return EventOut.of(handling.reclassify(uow, ref, body, actor))


@router.post("/{ref}/tasks/{task_id}/read", response_model=EventOut)
def read_task(ref: Ref, task_id: int, uow: UowDep, actor: ActorDep) -> EventOut:
    """Mark a notify-only task read (已阅)."""
    return EventOut.of(task_handling.read_task(uow, ref, task_id, actor))


@router.post("/{ref}/tasks/{task_id}/accept", response_model=EventOut)
def accept_task(ref: Ref, task_id: int, body: c.OptionalReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Sign for a task (签收)."""
    return EventOut.of(task_handling.accept_task(uow, ref, task_id, body, actor))


@router.post("/{ref}/tasks/{task_id}/return", response_model=EventOut)
def return_task(ref: Ref, task_id: int, body: c.WithReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Return a misrouted task with a reason (退单)."""
    return EventOut.of(task_handling.return_task(uow, ref, task_id, body, actor))


@router.post("/{ref}/tasks/{task_id}/extension", response_model=EventOut)
def request_extension(ref: Ref, task_id: int, body: c.RequestExtension, uow: UowDep, actor: ActorDep) -> EventOut:
    """Ask for an extension before the deadline (延期申请)."""
    return EventOut.of(task_handling.request_extension(uow, ref, task_id, body, actor))


@router.post("/{ref}/tasks/{task_id}/extension/decision", response_model=EventOut)
def decide_extension(ref: Ref, task_id: int, body: c.DecideExtension, uow: UowDep, actor: ActorDep) -> EventOut:
    """Approve or deny an extension request (延期审批)."""
    return EventOut.of(task_handling.decide_extension(uow, ref, task_id, body, actor))


@router.post("/{ref}/tasks/{task_id}/suspend", response_model=EventOut)
def suspend_task(ref: Ref, task_id: int, body: c.WithReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Suspend a task; its clock stops (挂起)."""
    return EventOut.of(task_handling.suspend_task(uow, ref, task_id, body, actor))


@router.post("/{ref}/tasks/{task_id}/resume", response_model=EventOut)
def resume_task(ref: Ref, task_id: int, body: c.OptionalReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Resume a suspended task; the deadline moves by the suspended working time (恢复)."""
    return EventOut.of(task_handling.resume_task(uow, ref, task_id, body, actor))


@router.post("/{ref}/tasks/{task_id}/report-back", response_model=EventOut)
def report_back(ref: Ref, task_id: int, body: c.ReportBack, uow: UowDep, actor: ActorDep) -> EventOut:
    """Report what was done (处置反馈)."""
    return EventOut.of(task_handling.report_back(uow, ref, task_id, body, actor))


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    task_id: int | None
    uploaded_by: str
    created_at: datetime
    url: str


def _attachment_out(a: Attachment) -> AttachmentOut:
    return AttachmentOut(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size, sha256=a.sha256,
                         task_id=a.task_id, uploaded_by=a.uploaded_by, created_at=a.created_at,
                         url=f"/api/attachments/{a.id}")


AttachmentFile = Annotated[UploadFile, upload(perms.EVENT_SUBMIT, perms.TASK_HANDLE, perms.EVENT_VERIFY)]


@router.post("/{ref}/attachments", status_code=201, response_model=AttachmentOut)
async def upload_attachment(ref: Ref, request: Request, file: AttachmentFile, uow: UowDep, actor: ActorDep,
                            task_id: int | None = None) -> AttachmentOut:
    """Attach a photo or PDF (JPEG, PNG, WebP, PDF) to the event or one of its tasks."""
    limit = request.app.state.settings.max_attachment_bytes
    data = await file.read(limit + 1)
    att = attachments.add_attachment(uow, ref, file.filename or "file", file.content_type or "", data, actor,
                                     max_bytes=limit, task_id=task_id)
    return _attachment_out(att)


@router.get("/{ref}/attachments", response_model=list[AttachmentOut])
def list_attachments(ref: Ref, uow: UowDep, actor: ActorDep) -> list[AttachmentOut]:
    """The files attached to an event."""
    return [_attachment_out(a) for a in attachments.list_attachments(uow, ref, actor)]


files_router = APIRouter(prefix="/api/attachments", tags=["events"])


@files_router.get("/{attachment_id}")
def download_attachment(attachment_id: int, uow: UowDep, actor: ActorDep) -> Response:
    """The file itself, served with its checked content type and never sniffed as HTML."""
    att = attachments.get_attachment(uow, attachment_id, actor)
    return Response(att.data, media_type=att.content_type, headers={
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"inline; filename*=UTF-8''{_quote(att.filename)}",
    })


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
