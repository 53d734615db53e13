"""Ledgers as data: create, change, list and read a ledger (kind, columns, owner, visibility, schedule)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.db.tables_ledgers import Ledger, LedgerItem
from shuzhi.domain import ledgers as d
from shuzhi.domain import permissions as P
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.ledgers import access
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork


class LedgerCommand(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$", description="short code, e.g. GG2024")
    name: str = Field(min_length=2, max_length=200)
    kind: d.LedgerKind
    description: str = Field(default="", max_length=4000)
    owner_unit: str = Field(description="code of the owner unit (e.g. the reform office)")
    sign_off_unit: str | None = Field(default=None, description="code of the sign-off authority; default: owner")
    visibility: d.Visibility = d.Visibility.PRIVATE
    schedule: d.Schedule = d.Schedule.MONTHLY
    columns: list[dict[str, Any]] = Field(default_factory=list, description="custom columns (key, label, type)")


class LedgerRecord(BaseModel):
    code: str
    name: str
    kind: str
    description: str
    owner_unit: str
    owner_unit_name: str
    sign_off_unit: str
    sign_off_unit_name: str
    visibility: str
    schedule: str
    columns: list[dict[str, Any]]
    import_mapping: dict[str, Any]
    items: int = 0
    active_items: int = 0
    whole: bool = True
    manages: bool = False


def _unit(session: Session, code: str, field: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not unit.active:
        raise Invalid(f"unknown unit '{code}'", field=field)
    return unit


def record(session: Session, ledger: Ledger, acc: access.LedgerAccess | None = None) -> LedgerRecord:
    owner = session.get(Unit, ledger.owner_unit_id)
    sign = session.get(Unit, ledger.sign_off_unit_id or ledger.owner_unit_id)
    assert owner is not None and sign is not None
    total, active = session.execute(select(
        func.count(LedgerItem.id),
        func.count(LedgerItem.id).filter(LedgerItem.state.in_([s.value for s in d.ACTIVE_STATES])))
        .where(LedgerItem.ledger_id == ledger.id)).one()
    return LedgerRecord(code=ledger.code, name=ledger.name, kind=ledger.kind, description=ledger.description,
                        owner_unit=owner.code, owner_unit_name=owner.name, sign_off_unit=sign.code,
                        sign_off_unit_name=sign.name, visibility=ledger.visibility, schedule=ledger.schedule,
                        columns=list(ledger.columns or []), import_mapping=dict(ledger.import_mapping or {}),
                        items=total, active_items=active, whole=acc.whole if acc else True,
                        manages=acc.manages if acc else False)


def columns_of(ledger: Ledger) -> list[d.Column]:
    return d.parse_columns(ledger.columns or [])


def save_ledger(uow: UnitOfWork, cmd: LedgerCommand, actor: Actor, *, now: datetime | None = None) -> LedgerRecord:
    """Create a ledger, or change an existing one (same code) that the actor runs. Columns in use keep
    their key and type: changing a column's type under stored values would corrupt them."""
    authz.require(actor, P.LEDGER_MANAGE)
    at = now or datetime.now(UTC)
    try:
        columns = d.parse_columns(cmd.columns)
    except d.LedgerError as exc:
        raise Invalid(str(exc), field=exc.field) from None
    with uow:
        s = uow.session
        owner = _unit(s, cmd.owner_unit, "owner_unit")
        sign = _unit(s, cmd.sign_off_unit, "sign_off_unit") if cmd.sign_off_unit else None
        if not actor.is_global and not authz.path_visible(actor, access.unit_path(s, owner.id)) \
                and actor.unit_id != owner.id:
            raise authz.Forbidden("a ledger can be owned by your unit or a unit in your area only", field="owner_unit")
        ledger = s.scalar(select(Ledger).where(Ledger.code == cmd.code))
        if ledger is None:
            ledger = Ledger(code=cmd.code, created_by=actor.label, created_at=at, import_mapping={},
                            unit_aliases={}, import_layout={})
            s.add(ledger)
            action = "ledger.create"
        else:
            acc = access.ledger_access(s, actor, ledger)
            access.require_manage(actor, acc)
            old = {c.key: c for c in columns_of(ledger)}
            used = _used_keys(s, ledger.id)
            for c in columns:
                if c.key in old and c.key in used and old[c.key].type is not c.type:
                    raise Conflict(f"column {c.key!r} holds values; its type cannot change", field="columns")
            gone = sorted((set(old) - {c.key for c in columns}) & used)
            if gone:
                raise Conflict(f"column {gone[0]!r} holds values and cannot be removed", field="columns")
            if d.ITEM_KIND_OF[d.LedgerKind(ledger.kind)] is not d.ITEM_KIND_OF[cmd.kind] and s.scalar(
                    select(LedgerItem.id).where(LedgerItem.ledger_id == ledger.id).limit(1)) is not None:
                raise Conflict("the ledger holds items of another kind; its kind cannot change", field="kind")
            action = "ledger.update"
        ledger.name = cmd.name
        ledger.kind = cmd.kind.value
        ledger.description = cmd.description
        ledger.owner_unit_id = owner.id
        ledger.sign_off_unit_id = sign.id if sign else None
        ledger.visibility = cmd.visibility.value
        ledger.schedule = cmd.schedule.value
        ledger.columns = [c.to_mapping() for c in columns]
        ledger.updated_at = at
        s.flush()
        audit.record(s, actor, action, f"ledger:{ledger.code}", {"name": ledger.name, "kind": ledger.kind,
                                                                  "visibility": ledger.visibility,
                                                                  "schedule": ledger.schedule,
                                                                  "columns": len(columns)}, at=at)
        uow.commit()
        return record(s, ledger, access.LedgerAccess(ledger, True, True))


def _used_keys(session: Session, ledger_id: int) -> set[str]:
    keys: set[str] = set()
    for (fields,) in session.execute(select(LedgerItem.fields).where(LedgerItem.ledger_id == ledger_id)):
        keys.update((fields or {}).keys())
    return keys


def list_ledgers(uow: UnitOfWork, actor: Actor) -> list[LedgerRecord]:
    """The ledgers the actor sees (whole or its own items), by code."""
    authz.require(actor, P.LEDGER_READ)
    with uow:
        s = uow.session
        out = []
        for ledger in s.scalars(select(Ledger).where(Ledger.active.is_(True)).order_by(Ledger.code)):
            try:
                acc = access.ledger_access(s, actor, ledger)
            except NotFound:
                continue
            out.append(record(s, ledger, acc))
        return out


def get_ledger(uow: UnitOfWork, actor: Actor, code: str) -> LedgerRecord:
    with uow:
        acc = access.load_ledger(uow.session, actor, code)
        return record(uow.session, acc.ledger, acc)
