"""Intake (受理): any source's report becomes a registered event with a number and a location."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.sequences import next_value
from shuzhi.adapters.db.tables import Area, Event, EventClass
from shuzhi.adapters.geo import gcj02_to_wgs84
from shuzhi.domain.events import EventState
from shuzhi.domain.time_limits import Urgency
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import area_by_code, centre_for, single_district_centre, unit_by_code
from shuzhi.services.commands import CoordSystem, SubmitEvent
from shuzhi.services.errors import Invalid
from shuzhi.services.geo_index import grid_index
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")


def event_number(session: Session, district_code: str, at: datetime) -> str:
    """``<district>-<local date>-<6-digit sequence>``, e.g. ``500111-20240613-000123``.

    The date is the centre's local (Asia/Shanghai) date: a case registered at 01:00 Beijing time
    belongs to that day's book, not the previous UTC day's.
    """
    day = at.astimezone(SHANGHAI).strftime("%Y%m%d")
    prefix = f"{district_code}-{day}"
    return f"{prefix}-{next_value(session, prefix):06d}"


def _locate(session: Session, cmd: SubmitEvent) -> tuple[float | None, float | None, Area | None]:
    lon, lat = cmd.lon, cmd.lat
    if lon is not None and lat is not None and cmd.coord_system is CoordSystem.GCJ02:
        lon, lat = gcj02_to_wgs84(lon, lat)
    if lon is not None and lat is not None:
        grid_code = grid_index(session).locate(lon, lat)
        if grid_code is not None:
            return lon, lat, area_by_code(session, grid_code)
    if cmd.area_code:
        return lon, lat, area_by_code(session, cmd.area_code)
    # A point outside every grid is kept as reported (it may be just over the border); the duty
    # officer places it by hand.
    return lon, lat, None


def _district_code(area: Area | None, centre_area_path: str | None) -> str:
    path = area.path if area is not None else centre_area_path
    codes = [c for c in (path or "").split("/") if c]
    # The number carries the district (6-digit GB/T 2260) code: second element of the path.
    if len(codes) >= 2:
        return codes[1]
    return codes[0] if codes else "000000"


def submit_event(
    uow: UnitOfWork, cmd: SubmitEvent, actor: Actor, *, now: datetime | None = None, intake_key: str | None = None
) -> tuple[int, bool]:
    """Register a new event; returns ``(event id, created)``.

    A retried request carrying the same ``intake_key`` (the ``Idempotency-Key`` header) returns the
    event the first attempt created, so a client that timed out can always safely resend.
    """
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        if intake_key:
            existing = s.scalar(select(Event.id).where(Event.intake_key == intake_key))
            if existing is not None:
                return existing, False
        event_class = None
        if cmd.event_class_code:
            event_class = s.scalar(select(EventClass).where(EventClass.code == cmd.event_class_code))
            if event_class is None or not event_class.active:
                raise Invalid(f"unknown event class '{cmd.event_class_code}'", field="event_class_code")
        lon, lat, area = _locate(s, cmd)
        owner = unit_by_code(s, cmd.centre_code, "centre_code") if cmd.centre_code else None
        if owner is not None and owner.kind != "centre":
            raise Invalid(f"'{cmd.centre_code}' is not a centre", field="centre_code")
        if owner is None and area is not None:
            # Grid patrol reports start at the town centre (execution end); everything else at the
            # district centre (the hub), following the three-level division of labour.
            level = "town" if cmd.source == "grid_patrol" else "district"
            owner = centre_for(s, area.path, level) or centre_for(s, area.path)
        if owner is None:
            owner = single_district_centre(s)
        if owner is None:
            raise Invalid("give a location inside the area tree, an area_code or a centre_code", field="lon")
        urgency = cmd.urgency or Urgency(event_class.default_urgency if event_class else "normal")
        mode = event_class.default_mode if event_class else "handle"
        received_at = cmd.received_at.astimezone(UTC) if cmd.received_at else now
        event = Event(
            number=event_number(s, _district_code(area, owner.area.path), received_at),
            source=cmd.source.value,
            request_type=cmd.request_type.value if cmd.request_type else None,
            event_class_id=event_class.id if event_class else None,
            title=cmd.title,
            description=cmd.description,
            lon=lon,
            lat=lat,
            address=cmd.address,
            area_id=area.id if area else None,
            area_path=area.path if area else None,
            reporter_name=cmd.reporter_name,
            reporter_phone=cmd.reporter_phone,
            reporter_id_number=cmd.reporter_id_number,
            urgency=urgency.value,
            mode=mode,
            state=EventState.REGISTERED.value,
            external_ref=cmd.external_ref,
            intake_key=intake_key,
            owner_unit_id=owner.id,
            received_at=received_at,
            updated_at=now,
        )
        s.add(event)
        try:
            s.flush()
        except IntegrityError:
            # Two retries raced with the same key: the other one won, answer with its event.
            s.rollback()
            if intake_key:
                existing = s.scalar(select(Event.id).where(Event.intake_key == intake_key))
                if existing is not None:
                    return existing, False
            raise
        note(s, event, actor, "event.register", now, to_state=event.state, payload={
            "source": event.source, "owner": owner.code, "grid": area.code if area else None,
            "located": area is not None,
        })
        uow.commit()
        return event.id, True
