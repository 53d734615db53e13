"""People's accounts, for administrators: list (scoped), create, change role or unit, disable/enable.

A role *is* a set of permissions (:mod:`shuzhi.domain.permissions`), so every account change is written
to the audit log in the same transaction, like the people import does (``user.role_change``), and the
cached actors and credentials of this process are forgotten so that the change holds at once. An
initial password is set with the account (the person must change it at first sign-in); a forgotten
one is reset with :func:`shuzhi.services.security.passwords.admin_set_password`.

An administrator cannot disable their own account or take away their own role: an installation must
never lose its last way in through a slip of the mouse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.adapters.db.tables_security import AuthToken, Credential
from shuzhi.config import Settings
from shuzhi.domain import town
from shuzhi.domain.permissions import USER_ADMIN, Role, is_reserved_code
from shuzhi.services import assignees
from shuzhi.services.actors import Actor, forget_people
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.organisation import PHONE
from shuzhi.services.security import audit, authz, passwords
from shuzhi.services.security import credentials as auth_credentials
from shuzhi.services.unit_of_work import UnitOfWork

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewUser(_Command):
    code: str = Field(min_length=1, max_length=40, description="staff code (工号): letters, digits, . _ -")
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, max_length=30)
    unit_code: str = Field(min_length=1, max_length=40)
    role: Role
    password: str = Field(min_length=1, max_length=200, description="initial password, changed at first sign-in")

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not CODE.match(v):
            raise ValueError("a staff code is letters, digits, '.', '_' or '-' (up to 40)")
        if is_reserved_code(v):
            raise ValueError(f"'{v}' is reserved for the system and cannot be a staff code")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v and not PHONE.match(v):
            raise ValueError(f"'{v}' is not a mobile or landline number")
        return v or None


class UserPatch(_Command):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    phone: str | None = Field(default=None, max_length=30)
    unit_code: str | None = Field(default=None, min_length=1, max_length=40)
    role: Role | None = None
    active: bool | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v and not PHONE.match(v):
            raise ValueError(f"'{v}' is not a mobile or landline number")
        return v


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    phone: str | None
    unit_code: str
    unit_name: str
    role: str
    active: bool
    #: whether the person can sign in at all (has a password)
    has_password: bool
    must_change_password: bool
    locked: bool


def _account(p: Person, cred: Credential | None, now: datetime) -> Account:
    locked_until = cred.locked_until if cred is not None else None
    if locked_until is not None and locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=UTC)
    return Account(code=p.code, name=p.name, phone=p.phone, unit_code=p.unit.code, unit_name=p.unit.name,
                   role=p.role, active=p.active, has_password=cred is not None,
                   must_change_password=bool(cred and cred.must_change),
                   locked=locked_until is not None and locked_until > now)


def list_users(uow: UnitOfWork, actor: Actor, *, q: str | None = None, unit_code: str | None = None,
               role: str | None = None, active: bool | None = None, limit: int = 500) -> list[Account]:
    """The accounts of the people of the units in the administrator's scope, by staff code."""
    authz.require(actor, USER_ADMIN)
    if role is not None and role not in {r.value for r in Role}:
        raise Invalid(f"role must be one of {', '.join(r.value for r in Role)}", field="role")
    with uow:
        s = uow.session
        stmt = (select(Person, Credential).join(Unit, Person.unit_id == Unit.id).join(Area, Area.id == Unit.area_id)
                .outerjoin(Credential, Credential.person_id == Person.id)
                .where(authz.area_clause(actor, Area.path, Unit.id)))
        if q:
            like = f"%{q.strip()}%"
            stmt = stmt.where(or_(Person.code.ilike(like), Person.name.ilike(like)))
        if unit_code:
            stmt = stmt.where(Unit.code == unit_code)
        if role:
            stmt = stmt.where(Person.role == role)
        if active is not None:
            stmt = stmt.where(Person.active.is_(active))
        now = datetime.now(UTC)
        return [_account(p, c, now) for p, c in s.execute(stmt.order_by(Person.code).limit(limit)).all()]


def _visible_unit(s: Session, actor: Actor, code: str, field: str) -> Unit:
    unit = s.scalar(select(Unit).where(Unit.code == code, Unit.active.is_(True)))
    # a unit outside the administrator's scope reads as unknown: its existence does not leak
    if unit is None or not (authz.path_visible(actor, unit.area.path) or unit.id == actor.unit_id):
        raise Invalid(f"unknown unit '{code}'", field=field)
    return unit


