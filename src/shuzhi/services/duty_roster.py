"""The duty roster (排班) of a centre: shifts entered, edited, deleted and imported; who is on duty.

Rules are in :mod:`shuzhi.domain.duty`. Permissions: changing a roster needs ``duty.write``, the
unit in the actor's scope and the actor one of the centre's own people (:func:`ensure_own`: a town's officer
keeps the town's roster; the district centre reads its towns' and checks on them, issue #18); reading
follows the scope. ``on_duty(session, unit_id, at)`` is for other services
(notices route to the officer on duty) and checks nothing.

Who may stand a shift at a unit: an active person of the unit itself or, for a centre, of any unit in
the centre's area (the town's leaders sit in the town's own units, not in the centre).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.adapters.db.tables_duty import DutyShift
from shuzhi.domain import duty
from shuzhi.domain.duty import DutyRole, Shift
from shuzhi.domain.permissions import DUTY_WRITE
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

DUTY_UNIT_KINDS = ("centre", "department")
MAX_LIST = 2000


@dataclass(frozen=True)
class ShiftView:
    id: int
    unit_code: str
    unit_name: str
    person_code: str
    person_name: str
    role: str
    role_label: str
    starts_at: datetime
    ends_at: datetime
    note: str
    source: str
    version: int
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class OnDutyView:
    unit_code: str
    unit_name: str
    at: datetime
    leaders: list[ShiftView]
    officers: list[ShiftView]


def as_shift(row: DutyShift) -> Shift:
    return Shift(unit_id=row.unit_id, person_id=row.person_id, role=DutyRole(row.role),
                 starts_at=row.starts_at, ends_at=row.ends_at, id=row.id)


def _view(row: DutyShift, unit: Unit, person: Person) -> ShiftView:
    role = DutyRole(row.role)
    return ShiftView(id=row.id, unit_code=unit.code, unit_name=unit.name, person_code=person.code,
                     person_name=person.name, role=role.value, role_label=duty.ROLE_LABELS[role],
                     starts_at=row.starts_at, ends_at=row.ends_at, note=row.note, source=row.source,
                     version=row.version, updated_by=row.updated_by, updated_at=row.updated_at)


def duty_unit(s: Session, actor: Actor, code: str, *, lock: bool = False) -> Unit:
    """The duty unit by code, in the actor's scope (404 otherwise, as for a unit that does not exist)."""
    q = select(Unit).where(Unit.code == code)
    unit = s.scalars(q.with_for_update(of=Unit) if lock else q).first()
    if unit is None:
        raise NotFound(f"unit '{code}' not found", field="unit_code")
    authz.ensure_visible(actor, unit.area.path, [unit.id], what=f"unit '{code}'")
    if unit.kind not in DUTY_UNIT_KINDS:
        raise Invalid(f"unit '{code}' is a {unit.kind}: duty rosters are kept by centres and departments",
                      field="unit_code")
    return unit


def ensure_own(s: Session, actor: Actor, unit: Unit, what: str = "keep its roster") -> None:
    """403 unless the actor is one of the centre's own people (one who may stand its shifts) or an
    installation-wide administrator: a centre keeps its own roster, log and handovers; a superior centre,
    which sees the lower centre, only reads them and checks on them (issue #18)."""
    if actor.is_global:
        return
    if actor.person_id is None or actor.person_id not in {p.id for p in eligible_people(s, unit)}:
        raise authz.Forbidden(f"only {unit.name}'s own people may {what} (只有本中心的人员可以操作本中心的值班事务)",
                              field="unit_code")


def eligible_people(s: Session, unit: Unit) -> list[Person]:
    """Active people who may stand a shift at ``unit`` (see the module docstring)."""
    q = select(Person).where(Person.active.is_(True))
    if unit.kind == "centre":
        q = (q.join(Unit, Unit.id == Person.unit_id).join(Area, Area.id == Unit.area_id)
             .where(or_(Person.unit_id == unit.id, Area.path.startswith(unit.area.path, autoescape=True))))
    else:
        q = q.where(Person.unit_id == unit.id)
    return list(s.scalars(q.order_by(Person.id)))


def _person(s: Session, unit: Unit, code: str) -> Person:
    found = [p for p in eligible_people(s, unit) if p.code == code]
    if not found:
        raise Invalid(f"'{code}' is not an active person of {unit.name} or a unit in its area",
                      field="person_code")
    return found[0]


