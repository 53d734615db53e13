"""The grid worker's phone: patrols (巡查记录) with their tracks, findings reported on patrol, and what the
phone page needs in one call.

Scope: a grid worker sees and writes only his own patrols, inside the area of his unit (his grid); a
person holding ``patrol.read`` (a town centre) reads the patrols whose area lies in his scope. Anyone
else's patrol is *not found*, worded like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, Field, field_validator
from shapely.geometry import LineString, Point, mapping, shape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, EventClass, Person, TimelineEntry, Unit
from shuzhi.adapters.db.tables_patrols import Patrol, PatrolFinding, PatrolPoint
from shuzhi.domain import patrols as rules
from shuzhi.domain import permissions as P
from shuzhi.domain.events import EventState
from shuzhi.domain.standing import closes_own_loop
from shuzhi.services import intake
from shuzhi.services.actors import Actor
from shuzhi.services.commands import Source, SubmitEvent, _Command
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork

#: Degrees (~50 m near Chongqing): a track point this close outside the grid is a walk along its border
#: street with GPS jitter, not a patrol of another grid.
BORDER_TOLERANCE = 0.0005
#: A track of more points than this is simplified for drawing (to ~3 m, in degrees); ``points`` has them all.
TRACK_SIMPLIFY_ABOVE = 500
TRACK_TOLERANCE = 0.00003
#: How many classes the phone offers as buttons before the search.
COMMON_CLASSES = 8
_CLASS_HISTORY = timedelta(days=180)


# --- commands ------------------------------------------------------------------------------------


class PointIn(_Command):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    at: AwareDatetime
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class StartPatrol(_Command):
    """Start a patrol, optionally with its first GPS fix."""

    point: PointIn | None = None


class AddPoints(_Command):
    points: list[PointIn] = Field(min_length=1, max_length=rules.MAX_BATCH)


class StopPatrol(_Command):
    points: list[PointIn] = Field(default_factory=list, max_length=rules.MAX_BATCH)


class ReportFinding(_Command):
    """A patrol finding (巡查发现): class, short text, where (GPS, or the grid picked by hand)."""

    patrol_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    event_class_code: str | None = Field(default=None, max_length=20)
    description: str = Field(default="", max_length=500)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    area_code: str | None = Field(default=None, max_length=15)
    address: str | None = Field(default=None, max_length=300)

    @field_validator("event_class_code", "area_code", "address")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None


# --- who and where -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Worker:
    person: Person
    unit: Unit
    area: Area


def _worker(s: Session, actor: Actor) -> _Worker:
    if actor.person_id is None:
        raise Invalid("only a person patrols (not the system or a connected system)", field="actor")
    person = s.get(Person, actor.person_id)
    if person is None:
        raise Invalid("unknown person", field="actor")
    return _Worker(person, person.unit, person.unit.area)


def _inside(area: Area, lon: float, lat: float, tolerance: float = 0.0) -> bool:
    if not area.boundary:
        return True  # nothing to check against: the grid was imported without a boundary
    geom = shape(area.boundary)
    if tolerance:
        geom = geom.buffer(tolerance)
    return bool(geom.covers(Point(lon, lat)))


def _points(cmd_points: list[PointIn]) -> list[rules.TrackPoint]:
    return [rules.TrackPoint(p.lon, p.lat, p.at.astimezone(UTC)) for p in cmd_points]


def _check_in_area(area: Area, points: list[rules.TrackPoint], field: str) -> None:
    for i, p in enumerate(points):
        if not _inside(area, p.lon, p.lat, BORDER_TOLERANCE):
            raise Invalid(f"the point lies outside {area.name} ({area.code})", field=f"{field}[{i}].lon",
                          details={"code": "outside_area", "area": area.code})


def _track_error(exc: rules.TrackError) -> Invalid:
    return Invalid(str(exc), field=exc.field, details={"code": exc.code})


# --- reading -------------------------------------------------------------------------------------


def _not_found(patrol_id: int) -> NotFound:
    return NotFound(f"patrol {patrol_id} not found")


def _can_read(actor: Actor, patrol: Patrol) -> bool:
    if actor.person_id is not None and patrol.person_id == actor.person_id:
        return True
    return authz.can(actor, P.PATROL_READ) and authz.path_visible(actor, patrol.area_path)


def _load_visible(s: Session, actor: Actor, patrol_id: int) -> Patrol:
    patrol = s.get(Patrol, patrol_id)
    if patrol is None or not _can_read(actor, patrol):
        raise _not_found(patrol_id)
    return patrol


def _load_own(s: Session, actor: Actor, patrol_id: int) -> Patrol:
    authz.require(actor, P.PATROL_WRITE)
    patrol = _load_visible(s, actor, patrol_id)
    if patrol.person_id != actor.person_id:
        raise authz.Forbidden("only the grid worker on patrol records its track", field="patrol_id")
    return patrol


def _findings_count(s: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = s.execute(select(PatrolFinding.patrol_id, func.count()).where(PatrolFinding.patrol_id.in_(ids))
                     .group_by(PatrolFinding.patrol_id)).all()
    return {int(k): int(n) for k, n in rows}


def _summary(s: Session, p: Patrol, findings: int, now: datetime) -> dict[str, Any]:
    person = s.get(Person, p.person_id)
    area = s.get(Area, p.area_id)
    return {
        "id": p.id, "person_code": person.code if person else None, "person_name": person.name if person else None,
        "area_code": area.code if area else None, "area_name": area.name if area else None,
        "started_at": p.started_at, "ended_at": p.ended_at, "running": p.ended_at is None,
        "duration_s": round(rules.duration_s(p.started_at, p.ended_at, now)),
        "distance_m": round(p.distance_m, 1), "point_count": p.point_count, "findings": findings,
        "last_point": ({"lon": p.last_lon, "lat": p.last_lat, "at": p.last_at} if p.last_at is not None else None),
    }


def _detail(s: Session, p: Patrol, now: datetime, *, with_points: bool = False) -> dict[str, Any]:
    points = list(s.scalars(select(PatrolPoint).where(PatrolPoint.patrol_id == p.id).order_by(PatrolPoint.seq)))
    findings = s.execute(select(Event.number, Event.title, Event.state, Event.received_at)
                         .join(PatrolFinding, PatrolFinding.event_id == Event.id)
                         .where(PatrolFinding.patrol_id == p.id).order_by(Event.id)).all()
    out = _summary(s, p, len(findings), now)
    coords = [(pt.lon, pt.lat) for pt in points]
    track: dict[str, Any] | None = None
    if len(coords) >= 2:
        line = LineString(coords)
        if len(coords) > TRACK_SIMPLIFY_ABOVE:  # a day's walk: drawn, not surveyed
            line = line.simplify(TRACK_TOLERANCE, preserve_topology=False)
        track = dict(mapping(line))
    elif coords:
        track = dict(mapping(Point(coords[0])))
    if track is not None:
        track["coordinates"] = _plain(track["coordinates"])
    out["track"] = track
    if with_points:
        out["points"] = [{"lon": pt.lon, "lat": pt.lat, "at": pt.at, "accuracy_m": pt.accuracy_m} for pt in points]
    out["finding_events"] = [{"number": n, "title": t, "state": st, "received_at": r} for n, t, st, r in findings]
    return out


def _plain(c: Any) -> Any:
    if isinstance(c, tuple | list):
        return [_plain(x) for x in c]
    return c


def get_patrol(uow: UnitOfWork, actor: Actor, patrol_id: int, *, with_points: bool = False,
               now: datetime | None = None) -> dict[str, Any]:
    """One patrol with its track (GeoJSON LineString, simplified when long), the findings reported on it and,
    when asked, every point with its time."""
    authz.require_any(actor, P.PATROL_WRITE, P.PATROL_READ)
    with uow:
        return _detail(uow.session, _load_visible(uow.session, actor, patrol_id), now or datetime.now(UTC),
                       with_points=with_points)


def list_patrols(uow: UnitOfWork, actor: Actor, *, person: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, running: bool | None = None, limit: int = 50,
                 now: datetime | None = None) -> list[dict[str, Any]]:
    """Patrols, newest first: one's own; with ``patrol.read``, those of the grid workers in one's area."""
    authz.require_any(actor, P.PATROL_WRITE, P.PATROL_READ)
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        own = Patrol.person_id == actor.person_id if actor.person_id is not None else None
        if authz.can(actor, P.PATROL_READ):
            clause = authz.area_clause(actor, Patrol.area_path)
            where = or_(clause, own) if own is not None else clause
        elif own is not None:
            where = own
        else:
            return []
        stmt = select(Patrol).where(where)
        if person:
            stmt = stmt.where(Patrol.person_id.in_(select(Person.id).where(Person.code == person)))
        if since is not None:
            stmt = stmt.where(Patrol.started_at >= since)
        if until is not None:
            stmt = stmt.where(Patrol.started_at < until)
        if running is not None:
            stmt = stmt.where(Patrol.ended_at.is_(None) if running else Patrol.ended_at.is_not(None))
        rows = list(s.scalars(stmt.order_by(Patrol.started_at.desc(), Patrol.id.desc()).limit(limit)))
        counts = _findings_count(s, [p.id for p in rows])
        return [_summary(s, p, counts.get(p.id, 0), now) for p in rows]


# --- writing -------------------------------------------------------------------------------------


def _append(s: Session, patrol: Patrol, area: Area, cmd_points: list[PointIn], now: datetime) -> None:
    points = _points(cmd_points)
    if patrol.point_count + len(points) > rules.MAX_POINTS:
        raise Invalid(f"a patrol keeps at most {rules.MAX_POINTS} points", field="points",
                      details={"code": "too_many"})
    _check_in_area(area, points, "points")
    last = (rules.TrackPoint(patrol.last_lon, patrol.last_lat, patrol.last_at)
            if patrol.last_at is not None and patrol.last_lon is not None and patrol.last_lat is not None else None)
    try:
        added = rules.check_points(last, points, started_at=patrol.started_at, now=now)
    except rules.TrackError as exc:
        raise _track_error(exc) from None
    for i, (p, raw) in enumerate(zip(points, cmd_points, strict=True)):
        s.add(PatrolPoint(patrol_id=patrol.id, seq=patrol.point_count + i, lon=p.lon, lat=p.lat, at=p.at,
                          accuracy_m=raw.accuracy_m))
    if points:
        patrol.point_count += len(points)
        patrol.distance_m += added
        patrol.last_lon, patrol.last_lat, patrol.last_at = points[-1].lon, points[-1].lat, points[-1].at


@dataclass(frozen=True)
class Started:
    patrol: dict[str, Any]
    created: bool


def start_patrol(uow: UnitOfWork, actor: Actor, cmd: StartPatrol, *, now: datetime | None = None) -> Started:
    """Start a patrol in the worker's own area; a running one is returned as it is (a retried start)."""
    authz.require(actor, P.PATROL_WRITE)
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        w = _worker(s, actor)
        running = s.scalar(select(Patrol).where(Patrol.person_id == w.person.id, Patrol.ended_at.is_(None))
                           .order_by(Patrol.id.desc()).limit(1))
        if running is not None:
            return Started(_summary(s, running, _findings_count(s, [running.id]).get(running.id, 0), now), False)
        started = cmd.point.at.astimezone(UTC) if cmd.point is not None else now
        if started > now + rules.CLOCK_SKEW:
            raise Invalid("the point's time lies in the future", field="point.at", details={"code": "future"})
        if started < now - rules.MAX_DURATION:
            raise Invalid("the patrol would have started too long ago", field="point.at",
                          details={"code": "too_long"})
        patrol = Patrol(person_id=w.person.id, unit_id=w.unit.id, area_id=w.area.id, area_path=w.area.path,
                        started_at=started, distance_m=0.0, point_count=0, started_by=actor.label, created_at=now)
        s.add(patrol)
        s.flush()
        if cmd.point is not None:
            try:
                _append(s, patrol, w.area, [cmd.point], now)
            except Invalid as exc:
                raise Invalid(exc.message, field=(exc.field or "").replace("points[0]", "point"),
                              details=exc.details) from None
        s.flush()
        # start and end of a patrol are its state changes: one immutable audit line each (who, when, where)
        audit.record(s, actor, "patrol.start", f"patrol:{patrol.id}",
                     {"area": w.area.code, "started_at": patrol.started_at.isoformat()}, at=now)
        out = _summary(s, patrol, 0, now)
        uow.commit()
        return Started(out, True)