def _visible_person(s: Session, actor: Actor, code: str) -> Person:
    person = s.scalar(select(Person).where(Person.code == code))
    if person is None:
        raise NotFound(f"person {code} not found")
    authz.ensure_visible(actor, person.unit.area.path, [person.unit_id], what=f"person {code}")
    return person


def _forget() -> None:
    forget_people()
    auth_credentials.forget_cached_credentials()


def create_user(uow: UnitOfWork, settings: Settings, actor: Actor, cmd: NewUser, *, ip: str | None = None
                ) -> Account:
    """A new person with a role in a unit of the administrator's scope, and an initial password."""
    authz.require(actor, USER_ADMIN)
    passwords.check_new_password(settings, cmd.code, cmd.password, field="password")
    with uow:
        s = uow.session
        unit = _visible_unit(s, actor, cmd.unit_code, "unit_code")
        if s.scalar(select(Person.id).where(Person.code == cmd.code)) is not None:
            raise Conflict(f"staff code '{cmd.code}' is already taken", field="code")
        person = Person(code=cmd.code, name=cmd.name, phone=cmd.phone, unit_id=unit.id, role=cmd.role.value,
                        active=True)
        s.add(person)
        s.flush()
        cred = passwords.set_password(s, cmd.code, cmd.password, must_change=True)
        audit.record(s, actor, "user.create", f"person:{cmd.code}",
                     {"unit": unit.code, "role": cmd.role.value, "must_change": True}, ip=ip)
        audit.record(s, actor, "user.role_change", f"person:{cmd.code}", {"from": None, "to": cmd.role.value},
                     ip=ip)
        uow.commit()
        s.refresh(person)
        account = _account(person, cred, datetime.now(UTC))
    _forget()
    return account


def update_user(uow: UnitOfWork, actor: Actor, code: str, patch: UserPatch, *, ip: str | None = None) -> Account:
    """Change a person's name, phone, unit or role, or disable/enable the account (sessions and tokens
    of a disabled person are revoked at once)."""
    authz.require(actor, USER_ADMIN)
    with uow:
        s = uow.session
        person = _visible_person(s, actor, code)
        if person.id == actor.person_id and (patch.active is False or (
                patch.role is not None and patch.role.value != person.role)):
            raise Conflict("you cannot disable your own account or change your own role", field="code")
        before = {"name": person.name, "phone": person.phone, "unit": person.unit.code, "role": person.role,
                  "active": person.active}
        if patch.unit_code is not None and patch.unit_code != person.unit.code:
            unit = _visible_unit(s, actor, patch.unit_code, "unit_code")
            person.unit_id = unit.id
            person.unit = unit
        if patch.name is not None:
            person.name = patch.name
        if patch.phone is not None:
            person.phone = patch.phone or None
        if patch.role is not None:
            person.role = patch.role.value
        if patch.active is not None:
            person.active = patch.active
        after = {"name": person.name, "phone": person.phone, "unit": person.unit.code, "role": person.role,
                 "active": person.active}
        obj = f"person:{code}"
        if before["role"] != after["role"] or before["unit"] != after["unit"]:
            audit.record(s, actor, "user.role_change", obj, {"from": before["role"], "to": after["role"],
                                                              "unit_from": before["unit"], "unit_to": after["unit"]},
                         ip=ip)
        if before["active"] != after["active"]:
            audit.record(s, actor, "user.enable" if after["active"] else "user.disable", obj, {}, ip=ip)
            if not after["active"]:
                s.execute(update(AuthToken).where(AuthToken.person_id == person.id, AuthToken.revoked_at.is_(None))
                          .values(revoked_at=datetime.now(UTC)))
        if not after["active"] or before["unit"] != after["unit"]:
            # a person who leaves no longer answers for his unit's open tasks (事件责任人): they go back
            # to the unit's leader, on the timeline (issue #20)
            assignees.return_open_tasks(s, person.id, actor, datetime.now(UTC),
                                        town.LEFT_DISABLED if not after["active"] else town.LEFT_MOVED)
        if before["name"] != after["name"] or before["phone"] != after["phone"]:
            # the phone is personal data: the log says that it changed, not what it is
            audit.record(s, actor, "user.update", obj, {"name": [before["name"], after["name"]]
                                                        if before["name"] != after["name"] else None,
                                                        "phone_changed": before["phone"] != after["phone"]}, ip=ip)
        uow.commit()
        cred = s.get(Credential, person.id)
        account = _account(person, cred, datetime.now(UTC))
    _forget()
    return account
