"""Tasks to named people (事件责任人, issue #20): assign and reassign, the person's own tasks, and the
return of a leaving person's open tasks to the unit's leader.

A task stays the unit's (its unit's desk still sees and works it); the assignee is the person who
answers for it: his inbox gets it, the supervision reminders and a leader's urge go to him, and
evaluation counts it as his (:func:`shuzhi.services.evaluation.people`). Who may assign, to whom, and
to whom tasks return is :mod:`shuzhi.domain.town`; every change is a timeline entry (actor, time,
reason, from and to) and a message in the new assignee's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Area, Event, EventClass, Person, Task, Unit
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.adapters.db.tables_town import AreaContact, BoardPost, GridTeamMember, GridTeamRole, TownBoard
from shuzhi.domain import grid_teams, standing
from shuzhi.domain import permissions as P
from shuzhi.domain import town as d
from shuzhi.domain.events import ACTIVE_TASK_STATES, TaskRole
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid
from shuzhi.services.handling import _check_version, _load_task, _run, load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork

_LIVE = [s.value for s in ACTIVE_TASK_STATES]


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    person_code: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None


# --- who belongs, who leads ------------------------------------------------------------------------


def _contact_clause(unit_id: int) -> Any:
    """Contacts of the chain (五长制) reached through a grid or village unit: a link in its area's subtree."""
    unit_area = (select(Area.path).join(Unit, Unit.area_id == Area.id)
                 .where(Unit.id == unit_id, Unit.kind.in_(("grid", "village"))).scalar_subquery())
    return AreaContact.area_id.in_(select(Area.id).where(Area.path.startswith(unit_area)))


def is_member(s: Session, unit_id: int, person_id: int) -> bool:
    """An active person of the unit, the holder of a post on it (a board's post), one serving in its
    grid team, or a link of the chain of contacts (五长制) in its grid or village."""
    active = s.scalar(select(Person.unit_id).where(Person.id == person_id, Person.active.is_(True)))
    if active is None:
        return False
    if active == unit_id:
        return True
    return bool(s.scalar(select(or_(
        exists().where(BoardPost.board_unit_id == unit_id, BoardPost.person_id == person_id),
        exists().where(GridTeamMember.grid_unit_id == unit_id, GridTeamMember.person_id == person_id),
        exists().where(AreaContact.person_id == person_id, _contact_clause(unit_id))))))


def board_leader_id(s: Session, unit_id: int) -> int | None:
    """The active town leader in charge of the board ``unit_id``, or the active 网格长 of the grid team
    ``unit_id`` (None for a unit that is neither)."""
    board = s.scalar(select(TownBoard.leader_person_id).join(Person, Person.id == TownBoard.leader_person_id)
                     .where(TownBoard.unit_id == unit_id, Person.active.is_(True)))
    if board is not None:
        return board
    return s.scalar(select(GridTeamMember.person_id).join(Person, Person.id == GridTeamMember.person_id)
                    .where(GridTeamMember.grid_unit_id == unit_id, GridTeamMember.role == grid_teams.GRID_LEADER,
                           Person.active.is_(True)).limit(1))


def unit_leader_ids(s: Session, unit_id: int) -> list[int]:
    """The unit's active people in the ``leader`` role, oldest account first."""
    return list(s.scalars(select(Person.id).where(Person.unit_id == unit_id, Person.role == "leader",
                                                  Person.active.is_(True)).order_by(Person.id)))


def _person(s: Session, person_id: int | None) -> Person | None:
    return s.get(Person, person_id) if person_id is not None else None


def _who(p: Person | None) -> dict[str, str] | None:
    return {"code": p.code, "name": p.name} if p is not None else None


def _inbox(s: Session, event: Event, task: Task, person_id: int | None, kind: str, title: str, body: str,
           at: datetime, payload: dict[str, object]) -> None:
    """A message to the person, or to the unit's desk when no person answers for the task now."""
    s.add(Notification(person_id=person_id, unit_id=None if person_id is not None else task.unit_id,
                       event_id=event.id, task_id=task.id, kind=kind, title=title, body=body,
                       payload={"event_number": event.number, "number": event.number, **payload}, created_at=at))


# --- assign ----------------------------------------------------------------------------------------


