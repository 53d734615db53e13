"""Open311 GeoReport v2: the event catalogue as services, citizen reports as service requests.

Use cases behind ``/open311/v2/`` (the router only parses and renders): the service list and each
service's definition, submitting a request (through :func:`shuzhi.services.intake.submit_event`, so
numbering, idempotency, location and ownership are the same as for every other source), reading
requests and tokens, and the ``servicerequestupdates`` extension. Statuses map as in
:mod:`shuzhi.domain.open311`. ``service_request_id`` is the event number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Event, EventClass, TimelineEntry, Unit
from shuzhi.adapters.db.tables_integration import Open311Request, Open311Service
from shuzhi.domain import open311 as spec
from shuzhi.domain.events import EventState
from shuzhi.domain.permissions import EVENT_READ, EVENT_SUBMIT, REFERENCE_WRITE
from shuzhi.domain.personal_data import mask_text
from shuzhi.services import intake, transitions
from shuzhi.services.actors import Actor
from shuzhi.services.commands import RequestType, Source, SubmitEvent
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.handling import load_visible_event
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

#: GeoReport v2, GET Service Requests: with no dates the query covers the last 90 days, and at most
#: 1,000 requests are returned.
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
#: "description … free form text limited to 4,000 characters" (POST Service Request).
MAX_DESCRIPTION = 4000
UPDATE_ACTION = "open311.update"


# --- services ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceView:
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str
    event_class_id: int
    event_class_code: str
    service_notice: str | None
    hidden: bool


def _services(s: Session, *, include_hidden: bool = False) -> list[ServiceView]:
    rows = s.execute(select(EventClass, Open311Service)
                     .outerjoin(Open311Service, Open311Service.event_class_id == EventClass.id)
                     .where(EventClass.active.is_(True)).order_by(EventClass.code)).all()
    out = []
    for cls, svc in rows:
        kind = "部件" if cls.kind == "component" else "事件"
        view = ServiceView(
            service_code=svc.service_code if svc else cls.code,
            service_name=(svc.service_name if svc and svc.service_name else cls.name),
            description=(svc.description if svc and svc.description else f"{cls.major_name}：{cls.name}（{kind}类）"),
            metadata=True, type="realtime",
            keywords=(svc.keywords if svc and svc.keywords else f"{cls.major_name},{cls.name}"),
            group=(svc.group_name if svc and svc.group_name else cls.major_name),
            event_class_id=cls.id, event_class_code=cls.code,
            service_notice=svc.service_notice if svc else None, hidden=bool(svc and svc.hidden))
        if include_hidden or not view.hidden:
            out.append(view)
    return out


def list_services(uow: UnitOfWork, actor: Actor) -> list[ServiceView]:
    """Every offered service (GET services): one per active event class, as the mapping table says."""
    with uow:
        return _services(uow.session)


def _service(s: Session, code: str) -> ServiceView:
    for view in _services(s):
        if view.service_code == code:
            return view
    raise NotFound(f"service_code '{code}' not found", field="service_code")


def service_definition(uow: UnitOfWork, actor: Actor, code: str) -> tuple[ServiceView, tuple[spec.Attribute, ...]]:
    """The attributes a service asks for (GET service definition)."""
    with uow:
        return _service(uow.session, code), spec.ATTRIBUTES


@dataclass(frozen=True)
class ServiceSettings:
    service_code: str | None = None
    service_name: str | None = None
    description: str | None = None
    group: str | None = None
    keywords: str | None = None
    service_notice: str | None = None
    hidden: bool = False


def _mapping_audit(row: Open311Service) -> dict[str, Any]:
    return {"service_code": row.service_code, "service_name": row.service_name, "description": row.description,
            "group": row.group_name, "keywords": row.keywords, "service_notice": row.service_notice,
            "hidden": row.hidden}


def set_service(uow: UnitOfWork, actor: Actor, event_class_code: str, cfg: ServiceSettings) -> ServiceView:
    """Rename, re-code, annotate or hide the service of one event class (the city's mapping table).

    The mapping belongs to the installation's level: one jurisdiction offers one service list to every
    client, so a town (or any area-scoped person, whatever his permissions) cannot rename or hide a
    service for the whole city (403); installation-wide people write it (issue #15)."""
    authz.require(actor, REFERENCE_WRITE)
    authz.ensure_config_in_scope(actor, None, what="the Open311 service mapping", field="event_class_code")
    with uow:
        s = uow.session
        cls = s.scalar(select(EventClass).where(EventClass.code == event_class_code))
        if cls is None:
            raise NotFound(f"event class '{event_class_code}' not found")
        code = cfg.service_code or cls.code
        for view in _services(s, include_hidden=True):
            if view.service_code == code and view.event_class_id != cls.id:
                raise Invalid(f"service_code '{code}' is already used by class {view.event_class_code}",
                              field="service_code")
        found = s.get(Open311Service, cls.id)
        before = _mapping_audit(found) if found is not None else None
        row = found or Open311Service(event_class_id=cls.id)
        row.service_code, row.service_name, row.description = code, cfg.service_name, cfg.description
        row.group_name, row.keywords, row.service_notice = cfg.group, cfg.keywords, cfg.service_notice
        row.hidden, row.updated_at = cfg.hidden, datetime.now(UTC)
        s.add(row)
        audit.record_change(s, actor, "open311_mapping.set", f"event_class:{cls.code}", before, _mapping_audit(row))
        uow.commit()
        return next(v for v in _services(s, include_hidden=True) if v.event_class_id == cls.id)


# --- submitting ----------------------------------------------------------------------------------


@dataclass
class NewRequest:
    """The form fields of POST requests (GeoReport v2), as strings from the form."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    service_request_id: str
    token: str
    service_notice: str | None
    account_id: str | None
    created: bool


def _float(value: str | None, name: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise Invalid(f"{name} must be a number", field=name) from None


def _source_for(actor: Actor, configured: str) -> Source:
    """The configured Open311 source, or the key's only source when the key names another one."""
    if actor.sources is not None and configured not in actor.sources and len(actor.sources) == 1:
        return Source(next(iter(actor.sources)))
    return Source(configured)


_FIELD_NAMES = {"lon": "long", "lat": "lat", "reporter_phone": "phone", "reporter_name": "first_name",
                "address": "address_string", "area_code": "address_id", "title": "attribute[title]",
                "description": "description"}


def submit_request(uow: UnitOfWork, actor: Actor, req: NewRequest, *, source: str = Source.ONLINE_APP.value,
                   intake_key: str | None = None, now: datetime | None = None) -> Receipt:
    """POST requests: validate as the spec says, then register the event through intake."""
    authz.require(actor, EVENT_SUBMIT)
    if not req.service_code:
        raise Invalid("service_code is required", field="service_code")
    lat, lon = _float(req.lat, "lat"), _float(req.long, "long")
    if (lat is None) != (lon is None):
        raise Invalid("lat and long go together", field="long" if lon is None else "lat")
    if lat is None and not (req.address_string or "").strip() and not (req.address_id or "").strip():
        raise Invalid("a location is required: lat & long, address_string or address_id", field="lat")
    description = (req.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"description is limited to {MAX_DESCRIPTION} characters", field="description")
    problems = spec.check_attributes(req.attributes)
    if problems:
        code, problem = next(iter(problems.items()))
        raise Invalid(f"attribute[{code}] {problem}", field=f"attribute[{code}]")
    with uow:
        service = _service(uow.session, req.service_code)
    title_answer = (req.attributes.get("title") or [""])[0].strip()
    title = title_answer or (description[:30] if description else service.service_name)
    answered = req.attributes.get("request_type")
    request_type = RequestType(answered[0]) if answered else None
    # Chinese names are family name first.
    name = "".join(p.strip() for p in (req.last_name or "", req.first_name or "")) or None
    try:
        cmd = SubmitEvent(source=_source_for(actor, source), request_type=request_type,
                          event_class_code=service.event_class_code, title=title, description=description,
                          lon=lon, lat=lat, address=(req.address_string or None),
                          area_code=(req.address_id or None), reporter_name=name,
                          reporter_phone=(req.phone or None))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = str(first["loc"][0]) if first["loc"] else "request"
        raise Invalid(f"{_FIELD_NAMES.get(loc, loc)}: {first['msg']}", field=_FIELD_NAMES.get(loc, loc)) from None
    token = secrets.token_urlsafe(12)

    def keep(s: Session, event_id: int) -> None:
        s.add(Open311Request(event_id=event_id, token=token, service_code=service.service_code,
                             api_key_id=actor.credential_id if actor.credential == "api_key" else None,
                             account_id=req.account_id, device_id=req.device_id, email=req.email,
                             media_url=req.media_url, address_id=req.address_id,
                             attributes={k: v for k, v in req.attributes.items()},
                             created_at=now or datetime.now(UTC)))

    done = intake.submit_event(uow, cmd, actor, intake_key=intake_key, now=now, after_insert=keep)
    if not done.created:
        with uow:
            stored = uow.session.scalar(select(Open311Request.token).where(Open311Request.event_id == done.id))
        # A retry of a request first sent through the ordinary API has no Open311 token: mint none.
        token = stored or ""
    return Receipt(done.number, token, service.service_notice, req.account_id, done.created)


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    service_request_id: str
    status: str
    status_notes: str
    service_name: str | None
    service_code: str | None
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


@dataclass
class RequestQuery:
    service_request_ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    start_date: datetime | None = None
    end_date: datetime | None = None
    statuses: list[str] = field(default_factory=list)


def _views(s: Session, events: list[Event], services: dict[int, ServiceView]) -> list[RequestView]:
    if not events:
        return []
    ids = [e.id for e in events]
    extras = {r.event_id: r for r in s.scalars(select(Open311Request).where(Open311Request.event_id.in_(ids)))}
    owner_ids = {e.owner_unit_id for e in events if e.owner_unit_id}
    names = {r[0]: r[1] for r in s.execute(select(Unit.id, Unit.name).where(Unit.id.in_(owner_ids)))}
    out = []
    for e in events:
        status, notes = spec.status_of(e.state)
        if e.state == EventState.MERGED.value and e.master_event_id:
            master = s.scalar(select(Event.number).where(Event.id == e.master_event_id))
            notes = f"{notes}（{master}）"
        leads = [t for t in e.tasks if t.role == "lead" and t.state not in ("returned", "cancelled")]
        agency = "、".join(dict.fromkeys(t.unit.name for t in leads)) or names.get(e.owner_unit_id or 0)
        due = [t.handle_due_at for t in leads if t.handle_due_at is not None and t.ended_at is None]
        svc = services.get(e.event_class_id or 0)
        extra = extras.get(e.id)
        out.append(RequestView(
            service_request_id=e.number, status=status, status_notes=notes,
            service_name=svc.service_name if svc else None, service_code=svc.service_code if svc else None,
            # Reports from other channels (the hotline …) may carry a caller's words: only the title is public.
            description=mask_text(e.description) if extra is not None else e.title,
            agency_responsible=agency, service_notice=svc.service_notice if svc else None,
            requested_datetime=e.received_at, updated_datetime=e.updated_at,
            expected_datetime=min(due) if due else None, address=e.address,
            address_id=extra.address_id if extra else None, zipcode=None, lat=e.lat, long=e.lon,
            media_url=extra.media_url if extra else None))
    return out


def list_requests(uow: UnitOfWork, actor: Actor, q: RequestQuery, *, now: datetime | None = None) -> list[RequestView]:
    """GET requests: by ids (which override every other filter), else by service, dates and status;
    newest first, at most 1,000, only events of offered services in the caller's scope."""
    authz.require(actor, EVENT_READ)
    now = now or datetime.now(UTC)
    for st in q.statuses:
        if st not in (spec.OPEN, spec.CLOSED):
            raise Invalid(f"status must be open or closed, not '{st}'", field="status")
    with uow:
        s = uow.session
        services = {v.event_class_id: v for v in _services(s)}
        stmt = select(Event).where(Event.event_class_id.in_(list(services)), authz.event_clause(actor))
        if q.service_request_ids:
            stmt = stmt.where(Event.number.in_(q.service_request_ids))
        else:
            if q.service_codes:
                by_code = {v.service_code: k for k, v in services.items()}
                unknown = [c for c in q.service_codes if c not in by_code]
                if unknown:
                    raise Invalid(f"service_code '{unknown[0]}' not found", field="service_code")
                stmt = stmt.where(Event.event_class_id.in_([by_code[c] for c in q.service_codes]))
            start, end = q.start_date, q.end_date
            if start is None and end is None:
                start, end = now - DEFAULT_WINDOW, None
            if start is not None and end is not None and end < start:
                raise Invalid("end_date must not be before start_date", field="end_date")
            if start is not None:
                stmt = stmt.where(Event.received_at >= start)
            if end is not None:
                stmt = stmt.where(Event.received_at <= end)
            if q.statuses:
                states = set().union(*(spec.STATES_OF_STATUS[st] for st in q.statuses))
                stmt = stmt.where(Event.state.in_(sorted(x.value for x in states)))
        events = list(s.scalars(stmt.order_by(Event.received_at.desc(), Event.id.desc()).limit(MAX_RESULTS)).unique())
        return _views(s, events, services)


def get_request(uow: UnitOfWork, actor: Actor, service_request_id: str) -> RequestView:
    """GET requests/{id}: one request in the caller's scope; anything else is *not found*."""
    authz.require(actor, EVENT_READ)
    with uow:
        s = uow.session
        services = {v.event_class_id: v for v in _services(s)}
        event = s.scalar(select(Event).where(Event.number == service_request_id))
        if event is None or event.event_class_id not in services:
            raise NotFound(f"service_request_id '{service_request_id}' not found")
        try:
            authz.ensure_event_visible(actor, event)
        except NotFound:
            raise NotFound(f"service_request_id '{service_request_id}' not found") from None
        return _views(s, [event], services)[0]


def request_id_for_token(uow: UnitOfWork, actor: Actor, token: str) -> tuple[str, str]:
    """GET tokens/{token}: ``(service_request_id, token)``."""
    authz.require(actor, EVENT_READ)
    with uow:
        s = uow.session
        row = s.execute(select(Event, Open311Request.token).join(Open311Request, Open311Request.event_id == Event.id)
                        .where(Open311Request.token == token)).first()
        if row is None:
            raise NotFound(f"token '{token}' not found")
        try:
            authz.ensure_event_visible(actor, row[0])
        except NotFound:
            raise NotFound(f"token '{token}' not found") from None
        return row[0].number, row[1]


# --- servicerequestupdates -----------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateView:
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: datetime
    description: str
    media_url: str | None


def list_updates(uow: UnitOfWork, actor: Actor, start: datetime | None, end: datetime | None, *,
                 now: datetime | None = None) -> list[UpdateView]:
    """GET servicerequestupdates: each change of state (and each posted update) of the requests in the
    caller's scope between ``start`` and ``end`` (default: the last 90 days), oldest first, at most 1,000."""
    authz.require(actor, EVENT_READ)
    now = now or datetime.now(UTC)
    if start is None and end is None:
        start = now - DEFAULT_WINDOW
    if start is not None and end is not None and end < start:
        raise Invalid("end_date must not be before start_date", field="end_date")
    with uow:
        s = uow.session
        services = {v.event_class_id for v in _services(s)}
        stmt = (select(TimelineEntry, Event.number).join(Event, same_case(TimelineEntry))
                .where(Event.event_class_id.in_(services), authz.event_clause(actor),
                       or_(and_(TimelineEntry.action.startswith("event."), TimelineEntry.to_state.is_not(None)),
                           TimelineEntry.action == UPDATE_ACTION)))
        if start is not None:
            stmt = stmt.where(TimelineEntry.at >= start)
        if end is not None:
            stmt = stmt.where(TimelineEntry.at <= end)
        out = []
        for entry, number in s.execute(stmt.order_by(TimelineEntry.at, TimelineEntry.id).limit(MAX_RESULTS)):
            state = entry.to_state or entry.payload.get("state") or EventState.REGISTERED.value
            status, label = spec.status_of(state)
            out.append(UpdateView(update_id=str(entry.id), service_request_id=number, status=status,
                                  # a state change reads as its public note: the centre's internal reason
                                  # (who it was sent to, why) is not for the connected system
                                  updated_datetime=entry.at,
                                  description=(entry.reason or label) if entry.action == UPDATE_ACTION else label,
                                  media_url=entry.payload.get("media_url")))
        return out


def post_update(uow: UnitOfWork, actor: Actor, service_request_id: str | None, description: str | None, *,
                status: str | None = None, media_url: str | None = None, now: datetime | None = None) -> str:
    """POST servicerequestupdates: a comment from the connected system (the citizen adds details, or
    says it is not fixed). It goes on the timeline; it changes no state — the centre decides that."""
    authz.require(actor, EVENT_SUBMIT)
    if not service_request_id:
        raise Invalid("service_request_id is required", field="service_request_id")
    text = (description or "").strip()
    if not text:
        raise Invalid("description is required", field="description")
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(f"description is limited to {MAX_DESCRIPTION} characters", field="description")
    if status is not None and status.lower() not in (spec.OPEN, spec.CLOSED):
        raise Invalid("status must be open or closed", field="status")
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        try:
            event = load_visible_event(s, service_request_id, actor)
        except NotFound:
            raise NotFound(f"service_request_id '{service_request_id}' not found") from None
        payload: dict[str, Any] = {"state": event.state, "media_url": media_url}
        if status:
            payload["requested_status"] = status.lower()
        entry = transitions.note(s, event, actor, UPDATE_ACTION, now, reason=text, payload=payload)
        s.flush()
        uow.commit()
        return str(entry.id)


__all__ = ["MAX_RESULTS", "NewRequest", "Receipt", "RequestQuery", "RequestView", "ServiceSettings",
           "ServiceView", "UpdateView", "get_request", "list_requests", "list_services",
           "list_updates", "post_update", "request_id_for_token", "service_definition", "set_service",
           "submit_request"]