def add_points(uow: UnitOfWork, actor: Actor, patrol_id: int, cmd: AddPoints, *,
               now: datetime | None = None) -> dict[str, Any]:
    """Record GPS points of a running patrol (in time order, inside the grid, at a walker's speed)."""
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        patrol = _load_own(s, actor, patrol_id)
        if patrol.ended_at is not None:
            raise Conflict("the patrol has ended", field="patrol_id", details={"code": "ended"})
        _append(s, patrol, s.get(Area, patrol.area_id) or _worker(s, actor).area, cmd.points, now)
        s.flush()
        out = _summary(s, patrol, _findings_count(s, [patrol.id]).get(patrol.id, 0), now)
        uow.commit()
        return out


def stop_patrol(uow: UnitOfWork, actor: Actor, patrol_id: int, cmd: StopPatrol, *,
                now: datetime | None = None) -> dict[str, Any]:
    """End a patrol (with its last points); stopping an ended one answers it as it is."""
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        patrol = _load_own(s, actor, patrol_id)
        if patrol.ended_at is None:
            if cmd.points:
                _append(s, patrol, s.get(Area, patrol.area_id) or _worker(s, actor).area, cmd.points, now)
            end = max(now, patrol.last_at) if patrol.last_at is not None else now
            patrol.ended_at = min(end, patrol.started_at + rules.MAX_DURATION)
            patrol.ended_by = actor.label
            s.flush()
            audit.record(s, actor, "patrol.stop", f"patrol:{patrol.id}",
                         {"ended_at": patrol.ended_at.isoformat(), "distance_m": round(patrol.distance_m, 1),
                          "points": patrol.point_count}, at=now)
        out = _detail(s, patrol, now)
        uow.commit()
        return out