def assign_task(uow: UnitOfWork, ref: str, task_id: int, cmd: Assign, actor: Actor, *,
                now: datetime | None = None) -> Event:
    """Give a unit's live task to a named person of the unit (assign), or to another one (reassign).

    403 unless the actor is the unit's leader, the board's leader in charge or a superior centre;
    422 on ``person_code`` unless the person is an active member of the unit holding the task."""
    authz.require(actor, P.TASK_ASSIGN)
    at = now or datetime.now(UTC)

    def work(s: Session) -> Event:
        event = load_visible_event(s, ref, actor)
        task = _load_task(s, event, task_id)
        unit = task.unit
        if not _may_assign(s, actor, event, task):
            raise authz.Forbidden(f"{actor.label} may not assign {unit.name}'s task: its leader, the board's leader "
                                  "in charge or a superior centre assigns it", field="task_id")
        if task.role == TaskRole.NOTIFY.value:
            raise Conflict("a copy (抄送) is read by the unit; only a task to handle is assigned to a person",
                           field="task_id")
        if task.state not in _LIVE:
            raise Conflict(f"task {task.id} is {task.state}; only an open task is assigned", field="task_id")
        _check_version(task, cmd.expected_version)
        person = s.scalar(select(Person).where(Person.code == cmd.person_code))
        # an unknown code and someone of another unit get the same answer: the unit's members are the choice
        if person is None or not is_member(s, task.unit_id, person.id):
            raise Invalid(f"'{cmd.person_code}' is not an active member of {unit.name}", field="person_code")
        if task.assignee_id == person.id:
            raise Invalid(f"{person.name} already answers for this task", field="person_code")
        before = _person(s, task.assignee_id)
        action = "task.assign" if before is None else "task.reassign"
        task.assignee_id, task.assigned_at, task.updated_at = person.id, at, at
        set_committed_value(task, "assignee", person)
        note(s, event, actor, action, at, task=task, reason=cmd.reason, payload={
            "unit": unit.code, "from": _who(before), "to": _who(person),
            "handle_due_at": task.handle_due_at.isoformat() if task.handle_due_at else None})
        _inbox(s, event, task, person.id, "task.assigned", f"指派任务：{event.number}（{event.title[:60]}）",
               cmd.reason or "", at, {"by": actor.label, "unit": unit.code,
                                      "handle_due_at": task.handle_due_at.isoformat() if task.handle_due_at else None})
        if before is not None:
            _inbox(s, event, task, before.id, "task.reassigned",
                   f"任务已改派他人：{event.number}（{event.title[:60]}）", cmd.reason or "", at,
                   {"by": actor.label, "to": person.name})
        return event

    return _run(uow, work)


def _may_assign(s: Session, actor: Actor, event: Event, task: Task) -> bool:
    me = s.get(Unit, actor.unit_id) if actor.unit_id is not None else None
    centre = standing.Who(unit_id=actor.unit_id, area_paths=actor.area_paths)
    superior = actor.is_global or (me is not None and me.kind == "centre"
                                   and standing.may_act_on_event(centre, authz.event_facts(event)))
    who = d.Assigner(person_id=actor.person_id, unit_id=actor.unit_id, role=actor.role, superior_centre=superior)
    return d.may_assign(who, task.unit_id, board_leader_id(s, task.unit_id))


# --- leaving ----------------------------------------------------------------------------------------


def return_open_tasks(s: Session, person_id: int, actor: Actor, at: datetime, reason: str, *,
                      unit_id: int | None = None) -> int:
    """Inside the caller's transaction: the person's open tasks of units he no longer belongs to (of
    ``unit_id`` only, when given) return to each unit's leader (:func:`shuzhi.domain.town.leader_to_return_to`),
    with a timeline entry and a message to whoever takes them. Returns how many moved."""
    s.flush()  # membership is read from the database: the caller's change (disabled, moved) must be in it
    q = select(Task).where(Task.assignee_id == person_id, Task.state.in_(_LIVE))
    if unit_id is not None:
        q = q.where(Task.unit_id == unit_id)
    leaving = _person(s, person_id)
    moved = 0
    for task in s.scalars(q.order_by(Task.id)).all():
        if is_member(s, task.unit_id, person_id):
            continue
        to_id = d.leader_to_return_to(board_leader_id(s, task.unit_id), unit_leader_ids(s, task.unit_id), person_id)
        to = _person(s, to_id)
        event = task.event
        task.assignee_id, task.assigned_at, task.updated_at = to_id, at, at
        set_committed_value(task, "assignee", to)
        note(s, event, actor, "task.assignee_return", at, task=task, reason=reason, payload={
            "unit": task.unit.code, "from": _who(leaving), "to": _who(to)})
        _inbox(s, event, task, to_id, "task.returned_to_leader", f"任务退回：{event.number}（{event.title[:60]}）",
               reason, at, {"from": leaving.name if leaving else None})
        moved += 1
    return moved


