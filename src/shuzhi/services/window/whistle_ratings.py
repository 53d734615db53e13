"""政企双向评价 on an enterprise's call: the enterprise rates the government's handling, each department
that answered rates the enterprise's cooperation (``domain/two_way_ratings.py``).

* The enterprise has no account: its rating is recorded by its 服务企业专员 (or whoever in the call's
  area takes it down), once every department has answered (报到), and says who recorded it.
* A department rates the enterprise once its own task on the call is answered, by its own people.
* One rating per rater and call (the unique key ``whistle_id, rater_key`` → 409 for a second), never
  changed (an ORM guard refuses updates). Each rating is a line of the call's timeline; a 差评 is told to
  the side that must answer for it (the centre that owns the call, or the enterprise's officer).
* The figures per department (how enterprises rate its handling) and per enterprise (how departments
  rate its cooperation) join the evaluation: :func:`figures`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, Task, Unit
from shuzhi.adapters.db.tables_public_services import ServiceEnterprise, ServiceWhistle, ServiceWhistleRating
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import permissions as P
from shuzhi.domain import two_way_ratings as two_way
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.ratings import LEVEL_LABELS, Grade, Level
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.handling import load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window.rating_figures import _bounds

_ANSWERED = {TaskState.REPORTED_BACK.value, TaskState.VERIFIED.value}


@dataclass(frozen=True)
class TwoWayOut:
    id: int
    number: str
    direction: str
    department: str | None
    grade: str
    level: str
    level_label: str
    rated_at: datetime
    #: the verification an enterprise's 差评 of the handling opened (None otherwise)
    verification_id: int | None = None


def _call(s: Session, number: str, actor: Actor) -> tuple[Event, ServiceWhistle]:
    try:
        event = load_visible_event(s, number, actor)
    except NotFound:
        raise NotFound(f"call {number} not found") from None
    w = s.scalar(select(ServiceWhistle).where(ServiceWhistle.event_id == event.id))
    if w is None:
        raise NotFound(f"call {number} not found")
    return event, w


def _lead_tasks(event: Event) -> list[Task]:
    return [t for t in event.tasks if t.role == TaskRole.LEAD.value and t.state != TaskState.CANCELLED.value]


def _store(s: Session, event: Event, w: ServiceWhistle, direction: two_way.Direction, body: dict[str, Any],
           actor: Actor, at: datetime, unit: Unit | None) -> TwoWayOut:
    checked, problems = two_way.check(direction, body.get("levels"), body.get("comment"))
    if checked is None:
        raise Invalid(problems[0][1], field=problems[0][0], details=[{"field": f, "message": m} for f, m in problems])
    r = ServiceWhistleRating(
        whistle_id=w.id, direction=direction.value, rater_key="enterprise" if unit is None else f"unit:{unit.id}",
        unit_id=unit.id if unit else None, enterprise_id=w.enterprise_id, area_path=event.area_path,
        level=checked.overall.value, grade=checked.grade.value,
        levels={k: v.value for k, v in checked.levels.items()}, comment=checked.comment,
        recorded_by=actor.label, recorded_by_person_id=actor.person_id, rated_at=at)
    s.add(r)
    try:
        s.flush()
    except IntegrityError:
        raise Conflict("this call has already been rated by this side; a rating is given once and never changed"
                       ) from None
    label = LEVEL_LABELS[checked.overall]
    action = "whistle.rated_by_enterprise" if unit is None else "whistle.rated_enterprise"
    note(s, event, actor, action, at, reason=f"{label}{'：' + checked.comment if checked.comment else ''}"[:2000],
         payload={"rating": r.id, "grade": r.grade, "levels": r.levels, "unit": unit.code if unit else None})
    verification = None
    if checked.grade is Grade.BAD:
        if unit is None:  # the enterprise is unhappy: the centre that owns the call answers for it, and
            # verifies it like a service 差评 (call back, classify, rectify, reply)
            from shuzhi.services.window.ratings import open_whistle_verification

            enterprise = s.get(ServiceEnterprise, w.enterprise_id)
            verification = open_whistle_verification(s, r, event, enterprise.name if enterprise else "", actor, at)
            s.add(Notification(unit_id=event.owner_unit_id, event_id=event.id, kind="service.whistle_bad_rating",
                               title=f"企业差评待核实整改：{event.title}"[:200], body=checked.comment,
                               payload={"rating": r.id, "verification": verification.id,
                                        "due_at": verification.due_at.isoformat()}, created_at=at))
        s.add(Notification(person_id=w.officer_person_id, event_id=event.id, kind="service.whistle_bad_rating",
                           title=(f"企业对办理给出差评：{event.title}" if unit is None
                                  else f"{unit.name}对企业的评价为差评")[:200],
                           body=checked.comment, payload={"rating": r.id}, created_at=at))
    return TwoWayOut(r.id, event.number, direction.value, unit.name if unit else None, r.grade, r.level, label, at,
                     verification.id if verification else None)


def rate_handling(uow: UnitOfWork, number: str, body: dict[str, Any], actor: Actor, *,
                  now: datetime | None = None) -> TwoWayOut:
    """企业评政府: the enterprise's rating of how its call was handled, recorded by its officer (or whoever
    in the call's area takes it down) once every department has answered; once, never changed."""
    authz.require(actor, P.EVENT_SUBMIT)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        event, w = _call(s, number, actor)
        if w.officer_person_id != actor.person_id and not authz.path_visible(actor, event.area_path):
            raise NotFound(f"call {number} not found")
        waiting = [t for t in _lead_tasks(event) if t.state not in _ANSWERED]
        if waiting:
            raise Conflict("the call can be rated once every department has answered",
                           details={"waiting": len(waiting)})
        out = _store(s, event, w, two_way.Direction.ENTERPRISE, body, actor, at, None)
        uow.commit()
        return out


