"""The town's own cockpit (镇街驾驶舱, issue #20): what the town centre watches besides its events —
its boards' load and overdue work, its grids' patrol coverage, its grid workers on the map and the
plans running in the town.

A town is opened by those whose scope holds it (its centre, the district above it, the city); another
town's officer gets 404, worded like a town that does not exist. Each panel is one or two GROUP BY
queries over the town's subtree.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from shuzhi.adapters.db.tables import Area, Event, Person, Task, Unit
from shuzhi.adapters.db.tables_patrols import Patrol
from shuzhi.adapters.db.tables_plans import PlanRun, PlanRunStep, PlanTemplateRow
from shuzhi.adapters.db.tables_town import TownBoard, TownBoardName
from shuzhi.domain import permissions as p
from shuzhi.domain.events import RUNNING_TASK_STATES
from shuzhi.domain.plan_runs import RunState
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

RUNNING_STATES = sorted(s.value for s in RUNNING_TASK_STATES)
#: A grid counts as covered when one of its workers patrolled it within this many days (a week by default:
#: the "6+1" duty list asks for patrols at least weekly).
COVERAGE_DAYS = 7
#: A worker's position older than this is not shown as where he is.
POSITION_MAX_AGE = timedelta(days=1)


def town_cockpit(uow: UnitOfWork, actor: Actor, town_code: str, *, coverage_days: int = COVERAGE_DAYS,
                 now: datetime | None = None) -> dict[str, Any]:
    """The town's boards, patrol coverage, grid workers' last positions and running plans."""
    authz.require(actor, p.EVENT_READ)
    if not 1 <= coverage_days <= 90:
        raise Invalid("coverage_days must be between 1 and 90", field="coverage_days")
    now = now or datetime.now(UTC)
    since = now - timedelta(days=coverage_days)
    with uow:
        s = uow.session
        town = s.scalars(select(Area).where(Area.code == town_code)).first()
        if town is None or town.level != "town" or not authz.path_visible(actor, town.path):
            raise NotFound("town not found")
        centre = s.scalars(select(Unit).where(Unit.area_id == town.id, Unit.kind == "centre")).first()
        names = dict(s.execute(select(TownBoardName.key, TownBoardName.name)).all())
        boards = s.execute(select(TownBoard.unit_id, TownBoard.key, Unit.code, Unit.name)
                           .join(Unit, Unit.id == TownBoard.unit_id)
                           .where(TownBoard.town_area_id == town.id).order_by(TownBoard.sort, Unit.code)).all()
        unit_ids = [b.unit_id for b in boards] + ([centre.id] if centre else [])
        load = {}
        if unit_ids:
            load = {u: (int(n or 0), int(od or 0), int(asg or 0)) for u, n, od, asg in s.execute(
                select(Task.unit_id, func.count(),
                       func.sum(case((Task.handle_due_at < now, 1), else_=0)),
                       func.sum(case((Task.assignee_id.is_not(None), 1), else_=0)))
                .where(Task.unit_id.in_(unit_ids), Task.state.in_(RUNNING_STATES))
                .group_by(Task.unit_id)).all()}
        grids = s.execute(select(Area.code, Area.name, Area.path, Area.parent_id)
                          .where(Area.level == "grid", Area.path.startswith(town.path, autoescape=True))
                          .order_by(Area.code)).all()
        villages = dict(s.execute(select(Area.id, Area.name).where(
            Area.level == "village", Area.path.startswith(town.path, autoescape=True))).all())
        patrolled = s.execute(
            select(Patrol.area_path, func.count(), func.max(Patrol.started_at))
            .where(Patrol.area_path.startswith(town.path, autoescape=True), Patrol.started_at >= since)
            .group_by(Patrol.area_path)).all()
        # the newest fix of each worker who walked in the town lately (the phone sends it as he patrols)
        fixes = s.execute(
            select(Patrol.person_id, Person.code, Person.name, Area.name, Patrol.last_lon, Patrol.last_lat,
                   Patrol.last_at, Patrol.ended_at)
            .join(Person, Person.id == Patrol.person_id).join(Area, Area.id == Patrol.area_id)
            .where(Patrol.area_path.startswith(town.path, autoescape=True), Patrol.last_at >= now - POSITION_MAX_AGE,
                   Patrol.last_lon.is_not(None))
            .order_by(Patrol.last_at.desc())).all()
        workers_total = int(s.scalar(
            select(func.count()).select_from(Person).join(Unit, Unit.id == Person.unit_id)
            .join(Area, Area.id == Unit.area_id)
            .where(Person.active.is_(True), Person.role == "grid_worker",
                   Area.path.startswith(town.path, autoescape=True))) or 0)
        in_town = Event.area_path.startswith(town.path, autoescape=True)
        step_here = select(PlanRunStep.run_id).where(PlanRunStep.unit_path.startswith(town.path, autoescape=True))
        runs = s.execute(
            select(PlanRun.id, PlanRun.template_code, PlanTemplateRow.name, PlanRun.started_at,
                   PlanRun.warning_level)
            .join(PlanTemplateRow, PlanTemplateRow.id == PlanRun.template_id)
            .outerjoin(Event, Event.id == PlanRun.event_id)
            .where(PlanRun.state == RunState.ACTIVE.value, or_(and_(Event.id.is_not(None), in_town),
                                                               PlanRun.id.in_(step_here)))
            .order_by(PlanRun.started_at.desc()).limit(50)).all() if authz.can(actor, p.PLAN_READ) else None

    board_rows = []
    if centre is not None:
        n, od, asg = load.get(centre.id, (0, 0, 0))
        board_rows.append({"key": None, "unit_code": centre.code, "name": centre.name, "open": n, "overdue": od,
                           "assigned": asg})
    for b in boards:
        n, od, asg = load.get(b.unit_id, (0, 0, 0))
        board_rows.append({"key": b.key, "unit_code": b.code, "name": names.get(b.key, b.name), "open": n,
                           "overdue": od, "assigned": asg})
    covered: dict[str, tuple[int, datetime]] = {}
    for path, n, last in patrolled:
        covered[path] = (int(n), last)
    by_village: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    uncovered = []
    for code, name, path, parent_id in grids:
        vname = villages.get(parent_id, "") if parent_id is not None else ""
        by_village[vname][1] += 1
        hit = [v for k, v in covered.items() if k.startswith(path)]
        if hit:
            by_village[vname][0] += 1
        else:
            uncovered.append({"code": code, "name": name, "village": vname})
    n_covered = len(grids) - len(uncovered)
    seen: set[int] = set()
    workers = []
    for person_id, code, name, area_name, lon, lat, at, ended in fixes:
        if person_id in seen:
            continue
        seen.add(person_id)
        workers.append({"person_code": code, "name": name, "area_name": area_name, "lon": lon, "lat": lat,
                        "at": at, "on_patrol": ended is None})
    return {
        "at": now, "town": {"code": town.code, "name": town.name},
        "boards": board_rows,
        "coverage": {"days": coverage_days, "grids": len(grids), "covered": n_covered,
                     "share": n_covered / len(grids) if grids else None,
                     "villages": [{"name": v, "covered": c, "grids": t} for v, (c, t) in sorted(by_village.items())],
                     "uncovered": uncovered[:50]},
        "workers": workers, "workers_total": workers_total,
        "plans": None if runs is None else [
            {"id": r[0], "template_code": r[1], "name": r[2], "started_at": r[3], "warning_level": r[4]}
            for r in runs],
    }
