"""Three levels in one view (一贯到底, issue #22): the same panels for the city, a district, a town, a
village and a grid, one click down to a child area and back up along the breadcrumb, and the figures
of work moving between the levels.

What a reader may open is his scope: an area in his subtrees (``authz.path_visible``). An area above
him, or beside him, is *not found* (404) — worded like an area that does not exist — so a town's
officer sees his town, its villages and grids, and the names of the areas above him only as the
breadcrumb's plain text.

Every figure is a handful of GROUP BY queries over the focused area's subtree (a materialised-path
prefix), rolled up to its children in memory along the paths, like the cockpit's area load.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, TimelineEntry, Unit
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain import permissions as p
from shuzhi.domain.areas import AreaLevel
from shuzhi.domain.events import OPEN_EVENT_STATES, RUNNING_TASK_STATES
from shuzhi.services.actors import Actor
from shuzhi.services.cockpit import _simplified, local_day_start
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import authz
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

LEVELS = [lv.value for lv in AreaLevel]
OPEN_STATES = sorted(s.value for s in OPEN_EVENT_STATES)
RUNNING_STATES = sorted(s.value for s in RUNNING_TASK_STATES)
WARNING_RANK = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
#: The timeline actions that move work *up* a level, and what each means (the labels are domain/labels.py's).
UP_ACTIONS = ("event.escalate", "task.return", "task.escalate", "supervision.escalate")
#: Tasks that carry work (a copy, 抄送, informs and is counted in the flows panel of the cockpit).
WORK_ROLES = ("lead", "assist")

# children's boundaries change only on an area import: kept a minute per engine and parent
_child_layers: TTLCache[list[dict[str, Any]]] = TTLCache(ttl=60)


def _rank(column: Any) -> ColumnElement[int]:
    """A level's depth (city 0 … grid 4) as SQL, for comparing a dispatcher's level with its receiver's."""
    return case({lv: i for i, lv in enumerate(LEVELS)}, value=column, else_=None)


def _literally_in(column: Any, values: tuple[str, ...]) -> Any:
    """``column IN ('a', 'b')`` spelled with literals, as the partial indexes' WHERE clauses are
    (``ix_timeline_moves_up_at``, ``ix_tasks_work_dispatched``): neither engine matches a bound parameter
    against an index's WHERE clause, and SQLite wants the very same terms."""
    return column.in_([literal_column(f"'{v}'") for v in values])


MOVES_UP = _literally_in(TimelineEntry.action, UP_ACTIONS)
CARRIES_WORK = _literally_in(Task.role, WORK_ROLES)