def rate_enterprise(uow: UnitOfWork, number: str, body: dict[str, Any], actor: Actor, *,
                    now: datetime | None = None) -> TwoWayOut:
    """部门评企业: a department that answered the call rates the enterprise's cooperation; once."""
    authz.require(actor, P.TASK_HANDLE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        event, w = _call(s, number, actor)
        mine = [t for t in _lead_tasks(event) if t.unit_id == actor.unit_id]
        if not mine:
            raise NotFound(f"call {number} not found") if not authz.path_visible(actor, event.area_path) \
                else Conflict("only a department that answered the call rates the enterprise")
        if not any(t.state in _ANSWERED for t in mine):
            raise Conflict("rate the enterprise once your department has answered the call")
        unit = s.get(Unit, actor.unit_id)
        assert unit is not None
        out = _store(s, event, w, two_way.Direction.DEPARTMENT, body, actor, at, unit)
        uow.commit()
        return out


@dataclass(frozen=True)
class TwoWayRow:
    key: str
    name: str
    ratings: int
    good: int
    bad: int
    good_rate: float | None
    average: float | None


@dataclass(frozen=True)
class TwoWayFigures:
    #: how enterprises rate each department's handling of their calls (a call's rating counts for each
    #: department that answered it)
    departments: list[TwoWayRow]
    #: how departments rate each enterprise's cooperation
    enterprises: list[TwoWayRow]


def figures(uow: UnitOfWork, actor: Actor, *, since: date | None = None, until: date | None = None
            ) -> TwoWayFigures:
    """政企双向评价 in the evaluation: per department and per enterprise, rated in the period, in the
    actor's areas."""
    authz.require(actor, P.EVALUATION_READ)
    lo, hi = _bounds(since, until)
    with uow:
        s = uow.session
        q = select(ServiceWhistleRating).where(authz.area_clause(actor, ServiceWhistleRating.area_path))
        if lo:
            q = q.where(ServiceWhistleRating.rated_at >= lo)
        if hi:
            q = q.where(ServiceWhistleRating.rated_at < hi)
        rows = list(s.scalars(q))
        by_dept: dict[int, list[Level]] = defaultdict(list)
        by_ent: dict[int, list[Level]] = defaultdict(list)
        handled = [r for r in rows if r.direction == two_way.Direction.ENTERPRISE.value]
        answering = _answering_units(s, handled)
        for r in handled:
            for u in answering[r.whistle_id]:
                by_dept[u].append(Level(r.level))
        for r in rows:
            if r.direction == two_way.Direction.DEPARTMENT.value:
                by_ent[r.enterprise_id].append(Level(r.level))
        units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_(set(by_dept))))} if by_dept else {}
        ents = {e.id: e for e in s.scalars(select(ServiceEnterprise).where(
            ServiceEnterprise.id.in_(set(by_ent))))} if by_ent else {}

        def row(key: str, name: str, levels: list[Level]) -> TwoWayRow:
            f = two_way.figure(levels)
            return TwoWayRow(key, name, f.ratings, f.good, f.bad, f.good_rate, f.average)

        depts = sorted((row(units[u].code, units[u].name, lv) for u, lv in by_dept.items()),
                       key=lambda r: (-(r.good_rate or 0), -r.ratings, r.key))
        enterprises = sorted((row(ents[e].credit_code, ents[e].name, lv) for e, lv in by_ent.items()),
                             key=lambda r: (-(r.good_rate or 0), -r.ratings, r.key))
        return TwoWayFigures(depts, enterprises)


