"""Evaluation use cases: figures, scores, the five-colour map, rankings, red/black lists, schemes.

Every query is limited to the actor's scope (a town user's figures never include another town):
roll-up rows carry the path of their town, so the scope is a prefix on it; below town level, or for
an actor whose scope is below town level, figures are counted directly from the events in scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, Unit
from shuzhi.domain import permissions as P
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.evaluation import (
    COPY_MEASURES,
    COPY_RATES,
    LEDGER_MEASURES,
    LEDGER_RATES,
    MEASURES,
    RATING_MEASURES,
    RATING_RATES,
    RUNWAY_MEASURES,
    RUNWAY_RATES,
    TWO_WAY_MEASURES,
    TWO_WAY_RATES,
    Figures,
    WorkingClock,
    contributions,
    copy_rates,
    ledger_rates,
    rating_rates,
    runway_rates,
    two_way_rates,
    utc,
)
from shuzhi.domain.periods import Period, PeriodError, parse_period
from shuzhi.domain.scoring import Scheme, rank
from shuzhi.services.actors import Actor
from shuzhi.services.deadlines import default_calendar
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.evaluation_schemes import active_scheme
from shuzhi.services.rollups import ROLLUPS, TOWN_CODE_LENGTH, choose_grain, iter_events
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

GROUPS = ("area", "unit", "class", "source", "day")
_ROLLUP_LEVELS = {"city", "district", "town"}


@dataclass(frozen=True)
class Query:
    area: Area | None
    period: Period
    group_by: str | None = None
    unit: Unit | None = None
    event_class: EventClass | None = None
    source: str | None = None
    unit_kind: str | None = None


def period_of(text: str | None, field: str = "period") -> Period:
    if text is None or not text.strip():
        raise Invalid("the period is empty: give e.g. 2024-06, 2024-W24, 2024-Q2, 2024 or 2024-06-01..2024-06-20",
                      field=field)
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise Invalid(str(exc), field=field) from None


def _is_department(actor: Actor) -> bool:
    """A department sees no area as such (its scope is its unit's tasks): see ``scope_paths``."""
    return actor.area_paths == () and actor.unit_id is not None


def resolve_area(s: Session, actor: Actor, code: str | None) -> Area | None:
    if code is None or not code.strip():
        if actor.area_paths is None or _is_department(actor):
            return s.scalar(select(Area).where(Area.parent_id.is_(None)).order_by(Area.id).limit(1))
        code = actor.area_paths[0].rstrip("/").rsplit("/", 1)[-1]
    area = s.scalar(select(Area).where(Area.code == code.strip()))
    if area is None:
        raise NotFound(f"unknown area '{code}'", field="area")
    if actor.area_paths is not None and not _is_department(actor) and not any(
            area.path.startswith(p) or p.startswith(area.path) for p in actor.area_paths):
        raise NotFound(f"unknown area '{code}'", field="area")
    return area


def build_query(s: Session, actor: Actor, *, area: str | None, period: str | None, group_by: str | None = None,
                unit: str | None = None, event_class: str | None = None, source: str | None = None,
                unit_kind: str | None = None) -> Query:
    if group_by is not None and group_by not in GROUPS:
        raise Invalid(f"cannot group by '{group_by}'; one of {', '.join(GROUPS)}", field="group_by")
    p = period_of(period)
    u = None
    if unit:
        u = s.scalar(select(Unit).where(Unit.code == unit))
        if u is None:
            raise NotFound(f"unknown unit '{unit}'", field="unit")
    if _is_department(actor):
        # a department's people get their own unit's figures, wherever its tasks lay (#15)
        if u is not None and u.id != actor.unit_id:
            raise NotFound(f"unknown unit '{unit}'", field="unit")
        u = s.get(Unit, actor.unit_id)
    c = None
    if event_class:
        c = s.scalar(select(EventClass).where(EventClass.code == event_class))
        if c is None:
            raise NotFound(f"unknown event class '{event_class}'", field="event_class")
    return Query(resolve_area(s, actor, area), p, group_by, u, c, source or None, unit_kind)


def unit_ids_of_kind(s: Session, kind: str) -> set[int]:
    """The units of a kind; ``board`` names the town boards (kind ``department`` at town level, issue #20)
    and ``grid_team`` the grid units with a team."""
    from shuzhi.adapters.db.tables_town import GridTeamMember, TownBoard

    if kind == "board":
        return set(s.scalars(select(TownBoard.unit_id)))
    if kind == "grid_team":
        return set(s.scalars(select(GridTeamMember.grid_unit_id).distinct()))
    return set(s.scalars(select(Unit.id).where(Unit.kind == kind)))


def _scope_paths(actor: Actor, area: Area | None) -> list[str] | None:
    """The area prefixes to count: the asked area, narrowed to the actor's subtrees inside it."""
    if actor.area_paths is None or (actor.area_paths == () and actor.unit_id is not None):
        # installation-wide, or a department (whose figures ``build_query`` limits to its unit)
        return None if area is None else [area.path]
    if area is None:
        return list(actor.area_paths)
    inside = [p for p in actor.area_paths if p.startswith(area.path)]
    return inside if inside else [area.path]


def _is_town_or_above(path: str) -> bool:
    return all(len(part) <= TOWN_CODE_LENGTH for part in path.strip("/").split("/"))


def _use_rollups(q: Query, paths: list[str] | None) -> bool:
    if q.area is not None and q.area.level not in _ROLLUP_LEVELS:
        return False
    if q.group_by == "area" and q.area is not None and q.area.level == "town":
        return False
    return paths is None or all(_is_town_or_above(p) for p in paths)


def _child_path(path: str, parent: Area | None) -> str:
    """The path of the child of ``parent`` that contains ``path`` (the area itself when it is the parent)."""
    parts = [p for p in path.split("/") if p]
    depth = 0 if parent is None else len([p for p in parent.path.split("/") if p])
    keep = parts[:depth + 1] if len(parts) > depth else parts
    return "/" + "/".join(keep) + "/" if keep else ""


def figure_rows(s: Session, actor: Actor, q: Query) -> tuple[dict[Any, dict[str, int]], str]:
    """Summed counts per group key (``None`` when not grouped) and where they came from (rollup|direct)."""
    paths = _scope_paths(actor, q.area)
    if _use_rollups(q, paths):
        return _from_rollups(s, q, paths), "rollup"
    return _direct(s, q, paths), "direct"


def _from_rollups(s: Session, q: Query, paths: list[str] | None) -> dict[Any, dict[str, int]]:
    t = ROLLUPS
    dims = {"unit"} if q.unit is not None or q.group_by == "unit" or q.unit_kind else set()
    if q.event_class is not None or q.group_by == "class":
        dims.add("class")
    if q.source is not None or q.group_by == "source":
        dims.add("source")
    grain = choose_grain(dims)
    group_col = {"area": t.c.area_path, "unit": t.c.unit_id, "class": t.c.class_id, "source": t.c.source,
                 "day": t.c.day}.get(q.group_by or "")
    cols = [func.sum(t.c[m]).label(m) for m in MEASURES]
    kinds: set[int] | None = None
    if q.unit_kind:
        # Units of a kind are filtered here, not by ``unit_id IN (subquery)``: PostgreSQL turned that into
        # one walk of the month's index entries per unit (43,000 pages instead of 1,300 at 1M events).
        kinds = unit_ids_of_kind(s, q.unit_kind)
    by_unit = kinds is not None and group_col is not t.c.unit_id  # the unit is needed only to filter
    keys = ([t.c.unit_id] if by_unit else []) + ([group_col] if group_col is not None else [])
    stmt = select(*keys, *cols).where(t.c.grain == grain, t.c.day >= q.period.start, t.c.day <= q.period.end)
    if paths is not None:
        stmt = stmt.where(or_(*[t.c.area_path.startswith(p, autoescape=True) for p in paths]))
    if q.unit is not None:
        stmt = stmt.where(t.c.unit_id == q.unit.id)
    if q.event_class is not None:
        stmt = stmt.where(t.c.class_id == q.event_class.id)
    if q.source is not None:
        stmt = stmt.where(t.c.source == q.source)
    if keys:
        stmt = stmt.group_by(*keys)
    out: dict[Any, dict[str, int]] = {}
    for result in s.execute(stmt).all():
        unit_id = result[0] if by_unit or group_col is t.c.unit_id else None
        row = tuple(result[1:]) if by_unit else tuple(result)
        if kinds is not None and unit_id not in kinds:
            continue
        key = row[0] if group_col is not None else None
        values = row[1:] if group_col is not None else row
        if q.group_by == "area":
            key = _child_path(key, q.area) if key else ""
        cell = out.setdefault(key, dict.fromkeys(MEASURES, 0))
        for m, v in zip(MEASURES, values, strict=True):
            cell[m] += int(v or 0)
    return out


def happened_in(path: str) -> ColumnElement[bool]:
    """Events that happened in the subtree ``path``: a re-homed event (issue #20, areas that change)
    counts where it happened, not where its open work went."""
    return or_(and_(Event.origin_area_path.is_(None), Event.area_path.startswith(path, autoescape=True)),
               Event.origin_area_path.startswith(path, autoescape=True))


def _direct(s: Session, q: Query, paths: list[str] | None) -> dict[Any, dict[str, int]]:
    now = datetime.now(UTC)
    clock = WorkingClock(default_calendar())
    where = []
    if paths is not None:
        where.append(or_(*[happened_in(p) for p in paths]))
    if q.event_class is not None:
        where.append(Event.event_class_id == q.event_class.id)
    if q.source is not None:
        where.append(Event.source == q.source)
    kinds: set[int] | None = None
    if q.unit_kind:
        kinds = unit_ids_of_kind(s, q.unit_kind)
    out: dict[Any, dict[str, int]] = {}
    for batch in iter_events(s, and_(*where) if where else None):
        for item in batch:
            for c in contributions(item.snapshot, now, clock):
                if not q.period.start <= c.day <= q.period.end:
                    continue
                if q.unit is not None and c.unit_id != q.unit.id:
                    continue
                if kinds is not None and c.unit_id not in kinds:
                    continue
                key = {None: None, "area": _child_path(item.area_path or "", q.area), "unit": c.unit_id,
                       "class": item.class_id, "source": item.source, "day": c.day}[q.group_by]
                cell = out.setdefault(key, dict.fromkeys(MEASURES, 0))
                for m, v in c.measures.items():
                    cell[m] += v
    return out


def _names(s: Session, q: Query, keys: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    keys = [k for k in keys if k not in (None, "", 0)]
    if q.group_by == "area":
        return {a.path: {"code": a.code, "name": a.name, "level": a.level}
                for a in s.scalars(select(Area).where(Area.path.in_(keys)))}
    if q.group_by == "unit":
        return {u.id: {"code": u.code, "name": u.name, "kind": u.kind}
                for u in s.scalars(select(Unit).where(Unit.id.in_(keys)))}
    if q.group_by == "class":
        found = s.scalars(select(EventClass).where(EventClass.id.in_(keys)))
        return {c.id: {"code": c.code, "name": c.name} for c in found}
    return {k: {"code": str(k), "name": str(k)} for k in keys}


def _children(s: Session, q: Query, actor: Actor) -> list[Area]:
    """Child areas of the asked area that the actor may see (so that a town with no cases still shows)."""
    if q.area is None:
        return []
    kids = [a for a in s.scalars(select(Area).where(Area.parent_id == q.area.id).order_by(Area.code))
            if valid_during(a, q.period.start, q.period.end)]
    return [a for a in kids if authz.path_visible(actor, a.path) or (
        actor.area_paths is not None and any(p.startswith(a.path) for p in actor.area_paths))]


def valid_during(area: Area, first: date, last: date) -> bool:
    """Whether an area version was valid on some day from ``first`` to ``last`` (issue #20): last month's
    villages are the ones before a merge, this month's the merged one from its first day."""
    starts = area.valid_from.astimezone(SHANGHAI).date() if area.valid_from is not None else None
    ends = area.valid_to.astimezone(SHANGHAI).date() if area.valid_to is not None else None
    return (starts is None or starts <= last) and (ends is None or ends > first)


def describe(q: Query) -> dict[str, Any]:
    return {"area": None if q.area is None else {"code": q.area.code, "name": q.area.name, "level": q.area.level},
            "period": {"kind": q.period.kind.value, "label": q.period.label, "title": q.period.title,
                       "start": q.period.start.isoformat(), "end": q.period.end.isoformat()},
            "group_by": q.group_by,
            "filters": {"unit": q.unit.code if q.unit else None,
                        "event_class": q.event_class.code if q.event_class else None, "source": q.source,
                        "unit_kind": q.unit_kind}}


def grouped(s: Session, actor: Actor, q: Query) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Groups (each with key, code, name and counts) and the total over them."""
    rows, origin = figure_rows(s, actor, q)
    if q.group_by == "area":
        for child in _children(s, q, actor):
            rows.setdefault(child.path, dict.fromkeys(MEASURES, 0))
    names = _names(s, q, rows.keys())
    total = Figures()
    groups = []
    for key, counts in rows.items():
        total.add(counts)
        if q.group_by is None:
            continue
        label = names.get(key, {"code": "" if key in (None, "", 0) else str(key), "name": "（未定位/未归属）"})
        groups.append({"key": key.isoformat() if hasattr(key, "isoformat") else key, **label, "counts": counts})
    groups.sort(key=lambda g: str(g["key"]))
    return groups, total.counts, origin


def figures(uow: UnitOfWork, actor: Actor, **params: Any) -> dict[str, Any]:
    """Counts, rates and averages for an area and period, optionally grouped (area/unit/class/source/day)."""
    from shuzhi.domain.duty_desk import PRESENCE_MEASURES, presence_rates

    authz.require(actor, P.EVALUATION_READ)
    with uow:
        s = uow.session
        q = build_query(s, actor, **params)
        groups, total, origin = grouped(s, actor, q)
        out = describe(q)
        out["computed_from"] = origin
        out["total"] = Figures(dict(total)).as_dict()
        if q.group_by == "unit":
            # 及时知悉率 beside the event figures: a unit's copies (抄送) read by their read deadline; and
            # the on-post checks (在岗抽查) a centre was asked and answered in time
            groups = _with_presence(s, actor, q, groups)
            groups = _with_copies(s, actor, q, groups)
            groups = _with_duties(s, actor, q, groups)
        out["groups"] = []
        for g in groups:
            entry = ({k: v for k, v in g.items() if k not in ("counts", "copies", "presence")}
                     | Figures(dict(g["counts"])).as_dict())
            if q.group_by == "unit":
                counted = g.get("copies") or dict.fromkeys(COPY_MEASURES, 0)
                presence = g.get("presence") or dict.fromkeys(PRESENCE_MEASURES, 0)
                entry |= counted | copy_rates(counted) | presence | presence_rates(presence)
            out["groups"].append(entry)
        return out


# --- scores, colour map, rankings ---------------------------------------------------------------


def _has_activity(counts: dict[str, int]) -> bool:
    return any(counts[m] for m in ("received", "dispatched", "due", "handled", "accepted", "task_reports", "closed"))


def _attach(s: Session, q: Query, groups: list[dict[str, Any]], figures: dict[Any, dict[str, int]],
            name: str) -> list[dict[str, Any]]:
    """Put another part's counts (ledgers, ratings, on-post checks, copies) on each group as ``name``;
    a group with such counts and no events still gets its row (most towns receive copies and report on
    ledgers on days they have no case)."""
    by_key = {g["key"]: g for g in groups}
    missing = [k for k in figures if k not in by_key]
    names = _names(s, q, missing)
    for k in missing:
        g = {"key": k, **names.get(k, {"code": str(k), "name": str(k)}), "counts": dict.fromkeys(MEASURES, 0)}
        groups.append(g)
        by_key[k] = g
    for k, counts in figures.items():
        by_key[k][name] = counts
    return groups


def _with_ledgers(s: Session, actor: Actor, q: Query, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per unit, the ledgers' figures (台账: on-time reporting and completion, overdue, stalled, reopened)
    beside the events'; a unit with ledger items and no events still gets its row."""
    from shuzhi.services.ledgers.figures import unit_counts

    ledger = unit_counts(s, actor, q.period, area_path=q.area.path if q.area is not None else None)
    if q.unit is not None:
        ledger = {k: v for k, v in ledger.items() if k == q.unit.id}
    return _attach(s, q, groups, ledger, "ledger")


def _with_ratings(s: Session, actor: Actor, q: Query, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per department (every unit with a share in the rated case) or per child area, the service ratings'
    figures (好差评: 好评率, 差评整改率, on-time rectification) rated in the period; a unit or area with
    ratings and no events still gets its row."""
    from shuzhi.services.window.rating_figures import evaluation_counts

    lo, hi = utc(q.period.start), utc(q.period.end + timedelta(days=1))
    if q.group_by == "unit":
        rated: dict[Any, dict[str, int]] = {
            int(k): v for k, v in evaluation_counts(s, actor, "department", lo, hi).items()}
        if q.unit is not None:
            rated = {k: v for k, v in rated.items() if k == q.unit.id}
    else:
        area = q.area
        rated = {k: v for k, v in evaluation_counts(s, actor, "area", lo, hi,
                                                     area_key=lambda p: _child_path(p, area)).items()
                 if area is None or k.startswith(area.path)}
    return _attach(s, q, groups, rated, "rated")


def _with_two_way(s: Session, actor: Actor, q: Query, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per department (every unit that answered the call) or per child area (the call's), how enterprises
    rated the handling of their calls (政企双向评价: 企业评价好评率) in the period; a unit or area with such
    ratings and no events still gets its row."""
    from shuzhi.services.window.whistle_ratings import evaluation_counts as two_way_counts

    lo, hi = utc(q.period.start), utc(q.period.end + timedelta(days=1))
    if q.group_by == "unit":
        rated: dict[Any, dict[str, int]] = {
            int(k): v for k, v in two_way_counts(s, actor, "department", lo, hi).items()}
        if q.unit is not None:
            rated = {k: v for k, v in rated.items() if k == q.unit.id}
    else:
        area = q.area
        rated = {k: v for k, v in two_way_counts(s, actor, "area", lo, hi,
                                                 area_key=lambda p: _child_path(p, area)).items()
                 if area is None or k.startswith(area.path)}
    return _attach(s, q, groups, rated, "two_way")


def _with_presence(s: Session, actor: Actor, q: Query, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per centre, the on-post checks (在岗抽查) decided in the period: checks, misses, on-time rate;
    a centre checked with no events still gets its row."""
    from shuzhi.services.duty_desk import presence_counts

    lo, hi = utc(q.period.start), utc(q.period.end + timedelta(days=1))
    checked = presence_counts(s, actor, lo, hi, area_path=q.area.path if q.area is not None else None)
    if q.unit is not None:
        checked = {k: v for k, v in checked.items() if k == q.unit.id}
    return _attach(s, q, groups, checked, "presence")


def copy_counts(s: Session, actor: Actor, q: Query, now: datetime | None = None) -> dict[int, dict[str, int]]:
    """Per unit, its copies (抄送) whose read deadline falls in the period, judged at ``now`` by
    :func:`shuzhi.domain.evaluation.copy_judgement` (one grouped query, the same rule in SQL): the
    numerator and denominator of the 及时知悉率. Units in the asked area and the actor's scope."""

    at = now or datetime.now(UTC)
    lo, hi = utc(q.period.start), utc(q.period.end + timedelta(days=1))
    read, due = Task.read_at, Task.read_due_at
    on_time = and_(read.is_not(None), read <= due)
    late = and_(read.is_not(None), read > due)
    unread_late = and_(read.is_(None), due < at, Task.state == "notified")
    stmt = (select(Task.unit_id, func.sum(case((on_time, 1), else_=0)), func.sum(case((late, 1), else_=0)),
                   func.sum(case((unread_late, 1), else_=0)))
            .join(Unit, Unit.id == Task.unit_id).join(Area, Area.id == Unit.area_id)
            .where(Task.role == "notify", due >= lo, due < hi, Task.state.in_(["notified", "read"]),
                   authz.area_clause(actor, Area.path, Task.unit_id))
            .group_by(Task.unit_id))
    if q.area is not None:
        stmt = stmt.where(Area.path.startswith(q.area.path, autoescape=True))
    if q.unit is not None:
        stmt = stmt.where(Task.unit_id == q.unit.id)
    if q.unit_kind:
        stmt = stmt.where(Unit.id.in_(unit_ids_of_kind(s, q.unit_kind)))
    if q.event_class is not None or q.source:
        events = select(Event.id)
        if q.event_class is not None:
            events = events.where(Event.event_class_id == q.event_class.id)
        if q.source:
            events = events.where(Event.source == q.source)
        stmt = stmt.where(Task.event_id.in_(events))
    out: dict[int, dict[str, int]] = {}
    for unit_id, a, b, c in s.execute(stmt).all():
        a, b, c = int(a or 0), int(b or 0), int(c or 0)
        if a + b + c:
            out[int(unit_id)] = {"copies_due": a + b + c, "copies_read_on_time": a, "copies_read_late": b,
                                 "copies_unread_late": c}
    return out


def _with_duties(s: Session, actor: Actor, q: Query, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per grid team, its duty list's completion (履职完成率, issue #20) beside the events' figures: the
    team's items due in the period, done on time, late, overdue; a team with items and no events still
    gets its row. Counted only for units grouped over all kinds or over grid teams."""
    from shuzhi.adapters.db.tables_town import DutyItem
    from shuzhi.services.grid_teams import duty_counts

    if q.unit_kind not in (None, "grid", "grid_team") or q.event_class is not None or q.source:
        return groups
    paths = _scope_paths(actor, q.area)
    extra = [] if q.unit is None else [DutyItem.grid_unit_id == q.unit.id]
    counts = duty_counts(s, utc(q.period.start), utc(q.period.end + timedelta(days=1)), datetime.now(UTC),
                         by="grid", paths=paths, extra=extra)
    return _attach(s, q, groups, {k: v for k, v in counts.items() if v["due"] or v["open"]}, "duties")


def _with_copies(s: Session, actor: Actor, q: Query, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per unit, the copies' figures (抄送知悉: 及时知悉率) beside the events'; a unit that only receives
    copies (most towns, most days) still gets its row."""
    copies = copy_counts(s, actor, q)
    return _attach(s, q, groups, copies, "copies")


def _with_runways(s: Session, actor: Actor, q: Query, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per runway lead unit (跑道建设牵头单位), its evaluable indicators' data quality and warning handling
    (issue #22); a lead unit with no events still gets its row."""
    from shuzhi.services.sensing.collection import lead_unit_counts

    lo, hi = utc(q.period.start), utc(q.period.end + timedelta(days=1))
    led = lead_unit_counts(s, actor, lo, hi, area_path=q.area.path if q.area is not None else None)
    if q.unit is not None:
        led = {k: v for k, v in led.items() if k == q.unit.id}
    return _attach(s, q, groups, led, "runway")


def scored(s: Session, actor: Actor, q: Query) -> tuple[str, Scheme, list[dict[str, Any]]]:
    from shuzhi.domain.duty_desk import PRESENCE_MEASURES, presence_rates

    code, scheme = active_scheme(s, q.area.path if q.area is not None else authz.own_area_path(actor))
    groups, _, _ = grouped(s, actor, q)
    if q.group_by == "unit":
        groups = _with_ledgers(s, actor, q, groups)
        groups = _with_presence(s, actor, q, groups)
        groups = _with_copies(s, actor, q, groups)
        groups = _with_runways(s, actor, q, groups)
    if q.group_by in ("unit", "area"):
        groups = _with_ratings(s, actor, q, groups)
        groups = _with_two_way(s, actor, q, groups)
    out = []
    for g in groups:
        f = Figures(dict(g["counts"]))
        ledger = g.get("ledger") or dict.fromkeys(LEDGER_MEASURES, 0)
        rated = g.get("rated") or dict.fromkeys(RATING_MEASURES, 0)
        presence = g.get("presence") or dict.fromkeys(PRESENCE_MEASURES, 0)
        copied = g.get("copies") or dict.fromkeys(COPY_MEASURES, 0)
        runway = g.get("runway") or dict.fromkeys(RUNWAY_MEASURES, 0)
        entry = ({k: v for k, v in g.items()
                  if k not in ("counts", "ledger", "rated", "presence", "copies", "runway")} | f.as_dict())
        two = g.get("two_way") or dict.fromkeys(TWO_WAY_MEASURES, 0)
        entry = ({k: v for k, v in g.items()
                  if k not in ("counts", "ledger", "rated", "presence", "copies", "two_way")} | f.as_dict())
        if q.group_by == "unit":
            entry |= (ledger | ledger_rates(ledger) | presence | presence_rates(presence) | copied
                      | copy_rates(copied) | runway | runway_rates(runway))
        if q.group_by in ("unit", "area"):
            entry |= rated | rating_rates(rated) | two | two_way_rates(two)
        if (_has_activity(g["counts"]) or ledger.get("ledger_items") or rated.get("ratings_valid")
                or presence.get("presence_checks") or copied.get("copies_due") or runway.get("runway_indicators")
                or two.get("enterprise_ratings")):
            card = scheme.score({**f.counts, **ledger, **rated, **presence, **copied, **runway, **two},
                                {**f.rates(), **ledger_rates(ledger), **rating_rates(rated),
                                 **presence_rates(presence), **copy_rates(copied), **runway_rates(runway),
                                 **two_way_rates(two)})
            entry.update(score=card.score, colour=card.band.colour, band=card.band.label,
                         score_items=card.items, deduction=card.deduction, bonus=card.bonus)
        else:
            entry.update(score=None, colour="grey", band="无数据", score_items={}, deduction=0.0, bonus=0.0)
        out.append(entry)
    return code, scheme, out


def colour_map(uow: UnitOfWork, actor: Actor, *, by: str = "area", **params: Any) -> dict[str, Any]:
    """The five-colour map (五色图): a score and its band for each child area (or unit) of the area."""
    authz.require(actor, P.EVALUATION_READ)
    if by not in ("area", "unit"):
        raise Invalid("the colour map is by 'area' or 'unit'", field="by")
    with uow:
        s = uow.session
        q = build_query(s, actor, group_by=by, **params)
        code, scheme, entries = scored(s, actor, q)
        children, own = _split_own(q, entries)
        out = describe(q)
        out["scheme"] = code
        out["bands"] = [{"colour": b.colour, "label": b.label, "min_score": b.min_score} for b in scheme.bands]
        out["items"] = children
        out["own"] = own
        return out


def _split_own(q: Query, entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """By area, the child areas and, apart, the area's own row (本级): events registered at the area
    itself (a district-wide notice copied to its towns) belong to no child, and the district is no
    peer of its towns on the map or in their ranking."""
    if q.group_by != "area" or q.area is None:
        return entries, None
    own = next((e for e in entries if e.get("key") == q.area.path), None)
    return [e for e in entries if e is not own], own


def rankings(uow: UnitOfWork, actor: Actor, *, by: str = "unit", peers: bool = False,
             **params: Any) -> dict[str, Any]:
    """Rankings (赛马比拼) with the movement against the previous period, and the red and black lists.

    ``peers``: the ranking among the actor's peers — the areas or units under his area's parent (a town
    sees all the district's towns) — published to the peers as the seeds' 赛马比拼 and 晒账 are. A
    separate, explicit permission (``evaluation.peers``); it widens the *scores* only: the peers'
    events stay out of sight (every other route still scopes by the actor's own area). The towns of a
    district see their ranking among each other only once the district has published the period
    (``services/evaluation_publications.py``), as it stood then; before, *not found* on ``period``."""
    authz.require(actor, P.EVALUATION_READ)
    if by not in ("area", "unit"):
        raise Invalid("rankings are by 'area' or 'unit'", field="by")
    with uow:
        s = uow.session
        if peers:
            authz.require(actor, P.PEER_COMPARE)
            view, parent = _peer_view(s, actor)
            if by == "area" and parent is not None and view.area_paths != actor.area_paths and s.scalar(
                    select(Area.level).where(Area.code == parent)) == "district":
                from shuzhi.services.evaluation_publications import published_ranking

                return published_ranking(s, actor, parent, params.get("period"))
            actor, params["area"] = view, parent
        q = build_query(s, actor, group_by=by, **params)
        return ranking_of(s, actor, q)


def _peer_view(s: Session, actor: Actor) -> tuple[Actor, str | None]:
    """The actor as seen for a peer ranking: scoped to his area's parent (installation-wide stays so)."""
    if not actor.area_paths:
        if actor.area_paths is None:
            return actor, None
        raise Invalid("a peer ranking is for people of an area (a centre, village or grid)", field="peers")
    parts = actor.area_paths[0].strip("/").split("/")
    parent = parts[-2] if len(parts) > 1 else parts[-1]
    path = s.scalar(select(Area.path).where(Area.code == parent))
    return replace(actor, area_paths=(path,) if path else actor.area_paths), parent


#: The rates and counts each ranking row also gives for the previous period (its movement, 较上期).
COMPARED = ("closure_rate", "on_time_closure_rate", "due", "handled_overdue", "reworked", "ledger_report_rate",
            "ledger_completion_rate", "ledger_overdue", "ledger_reopened")


def _key(entry: dict[str, Any]) -> str:
    return str(entry["key"])


def ranking_of(s: Session, actor: Actor, q: Query) -> dict[str, Any]:
    code, scheme, entries = scored(s, actor, q)
    entries = _split_own(q, entries)[0]
    prev_q = Query(q.area, q.period.previous(), q.group_by, q.unit, q.event_class, q.source, q.unit_kind)
    prev_entries = _split_own(prev_q, scored(s, actor, prev_q)[2])[0]
    now_scores = {_key(e): e["score"] for e in entries if e["score"] is not None}
    prev_scores = {_key(e): e["score"] for e in prev_entries if e["score"] is not None}
    by_key = {_key(e): e for e in entries}
    before = {_key(e): e for e in prev_entries}
    ranked = []
    for r in rank(now_scores, prev_scores):
        e = by_key[r.key]
        ranked.append({"rank": r.rank, "previous_rank": r.previous_rank, "movement": r.movement,
                       "key": e["key"], "code": e.get("code"), "name": e.get("name"), "score": r.score,
                       "previous_score": prev_scores.get(r.key), "colour": e["colour"], "band": e["band"],
                       "closure_rate": e["closure_rate"], "on_time_closure_rate": e["on_time_closure_rate"],
                       "due": e["due"], "handled_overdue": e["handled_overdue"], "reworked": e["reworked"],
                       "score_items": e["score_items"],
                       # 好差评 beside the event figures, when the grouping carries them (unit, area)
                       **{k: e[k] for k in RATING_MEASURES + RATING_RATES if k in e},
                       # 政企双向评价: how enterprises rated the handling of their calls (unit, area)
                       **{k: e[k] for k in TWO_WAY_MEASURES + TWO_WAY_RATES if k in e},
                       # 抄送知悉 (unit rankings)
                       **{k: e[k] for k in COPY_MEASURES + COPY_RATES if k in e},
                       # 台账 (unit rankings): the ledgers' counts and rates beside the events'
                       **{k: e[k] for k in LEDGER_MEASURES + LEDGER_RATES if k in e},
                       # the same figures in the previous period, for the comparison (较上期)
                       # a runway lead unit's data quality and warning handling (unit rankings, issue #22)
                       **{k: e[k] for k in RUNWAY_MEASURES + RUNWAY_RATES if k in e},
                       "previous": {k: before.get(r.key, {}).get(k) for k in COMPARED if k in e}})
    red = [r for r in ranked if r["score"] >= scheme.red_min][:scheme.red_size]
    black = [r for r in reversed(ranked) if r["score"] <= scheme.black_max][:scheme.black_size]
    out = describe(q)
    out.update(scheme=code, previous_period=prev_q.period.label, ranking=ranked, red_list=red, black_list=black,
               unranked=[{"key": e["key"], "code": e.get("code"), "name": e.get("name")}
                         for e in entries if e["score"] is None])
    return out