def _seconds(later: Any, earlier: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _focus(s: Session, actor: Actor, area_code: str | None) -> Area:
    """The area asked for, or the reader's own (the top of the tree for an installation-wide reader);
    404 for an area outside his scope, worded like one that does not exist."""
    if area_code is None:
        if actor.area_paths is None:
            area = s.scalars(select(Area).where(Area.parent_id.is_(None)).order_by(Area.code).limit(1)).first()
        elif actor.area_paths:
            area = s.scalars(select(Area).where(Area.path == actor.area_paths[0])).first()
        else:
            area = None  # a department has no area of its own: its view is its tasks
        if area is None:
            raise NotFound("area not found")
        return area
    area = s.scalars(select(Area).where(Area.code == area_code)).first()
    if area is None or not authz.path_visible(actor, area.path):
        raise NotFound("area not found")
    return area


def narrowed(actor: Actor, path: str) -> Actor:
    """The reader limited to one area of his scope: the figures of that area only (not also his unit's
    tasks elsewhere), so that a level's numbers add up over its children."""
    return replace(actor, area_paths=(path,), unit_id=None, person_id=None)


def _child_code(path: str, depth: int) -> str | None:
    parts = path.strip("/").split("/")
    return parts[depth] if len(parts) > depth else None


def _crumbs(s: Session, actor: Actor, area: Area) -> list[dict[str, Any]]:
    codes = area.path.strip("/").split("/")
    rows = {a.code: a for a in s.execute(select(Area.code, Area.name, Area.level, Area.path)
                                         .where(Area.code.in_(codes))).all()}
    return [{"code": c, "name": rows[c].name, "level": rows[c].level,
             "visible": authz.path_visible(actor, rows[c].path)} for c in codes if c in rows]


def _children_layer(s: Session, area: Area) -> list[dict[str, Any]]:
    key = (str(s.get_bind().engine.url), area.code)

    def load() -> list[dict[str, Any]]:
        rows: list[Any] = list(s.execute(select(Area.code, Area.name, Area.level, Area.boundary, Area.centroid_lon,
                                Area.centroid_lat).where(Area.parent_id == area.id).order_by(Area.code)).all())
        if not rows:  # a grid: itself
            rows = [(area.code, area.name, area.level, area.boundary, area.centroid_lon, area.centroid_lat)]
        out = []
        for code, name, level, boundary, lon, lat in rows:
            geometry = _simplified(boundary) if boundary else None
            out.append({"code": code, "name": name, "level": level, "geometry": geometry,
                        "centroid": [lon, lat] if lon is not None and lat is not None else None})
        return out

    return _child_layers.get(key, load) or []


def level_view(uow: UnitOfWork, actor: Actor, area_code: str | None = None, *,
               now: datetime | None = None) -> dict[str, Any]:
    """One level's panels: its figures, each child's, its map, the breadcrumb up to the top.

    Figures: open events, events with a task overdue, received and closed today, firing warnings by
    level; the vital signs' sector colours of the area (when the reader reads indicators); the newest
    open events with a point, for the map."""
    authz.require(actor, p.EVENT_READ)
    now = now or datetime.now(UTC)
    start = local_day_start(now)
    with uow:
        s = uow.session
        area = _focus(s, actor, area_code)
        crumbs = _crumbs(s, actor, area)
        children = _children_layer(s, area)
        depth = len(area.path.strip("/").split("/"))
        under = Event.area_path.startswith(area.path, autoescape=True)
        events = s.execute(select(
            Event.area_path,
            func.sum(case((Event.state.in_(OPEN_STATES), 1), else_=0)),
            func.sum(case((Event.received_at >= start, 1), else_=0)),
            func.sum(case((Event.closed_at >= start, 1), else_=0)),
        ).where(under, (Event.received_at >= start) | (Event.closed_at >= start) | Event.state.in_(OPEN_STATES))
            .group_by(Event.area_path)).all()
        overdue = s.execute(
            select(Event.area_path, func.count(func.distinct(Task.event_id))).join(Event, same_case(Task))
            .where(Task.state.in_(RUNNING_STATES), Task.handle_due_at < now, under)
            .group_by(Event.area_path)).all()
        warnings: list[Any] = []
        if authz.can(actor, p.INDICATOR_READ):
            warnings = list(s.execute(
                select(IndicatorWarning.area_path, IndicatorWarning.level, func.count())
                .where(IndicatorWarning.state == "firing",
                       IndicatorWarning.area_path.startswith(area.path, autoescape=True))
                .group_by(IndicatorWarning.area_path, IndicatorWarning.level)).all())
        markers = s.execute(
            select(Event.number, Event.title, Event.state, Event.urgency, Event.lon, Event.lat)
            .where(Event.state.in_(OPEN_STATES), Event.lon.is_not(None), under)
            .order_by(Event.received_at.desc(), Event.id.desc()).limit(300)).all()
        focus = {"code": area.code, "name": area.name, "level": area.level, "path": area.path,
                 "centroid": [area.centroid_lon, area.centroid_lat] if area.centroid_lon is not None else None}

    def blank() -> dict[str, Any]:
        return {"open": 0, "overdue": 0, "received_today": 0, "closed_today": 0,
                "warnings": {lv: 0 for lv in WARNING_RANK}}

    total = blank()
    per: dict[str, dict[str, Any]] = defaultdict(blank)
    for path, n_open, n_in, n_closed in events:
        child = _child_code(path or "", depth)
        for box in (total, per[child]) if child else (total,):
            box["open"] += int(n_open or 0)
            box["received_today"] += int(n_in or 0)
            box["closed_today"] += int(n_closed or 0)
    for path, n in overdue:
        child = _child_code(path or "", depth)
        for box in (total, per[child]) if child else (total,):
            box["overdue"] += int(n)
    for path, level, n in warnings:
        if level not in WARNING_RANK:
            continue
        child = _child_code(path or "", depth)
        for box in (total, per[child]) if child else (total,):
            box["warnings"][level] += int(n)

    def worst(box: dict[str, Any]) -> str | None:
        firing = [lv for lv, n in box["warnings"].items() if n]
        return max(firing, key=WARNING_RANK.__getitem__) if firing else None

    total["warning_level"] = worst(total)
    is_leaf = len(children) == 1 and children[0]["code"] == area.code
    # each child's own vital-signs colour (the worst of its sectors', as its own level view shows it),
    # for all children from one set of grouped queries (services/sensing/vital_signs.area_colours)
    child_vitals: dict[str, dict[str, Any]] = {}
    if authz.can(actor, p.INDICATOR_READ):
        from shuzhi.services.sensing.vital_signs import area_colours

        child_vitals = area_colours(uow, actor, [
            (c["code"], area.path if is_leaf else f"{area.path}{c['code']}/", c["level"]) for c in children], now=now)
    rows = []
    for c in children:
        box = total if is_leaf else per.get(c["code"], blank())
        rows.append({**{k: v for k, v in c.items() if k != "geometry"}, **box, "warning_level": worst(box),
                     "vital_colour": (child_vitals.get(c["code"]) or {}).get("colour"), "drillable": not is_leaf})
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": c["geometry"], "properties": {"code": c["code"], "name": c["name"]}}
        for c in children if c["geometry"] is not None]}
    vitals: dict[str, Any] | None = None
    if authz.can(actor, p.INDICATOR_READ):
        from shuzhi.services.sensing.vital_signs import vital_signs

        tree = vital_signs(uow, narrowed(actor, area.path), depth="sector", now=now)
        vitals = {"sectors": [{"code": n["code"], "name": n["name"], "colour": n["colour"], "counts": n["counts"]}
                              for n in tree["sectors"]]}
        order = tree["colours"]
        coloured = [n["colour"] for n in vitals["sectors"] if n["colour"]]
        vitals["colour"] = max(coloured, key=order.index) if coloured else None
    return {"at": now, "area": focus, "crumbs": crumbs,
            "child_level": None if is_leaf else (AreaLevel(area.level).child or AreaLevel.GRID).value,
            "totals": total, "children": rows, "map": layer, "vitals": vitals,
            "markers": [{"number": m[0], "title": m[1], "state": m[2], "urgency": m[3], "lon": m[4], "lat": m[5]}
                        for m in markers]}