def _answering_units(s: Session, handled: list[ServiceWhistleRating]) -> dict[int, set[int]]:
    """Per call (whistle id) of these ratings, the departments that answered it (lead tasks reported back)."""
    answered: dict[int, set[int]] = defaultdict(set)
    if not handled:
        return answered
    ids = {r.whistle_id for r in handled}
    w_events: dict[int, int] = {w: e for w, e in s.execute(
        select(ServiceWhistle.id, ServiceWhistle.event_id).where(ServiceWhistle.id.in_(ids)))}
    by_event: dict[int, set[int]] = defaultdict(set)
    for ev_id, unit_id in s.execute(select(Task.event_id, Task.unit_id).where(
            Task.event_id.in_(set(w_events.values())), Task.role == TaskRole.LEAD.value,
            Task.state.in_(_ANSWERED))):
        by_event[ev_id].add(unit_id)
    for w, e in w_events.items():
        answered[w] = by_event[e]
    return answered


def evaluation_counts(s: Session, actor: Actor, by: str, lo: datetime, hi: datetime, *,
                      area_key: Callable[[str], str] | None = None) -> dict[str, dict[str, int]]:
    """The two-way measures (``TWO_WAY_MEASURES``: how enterprises rated the handling of their calls) per
    group key, over the enterprises' ratings in the actor's scope rated in [lo, hi): ``by`` is
    ``department`` (keys are unit ids as text; a call's rating counts for each department that answered
    it) or ``area`` (keys from ``area_key`` applied to the call's area path)."""
    q = select(ServiceWhistleRating).where(
        authz.area_clause(actor, ServiceWhistleRating.area_path),
        ServiceWhistleRating.direction == two_way.Direction.ENTERPRISE.value,
        ServiceWhistleRating.rated_at >= lo, ServiceWhistleRating.rated_at < hi)
    handled = list(s.scalars(q))
    levels: dict[str, list[Level]] = defaultdict(list)
    if by == "department":
        answering = _answering_units(s, handled)
        for r in handled:
            for u in answering[r.whistle_id]:
                levels[str(u)].append(Level(r.level))
    elif by == "area" and area_key is not None:
        for r in handled:
            levels[area_key(r.area_path)].append(Level(r.level))
    else:
        raise ValueError(f"two-way figures are by department or area, not {by!r}")
    out = {}
    for k, lv in levels.items():
        f = two_way.figure(lv)
        out[k] = {"enterprise_ratings": f.ratings, "enterprise_ratings_good": f.good, "enterprise_ratings_bad": f.bad}
    return out
