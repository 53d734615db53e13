"""A plan's shares: who gets which task of a template, and how a share goes out as a task.

* Roles resolve per affected area (:func:`resolve`): the units of a kind (and level) sitting in or
  above each area, or one named unit; a role that finds no unit is a problem the board shows.
* A share waits when a predecessor task has a share on its branch of the area tree (:func:`waits`,
  :func:`predecessors`), and goes out when they have all reported back (``DONE``); a predecessor
  returned or escalated (``BLOCKING``) keeps it waiting until the centre re-dispatches.
* :func:`dispatch_steps` creates the tasks of dispatched steps with bulk INSERTs and their timeline lines.

Used by activation (:mod:`shuzhi.services.plans.activation`), the run board and re-dispatch
(:mod:`~shuzhi.services.plans.runs`) and the release of waiting tasks (:mod:`~shuzhi.services.plans.triggers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, Task, TimelineEntry, Unit
from shuzhi.adapters.db.tables_plans import PlanRun, PlanRunStep
from shuzhi.domain.events import TaskState
from shuzhi.domain.plan_runs import initial_step_state
from shuzhi.domain.plans import BranchIndex, PlanTemplate, Role, checklist_text, related
from shuzhi.domain.time_limits import TimeLimit
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import ancestors
from shuzhi.services.deadlines import default_calendar

DONE = {TaskState.REPORTED_BACK.value, TaskState.VERIFIED.value}
#: A predecessor in one of these states went back to the centre: its dependants wait for a re-dispatch.
BLOCKING = {TaskState.RETURNED.value, TaskState.ESCALATED.value}


# --- resolving roles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    unit_id: int
    code: str
    path: str


@dataclass(frozen=True)
class Share:
    """One unit's share of one template task: a step of the run."""

    task_key: str
    unit: _Target
    area_code: str | None


def _units_of(s: Session, kind: str, level: str | None, areas: Sequence[Area]) -> dict[str, list[_Target]]:
    """Units of ``kind`` (and ``level``) sitting in or above each affected area, by area code."""
    prefixes = [a.path for a in areas]
    above = sorted({c for a in areas for c in ancestors(a.path)})
    q = (select(Unit.id, Unit.code, Area.path).join(Area, Area.id == Unit.area_id)
         .where(Unit.kind == kind, Unit.active.is_(True)))
    if level is not None:
        q = q.where(Unit.level == level)
    q = q.where(or_(Area.code.in_(above), *[Area.path.startswith(p, autoescape=True) for p in prefixes]))
    rows = [_Target(r[0], r[1], r[2]) for r in s.execute(q).all()]
    return {a.code: [u for u in rows if related(u.path, a.path)] for a in areas}


def resolve(s: Session, tpl: PlanTemplate, areas: Sequence[Area]) -> tuple[list[Share], list[dict[str, Any]]]:
    shares: list[Share] = []
    problems: list[dict[str, Any]] = []
    cache: dict[str, dict[str, list[_Target]]] = {}
    kinds = {"town_centre": ("centre", "town"), "district_centre": ("centre", "district"),
             "village_units": ("village", None), "grid_units": ("grid", None)}
    for task in tpl.tasks:
        role: Role = task.role
        seen: set[int] = set()
        if role.kind == "unit":
            row = s.execute(select(Unit.id, Unit.code, Area.path).join(Area, Area.id == Unit.area_id)
                            .where(Unit.code == role.unit, Unit.active.is_(True))).first()
            if row is None:
                problems.append({"task": task.key, "area": None, "message": f"unit {role.unit} is gone or inactive"})
                continue
            shares.append(Share(task.key, _Target(row[0], row[1], row[2]), None))
            continue
        if role.kind not in cache:
            kind, level = kinds[role.kind]
            cache[role.kind] = _units_of(s, kind, level, areas)
        for area in areas:
            found = cache[role.kind].get(area.code, [])
            if not found:
                problems.append({"task": task.key, "area": area.code,
                                 "message": f"no {role.label} for {area.name}"})
            for unit in found:
                if unit.unit_id not in seen:
                    seen.add(unit.unit_id)
                    shares.append(Share(task.key, unit, area.code))
    return shares, problems


def share_index(shares: Sequence[Share]) -> BranchIndex[Share]:
    """The shares by task key and branch (domain ``BranchIndex``): a city-wide plan has thousands."""
    return BranchIndex(shares, key=lambda sh: sh.task_key, path=lambda sh: sh.unit.path)


