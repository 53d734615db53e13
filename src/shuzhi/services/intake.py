"""Intake (受理): any source's report becomes a registered event with a number and a location."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import of_number
from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.event_insert import insert_event
from shuzhi.adapters.db.sequences import draw, format_number, next_value
from shuzhi.adapters.db.tables import Area, Event, EventClass, Unit
from shuzhi.adapters.geo import gcj02_to_wgs84
from shuzhi.domain.events import EventState
from shuzhi.domain.permissions import EVENT_SUBMIT
from shuzhi.domain.time_limits import Urgency
from shuzhi.services import hooks
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import ancestors, unit_by_code
from shuzhi.services.commands import CoordSystem, SubmitEvent
from shuzhi.services.errors import Invalid
from shuzhi.services.geo_index import grid_index
from shuzhi.services.security import authz
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")


def number_prefix(district_code: str, at: datetime) -> str:
    """``<district>-<local date>``: the book an event number is drawn from.

    The date is the centre's local (Asia/Shanghai) date: a case registered at 01:00 Beijing time
    belongs to that day's book, not the previous UTC day's.
    """
    if at.year < 1950:  # local mean time (+08:05:43) until 1901: not whole hours
        return f"{district_code}-{at.astimezone(SHANGHAI).strftime('%Y%m%d')}"
    return f"{district_code}-{_local_day(at.replace(minute=0, second=0, microsecond=0))}"


@lru_cache(maxsize=256)
def _local_day(hour: datetime) -> str:
    # Since 1901 Shanghai's offset from UTC is whole hours (also in its DST years), so the local date
    # is the same for a whole UTC hour: computed once per hour rather than once per event.
    return hour.astimezone(SHANGHAI).strftime("%Y%m%d")


def event_number(session: Session, district_code: str, at: datetime) -> str:
    """``<district>-<local date>-<6-digit sequence>``, e.g. ``500111-20240613-000123``."""
    prefix = number_prefix(district_code, at)
    return format_number(prefix, next_value(session, prefix))


@dataclass(frozen=True)
class _Place:
    area_id: int
    code: str
    path: str


@dataclass(frozen=True)
class _Owner:
    unit_id: int
    code: str
    area_path: str


@dataclass(frozen=True)
class _Class:
    id: int
    default_urgency: str
    default_mode: str


# Reference data read on every intake; see services/ttl_cache.py for why a short TTL is safe.
_classes: TTLCache[_Class] = TTLCache(ttl=60)
#: Every area by code, read in one query: one query per area code a minute cost a query on about
#: one intake in five at 2,000 grids.
_all_places: TTLCache[dict[str, _Place]] = TTLCache(ttl=60)


def _url(session: Session) -> str:
    return database_key(session)


def _place(session: Session, code: str, field: str) -> _Place:
    def load_all() -> dict[str, _Place]:
        return {c: _Place(i, c, p) for i, c, p in session.execute(select(Area.id, Area.code, Area.path))}

    place = (_all_places.get(_url(session), load_all) or {}).get(code)
    if place is None:
        # Imported since the map was read: found at once all the same.
        row = session.execute(select(Area.id, Area.code, Area.path).where(Area.code == code)).first()
        if row is None:
            raise Invalid(f"unknown area '{code}'", field=field)
        place = _Place(row[0], row[1], row[2])
    return place


def _event_class(session: Session, code: str) -> _Class:
    def load() -> _Class | None:
        row = session.execute(select(EventClass.id, EventClass.default_urgency, EventClass.default_mode)
                              .where(EventClass.code == code, EventClass.active.is_(True))).first()
        return _Class(row[0], row[1], row[2]) if row else None

    cls = _classes.get((_url(session), code), load)
    if cls is None:
        raise Invalid(f"unknown event class '{code}'", field="event_class_code")
    return cls


@dataclass(frozen=True)
class _Centre:
    unit_id: int
    code: str
    level: str
    area_path: str


_all_centres: TTLCache[dict[str, list[_Centre]]] = TTLCache(ttl=60)


def _centres(session: Session) -> dict[str, list[_Centre]]:
    """Every active centre by the code of its area; read once per TTL, not once per grid."""
    def load() -> dict[str, list[_Centre]]:
        out: dict[str, list[_Centre]] = {}
        rows = session.execute(select(Unit.id, Unit.code, Unit.level, Area.code, Area.path)
                               .join(Area, Unit.area_id == Area.id)
                               .where(Unit.kind == "centre", Unit.active.is_(True)).order_by(Unit.code))
        for unit_id, code, level, area_code, path in rows:
            out.setdefault(area_code, []).append(_Centre(unit_id, code, level, path))
        return out

    return _all_centres.get(_url(session), load) or {}


def _owner_for(session: Session, place: _Place | None, source: str, centre_code: str | None) -> _Owner:
    """首接负责: the centre named by the source, else the town centre for grid patrol reports
    (execution end) and the district centre (the hub) for everything else, else the lowest centre
    above the place, else the only district centre."""
    if centre_code:
        unit = unit_by_code(session, centre_code, "centre_code")
        if unit.kind != "centre":
            raise Invalid(f"'{centre_code}' is not a centre", field="centre_code")
        return _Owner(unit.id, unit.code, unit.area.path)
    level = "town" if source == "grid_patrol" else "district"
    centres = _centres(session)
    above = [c for code in reversed(ancestors(place.path)) for c in centres.get(code, ())] if place else []
    found = next((c for c in above if c.level == level), None) or (above[0] if above else None)
    if found is None:
        districts = [c for cs in centres.values() for c in cs if c.level == "district"]
        found = districts[0] if len(districts) == 1 else None
    if found is None:
        raise Invalid("give a location inside the area tree, an area_code or a centre_code", field="lon")
    return _Owner(found.unit_id, found.code, found.area_path)


def _locate(session: Session, cmd: SubmitEvent) -> tuple[float | None, float | None, _Place | None]:
    lon, lat = cmd.lon, cmd.lat
    if lon is not None and lat is not None and cmd.coord_system is CoordSystem.GCJ02:
        lon, lat = gcj02_to_wgs84(lon, lat)
    if lon is not None and lat is not None:
        grid_code = grid_index(session).locate(lon, lat)
        if grid_code is not None:
            return lon, lat, _place(session, grid_code, "lon")
    if cmd.area_code:
        place = _place(session, cmd.area_code, "area_code")
        if session.scalar(select(Area.valid_to).where(Area.id == place.area_id)) is not None:
            # a retired version (issue #20, areas that change) takes no new events: name its successor
            raise Invalid(f"area '{cmd.area_code}' is retired; give its successor", field="area_code")
        return lon, lat, place
    # A point outside every grid is kept as reported (it may be just over the border); the duty
    # officer places it by hand.
    return lon, lat, None


def _district_code(path: str) -> str:
    codes = [c for c in path.split("/") if c]
    # The number carries the district (6-digit GB/T 2260) code: second element of the path.
    if len(codes) >= 2:
        return codes[1]
    return codes[0] if codes else "000000"


def scoped_intake_key(actor: Actor, key: str | None) -> str | None:
    """The stored form of an ``Idempotency-Key``: the submitter's code and the key (hashed when long)."""
    if not key:
        return None
    scoped = f"{actor.code}:{key}"
    if len(scoped) <= 100:
        return scoped
    return "sha256:" + hashlib.sha256(scoped.encode()).hexdigest()