# --- the person's own tasks ------------------------------------------------------------------------


@dataclass(frozen=True)
class MyTask:
    task_id: int
    task_state: str
    task_version: int
    role: str
    unit_code: str
    unit_name: str
    event_number: str
    event_title: str
    event_state: str
    class_name: str | None
    urgency: str
    assigned_at: datetime | None
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    #: past its handling deadline and not yet reported back
    overdue: bool


def my_tasks(uow: UnitOfWork, actor: Actor, *, open_only: bool = True, limit: int = 100,
             now: datetime | None = None) -> list[MyTask]:
    """The tasks assigned to the actor by name (指派给我的任务), earliest deadline first."""
    authz.require(actor, P.EVENT_READ)
    if actor.person_id is None:
        raise Invalid("tasks are assigned to a person: sign in as one", field="actor")
    if not 1 <= limit <= 500:
        raise Invalid("limit must be between 1 and 500", field="limit")
    at = now or datetime.now(UTC)
    q = (select(Task, Event, Unit, EventClass.name).join(Event, same_case(Task))
         .join(Unit, Unit.id == Task.unit_id).outerjoin(EventClass, EventClass.id == Event.event_class_id)
         .where(Task.assignee_id == actor.person_id))
    if open_only:
        q = q.where(Task.state.in_(_LIVE))
    with uow:
        rows = uow.session.execute(q.order_by(Task.handle_due_at.is_(None), Task.handle_due_at, Task.id.desc())
                                   .limit(limit)).all()
        return [MyTask(task_id=t.id, task_state=t.state, task_version=t.version, role=t.role, unit_code=u.code,
                       unit_name=u.name, event_number=e.number, event_title=e.title, event_state=e.state,
                       class_name=cn, urgency=e.urgency, assigned_at=t.assigned_at, accept_due_at=t.accept_due_at,
                       handle_due_at=t.handle_due_at,
                       overdue=t.handle_due_at is not None and t.handle_due_at < at and t.reported_at is None
                       and t.state in _LIVE)
                for t, e, u, cn in rows]


@dataclass(frozen=True)
class Member:
    code: str
    name: str
    role: str
    post: str | None


def members(uow: UnitOfWork, ref: str, task_id: int, actor: Actor) -> list[Member]:
    """Whom the task may be assigned to: the active members of the unit holding it (its people and
    its post holders). Only for someone who may assign it (else 403), so that a unit's staff list is
    not read through any event."""
    authz.require(actor, P.TASK_ASSIGN)
    with uow:
        s = uow.session
        event = load_visible_event(s, ref, actor)
        task = _load_task(s, event, task_id)
        if not _may_assign(s, actor, event, task):
            raise authz.Forbidden(f"{actor.label} may not assign {task.unit.name}'s task", field="task_id")
        own = s.scalars(select(Person).where(Person.unit_id == task.unit_id, Person.active.is_(True))
                        .order_by(Person.code)).all()
        posts = s.execute(select(BoardPost.name, Person).join(Person, Person.id == BoardPost.person_id)
                          .where(BoardPost.board_unit_id == task.unit_id, Person.active.is_(True))
                          .order_by(BoardPost.sort, BoardPost.id)).all()
        out: dict[str, Member] = {}
        for post, p in posts:
            out.setdefault(p.code, Member(p.code, p.name, p.role, post))
        roles = dict(grid_teams.DEFAULT_ROLES) | dict(s.execute(select(GridTeamRole.key, GridTeamRole.name)).all())
        for role, p in s.execute(select(GridTeamMember.role, Person).join(Person, Person.id == GridTeamMember.person_id)
                                 .where(GridTeamMember.grid_unit_id == task.unit_id, Person.active.is_(True))
                                 .order_by(GridTeamMember.sort, GridTeamMember.id)).all():
            out.setdefault(p.code, Member(p.code, p.name, p.role, roles.get(role, role)))
        links = dict(grid_teams.CHAIN)
        for link, place, p in s.execute(select(AreaContact.link, AreaContact.place, Person)
                                        .join(Person, Person.id == AreaContact.person_id)
                                        .where(_contact_clause(task.unit_id), Person.active.is_(True))
                                        .order_by(AreaContact.area_id, AreaContact.sort)).all():
            out.setdefault(p.code, Member(p.code, p.name, p.role, f"{links.get(link, link)}（{place}）"))
        for p in own:
            out.setdefault(p.code, Member(p.code, p.name, p.role, None))
        return list(out.values())


__all__ = ["Assign", "MyTask", "assign_task", "members", "my_tasks", "return_open_tasks"]