# --- between the levels ------------------------------------------------------------------------------


def cross_level(uow: UnitOfWork, actor: Actor, area_code: str | None = None, *, days: int = 30,
                now: datetime | None = None) -> dict[str, Any]:
    """Work moving between the levels of one area's subtree over the last ``days`` local days.

    - ``down``: tasks to handle (lead/assist) created by a centre for a unit of a lower level (纵向交办:
      district → town, town → village/grid), per pair of levels, from the ``task.create`` lines' tasks;
    - ``up``: the timeline lines that send work up — an event escalated to the centre above
      (``event.escalate``), a task returned before signing (``task.return``), declared beyond the unit's
      capacity (``task.escalate``) or sent up unsigned by supervision (``supervision.escalate``) — per
      action and pair of levels;
    - ``waits``: per level of the unit holding the task, how many tasks it received, how long they
      waited to be signed for and to be reported back (mean hours), and how many are still open and
      overdue now; ``intake``: per level of the owner centre, how long events waited to be dispatched;
    - ``closes``: events closed in the period, per level that did the work (the lowest level whose
      lead task reported back; else the owner centre's: it handled or closed the case itself), with
      the major classes each level closed most.
    """
    authz.require(actor, p.EVENT_READ)
    if not 1 <= days <= 366:
        raise Invalid("days must be between 1 and 366", field="days")
    now = now or datetime.now(UTC)
    since = local_day_start(now) - timedelta(days=days - 1)
    with uow:
        s = uow.session
        dialect = s.get_bind().dialect.name
        area = _focus(s, actor, area_code)
        under = Event.area_path.startswith(area.path, autoescape=True)
        giver, taker = aliased(Unit), aliased(Unit)
        down = s.execute(
            select(giver.level, taker.level, func.count())
            .select_from(Task).join(Event, same_case(Task))
            .join(giver, giver.id == Task.dispatched_by_unit_id).join(taker, taker.id == Task.unit_id)
            .where(under, Task.dispatched_at >= since, CARRIES_WORK, giver.kind == "centre",
                   _rank(giver.level) < _rank(taker.level))
            .group_by(giver.level, taker.level)).all()
        # a task's line: the task's unit hands it up to the unit that dispatched it
        task_up = s.execute(
            select(TimelineEntry.action, taker.level, giver.level, func.count())
            .select_from(TimelineEntry).join(Event, same_case(TimelineEntry))
            .join(Task, and_(Task.id == TimelineEntry.task_id, Task.district_code == TimelineEntry.district_code))
            .join(taker, taker.id == Task.unit_id).outerjoin(giver, giver.id == Task.dispatched_by_unit_id)
            .where(under, TimelineEntry.at >= since, MOVES_UP, TimelineEntry.action != "event.escalate")
            .group_by(TimelineEntry.action, taker.level, giver.level)).all()
        # an event's escalation names both centres in its payload
        escalations = s.scalars(
            select(TimelineEntry.payload).join(Event, same_case(TimelineEntry))
            .where(under, TimelineEntry.at >= since, MOVES_UP, TimelineEntry.action == "event.escalate")).all()
        codes = {c for pl in escalations for c in ((pl or {}).get("from_unit"), (pl or {}).get("to_unit")) if c}
        unit_levels = dict(s.execute(select(Unit.code, Unit.level).where(Unit.code.in_(codes))).all()) if codes else {}
        waited = s.execute(
            select(taker.level, func.count(),
                   func.count(Task.accepted_at), func.avg(_seconds(Task.accepted_at, Task.dispatched_at, dialect)),
                   func.count(Task.reported_at), func.avg(_seconds(Task.reported_at, Task.dispatched_at, dialect)),
                   func.sum(case((Task.state.in_(RUNNING_STATES), 1), else_=0)),
                   func.sum(case((and_(Task.state.in_(RUNNING_STATES), Task.handle_due_at < now), 1), else_=0)))
            .select_from(Task).join(Event, same_case(Task)).join(taker, taker.id == Task.unit_id)
            .where(under, Task.dispatched_at >= since, CARRIES_WORK)
            .group_by(taker.level)).all()
        owner = aliased(Unit)
        intake = s.execute(
            select(owner.level, func.count(), func.count(Event.dispatched_at),
                   func.avg(_seconds(Event.dispatched_at, Event.received_at, dialect)))
            .select_from(Event).join(owner, owner.id == Event.owner_unit_id)
            .where(under, Event.received_at >= since, Event.mode == "handle")
            .group_by(owner.level)).all()
        # the lowest level whose lead task reported back, else the owner centre's
        worker = aliased(Unit)
        lead = aliased(Task)
        done_rank = func.max(func.coalesce(_rank(worker.level), _rank(owner.level)))
        per_event = (
            select(Event.id.label("event_id"), Event.event_class_id.label("class_id"), done_rank.label("rank"))
            .select_from(Event).outerjoin(owner, owner.id == Event.owner_unit_id)
            .outerjoin(lead, and_(same_case(lead), lead.role == "lead", lead.reported_at.is_not(None)))
            .outerjoin(worker, worker.id == lead.unit_id)
            .where(under, Event.closed_at >= since, Event.mode == "handle")
            .group_by(Event.id, Event.event_class_id).subquery())
        closes = s.execute(
            select(per_event.c.rank, EventClass.major_code, EventClass.major_name, func.count())
            .select_from(per_event).outerjoin(EventClass, EventClass.id == per_event.c.class_id)
            .group_by(per_event.c.rank, EventClass.major_code, EventClass.major_name)).all()

    up: dict[tuple[str, str | None, str | None], int] = defaultdict(int)
    for action, from_level, to_level, n in task_up:
        up[(action, from_level, to_level)] += int(n)
    for pl in escalations:
        pl = pl or {}
        pair = (unit_levels.get(pl.get("from_unit") or ""), unit_levels.get(pl.get("to_unit") or ""))
        up[("event.escalate", *pair)] += 1

    def hours(seconds: Any) -> float | None:
        return round(float(seconds) / 3600, 2) if seconds is not None else None

    by_level: dict[str, dict[str, Any]] = {}
    for rank, major_code, major_name, n in closes:
        level = LEVELS[int(rank)] if rank is not None and 0 <= int(rank) < len(LEVELS) else "unknown"
        box = by_level.setdefault(level, {"level": level, "closed": 0, "classes": []})
        box["closed"] += int(n)
        box["classes"].append({"major_code": major_code, "major_name": major_name, "closed": int(n)})
    for box in by_level.values():
        box["classes"] = sorted(box["classes"], key=lambda c: -c["closed"])[:5]
    order = {lv: i for i, lv in enumerate(LEVELS)}
    return {
        "area": {"code": area.code, "name": area.name, "level": area.level},
        "days": days, "since": since,
        "down": sorted(({"from_level": f, "to_level": t, "count": int(n)} for f, t, n in down),
                       key=lambda r: (order.get(r["from_level"], 9), order.get(r["to_level"], 9))),
        "up": sorted(({"action": a, "from_level": f, "to_level": t, "count": n} for (a, f, t), n in up.items()),
                     key=lambda r: (UP_ACTIONS.index(r["action"]), order.get(r["from_level"] or "", 9))),
        "waits": sorted(({"level": lv, "tasks": int(n), "accepted": int(na), "accept_hours": hours(a),
                          "reported": int(nr), "report_hours": hours(r), "open": int(op or 0),
                          "overdue": int(od or 0)} for lv, n, na, a, nr, r, op, od in waited),
                        key=lambda r: order.get(r["level"], 9)),
        "intake": sorted(({"level": lv, "events": int(n), "dispatched": int(nd), "dispatch_hours": hours(a)}
                          for lv, n, nd, a in intake), key=lambda r: order.get(r["level"], 9)),
        "closes": sorted(by_level.values(), key=lambda r: order.get(r["level"], 9)),
    }
