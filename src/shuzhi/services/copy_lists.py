"""Copy lists (抄送名单): named sets of units a notice is copied to in one step.

98 % of a centre's events are copied for information (抄送知悉), mostly to the same groups of units —
every town in a basin, every department on the flood list. A list belongs to its author's unit and is
scoped by that unit's area: only actors who see the area see, change or use it, and every unit on it
must lie in the author's scope (a district cannot put another district's towns on its list).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.adapters.db.tables_desk import CopyList, CopyListMember
from shuzhi.domain.permissions import EVENT_DISPATCH, EVENT_READ
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

#: A list as large as a city's every town and department (Chongqing has 1,031 towns and streets).
MAX_MEMBERS = 5000


class CopyListIn(BaseModel):
    """A copy list as created or replaced: its name and its units' codes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    unit_codes: list[str] = Field(min_length=1, max_length=MAX_MEMBERS)

    @field_validator("unit_codes")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        seen: set[str] = set()
        for i, code in enumerate(v):
            if code in seen:
                raise ValueError(f"unit_codes[{i}]: '{code}' is named twice")
            seen.add(code)
        return v


class CopyListOut(BaseModel):
    id: int
    name: str
    area_path: str
    owner_unit_id: int | None
    unit_codes: list[str]
    updated_at: datetime


def units_by_codes(s: Session, codes: Sequence[str], field: str = "unit_codes") -> list[Unit]:
    """The active units named by ``codes``, in their order, loaded in one query (a notice to 1,031
    towns must not cost 1,031 round trips); the first unknown or inactive code is a field error."""
    found = {u.code: u for u in s.scalars(select(Unit).where(Unit.code.in_(set(codes))))} if codes else {}
    out = []
    for i, code in enumerate(codes):
        unit = found.get(code)
        if unit is None:
            raise Invalid(f"unknown unit '{code}'", field=f"{field}[{i}]")
        if not unit.active:
            raise Invalid(f"unit '{code}' is inactive", field=f"{field}[{i}]")
        out.append(unit)
    return out


def _scope_path(s: Session, actor: Actor) -> str:
    """The area a new list is scoped by: the author's unit's area (``/`` for a unit-less system actor)."""
    if actor.unit_id is None:
        return "/"
    path = s.scalar(select(Area.path).join(Unit, Unit.area_id == Area.id).where(Unit.id == actor.unit_id))
    return path or "/"


def _members(s: Session, cmd: CopyListIn, actor: Actor) -> list[Unit]:
    units = units_by_codes(s, cmd.unit_codes)
    for i, unit in enumerate(units):
        if not authz.path_visible(actor, unit.area.path):
            raise Invalid(f"unit '{unit.code}' lies outside your area", field=f"unit_codes[{i}]")
    return units


def _load(s: Session, list_id: int, actor: Actor) -> CopyList:
    row = s.get(CopyList, list_id)
    if row is None or not authz.path_visible(actor, row.area_path):
        raise NotFound(f"copy list {list_id} not found")
    return row


def _codes(s: Session, list_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in list_ids}
    rows = s.execute(select(CopyListMember.copy_list_id, Unit.code).join(Unit, Unit.id == CopyListMember.unit_id)
                     .where(CopyListMember.copy_list_id.in_(list_ids)).order_by(Unit.code))
    for list_id, code in rows:
        out[list_id].append(code)
    return out


def _out(row: CopyList, codes: list[str]) -> CopyListOut:
    return CopyListOut(id=row.id, name=row.name, area_path=row.area_path, owner_unit_id=row.owner_unit_id,
                       unit_codes=codes, updated_at=row.updated_at)


def _store_members(s: Session, row: CopyList, units: list[Unit]) -> None:
    s.execute(delete(CopyListMember).where(CopyListMember.copy_list_id == row.id))
    s.execute(insert(CopyListMember), [{"copy_list_id": row.id, "unit_id": u.id} for u in units])


def create(uow: UnitOfWork, cmd: CopyListIn, actor: Actor, *, now: datetime | None = None) -> CopyListOut:
    """A new list of the author's unit; a name the unit already uses is a 409 on ``name``."""
    authz.require(actor, EVENT_DISPATCH)
    with uow:
        s = uow.session
        units = _members(s, cmd, actor)
        at = now or datetime.now(UTC)
        row = CopyList(name=cmd.name, owner_unit_id=actor.unit_id, area_path=_scope_path(s, actor),
                       created_by=actor.label, created_at=at, updated_at=at)
        s.add(row)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(f"your unit already has a copy list named '{cmd.name}'", field="name") from None
        _store_members(s, row, units)
        out = _out(row, sorted(u.code for u in units))
        uow.commit()
    return out


def replace(uow: UnitOfWork, list_id: int, cmd: CopyListIn, actor: Actor, *,
            now: datetime | None = None) -> CopyListOut:
    """Rename the list and replace its units."""
    authz.require(actor, EVENT_DISPATCH)
    with uow:
        s = uow.session
        row = _load(s, list_id, actor)
        units = _members(s, cmd, actor)
        row.name, row.updated_at = cmd.name, now or datetime.now(UTC)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(f"your unit already has a copy list named '{cmd.name}'", field="name") from None
        _store_members(s, row, units)
        out = _out(row, sorted(u.code for u in units))
        uow.commit()
    return out


def remove(uow: UnitOfWork, list_id: int, actor: Actor) -> None:
    """Delete the list (the events already copied keep their tasks)."""
    authz.require(actor, EVENT_DISPATCH)
    with uow:
        row = _load(uow.session, list_id, actor)
        uow.session.delete(row)
        uow.commit()


def get(uow: UnitOfWork, list_id: int, actor: Actor) -> CopyListOut:
    authz.require(actor, EVENT_READ)
    with uow:
        row = _load(uow.session, list_id, actor)
        return _out(row, _codes(uow.session, [row.id])[row.id])


def list_all(uow: UnitOfWork, actor: Actor) -> list[CopyListOut]:
    """The lists the actor sees, by name."""
    authz.require(actor, EVENT_READ)
    with uow:
        s = uow.session
        rows = list(s.scalars(select(CopyList).where(authz.area_clause(actor, CopyList.area_path))
                              .order_by(CopyList.name, CopyList.id)))
        codes = _codes(s, [r.id for r in rows]) if rows else {}
        return [_out(r, codes[r.id]) for r in rows]


def member_codes(s: Session, list_ids: Sequence[int], actor: Actor) -> list[str]:
    """The units' codes of the given lists (for a notice), each list checked to be visible."""
    for i, list_id in enumerate(list_ids):
        row = s.get(CopyList, list_id)
        if row is None or not authz.path_visible(actor, row.area_path):
            raise Invalid(f"copy list {list_id} not found", field=f"copy_lists[{i}]")
    codes = _codes(s, list(list_ids))
    return [code for list_id in list_ids for code in codes[list_id]]