# --- findings ------------------------------------------------------------------------------------


def report_finding(uow: UnitOfWork, actor: Actor, cmd: ReportFinding, *, intake_key: str | None = None,
                   now: datetime | None = None) -> intake.Submitted:
    """Report what the patrol found as an event (source ``grid_patrol``) in the worker's own area.

    The place is the phone's GPS fix, which must lie in the worker's grid, or a grid of his area picked by
    hand. A retry with the same ``intake_key`` (the page's draft id) returns the first event.
    """
    authz.require(actor, P.EVENT_SUBMIT)
    if not cmd.event_class_code and not cmd.description:
        raise Invalid("choose a class or write what was found", field="event_class_code",
                      details={"code": "empty"})
    with uow:
        s = uow.session
        w = _worker(s, actor)
        area_code = None
        if cmd.lon is not None and cmd.lat is not None:
            if not _inside(w.area, cmd.lon, cmd.lat):
                raise Invalid(f"the place lies outside {w.area.name} ({w.area.code})", field="lon",
                              details={"code": "outside_area", "area": w.area.code})
        elif cmd.lon is not None or cmd.lat is not None:
            raise Invalid("lon and lat go together", field="lat")
        else:
            picked = w.area
            if cmd.area_code:
                found = s.scalar(select(Area).where(Area.code == cmd.area_code))
                if found is None or not found.path.startswith(w.area.path):
                    raise Invalid(f"'{cmd.area_code}' is not a grid of {w.area.name}", field="area_code",
                                  details={"code": "outside_area", "area": w.area.code})
                picked = found
            area_code = picked.code
        class_name = None
        if cmd.event_class_code:
            class_name = s.scalar(select(EventClass.name).where(EventClass.code == cmd.event_class_code,
                                                               EventClass.active.is_(True)))
            if class_name is None:
                raise Invalid(f"unknown event class '{cmd.event_class_code}'", field="event_class_code",
                              details={"code": "unknown"})
        patrol: Patrol | None = None
        if cmd.patrol_id is not None:
            patrol = s.get(Patrol, cmd.patrol_id)
            if patrol is None or patrol.person_id != w.person.id:
                raise Invalid(f"patrol {cmd.patrol_id} is not one of yours", field="patrol_id",
                              details={"code": "unknown"})
        patrol_id = patrol.id if patrol is not None else None
    text = cmd.description
    title = (text[:60] if text else None) or class_name or "巡查发现"
    submit = SubmitEvent(source=Source.GRID_PATROL, event_class_code=cmd.event_class_code, title=title,
                         description=text, lon=cmd.lon, lat=cmd.lat, area_code=area_code, address=cmd.address)

    def link(session: Session, event_id: int) -> None:
        if patrol_id is None:
            return
        session.add(PatrolFinding(patrol_id=patrol_id, event_id=event_id))
        event = session.get(Event, event_id)
        if event is not None:
            note(session, event, actor, "event.patrol_finding", now or datetime.now(UTC),
                 payload={"patrol": patrol_id})

    return intake.submit_event(uow, submit, actor, now=now, intake_key=intake_key, after_insert=link)