def clashing(s: Session, unit_id: int, person_ids: list[int], start: datetime, end: datetime) -> list[Shift]:
    """Stored shifts overlapping ``[start, end)`` of the unit or of any of the people."""
    rows = s.scalars(select(DutyShift).where(
        DutyShift.starts_at < end, DutyShift.ends_at > start,
        # a shift is at most MAX_SHIFT long, so this bound lets the (unit|person, starts_at) index work
        DutyShift.starts_at > start - duty.MAX_SHIFT,
        or_(DutyShift.unit_id == unit_id, DutyShift.person_id.in_(person_ids))))
    return [as_shift(r) for r in rows]


def _check(s: Session, shift: Shift) -> None:
    problems = duty.check_shift(shift, clashing(s, shift.unit_id, [shift.person_id], shift.starts_at,
                                                shift.ends_at))
    if problems:
        first = problems[0]
        raise (Conflict if first.clash_id else Invalid)(
            first.message, field=first.field,
            details=[{"field": p.field, "message": p.message, "shift_id": p.clash_id} for p in problems])


def _role(value: str) -> DutyRole:
    try:
        return DutyRole(value)
    except ValueError:
        raise Invalid(f"role must be one of {', '.join(r.value for r in DutyRole)}", field="role") from None


def create_shift(uow: UnitOfWork, actor: Actor, *, unit_code: str, person_code: str, role: str,
                 starts_at: datetime, ends_at: datetime, note: str = "") -> ShiftView:
    """Add a shift to a unit's roster (``duty.write``, unit in scope; rules of :mod:`shuzhi.domain.duty`)."""
    authz.require(actor, DUTY_WRITE)
    with uow:
        s = uow.session
        # the unit's row lock makes two concurrent entries for the same hours queue, so the second sees the first
        unit = duty_unit(s, actor, unit_code, lock=True)
        ensure_own(s, actor, unit)
        person = _person(s, unit, person_code)
        shift = Shift(unit.id, person.id, _role(role), starts_at, ends_at)
        _check(s, shift)
        row = DutyShift(unit_id=unit.id, person_id=person.id, role=shift.role.value, starts_at=starts_at,
                        ends_at=ends_at, note=note.strip(), source="manual", created_by=actor.code,
                        updated_by=actor.code)
        s.add(row)
        s.flush()
        audit.record(s, actor, "duty.shift.create", f"duty_shift:{row.id}",
                     {"unit": unit.code, "person": person.code, "role": row.role,
                      "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
        view = _view(row, unit, person)
        uow.commit()
        return view


def _load(s: Session, actor: Actor, shift_id: int, *, lock: bool = False) -> tuple[DutyShift, Unit]:
    row = s.get(DutyShift, shift_id)
    if row is None:
        raise NotFound("shift not found")
    q = select(Unit).where(Unit.id == row.unit_id)
    unit = s.scalars(q.with_for_update(of=Unit) if lock else q).one()
    authz.ensure_visible(actor, unit.area.path, [unit.id], what="shift")
    return row, unit


def _expect(row: DutyShift, expected_version: int | None) -> None:
    if expected_version is not None and row.version != expected_version:
        raise Conflict(f"the shift was changed meanwhile (version {row.version}, you saw {expected_version}); "
                       "reload it", field="expected_version")


def update_shift(uow: UnitOfWork, actor: Actor, shift_id: int, changes: dict[str, Any],
                 expected_version: int | None = None) -> ShiftView:
    """Change a shift's person, role, times or note; the rules are checked again on the result."""
    authz.require(actor, DUTY_WRITE)
    with uow:
        s = uow.session
        row, unit = _load(s, actor, shift_id, lock=True)
        ensure_own(s, actor, unit)
        _expect(row, expected_version)
        person = s.get(Person, row.person_id)
        assert person is not None
        if changes.get("person_code") is not None and changes["person_code"] != person.code:
            person = _person(s, unit, changes["person_code"])
        role = _role(changes["role"]) if changes.get("role") is not None else DutyRole(row.role)
        starts_at = changes.get("starts_at") or row.starts_at
        ends_at = changes.get("ends_at") or row.ends_at
        shift = Shift(unit.id, person.id, role, starts_at, ends_at, id=row.id)
        _check(s, shift)
        before = {"person": row.person_id, "role": row.role, "starts_at": row.starts_at.isoformat(),
                  "ends_at": row.ends_at.isoformat(), "note": row.note}
        row.person_id, row.role, row.starts_at, row.ends_at = person.id, role.value, starts_at, ends_at
        if changes.get("note") is not None:
            row.note = str(changes["note"]).strip()
        row.updated_by = actor.code
        try:
            s.flush()
        except StaleDataError:
            raise Conflict("the shift was changed meanwhile; reload it", field="expected_version") from None
        audit.record(s, actor, "duty.shift.update", f"duty_shift:{row.id}", {"before": before})
        view = _view(row, unit, person)
        uow.commit()
        return view


def delete_shift(uow: UnitOfWork, actor: Actor, shift_id: int, expected_version: int | None = None) -> None:
    """Remove a shift from the roster (written to the audit log with what it was)."""
    authz.require(actor, DUTY_WRITE)
    with uow:
        s = uow.session
        row, unit = _load(s, actor, shift_id, lock=True)
        ensure_own(s, actor, unit)
        _expect(row, expected_version)
        audit.record(s, actor, "duty.shift.delete", f"duty_shift:{row.id}",
                     {"unit": unit.code, "person_id": row.person_id, "role": row.role,
                      "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat()})
        s.delete(row)
        uow.commit()


def list_shifts(uow: UnitOfWork, actor: Actor, *, unit_code: str | None = None, person_code: str | None = None,
                start: datetime | None = None, end: datetime | None = None,
                limit: int = 500) -> list[ShiftView]:
    """Shifts overlapping ``[start, end)`` in the actor's scope, by start time."""
    if not 1 <= limit <= MAX_LIST:
        raise Invalid(f"limit must be between 1 and {MAX_LIST}", field="limit")
    if start is not None and end is not None and end <= start:
        raise Invalid("end must be after start", field="end")
    with uow:
        s = uow.session
        q = (select(DutyShift, Unit, Person).join(Unit, Unit.id == DutyShift.unit_id)
             .join(Person, Person.id == DutyShift.person_id).join(Area, Area.id == Unit.area_id)
             .where(authz.area_clause(actor, Area.path, Unit.id)))
        if unit_code:
            q = q.where(Unit.code == unit_code)
        if person_code:
            q = q.where(Person.code == person_code)
        if start is not None:
            q = q.where(DutyShift.ends_at > start)
        if end is not None:
            q = q.where(DutyShift.starts_at < end)
        rows = s.execute(q.order_by(DutyShift.starts_at, DutyShift.id).limit(limit)).all()
        return [_view(r, u, p) for r, u, p in rows]


def on_duty(s: Session, unit_id: int, at: datetime) -> duty.OnDuty:
    """Who is on duty at the unit at ``at`` (for other services inside their unit of work; no checks)."""
    rows = s.scalars(select(DutyShift).where(
        DutyShift.unit_id == unit_id, DutyShift.starts_at <= at, DutyShift.ends_at > at,
        DutyShift.starts_at > at - duty.MAX_SHIFT))
    return duty.on_duty([as_shift(r) for r in rows], at)


def who_is_on_duty(uow: UnitOfWork, actor: Actor, unit_code: str, at: datetime) -> OnDutyView:
    """The leader(s) on duty and officers at a unit at a moment (the cockpit's "on duty now")."""
    with uow:
        s = uow.session
        unit = duty_unit(s, actor, unit_code)
        rows = s.execute(select(DutyShift, Person).join(Person, Person.id == DutyShift.person_id).where(
            and_(DutyShift.unit_id == unit.id, DutyShift.starts_at <= at, DutyShift.ends_at > at,
                 DutyShift.starts_at > at - duty.MAX_SHIFT)).order_by(DutyShift.starts_at)).all()
        views = [_view(r, unit, p) for r, p in rows]
        return OnDutyView(unit.code, unit.name, at, [v for v in views if v.role == DutyRole.LEADER_ON_DUTY],
                          [v for v in views if v.role == DutyRole.OFFICER])


def parse_handover(value: str | None) -> time:
    """``"08:30"`` → 08:30; empty → the default handover time."""
    if not value:
        return duty.DEFAULT_HANDOVER
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"'{value}' is not a time of day (HH:MM)", field="handover") from None