@dataclass(frozen=True)
class Submitted:
    id: int
    number: str
    created: bool


def register_event(s: Session, cmd: SubmitEvent, actor: Actor, now: datetime, *,
                   intake_key: str | None = None) -> Submitted:
    """Register a new event inside the caller's transaction (numbering, location, owner centre and the
    first timeline line), without committing: for services that open an event as part of their own
    change, such as a sensor warning (:mod:`shuzhi.services.sensing.warnings`). On PostgreSQL the number is
    drawn on its own (:func:`shuzhi.adapters.db.sequences.draw`): if the caller rolls back, that
    number is skipped, never given twice."""
    event_class = _event_class(s, cmd.event_class_code) if cmd.event_class_code else None
    lon, lat, place = _locate(s, cmd)
    if actor.credential == "api_key" and not authz.path_visible(actor, place.path if place else None):
        raise authz.Forbidden("this key may only report events located inside its areas", field="lon")
    owner = _owner_for(s, place, cmd.source.value, cmd.centre_code)
    urgency = cmd.urgency or Urgency(event_class.default_urgency if event_class else "normal")
    received_at = cmd.received_at.astimezone(UTC) if cmd.received_at else now
    prefix = number_prefix(_district_code(place.path if place else owner.area_path), received_at)
    number = format_number(prefix, draw(s, prefix))
    row = {
        "number": number, "source": cmd.source.value,
        "request_type": cmd.request_type.value if cmd.request_type else None,
        "event_class_id": event_class.id if event_class else None, "title": cmd.title,
        "description": cmd.description, "lon": lon, "lat": lat, "address": cmd.address,
        "area_id": place.area_id if place else None, "area_path": place.path if place else None,
        "reporter_name": cmd.reporter_name, "reporter_phone": cmd.reporter_phone,
        "reporter_id_number": cmd.reporter_id_number, "urgency": urgency.value,
        "mode": event_class.default_mode if event_class else "handle", "state": EventState.REGISTERED.value,
        "external_ref": cmd.external_ref, "intake_key": intake_key, "owner_unit_id": owner.unit_id,
        "self_handled": False, "rework_count": 0, "return_count": 0, "received_at": received_at,
        "updated_at": now, "version": 1,
    }
    first_line = {
        "task_id": None, "at": now, "actor_id": actor.person_id, "actor": actor.label, "action": "event.register",
        "from_state": None, "to_state": EventState.REGISTERED.value, "reason": None,
        "payload": {"source": cmd.source.value, "owner": owner.code, "grid": place.code if place else None,
                    "located": place is not None},
    }
    event_id = insert_event(s, row, first_line)
    change = hooks.EventChange(event_id=event_id, event_class_code=cmd.event_class_code, urgency=urgency.value,
                               previous_class_code=None, previous_urgency=None,
                               area_path=place.path if place else None, at=now, change="registered",
                               district_code=of_number(number), source=cmd.source.value, title=cmd.title,
                               description=cmd.description)
    for hook in hooks.EVENT_HOOKS:
        hook(s, change)
    return Submitted(event_id, number, True)


