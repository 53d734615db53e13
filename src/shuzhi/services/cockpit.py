"""Read-side aggregates for the cockpit (一屏掌控) and the workbenches.

Every figure is computed in the database (COUNT / SUM … GROUP BY), limited to the actor's scope with
:func:`shuzhi.services.security.authz.area_clause`, so the page asks a handful of cheap questions however many
events there are. Figures of parts that are not installed are ``None`` (the page says 暂无), never 0
passed off as a measurement: other parts add theirs through :data:`EXTRA_COUNTERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, TimelineEntry, Unit
from shuzhi.adapters.db.tables_sensing import Device, Indicator
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.domain import permissions as p
from shuzhi.domain.events import (
    ACTIVE_TASK_STATES,
    OPEN_EVENT_STATES,
    RUNNING_TASK_STATES,
    EventState,
    TaskState,
    allowed_task_actions,
)
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import authz
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN_STATES = sorted(s.value for s in OPEN_EVENT_STATES)
RUNNING_STATES = sorted(s.value for s in RUNNING_TASK_STATES)
LEVELS = ("district", "town", "village", "grid")
#: What the map shows below an area: a city's districts, a district's towns, a town's grids (its
#: villages are a name on the way down, not what a duty officer looks at on a map), a grid itself.
CHILD_LEVEL = {"city": "district", "district": "town", "town": "grid", "village": "grid", "grid": "grid"}

#: ``name -> fn(session, actor, now) -> int | None``: counters of other parts (active warnings, running
#: plans …), registered by :mod:`shuzhi.services.bootstrap`; until then the figure is absent.
EXTRA_COUNTERS: dict[str, Callable[[Session, Actor, datetime], int | None]] = {}

# Area id -> path changes only on an area import; a short cache keeps the rollup from re-reading it.
_area_paths: TTLCache[dict[int, str]] = TTLCache(ttl=60)
_areas_by_level: TTLCache[list[tuple[str, str, str, float | None, float | None]]] = TTLCache(ttl=60)
# code -> (path, name, level, parent's code): the cockpit of one area looks its area up on every request
_areas_by_code: TTLCache[tuple[str, str, str, str | None]] = TTLCache(ttl=60)


def local_day_start(now: datetime) -> datetime:
    """Midnight in Asia/Shanghai of the day ``now`` falls in, as UTC (the centre's 'today')."""
    local = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def _area_row(s: Session, code: str) -> tuple[str, str, str, str | None] | None:
    def load() -> tuple[str, str, str, str | None] | None:
        parent = Area.__table__.alias("parent")
        row = s.execute(select(Area.path, Area.name, Area.level, parent.c.code)
                        .outerjoin(parent, parent.c.id == Area.parent_id).where(Area.code == code)).first()
        return (row[0], row[1], row[2], row[3]) if row is not None else None

    return _areas_by_code.get((str(s.get_bind().engine.url), code), load)


def within(uow: UnitOfWork, actor: Actor, area: str | None) -> Actor:
    """The reader limited to one area of his scope, for the cockpit of that area (a click on the map):
    every figure of the page is then that area's only — not also his unit's tasks elsewhere — so a
    level's figures add up over its children. An area outside his scope is not found (404), worded
    like one that does not exist: a district's leader cannot open another district's cockpit."""
    if area is None:
        return actor
    with uow:
        row = _area_row(uow.session, area)
    if row is None or not authz.path_visible(actor, row[0]):
        raise NotFound("area not found")
    return replace(actor, area_paths=(row[0],), unit_id=None, person_id=None)


@dataclass
class Crumb:
    code: str
    name: str
    level: str
    #: Whether the reader may open it (the areas above his scope are plain text).
    visible: bool


@dataclass
class Focus:
    """The area a cockpit shows: the one asked for, else the reader's own (the top of the tree for an
    installation-wide reader); ``None`` code for a department, which has no area of its own."""

    code: str | None
    name: str | None
    level: str | None
    #: The level the map and the load panel show below it.
    child_level: str
    #: From the top of the tree down to the area.
    crumbs: list[Crumb]
    #: The area one click up, when the reader may open it.
    up: str | None


def focus(uow: UnitOfWork, actor: Actor, area: str | None = None) -> Focus:
    """Which area the cockpit shows, what level its map draws and the way back up (the breadcrumb)."""
    authz.require(actor, p.EVENT_READ)
    with uow:
        s = uow.session
        if area is None:
            if actor.area_paths is None:
                area = s.scalar(select(Area.code).where(Area.parent_id.is_(None)).order_by(Area.code).limit(1))
            elif actor.area_paths:
                area = actor.area_paths[0].strip("/").rsplit("/", 1)[-1]
            if area is None:
                return Focus(code=None, name=None, level=None, child_level="town", crumbs=[], up=None)
        row = _area_row(s, area)
        if row is None or not authz.path_visible(actor, row[0]):
            raise NotFound("area not found")
        path, name, level, parent = row
        codes = path.strip("/").split("/")
        above = {c: (n, lv, pth) for c, n, lv, pth in s.execute(
            select(Area.code, Area.name, Area.level, Area.path).where(Area.code.in_(codes))).all()}
    crumbs = [Crumb(code=c, name=above[c][0], level=above[c][1], visible=authz.path_visible(actor, above[c][2]))
              for c in codes if c in above]
    up = parent if parent is not None and any(c.code == parent and c.visible for c in crumbs) else None
    return Focus(code=area, name=name, level=level, child_level=CHILD_LEVEL.get(level, "grid"), crumbs=crumbs,
                 up=up)


def _scoped(actor: Actor) -> Any:
    # the same rule as the event list, so that every figure matches the list it links to
    return authz.event_clause(actor)


@dataclass
class Summary:
    now: datetime
    day_start: datetime
    received_today: int
    dispatched_today: int
    closed_today: int
    open: int
    #: Events with a task still owing work past its handling deadline.
    overdue: int
    awaiting_dispatch: int
    awaiting_verification: int
    extra: dict[str, int | None] = field(default_factory=dict)


def summary(uow: UnitOfWork, actor: Actor, now: datetime | None = None) -> Summary:
    """Today's counters in the actor's scope, in two queries (events, overdue tasks)."""
    authz.require(actor, p.EVENT_READ)
    now = now or datetime.now(UTC)
    start = local_day_start(now)
    with uow:
        s = uow.session
        row = s.execute(select(
            func.sum(case((Event.received_at >= start, 1), else_=0)),
            func.sum(case((Event.dispatched_at >= start, 1), else_=0)),
            func.sum(case((Event.closed_at >= start, 1), else_=0)),
            func.sum(case((Event.state.in_(OPEN_STATES), 1), else_=0)),
            func.sum(case((Event.state == EventState.REGISTERED.value, 1), else_=0)),
            func.sum(case((Event.state == EventState.REPORTED_BACK.value, 1), else_=0)),
        ).where(_scoped(actor), (Event.received_at >= start) | (Event.dispatched_at >= start)
                | (Event.closed_at >= start) | Event.state.in_(OPEN_STATES))).one()
        overdue = s.scalar(
            select(func.count(func.distinct(Task.event_id))).join(Event, same_case(Task))
            .where(Task.state.in_(RUNNING_STATES), Task.handle_due_at < now,
                   authz.area_clause(actor, Event.area_path, Task.unit_id)))
        extra = {name: fn(s, actor, now) for name, fn in EXTRA_COUNTERS.items()}
    return Summary(now=now, day_start=start, received_today=int(row[0] or 0), dispatched_today=int(row[1] or 0),
                   closed_today=int(row[2] or 0), open=int(row[3] or 0), overdue=int(overdue or 0),
                   awaiting_dispatch=int(row[4] or 0), awaiting_verification=int(row[5] or 0), extra=extra)


@dataclass
class AreaLoad:
    code: str
    name: str
    open: int
    centroid: tuple[float, float] | None


def area_load(uow: UnitOfWork, actor: Actor, level: str = "town", parent_code: str | None = None) -> list[AreaLoad]:
    """Open events per area of ``level`` (optionally under ``parent_code``), scoped. ``auto``: the level
    the cockpit of ``parent_code`` (else the reader's own area) shows below it (:data:`CHILD_LEVEL`).

    Events are counted once per lowest area (GROUP BY area_id, a few thousand rows at most) and rolled
    up in memory along the materialised paths, which works the same on SQLite and PostgreSQL.
    """
    authz.require(actor, p.EVENT_READ)
    if level == "auto":
        f = focus(uow, actor, parent_code)
        level, parent_code = f.child_level, f.code
    if level not in LEVELS:
        raise Invalid(f"level must be one of auto, {', '.join(LEVELS)}", field="level")
    with uow:
        s = uow.session
        key = str(s.get_bind().engine.url)
        paths = _area_paths.get(key, lambda: dict(s.execute(select(Area.id, Area.path)).all())) or {}
        areas = _areas_by_level.get((key, level), lambda: list(s.execute(
            select(Area.code, Area.name, Area.path, Area.centroid_lon, Area.centroid_lat)
            .where(Area.level == level).order_by(Area.code)).all())) or []
        prefix = ""
        if parent_code:
            prefix = s.scalar(select(Area.path).where(Area.code == parent_code)) or ""
            if not prefix:
                raise Invalid(f"unknown area '{parent_code}'", field="parent_code")
        stmt: Any = (select(Event.area_id, func.count()).where(Event.state.in_(OPEN_STATES), _scoped(actor))
                             .group_by(Event.area_id))
        if prefix:
            stmt = stmt.where(Event.area_path.startswith(prefix, autoescape=True))
        counts = s.execute(stmt).all()
        if any(a is not None and a not in paths for a, _ in counts):
            # an area imported since the cache was filled: read the paths again
            _area_paths.clear()
            _areas_by_level.clear()
            paths = dict(s.execute(select(Area.id, Area.path)).all())
            areas = list(s.execute(select(Area.code, Area.name, Area.path, Area.centroid_lon, Area.centroid_lat)
                                   .where(Area.level == level).order_by(Area.code)).all())
    # A path's components are area codes; the code at the requested level's depth names the bucket.
    by_code: dict[str, int] = {}
    for area_id, n in counts:
        path = paths.get(area_id) if area_id is not None else None
        if not path:
            continue
        for code in path.strip("/").split("/"):
            by_code[code] = by_code.get(code, 0) + n
    out = []
    for code, name, path, lon, lat in areas:
        if prefix and not path.startswith(prefix):
            continue
        if not authz.path_visible(actor, path) and not any(a.startswith(path) for a in actor.area_paths or ()):
            continue
        out.append(AreaLoad(code=code, name=name, open=by_code.get(code, 0),
                            centroid=(lon, lat) if lon is not None and lat is not None else None))
    return out


@dataclass
class Marker:
    number: str
    title: str
    state: str
    urgency: str
    lon: float
    lat: float
    received_at: datetime


def markers(uow: UnitOfWork, actor: Actor, limit: int = 300) -> list[Marker]:
    """The most recent open events that have a point, for the map."""
    authz.require(actor, p.EVENT_READ)
    rows: Any
    with uow:
        rows = uow.session.execute(
            select(Event.number, Event.title, Event.state, Event.urgency, Event.lon, Event.lat, Event.received_at)
            .where(Event.state.in_(OPEN_STATES), Event.lon.is_not(None), _scoped(actor))
            .order_by(Event.received_at.desc(), Event.id.desc()).limit(limit)).all()
    return [Marker(*r) for r in rows]


@dataclass
class Breakdowns:
    days: list[str]
    received_by_day: list[int]
    closed_by_day: list[int]
    by_state: dict[str, int]
    by_source: dict[str, int]
    by_major_class: list[tuple[str, str, int]]


def breakdowns(uow: UnitOfWork, actor: Actor, days: int = 14, now: datetime | None = None) -> Breakdowns:
    """Charts of the key panels: received/closed per local day, open events by state, class and source."""
    authz.require(actor, p.EVENT_READ)
    if not 1 <= days <= 60:
        raise Invalid("days must be between 1 and 60", field="days")
    now = now or datetime.now(UTC)
    today = local_day_start(now)
    starts = [today - timedelta(days=days - 1 - i) for i in range(days)]
    bounds = [*starts, today + timedelta(days=1)]
    with uow:
        s = uow.session
        cols = []
        for a, b in pairwise(bounds):
            cols.append(func.sum(case((and_(Event.received_at >= a, Event.received_at < b), 1), else_=0)))
        for a, b in pairwise(bounds):
            cols.append(func.sum(case((and_(Event.closed_at >= a, Event.closed_at < b), 1), else_=0)))
        row = s.execute(select(*cols).where(
            _scoped(actor), (Event.received_at >= starts[0]) | (Event.closed_at >= starts[0]))).one()
        open_scope = (Event.state.in_(OPEN_STATES), _scoped(actor))
        by_state = dict(s.execute(select(Event.state, func.count()).where(*open_scope)
                                  .group_by(Event.state)).all())
        by_source = dict(s.execute(select(Event.source, func.count())
                                   .where(Event.received_at >= starts[0], _scoped(actor))
                                   .group_by(Event.source)).all())
        by_class = s.execute(
            select(EventClass.major_code, EventClass.major_name, func.count()).select_from(Event)
            .join(EventClass, EventClass.id == Event.event_class_id)
            .where(*open_scope).group_by(EventClass.major_code, EventClass.major_name)
            .order_by(func.count().desc()).limit(10)).all()
    values = [int(v or 0) for v in row]
    return Breakdowns(days=[d.astimezone(SHANGHAI).strftime("%m-%d") for d in starts],
                      received_by_day=values[:days], closed_by_day=values[days:],
                      by_state={k: int(v) for k, v in by_state.items()},
                      by_source={k: int(v) for k, v in by_source.items()},
                      by_major_class=[(c, n, int(v)) for c, n, v in by_class])


@dataclass
class FeedItem:
    id: int
    at: datetime
    action: str
    actor: str
    from_state: str | None
    to_state: str | None
    number: str
    title: str
    area_name: str | None
    urgency: str


#: How many of the newest timeline ids the feed looks among first.
FEED_WINDOW = 5_000


def feed(uow: UnitOfWork, actor: Actor, after_id: int | None = None, limit: int = 30) -> list[FeedItem]:
    """Timeline lines of events in scope: the newest ``limit`` (oldest first), or those after ``after_id``.

    Polling by id (an indexed primary key) makes "what is new since I last looked" one cheap query.
    """
    authz.require(actor, p.EVENT_READ)
    stmt = (select(TimelineEntry.id, TimelineEntry.at, TimelineEntry.action, TimelineEntry.actor,
                   TimelineEntry.from_state, TimelineEntry.to_state, Event.number, Event.title, Area.name,
                   Event.urgency)
            .join(Event, same_case(TimelineEntry)).outerjoin(Area, Area.id == Event.area_id)
            .where(_scoped(actor)))
    rows: Any
    with uow:
        if after_id is None:
            # the newest lines are looked for among the newest ids first (a range of the primary key):
            # over a whole city's scope the planner expects the scope to keep a tenth of the rows and
            # joins the whole timeline to sort it (2.7 s over 1 M lines, 100,000 events, for 40 lines);
            # a narrow scope that has fewer lines in the window falls back to the plain query
            newest = uow.session.scalar(select(func.max(TimelineEntry.id)))
            rows = []
            if newest is not None:
                rows = uow.session.execute(stmt.where(TimelineEntry.id > newest - FEED_WINDOW)
                                           .order_by(TimelineEntry.id.desc()).limit(limit)).all()
            if len(rows) < limit:
                rows = uow.session.execute(stmt.order_by(TimelineEntry.id.desc()).limit(limit)).all()
            rows = list(reversed(rows))
        else:
            rows = uow.session.execute(stmt.where(TimelineEntry.id > after_id).order_by(TimelineEntry.id)
                                       .limit(limit)).all()
    return [FeedItem(*r) for r in rows]


#: Warning changes the live feed announces: a warning starting, changing level, ending. Pending and
#: cleared (a pending one that never fired) are not news on a wall.
FEED_WARNING_CHANGES = ("fired", "raised", "lowered", "resolved")


@dataclass
class WarningFeedItem:
    id: int
    at: datetime
    change: str
    from_level: str | None
    to_level: str | None
    value: float | None
    warning_id: int
    state: str
    indicator_code: str
    indicator_name: str | None
    series_key: str
    area_code: str
    area_name: str | None


def warning_feed(uow: UnitOfWork, actor: Actor, after_id: int | None = None, limit: int = 30) -> list[WarningFeedItem]:
    """Warning changes in the actor's area subtrees: the newest ``limit`` (oldest first), or those after
    ``after_id`` (the change's id, an indexed primary key like the timeline's). A person who may not read
    warnings gets none — the feed of events still flows."""
    if not authz.can(actor, p.INDICATOR_READ):
        return []
    stmt = (select(WarningLevelChange.id, WarningLevelChange.at, WarningLevelChange.change,
                   WarningLevelChange.from_level, WarningLevelChange.to_level, WarningLevelChange.value,
                   IndicatorWarning.id, IndicatorWarning.state, IndicatorWarning.indicator_code, Indicator.name,
                   IndicatorWarning.series_key, IndicatorWarning.area_code, Area.name)
            .join(IndicatorWarning, IndicatorWarning.id == WarningLevelChange.warning_id)
            .outerjoin(Indicator, Indicator.id == IndicatorWarning.indicator_id)
            .outerjoin(Area, Area.code == IndicatorWarning.area_code)
            .where(WarningLevelChange.change.in_(FEED_WARNING_CHANGES),
                   authz.area_clause(actor, IndicatorWarning.area_path)))
    rows: Any
    with uow:
        if after_id is None:
            rows = list(reversed(uow.session.execute(stmt.order_by(WarningLevelChange.id.desc()).limit(limit)).all()))
        else:
            rows = uow.session.execute(stmt.where(WarningLevelChange.id > after_id)
                                       .order_by(WarningLevelChange.id).limit(limit)).all()
    return [WarningFeedItem(*r) for r in rows]


@dataclass
class WarningMarker:
    warning_id: int
    level: str | None
    indicator_code: str
    indicator_name: str | None
    series_key: str
    area_name: str | None
    last_value: float | None
    lon: float
    lat: float


def warning_markers(uow: UnitOfWork, actor: Actor, limit: int = 500) -> list[WarningMarker]:
    """Firing warnings in the actor's scope with a place on the map: the device's point, else the
    centroid of the warning's area. Highest level first, so the map draws red on top."""
    if not authz.can(actor, p.INDICATOR_READ):
        return []
    rows: Any
    with uow:
        rows = uow.session.execute(
            select(IndicatorWarning.id, IndicatorWarning.level, IndicatorWarning.indicator_code, Indicator.name,
                   IndicatorWarning.series_key, Area.name, IndicatorWarning.last_value,
                   func.coalesce(Device.lon, Area.centroid_lon), func.coalesce(Device.lat, Area.centroid_lat))
            .outerjoin(Indicator, Indicator.id == IndicatorWarning.indicator_id)
            .outerjoin(Area, Area.code == IndicatorWarning.area_code)
            .outerjoin(Device, Device.code == IndicatorWarning.device_code)
            .where(IndicatorWarning.state == "firing", authz.area_clause(actor, IndicatorWarning.area_path))
            .order_by(IndicatorWarning.started_at.desc()).limit(limit)).all()
    rank = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
    out = [WarningMarker(*r) for r in rows if r[7] is not None and r[8] is not None]
    return sorted(out, key=lambda m: rank.get(m.level or "", 4), reverse=True)


def last_warning_change_id(uow: UnitOfWork) -> int:
    """Where a new stream starts reading warning changes ("from now")."""
    with uow:
        return int(uow.session.scalar(select(func.max(WarningLevelChange.id))) or 0)


@dataclass
class MyTask:
    task_id: int
    task_state: str
    role: str
    unit_name: str
    instruction: str | None
    dispatched_at: datetime
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    extension_requested_until: datetime | None
    task_version: int
    number: str
    title: str
    address: str | None
    event_state: str
    urgency: str
    class_name: str | None
    #: What the unit may do next from this state (the task transition table).
    allowed_actions: list[str] = field(default_factory=list)
    #: A copy's read deadline (阅知时限).
    read_due_at: datetime | None = None


def my_tasks(uow: UnitOfWork, actor: Actor, limit: int = 200) -> list[MyTask]:
    """The open tasks of the actor's unit, the most urgent deadline first, then its unread copies (the
    oldest, nearest its read deadline, first).

    Two queries: the tasks to handle (few) by their deadline, and the copies by the partial index of
    unread copies — a district centre has 100,000 of them, which must never be sorted to show 200."""
    authz.require(actor, p.TASK_HANDLE)
    if actor.unit_id is None:
        return []
    states = sorted(s.value for s in ACTIVE_TASK_STATES if s is not TaskState.NOTIFIED)
    columns = (Task.id, Task.state, Task.role, Unit.name, Task.instruction, Task.dispatched_at,
               Task.accept_due_at, Task.handle_due_at, Task.extension_requested_until, Task.version,
               Event.number, Event.title, Event.address, Event.state, Event.urgency, EventClass.name)

    def base() -> Any:
        return (select(*columns, Task.read_due_at).join(Event, same_case(Task))
                .join(Unit, Unit.id == Task.unit_id).outerjoin(EventClass, EventClass.id == Event.event_class_id))

    rows: list[Any]
    with uow:
        rows = list(uow.session.execute(
            base().where(Task.unit_id == actor.unit_id, Task.state.in_(states))
            .order_by(Task.handle_due_at.is_(None), Task.handle_due_at, Task.id).limit(limit)).all())
        if len(rows) < limit:
            rows += uow.session.execute(
                base().where(Task.unit_id == actor.unit_id, UNREAD_COPY)
                .order_by(Task.id).limit(limit - len(rows))).all()
    out = []
    for r in rows:
        task = MyTask(*r[:-1])
        task.read_due_at = r[-1]
        task.allowed_actions = [a.value for a in allowed_task_actions(TaskState(task.task_state))]
        out.append(task)
    return out


#: An unread copy, spelled as the partial index ``ix_tasks_unit_unread`` is (a literal, not a bound
#: parameter: neither engine matches a parameter against an index's WHERE clause).
UNREAD_COPY = Task.state == literal_column("'notified'")


@dataclass
class ToVerify:
    number: str
    title: str
    address: str | None
    area_name: str | None
    reported_at: datetime | None
    lon: float | None
    lat: float | None
    version: int


def to_verify(uow: UnitOfWork, actor: Actor, limit: int = 100) -> list[ToVerify]:
    """Events reported back in the actor's scope, waiting for verification on the spot (核查)."""
    authz.require(actor, p.EVENT_VERIFY)
    rows: Any
    with uow:
        rows = uow.session.execute(
            select(Event.number, Event.title, Event.address, Area.name, Event.reported_at, Event.lon, Event.lat,
                   Event.version)
            .outerjoin(Area, Area.id == Event.area_id)
            .where(Event.state == EventState.REPORTED_BACK.value, _scoped(actor))
            .order_by(Event.reported_at, Event.id).limit(limit)).all()
    return [ToVerify(*r) for r in rows]


# Boundaries change only on an area import; the simplified layer is kept a minute per engine.
_layers: TTLCache[list[tuple[str, str, str, str, dict[str, Any]]]] = TTLCache(ttl=60)
#: Degrees; about 20 m near Chongqing — invisible on a district map, and shrinks the payload severalfold.
SIMPLIFY_TOLERANCE = 0.0002


def _simplified(boundary: dict[str, Any]) -> dict[str, Any] | None:
    from shapely.geometry import mapping, shape

    from shuzhi.services.areas import json_safe

    geom = shape(boundary)
    small = geom.simplify(SIMPLIFY_TOLERANCE, preserve_topology=True)
    if small.is_empty:
        small = geom
    out: dict[str, Any] = json_safe(mapping(small))

    def rounded(c: Any) -> Any:
        return [round(c[0], 5), round(c[1], 5)] if c and isinstance(c[0], float) else [rounded(x) for x in c]

    out["coordinates"] = rounded(out["coordinates"])
    return out


def map_layer(uow: UnitOfWork, actor: Actor, level: str = "town", within: str | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of one level's boundaries (simplified) for the map, in the actor's scope.

    ``within`` narrows it to one area's subtree (the grids of a town); ``auto`` is the level below
    ``within`` (else the reader's own area), as in :func:`area_load`. ECharts draws it directly: no
    map tiles, nothing from outside this server.
    """
    authz.require(actor, p.EVENT_READ)
    if level == "auto":
        f = focus(uow, actor, within)
        level, within = f.child_level, f.code
    if level not in LEVELS:
        raise Invalid(f"level must be one of auto, {', '.join(LEVELS)}", field="level")
    with uow:
        s = uow.session
        key = (str(s.get_bind().engine.url), level)

        def load() -> list[tuple[str, str, str, str, dict[str, Any]]]:
            rows = s.execute(select(Area.code, Area.name, Area.path, Area.parent_id, Area.boundary)
                             .where(Area.level == level, Area.boundary.is_not(None)).order_by(Area.code)).all()
            parents = dict(s.execute(select(Area.id, Area.code)).all())
            out = []
            for code, name, path, parent_id, boundary in rows:
                geometry = _simplified(boundary)
                if geometry is not None:
                    out.append((code, name, path, parents.get(parent_id, ""), geometry))
            return out

        features = _layers.get(key, load) or []
        prefix = ""
        if within:
            prefix = s.scalar(select(Area.path).where(Area.code == within)) or ""
            if not prefix:
                raise Invalid(f"unknown area '{within}'", field="within")
    visible = actor.area_paths
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": geometry,
         "properties": {"code": code, "name": name, "level": level, "parent_code": parent}}
        for code, name, path, parent, geometry in features
        if path.startswith(prefix)
        and (visible is None or authz.path_visible(actor, path) or any(v.startswith(path) for v in visible))]}


# --- the two flows (抄送知悉 vs 流转处置) ------------------------------------------------------------


@dataclass
class Flow:
    #: Events in the flow received in the period.
    events: int
    #: Their tasks: copies (抄送) for the notify flow, lead/assist tasks for the handling flow.
    tasks: int
    #: Copies read / tasks reported back.
    done: int
    #: … by their deadline (read deadline / handling deadline).
    on_time: int
    #: Still open past their deadline (unread copies / unreported tasks).
    late_open: int
    #: Done after the deadline.
    late_done: int
    #: 及时知悉率 / 按时处置率: on time ÷ (on time + late, open or done); None with nothing due yet.
    on_time_rate: float | None
    #: Events closed (a notify event closes when every copy is read).
    closed: int


@dataclass
class Flows:
    days: int
    since: datetime
    notify: Flow
    handle: Flow
    #: The notify flow's share of the events (the seeds: 124,093 of 126,686, 98 %).
    notify_share: float | None


def flows(uow: UnitOfWork, actor: Actor, days: int = 30, now: datetime | None = None) -> Flows:
    """Both flows of the events received in the actor's scope over the last ``days`` local days: how many
    were copied for information and how many routed for handling, and how timely each was — copies
    read by their read deadline (及时知悉率) vs tasks reported back by their handling deadline (按时处置率)."""
    authz.require(actor, p.EVENT_READ)
    if not 1 <= days <= 366:
        raise Invalid("days must be between 1 and 366", field="days")
    now = now or datetime.now(UTC)
    since = local_day_start(now) - timedelta(days=days - 1)
    in_scope = (Event.received_at >= since, _scoped(actor))
    notify_role = Task.role == "notify"
    done_at = case((notify_role, Task.read_at), else_=Task.reported_at)
    due_at = case((notify_role, Task.read_due_at), else_=Task.handle_due_at)
    open_state = Task.state.in_(["notified", *sorted(s.value for s in RUNNING_TASK_STATES)])
    with uow:
        s = uow.session
        by_mode = {m: (int(n), int(c or 0)) for m, n, c in s.execute(
            select(Event.mode, func.count(), func.sum(case((Event.closed_at.is_not(None), 1), else_=0)))
            .where(*in_scope).group_by(Event.mode)).all()}
        task_rows = s.execute(
            select(notify_role.label("is_copy"), func.count(),
                   func.sum(case((done_at.is_not(None), 1), else_=0)),
                   func.sum(case((and_(done_at.is_not(None), due_at.is_not(None), done_at <= due_at), 1),
                                 else_=0)),
                   func.sum(case((and_(done_at.is_(None), open_state, due_at < now), 1), else_=0)),
                   func.sum(case((and_(done_at.is_not(None), due_at.is_not(None), done_at > due_at), 1),
                                 else_=0)))
            .select_from(Task)
            # the events by id: the scope's clause has its own subquery over the tasks
            .where(Task.event_id.in_(select(Event.id).where(*in_scope)), Task.role.in_(["notify", "lead", "assist"]),
                   Task.state.not_in(["cancelled", "returned"]))
            .group_by(notify_role)).all()
    tasks = {bool(r[0]): [int(v or 0) for v in r[1:]] for r in task_rows}

    def flow(mode: str, is_copy: bool) -> Flow:
        n_events, closed = by_mode.get(mode, (0, 0))
        total, done, on_time, late_open, late_done = tasks.get(is_copy, [0, 0, 0, 0, 0])
        judged = on_time + late_open + late_done
        return Flow(events=n_events, tasks=total, done=done, on_time=on_time, late_open=late_open,
                    late_done=late_done, on_time_rate=on_time / judged if judged else None, closed=closed)

    notify, handle = flow("notify", True), flow("handle", False)
    both = notify.events + handle.events
    return Flows(days=days, since=since, notify=notify, handle=handle,
                 notify_share=notify.events / both if both else None)
