"""Open311 GeoReport v2 at ``/open311/v2/`` (JSON and XML), and the city's service mapping table.

Routes only parse the spec's parameters, call :mod:`shuzhi.services.open311` and render; every error is
answered in the spec's error format with 400, 403 or 404. ``api_key`` (form field, query parameter or
``X-API-Key`` header) names the connected system; :func:`actor_for_key` turns it into an actor.
Discovery and the service list need no key (a client must see the catalogue before it has one);
reading and writing requests do, since the requests are a government's case files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shuzhi.adapters import open311_format as fmt
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.events import _intake_buckets
from shuzhi.entrypoints.api.ratelimit import RateLimited
from shuzhi.services import open311 as svc
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound, ServiceError
from shuzhi.services.security import credentials
from shuzhi.services.security.authz import Unauthenticated
from shuzhi.services.unit_of_work import UnitOfWork

router = APIRouter(prefix="/open311/v2", tags=["open311"])
admin_router = APIRouter(prefix="/api/open311", tags=["open311"])

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When this server's Open311 interface last changed (the discovery document's ``changeset``).
CHANGESET = "2026-11-23T00:00:00+08:00"
ANONYMOUS = Actor(code="anonymous", name="匿名")


def actor_for_key(uow: UnitOfWork, raw: str) -> Actor:
    """The connected system behind an ``api_key``: the security part's API keys (sources, areas, write)."""
    return credentials.authenticate_api_key(uow, raw).actor


@dataclass
class Caller:
    """Who called, resolved without raising so that a bad key is answered in the spec's format."""

    actor: Actor | None
    problem: ServiceError | None
    form: dict[str, list[str]]

    def require(self) -> Actor:
        if self.problem is not None:
            raise self.problem
        if self.actor is None:
            raise Unauthenticated("api_key is required")
        return self.actor

    def optional(self) -> Actor:
        if self.problem is not None:
            raise self.problem
        return self.actor or ANONYMOUS


async def get_caller(request: Request) -> Caller:
    form: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            parsed = await request.form()
        except Exception:  # a body that is not a form: answered as a spec error by the route
            parsed = None
        if parsed is not None:
            for key, value in parsed.multi_items():
                if isinstance(value, str):
                    form.setdefault(key, []).append(value)
    raw = (form.get("api_key") or [""])[0] or request.query_params.get("api_key") \
        or request.headers.get("x-api-key")
    if not raw:
        return Caller(None, None, form)
    uow = UnitOfWork(request.app.state.session_factory)
    try:
        actor = await run_in_threadpool(actor_for_key, uow, raw)
    except ServiceError as exc:
        return Caller(None, exc, form)
    request.state.actor = actor
    return Caller(actor, None, form)


CallerDep = Annotated[Caller, Depends(get_caller)]


def _status(exc: ServiceError) -> int:
    if exc.status in (401, 403):
        return 403
    if exc.status == 404:
        return 404
    if exc.status == 429:
        return 429
    return 400


def _answer(format_: str, request: Request, root: str, produce: Callable[[], Any], status: int = 200) -> Response:
    """Render ``produce()`` in the asked format, or the spec's error document."""
    kind = format_ if format_ in fmt.FORMATS else "json"
    try:
        if format_ not in fmt.FORMATS:
            raise NotFound(f"format '{format_}' is not supported: use .json or .xml")
        jurisdiction = request.query_params.get("jurisdiction_id")
        expected = request.app.state.settings.open311_jurisdiction
        if jurisdiction and jurisdiction != expected:
            raise NotFound(f"jurisdiction_id '{jurisdiction}' not found")
        body, media = fmt.render(kind, root, produce())
        return Response(body, status_code=status, media_type=media)
    except ServiceError as exc:
        body, media = fmt.errors(kind, _status(exc), exc.message)
        headers = getattr(exc, "headers", None) if isinstance(exc, RateLimited) else None
        return Response(body, status_code=_status(exc), media_type=media, headers=headers)


def _date(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be a w3 date-time such as 2010-01-01T00:00:00Z", field=name) from None
    if value.tzinfo is None:
        raise Invalid(f"{name} must include a time zone (Z or +08:00)", field=name)
    return value


def _list(request: Request, name: str) -> list[str]:
    return [v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",") if v.strip()]


def _service(v: svc.ServiceView) -> dict[str, Any]:
    return {"service_code": v.service_code, "service_name": v.service_name, "description": v.description,
            "metadata": v.metadata, "type": v.type, "keywords": v.keywords, "group": v.group}


def _request(v: svc.RequestView) -> dict[str, Any]:
    return asdict(v)


# --- the GeoReport v2 methods --------------------------------------------------------------------


@router.get("/discovery.{format_}")
def discovery(format_: str, request: Request, caller: CallerDep) -> Response:
    """Service discovery: where the GeoReport v2 endpoint is and which formats it speaks."""
    settings = request.app.state.settings

    def produce() -> dict[str, Any]:
        caller.optional()
        return {
            "changeset": CHANGESET, "contact": settings.open311_contact, "key_service": settings.open311_key_service,
            "endpoints": [{"specification": SPECIFICATION, "url": str(request.base_url).rstrip("/") + "/open311/v2",
                           "changeset": CHANGESET, "type": "production",
                           "formats": ["text/xml", "application/json"]}],
        }

    return _answer(format_, request, "discovery", produce)


@router.get("/services.{format_}")
def services(format_: str, request: Request, uow: UowDep, caller: CallerDep) -> Response:
    """GET Service List: one service per offered event class."""
    return _answer(format_, request, "services",
                   lambda: [_service(v) for v in svc.list_services(uow, caller.optional())])