# --- the phone page's first call -----------------------------------------------------------------


def _common_classes(s: Session, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """Every active class; first the ones most reported on patrol in the actor's area lately."""
    uses: dict[int, int] = {int(k or 0): int(n) for k, n in s.execute(
        select(Event.event_class_id, func.count())
        .where(Event.source == Source.GRID_PATROL.value, Event.received_at >= now - _CLASS_HISTORY,
               Event.event_class_id.is_not(None), authz.area_clause(actor, Event.area_path))
        .group_by(Event.event_class_id)).all()}
    classes = s.execute(select(EventClass.id, EventClass.code, EventClass.name, EventClass.major_name)
                        .where(EventClass.active.is_(True), EventClass.default_mode == "handle")
                        .order_by(EventClass.code)).all()
    out: list[dict[str, Any]] = [{"code": c, "name": n, "major_name": m, "uses": uses.get(i, 0)}
                                 for i, c, n, m in classes]
    out.sort(key=lambda r: -int(r["uses"]))
    for i, r in enumerate(out):
        r["common"] = i < COMMON_CLASSES
    return out


def home(uow: UnitOfWork, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """What the phone page needs in one call: who and where, the grids to pick by hand, the running patrol,
    the classes (common first) and how to sample the track."""
    authz.require(actor, P.EVENT_SUBMIT)
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        w = _worker(s, actor)
        grids: list[tuple[str, str]] = [(c, n) for c, n in s.execute(select(Area.code, Area.name).where(
            Area.path.startswith(w.area.path, autoescape=True), Area.level == "grid").order_by(Area.code)).all()]
        if not grids:
            grids = [(w.area.code, w.area.name)]
        running = None
        if authz.can(actor, P.PATROL_WRITE):
            p = s.scalar(select(Patrol).where(Patrol.person_id == w.person.id, Patrol.ended_at.is_(None))
                         .order_by(Patrol.id.desc()).limit(1))
            if p is not None:
                running = _summary(s, p, _findings_count(s, [p.id]).get(p.id, 0), now)
        today = list(s.execute(select(func.count(), func.coalesce(func.sum(Patrol.distance_m), 0.0))
                               .where(Patrol.person_id == w.person.id,
                                      Patrol.started_at >= now - timedelta(hours=24))).one())
        return {
            "person": {"code": w.person.code, "name": w.person.name},
            "unit": {"code": w.unit.code, "name": w.unit.name},
            "area": {"code": w.area.code, "name": w.area.name, "level": w.area.level,
                     "centroid": [w.area.centroid_lon, w.area.centroid_lat]},
            "grids": [{"code": c, "name": n} for c, n in grids],
            "running": running,
            "last_24h": {"patrols": int(today[0]), "distance_m": round(float(today[1]), 1)},
            "classes": _common_classes(s, actor, now),
            "sample": {"seconds": rules.SAMPLE_SECONDS, "metres": rules.SAMPLE_METRES},
            "can_patrol": authz.can(actor, P.PATROL_WRITE),
        }


def verifications(uow: UnitOfWork, actor: Actor, limit: int = 100) -> list[dict[str, Any]]:
    """Cases reported back in the actor's scope waiting for verification on the spot (核查), each marked
    ``own`` when the actor reported back on it or handled it himself (someone else verifies those)."""
    authz.require(actor, P.EVENT_VERIFY)
    with uow:
        s = uow.session
        rows = s.execute(
            select(Event.id, Event.number, Event.title, Event.address, Area.name, Event.reported_at, Event.lon,
                   Event.lat, Event.version, Event.self_handled, EventClass.separate_verifier)
            .outerjoin(Area, Area.id == Event.area_id).outerjoin(EventClass, EventClass.id == Event.event_class_id)
            .where(Event.state == EventState.REPORTED_BACK.value, authz.event_clause(actor))
            .order_by(Event.reported_at, Event.id).limit(limit)).all()
        ids = [r[0] for r in rows]
        acts: dict[int, dict[str, list[int | None]]] = {}
        if ids and actor.person_id is not None:
            for event_id, action, person in s.execute(
                    select(TimelineEntry.event_id, TimelineEntry.action, TimelineEntry.actor_id)
                    .where(TimelineEntry.event_id.in_(ids),
                           TimelineEntry.action.in_(("task.report_back", "event.self_handle")))
                    .order_by(TimelineEntry.id)).all():
                acts.setdefault(event_id, {}).setdefault(action, []).append(person)
        out = []
        for (event_id, number, title, address, area_name, reported_at, lon, lat, version, self_handled,
             separate) in rows:
            a = acts.get(event_id, {})
            handler = (a.get("event.self_handle") or [None])[-1] if self_handled else None
            own = closes_own_loop(actor.person_id, a.get("task.report_back", []), handler,
                                  True if separate is None else bool(separate))
            out.append({"number": number, "title": title, "address": address, "area_name": area_name,
                        "reported_at": reported_at, "lon": lon, "lat": lat, "version": version, "own": own})
        return out