def waits(tpl: PlanTemplate, share: Share, index: BranchIndex[Share]) -> bool:
    """A share waits when a predecessor task has a share on its branch of the area tree."""
    return bool(index.related(tpl.task(share.task_key).after, share.unit.path))


# --- dispatching tasks ---------------------------------------------------------------------------


class _Deadlines:
    """Deadlines of one moment, memoised: 500 tasks share a handful of limits."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.memo: dict[str, datetime] = {}

    def __call__(self, text: str | None) -> datetime | None:
        if not text:
            return None
        if text not in self.memo:
            self.memo[text] = default_calendar().deadline(self.at, TimeLimit.parse(text))
        return self.memo[text]


def dispatch_steps(s: Session, event: Event, steps: Sequence[PlanRunStep], units: dict[int, tuple[str, str]],
                    actor: Actor, at: datetime, dispatched_by: str) -> None:
    """Create the tasks of ``steps`` with plain bulk INSERTs (a 500-task plan in one statement), link
    them to their steps and write one timeline line per task. The steps are dispatched already: created
    so, or moved by :func:`~shuzhi.services.plans.transitions.move_plan`."""
    if not steps:
        return
    s.flush()  # the dispatch line goes on the timeline before its tasks' lines
    due = _Deadlines(at)
    by_unit = event.owner_unit_id if actor.unit_id is None else actor.unit_id
    rows: list[dict[str, Any]] = [{
        "event_id": event.id, "district_code": event.district_code, "unit_id": st.unit_id, "role": st.part,
        "state": TaskState.DISPATCHED.value,
        "dispatched_by_unit_id": by_unit, "dispatched_by": dispatched_by,
        "instruction": checklist_text(f"【{st.title}】{st.instruction}", st.checklist), "dispatched_at": at,
        "accept_due_at": due(st.accept_within), "handle_due_at": due(st.deadline), "rework_count": 0,
        "updated_at": at, "version": 1,
    } for st in steps]
    ids = s.execute(insert(Task).returning(Task.id, sort_by_parameter_order=True), rows).scalars().all()
    entries = []
    for st, task_id, row in zip(steps, ids, rows, strict=True):
        st.task_id = task_id
        st.released_at = at
        code, name = units[st.unit_id]
        entries.append({
            "event_id": event.id, "district_code": event.district_code, "task_id": task_id, "at": at,
            "actor_id": actor.person_id, "actor": actor.label,
            "action": "task.create", "from_state": None, "to_state": TaskState.DISPATCHED.value, "reason": None,
            "payload": {"unit": code, "unit_name": name, "role": st.part, "plan_run": st.run_id,
                        "plan_task": st.task_key, "limits": {"accept": st.accept_within, "handle": st.deadline},
                        "accept_due_at": row["accept_due_at"].isoformat() if row["accept_due_at"] else None,
                        "handle_due_at": row["handle_due_at"].isoformat() if row["handle_due_at"] else None}})
    s.execute(insert(TimelineEntry), entries)
    # Reloaded (not just expired): callers hand the event to the API after the session closes.
    s.refresh(event, ["tasks"])


def unit_names(s: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    return {r[0]: (r[1], r[2]) for r in s.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(ids)))}


def new_step(run: PlanRun, tpl: PlanTemplate, sh: Share, *, waits: bool) -> PlanRunStep:
    t = tpl.task(sh.task_key)
    return PlanRunStep(
        run_id=run.id, task_key=t.key, title=t.title, role=str(t.role), part=t.part, sort_order=t.order,
        unit_id=sh.unit.unit_id, unit_path=sh.unit.path, area_code=sh.area_code, after=list(t.after),
        instruction=t.instruction, checklist=list(t.checklist), deadline=str(t.deadline),
        accept_within=str(t.accept_within) if t.accept_within else None,
        state=initial_step_state(waits).value, former_task_ids=[])


def step_index(steps: Sequence[PlanRunStep]) -> BranchIndex[PlanRunStep]:
    """A run's steps by task key and branch: each step's predecessors are then found without scanning
    the run (scanning was quadratic: 25 million comparisons for a run of 5,000 steps)."""
    return BranchIndex(steps, key=lambda st: st.task_key, path=lambda st: st.unit_path)


def predecessors(step: PlanRunStep, index: BranchIndex[PlanRunStep]) -> list[PlanRunStep]:
    """The instances of the step's predecessors on its branch of the area tree (domain ``related``)."""
    return index.related(step.after, step.unit_path, besides=step)