#: A stated receipt time may run ahead of ours by clock skew only.
CLOCK_SKEW = timedelta(minutes=5)
#: How far back a connected system (API key) may date a report it relays from its own queue; older
#: backlogs come in through the bulk import (``event.import``), which is audited as such.
KEY_BACKDATE = timedelta(hours=24)


def _check_received_at(cmd: SubmitEvent, actor: Actor, now: datetime) -> None:
    """``received_at`` starts the clocks and the statistics: nobody dates a report in the future, and a
    connected system no further back than :data:`KEY_BACKDATE` (422, field ``received_at``)."""
    if cmd.received_at is None:
        return
    if cmd.received_at > now + CLOCK_SKEW:
        raise Invalid("received_at lies in the future", field="received_at")
    if actor.credential == "api_key" and cmd.received_at < now - KEY_BACKDATE:
        raise Invalid(f"a connected system may date a report at most {KEY_BACKDATE.total_seconds() / 3600:.0f} h "
                      "back; older backlogs go through the bulk import", field="received_at")


def submit_event(
    uow: UnitOfWork, cmd: SubmitEvent, actor: Actor, *, now: datetime | None = None, intake_key: str | None = None,
    after_insert: Callable[[Session, int], None] | None = None,
) -> Submitted:
    """Register a new event.

    A retried request carrying the same ``intake_key`` (the ``Idempotency-Key`` header) returns the
    event the first attempt created, so a client that timed out can always safely resend. Keys are
    per submitter: another client's key never finds (or reveals) someone else's event.

    Needs ``event.submit``; a connected system (API key) only as its sources and inside its areas.
    People may report anywhere — the first centre reached owns the case (首接负责).
    """
    authz.require(actor, EVENT_SUBMIT)
    authz.require_source(actor, cmd.source.value)
    intake_key = scoped_intake_key(actor, intake_key)
    now = now or datetime.now(UTC)
    _check_received_at(cmd, actor, now)
    with uow:
        s = uow.session
        if intake_key:
            existing = s.execute(select(Event.id, Event.number).where(Event.intake_key == intake_key)).first()
            if existing is not None:
                return Submitted(existing[0], existing[1], False)
        try:
            submitted = register_event(s, cmd, actor, now, intake_key=intake_key)
        except IntegrityError:
            # Two retries raced with the same key: the other one won, answer with its event.
            s.rollback()
            if intake_key:
                existing = s.execute(select(Event.id, Event.number).where(Event.intake_key == intake_key)).first()
                if existing is not None:
                    return Submitted(existing[0], existing[1], False)
            raise
        if after_insert is not None:
            # What a channel (Open311 …) keeps beside the event, in the same transaction as the event.
            after_insert(s, submitted.id)
        uow.commit()
        return submitted
