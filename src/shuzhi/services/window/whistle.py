"""企业吹哨·部门报到: an enterprise's call, routed to the responsible departments with a response deadline,
followed by the enterprise's dedicated officer (服务企业专员).

A call is an event of the loop (source ``enterprise``) at the enterprise's area, owned by the centre
there, with one lead task per department whose handle deadline is the response limit in working days
— so the departments answer in the same inbox, on the same clocks (reminders, overdue, urging, cards,
escalation). The officer is told in their own inbox when the call is made and when each department
reports (报到), and the enterprise's calls are listed for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, Person, Task, Unit
from shuzhi.adapters.db.tables_public_services import ServiceEnterprise, ServiceWhistle
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import permissions as P
from shuzhi.domain.events import EventAction, EventState, TaskAction, TaskRole, TaskState
from shuzhi.domain.time_limits import TimeLimit
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import ancestors, centre_for, single_district_centre
from shuzhi.services.calendars import calendar_for
from shuzhi.services.errors import Invalid
from shuzhi.services.intake import event_number
from shuzhi.services.security import audit, authz
from shuzhi.services.transitions import move_event, note
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window.cases import ACCEPT_LIMIT

SOURCE = "enterprise"
_CREDIT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@dataclass(frozen=True)
class EnterpriseRecord:
    credit_code: str
    name: str
    area_code: str
    officer_code: str
    officer_name: str


def save_enterprise(uow: UnitOfWork, credit_code: str, name: str, area_code: str, officer_code: str,
                    actor: Actor) -> EnterpriseRecord:
    """Register an enterprise and name its dedicated officer (服务企业专员)."""
    authz.require(actor, P.REFERENCE_WRITE)
    code = credit_code.strip().upper()
    if not _CREDIT.match(code):
        raise Invalid("an 18-character unified social credit code", field="credit_code")
    if not name.strip() or len(name) > 200:
        raise Invalid("a name of 1 to 200 characters", field="name")
    with uow:
        s = uow.session
        area = s.scalar(select(Area).where(Area.code == area_code))
        if area is None:
            raise Invalid(f"unknown area '{area_code}'", field="area_code")
        officer = s.scalar(select(Person).where(Person.code == officer_code, Person.active.is_(True)))
        if officer is None:
            raise Invalid(f"unknown person '{officer_code}'", field="officer_code")
        row = s.scalar(select(ServiceEnterprise).where(ServiceEnterprise.credit_code == code))
        if row is None:
            row = ServiceEnterprise(credit_code=code)
            s.add(row)
        row.name, row.area_id, row.officer_person_id = name.strip(), area.id, officer.id
        audit.record(s, actor, "service.enterprise.save", f"enterprise:{code}", {"officer": officer_code})
        uow.commit()
        return EnterpriseRecord(code, row.name, area.code, officer.code, officer.name)


def list_enterprises(uow: UnitOfWork, actor: Actor) -> list[EnterpriseRecord]:
    """The registered enterprises the actor may register a call for (those in the actor's areas), by name:
    the list the 企业吹哨 form offers."""
    authz.require(actor, P.EVENT_SUBMIT)
    with uow:
        s = uow.session
        rows = s.execute(select(ServiceEnterprise, Area.code, Person.code, Person.name)
                         .join(Area, Area.id == ServiceEnterprise.area_id)
                         .join(Person, Person.id == ServiceEnterprise.officer_person_id)
                         .where(authz.area_clause(actor, Area.path))
                         .order_by(ServiceEnterprise.name, ServiceEnterprise.credit_code)).all()
        return [EnterpriseRecord(e.credit_code, e.name, area, officer, officer_name)
                for e, area, officer, officer_name in rows]


@dataclass(frozen=True)
class WhistleOut:
    number: str
    enterprise: str
    officer: str
    departments: list[str]
    response_due_at: datetime


def blow(uow: UnitOfWork, credit_code: str, subject: str, description: str, department_codes: list[str],
         response_days: int, actor: Actor, *, now: datetime | None = None) -> WhistleOut:
    """An enterprise's call (吹哨): every named department gets a task to answer within
    ``response_days`` working days (1–15); the officer is told."""
    authz.require(actor, P.EVENT_SUBMIT)
    if not subject.strip() or len(subject) > 200:
        raise Invalid("a subject of 1 to 200 characters", field="subject")
    if isinstance(response_days, bool) or not isinstance(response_days, int) or not 1 <= response_days <= 15:
        raise Invalid("a response limit of 1 to 15 working days", field="response_days")
    if not department_codes or len(set(department_codes)) != len(department_codes):
        raise Invalid("name each responsible department once", field="department_codes")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        ent = s.scalar(select(ServiceEnterprise).where(ServiceEnterprise.credit_code == credit_code.strip().upper()))
        area = s.get(Area, ent.area_id) if ent else None
        if ent is None or area is None or not authz.path_visible(actor, area.path):
            raise Invalid(f"unknown enterprise '{credit_code}'", field="credit_code")
        units = {u.code: u for u in s.scalars(select(Unit).where(Unit.code.in_(department_codes),
                                                                 Unit.kind == "department", Unit.active.is_(True)))}
        for i, c in enumerate(department_codes):
            if c not in units:
                raise Invalid(f"unknown department '{c}'", field=f"department_codes[{i}]")
        officer = s.get(Person, ent.officer_person_id)
        assert officer is not None
        owner = centre_for(s, area.path) or single_district_centre(s)
        codes = ancestors(area.path)
        event = Event(number=event_number(s, codes[1] if len(codes) >= 2 else codes[0], at), source=SOURCE,
                      request_type="help", title=f"【企业吹哨】{ent.name}：{subject.strip()}"[:200],
                      description=description, area_id=area.id, area_path=area.path, address=ent.name,
                      urgency="normal", mode="handle", state=EventState.REGISTERED.value,
                      owner_unit_id=owner.id if owner else None, self_handled=False, rework_count=0,
                      return_count=0, received_at=at, updated_at=at)
        s.add(event)
        s.flush()
        note(s, event, actor, "event.register", at, to_state=event.state,
             payload={"source": SOURCE, "enterprise": ent.credit_code, "officer": officer.code})
        move_event(s, event, EventAction.DISPATCH, actor, at, reason="企业吹哨·部门报到",
                   payload={"departments": department_codes, "response_days": response_days})
        event.dispatched_at = at
        due = None
        for c in department_codes:
            cal = calendar_for(s, units[c].id)
            due = cal.deadline(at, TimeLimit.parse(f"{response_days}wd"))
            task = Task(event_id=event.id, unit_id=units[c].id, unit=units[c], role=TaskRole.LEAD.value,
                        state=TaskState.DISPATCHED.value, dispatched_by_unit_id=actor.unit_id or event.owner_unit_id,
                        dispatched_by=actor.label,
                        instruction=f"企业吹哨，请于{response_days}个工作日内报到答复：{subject}",
                        dispatched_at=at, accept_due_at=cal.deadline(at, ACCEPT_LIMIT), handle_due_at=due,
                        rework_count=0, updated_at=at, version=1)
            event.tasks.append(task)
            s.flush()
            note(s, event, actor, "task.create", at, task=task, to_state=task.state,
                 payload={"unit": c, "unit_name": units[c].name, "role": task.role,
                          "handle_due_at": due.isoformat()})
        assert due is not None
        s.add(ServiceWhistle(event_id=event.id, enterprise_id=ent.id, officer_person_id=officer.id,
                             response_days=response_days, created_at=at))
        s.add(Notification(person_id=officer.id, event_id=event.id, kind="service.whistle",
                           title=f"您服务的企业吹哨：{ent.name}"[:200], body=subject,
                           payload={"departments": department_codes}, created_at=at))
        uow.commit()
        return WhistleOut(event.number, ent.name, officer.name, [units[c].name for c in department_codes], due)


def on_task_change(s: Session, event: Event, task: Task, action: str) -> None:
    """TASK_HOOKS: a department answering an enterprise's call (报到) is told to the officer."""
    if event.source != SOURCE or action != TaskAction.REPORT_BACK.value:
        return
    w = s.scalar(select(ServiceWhistle).where(ServiceWhistle.event_id == event.id))
    if w is None:
        return
    unit = s.get(Unit, task.unit_id)
    s.add(Notification(person_id=w.officer_person_id, event_id=event.id, task_id=task.id, kind="service.whistle",
                       title=f"部门已报到：{unit.name if unit else ''}"[:200], body=event.title,
                       payload={"unit": unit.code if unit else None}, created_at=task.updated_at))



# --- the officer's list of calls ------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentAnswer:
    department_code: str
    department: str
    task_state: str
    response_due_at: datetime | None
    reported_at: datetime | None
    #: answered after its response deadline, or still unanswered past it
    late: bool
    #: the department's rating of the enterprise's cooperation, if given (level label)
    cooperation: str | None


@dataclass(frozen=True)
class WhistleView:
    number: str
    title: str
    enterprise: str
    credit_code: str
    officer: str
    mine: bool
    state: str
    created_at: datetime
    response_days: int
    answered: int
    departments: list[DepartmentAnswer]
    #: the enterprise's rating of the handling, if given (level label and grade)
    enterprise_rating: str | None
    enterprise_grade: str | None
    #: what the actor may still do here: record the enterprise's rating (every department has answered),
    #: rate the enterprise for their own department (it has answered)
    can_record_enterprise_rating: bool
    can_rate_enterprise: bool


_ANSWERED = {TaskState.REPORTED_BACK.value, TaskState.VERIFIED.value}


def list_whistles(uow: UnitOfWork, actor: Actor, *, mine: bool = False, limit: int = 50,
                  now: datetime | None = None) -> list[WhistleView]:
    """The enterprise calls the actor follows (``mine``: as their 服务企业专员) or sees in their area, newest
    first: each department's answer (报到) against its response deadline and the two-way ratings."""
    from shuzhi.adapters.db.tables_public_services import ServiceWhistleRating
    from shuzhi.domain.ratings import LEVEL_LABELS, Level

    authz.require(actor, P.EVENT_READ)
    if not 1 <= limit <= 200:
        raise Invalid("limit must be between 1 and 200", field="limit")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        q = (select(ServiceWhistle, Event, ServiceEnterprise, Person)
             .join(Event, Event.id == ServiceWhistle.event_id)
             .join(ServiceEnterprise, ServiceEnterprise.id == ServiceWhistle.enterprise_id)
             .join(Person, Person.id == ServiceWhistle.officer_person_id))
        if mine:
            q = q.where(ServiceWhistle.officer_person_id == actor.person_id)
        else:
            officer_of = ServiceWhistle.officer_person_id == actor.person_id if actor.person_id else None
            scope = authz.event_clause(actor)
            q = q.where(scope if officer_of is None else (scope | officer_of))
        rows = s.execute(q.order_by(ServiceWhistle.created_at.desc(), ServiceWhistle.id.desc()).limit(limit)).all()
        ids = [w.id for w, *_ in rows]
        ratings = list(s.scalars(select(ServiceWhistleRating).where(ServiceWhistleRating.whistle_id.in_(ids))))\
            if ids else []
        tasks = list(s.scalars(select(Task).where(Task.event_id.in_([e.id for _, e, *_ in rows]),
                                                  Task.role == TaskRole.LEAD.value))) if rows else []
        units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_({t.unit_id for t in tasks})))} \
            if tasks else {}
        out = []
        for w, ev, ent, officer in rows:
            mine_r = {r.rater_key: r for r in ratings if r.whistle_id == w.id}
            answers = []
            for t in sorted((t for t in tasks if t.event_id == ev.id), key=lambda t: t.id):
                if t.state == TaskState.CANCELLED.value:
                    continue
                u = units[t.unit_id]
                coop = mine_r.get(f"unit:{u.id}")
                done = t.state in _ANSWERED
                reported = t.reported_at if done else None
                late = t.handle_due_at is not None and ((reported or at) > t.handle_due_at)
                answers.append(DepartmentAnswer(u.code, u.name, t.state, t.handle_due_at, reported, late,
                                                LEVEL_LABELS[Level(coop.level)] if coop else None))
            ent_r = mine_r.get("enterprise")
            all_answered = bool(answers) and all(a.task_state in _ANSWERED for a in answers)
            own = [t for t in tasks if t.event_id == ev.id and t.unit_id == actor.unit_id and t.state in _ANSWERED]
            can_record = (ent_r is None and all_answered and authz.can(actor, P.EVENT_SUBMIT)
                          and (officer.id == actor.person_id or authz.path_visible(actor, ev.area_path)))
            can_rate = (bool(own) and f"unit:{actor.unit_id}" not in mine_r and authz.can(actor, P.TASK_HANDLE))
            out.append(WhistleView(ev.number, ev.title, ent.name, ent.credit_code, officer.name,
                                   officer.id == actor.person_id, ev.state, w.created_at, w.response_days,
                                   sum(a.task_state in _ANSWERED for a in answers), answers,
                                   LEVEL_LABELS[Level(ent_r.level)] if ent_r else None,
                                   ent_r.grade if ent_r else None, can_record, can_rate))
        return out