@router.get("/services/{service_code}.{format_}")
def service_definition(service_code: str, format_: str, request: Request, uow: UowDep, caller: CallerDep
                       ) -> Response:
    """GET Service Definition: the attributes the service asks for."""

    def produce() -> dict[str, Any]:
        view, attributes = svc.service_definition(uow, caller.optional(), service_code)
        return {"service_code": view.service_code, "attributes": [
            {"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
             "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
             **({"values": [{"key": x.key, "name": x.name} for x in a.values]} if a.values else {})}
            for a in attributes]}

    return _answer(format_, request, "service_definition", produce)


def _attributes(form: dict[str, list[str]]) -> dict[str, list[str]]:
    """``attribute[code]=v`` and ``attribute[code][]=v1&attribute[code][]=v2`` → ``{code: [values]}``."""
    out: dict[str, list[str]] = {}
    for key, values in form.items():
        if key.startswith("attribute[") and "]" in key:
            code = key[len("attribute["):key.index("]")]
            out.setdefault(code, []).extend(values)
    return out


@router.post("/requests.{format_}")
def post_request(format_: str, request: Request, uow: UowDep, caller: CallerDep) -> Response:
    """POST Service Request (form-encoded, ``api_key`` required): registers an event."""
    settings = request.app.state.settings

    def produce() -> list[dict[str, Any]]:
        actor = caller.require()
        _intake_buckets(request).check(f"{actor.credential}:{actor.credential_id or actor.code}",
                                       "too many requests from this client")
        first = {k: v[0] for k, v in caller.form.items() if v}
        new = svc.NewRequest(**{f: first.get(f) for f in (
            "service_code", "lat", "long", "address_string", "address_id", "email", "device_id", "account_id",
            "first_name", "last_name", "phone", "description", "media_url")}, attributes=_attributes(caller.form))
        got = svc.submit_request(uow, actor, new, source=settings.open311_source,
                                 intake_key=request.headers.get("idempotency-key"))
        return [{"service_request_id": got.service_request_id, "token": got.token or None,
                 "service_notice": got.service_notice, "account_id": got.account_id}]

    return _answer(format_, request, "service_requests", produce, status=201)


@router.get("/requests.{format_}")
def get_requests(format_: str, request: Request, uow: UowDep, caller: CallerDep) -> Response:
    """GET Service Requests: by id list, service_code, start_date/end_date and status (open, closed)."""

    def produce() -> list[dict[str, Any]]:
        q = svc.RequestQuery(service_request_ids=_list(request, "service_request_id"),
                             service_codes=_list(request, "service_code"), start_date=_date(request, "start_date"),
                             end_date=_date(request, "end_date"), statuses=_list(request, "status"))
        return [_request(v) for v in svc.list_requests(uow, caller.require(), q)]

    return _answer(format_, request, "service_requests", produce)


@router.get("/requests/{service_request_id}.{format_}")
def get_request(service_request_id: str, format_: str, request: Request, uow: UowDep, caller: CallerDep
                ) -> Response:
    """GET Service Request: one request's current status."""
    return _answer(format_, request, "service_requests",
                   lambda: [_request(svc.get_request(uow, caller.require(), service_request_id))])


@router.get("/tokens/{token}.{format_}")
def get_token(token: str, format_: str, request: Request, uow: UowDep, caller: CallerDep) -> Response:
    """GET service_request_id from a token."""

    def produce() -> list[dict[str, Any]]:
        number, tok = svc.request_id_for_token(uow, caller.require(), token)
        return [{"service_request_id": number, "token": tok}]

    return _answer(format_, request, "service_requests", produce)


@router.get("/servicerequestupdates.{format_}")
def get_updates(format_: str, request: Request, uow: UowDep, caller: CallerDep) -> Response:
    """servicerequestupdates extension: status changes and comments between start_date and end_date."""
    return _answer(format_, request, "service_request_updates", lambda: [
        asdict(u) for u in svc.list_updates(uow, caller.require(), _date(request, "start_date"),
                                            _date(request, "end_date"))])


@router.post("/servicerequestupdates.{format_}")
def post_update(format_: str, request: Request, uow: UowDep, caller: CallerDep) -> Response:
    """servicerequestupdates extension: add a comment to a request (it does not change its state)."""

    def produce() -> list[dict[str, Any]]:
        first = {k: v[0] for k, v in caller.form.items() if v}
        update_id = svc.post_update(uow, caller.require(), first.get("service_request_id"), first.get("description"),
                                    status=first.get("status"), media_url=first.get("media_url"))
        return [{"update_id": update_id}]

    return _answer(format_, request, "service_request_updates", produce, status=201)


# --- the city's mapping table --------------------------------------------------------------------


class ServiceIn(BaseModel):
    service_code: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    service_name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    group: str | None = Field(default=None, max_length=100)
    keywords: str | None = Field(default=None, max_length=300)
    service_notice: str | None = Field(default=None, max_length=2000)
    hidden: bool = False


class ServiceOut(BaseModel):
    event_class_code: str
    service_code: str
    service_name: str
    description: str
    group: str
    keywords: str
    service_notice: str | None
    hidden: bool


def _out(v: svc.ServiceView) -> ServiceOut:
    return ServiceOut(event_class_code=v.event_class_code, service_code=v.service_code, service_name=v.service_name,
                      description=v.description, group=v.group, keywords=v.keywords,
                      service_notice=v.service_notice, hidden=v.hidden)


@admin_router.put("/services/{event_class_code}", response_model=ServiceOut)
def set_service(event_class_code: str, body: ServiceIn, uow: UowDep, actor: ActorDep) -> ServiceOut:
    """Offer an event class under another code or name, with a notice, or hide it from Open311."""
    return _out(svc.set_service(uow, actor, event_class_code, svc.ServiceSettings(**body.model_dump())))
