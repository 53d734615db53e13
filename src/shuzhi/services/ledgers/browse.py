"""The filtered ledger view: items in scope, by state, colour, unit, text and custom columns, a page at a
time, with the five-colour counts of everything that matches (the cockpit's ledger state)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.db.tables_ledgers import LedgerItem, LedgerItemAssist
from shuzhi.domain import ledgers as d
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.ledgers import access, items
from shuzhi.services.ledgers.books import columns_of
from shuzhi.services.ledgers.clocks import local_day
from shuzhi.services.ledgers.colour_sql import colour_expr
from shuzhi.services.unit_of_work import UnitOfWork


class ItemFilter(BaseModel):
    view: str = Field(default="active", pattern="^(active|closed|all)$",
                      description="active (default): items still owing work; closed: closed off; all")
    state: list[d.ItemState] = Field(default_factory=list)
    colour: list[d.Colour] = Field(default_factory=list)
    unit: str | None = Field(default=None, description="lead or assisting unit code")
    leader: str | None = None
    q: str | None = Field(default=None, max_length=100, description="text in the number, task or finding")
    fields: dict[str, str] = Field(default_factory=dict, description="custom column key → value (equality)")
    top_level: bool = Field(default=False, description="only items without a parent")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class ItemPage(BaseModel):
    total: int
    colours: dict[str, int]
    items: list[items.ItemView]


def _view_states(view: str) -> list[str]:
    if view == "active":
        return [s.value for s in d.ACTIVE_STATES | {d.ItemState.SUSPENDED}]
    if view == "closed":
        return [d.ItemState.CLOSED.value]
    return [s.value for s in d.ItemState]


def list_items(uow: UnitOfWork, ledger_code: str, f: ItemFilter, actor: Actor, *,
               today: date | None = None) -> ItemPage:
    """A page of the ledger's items in the actor's scope. The colour is computed in SQL from the item's
    facts (:mod:`.colour_sql`): the five-colour counts are one grouped count, the colour filter a
    condition, and only the page's rows are read in full."""
    day = today or local_day(datetime.now(UTC))
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        ledger = acc.ledger
        cols = {c.key: c for c in columns_of(ledger)}
        conds: list[Any] = [LedgerItem.ledger_id == ledger.id, access.item_clause(acc, actor)]
        states = [st.value for st in f.state] or _view_states(f.view)
        conds.append(LedgerItem.state.in_(states))
        if f.unit:
            uid = s.scalar(select(Unit.id).where(Unit.code == f.unit))
            if uid is None:
                raise Invalid(f"unknown unit '{f.unit}'", field="unit")
            conds.append(or_(LedgerItem.lead_unit_id == uid, LedgerItem.id.in_(
                select(LedgerItemAssist.item_id).where(LedgerItemAssist.unit_id == uid))))
        if f.leader:
            conds.append(LedgerItem.leader_name == f.leader)
        if f.q:
            pattern = f"%{f.q.strip()}%"
            conds.append(or_(LedgerItem.title.like(pattern), LedgerItem.number.like(pattern),
                             LedgerItem.finding.like(pattern), LedgerItem.proposer.like(pattern)))
        if f.top_level:
            conds.append(LedgerItem.parent_id.is_(None))
        for key, value in f.fields.items():
            col = cols.get(key)
            if col is None:
                raise Invalid(f"the ledger has no column {key!r}", field=f"fields.{key}")
            extracted = LedgerItem.fields[key]
            if col.type is d.FieldType.NUMBER:
                try:
                    conds.append(extracted.as_float() == float(value))
                except ValueError:
                    raise Invalid(f"{col.label}: “{value}” is not a number", field=f"fields.{key}") from None
            elif col.type is d.FieldType.BOOL:
                conds.append(extracted.as_boolean().is_(value.lower() in {"1", "true", "是"}))
            else:
                conds.append(extracted.as_string() == value)
        where = and_(*conds)
        colour = colour_expr(s.get_bind().dialect.name, day, d.Schedule(ledger.schedule))
        # grouped through a subquery: PostgreSQL would not match the CASE's bound parameters in GROUP BY
        coloured = select(colour.label("colour")).where(where).subquery()
        counted: dict[str | None, int] = dict(
            s.execute(select(coloured.c.colour, func.count()).group_by(coloured.c.colour)).all())
        colours: dict[str, int] = {c.value: counted.get(c.value, 0) for c in d.Colour}
        if f.colour:
            wanted = [c.value for c in f.colour]
            where = and_(where, colour.in_(wanted))
            total = sum(colours[c] for c in wanted)
        else:
            total = sum(counted.values())  # cancelled items (no colour) too, when the view shows them
        page_ids = list(s.scalars(select(LedgerItem.id).where(where).order_by(LedgerItem.path, LedgerItem.id)
                                  .offset(f.offset).limit(f.limit)))
        rows = {i.id: i for i in s.scalars(select(LedgerItem).where(LedgerItem.id.in_(page_ids)))} if page_ids else {}
        return ItemPage(total=total, colours=colours,
                        items=_views(s, [rows[i] for i in page_ids], acc, actor, day))


def _views(s: Session, rows: list[LedgerItem], acc: access.LedgerAccess, actor: Actor,
           day: date) -> list[items.ItemView]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    unit_ids = {r.lead_unit_id for r in rows} | {r.sign_off_unit_id for r in rows if r.sign_off_unit_id}
    assists = s.execute(select(LedgerItemAssist.item_id, LedgerItemAssist.unit_id)
                        .where(LedgerItemAssist.item_id.in_(ids))).all()
    unit_ids |= {u for _, u in assists}
    unit_ids |= {acc.ledger.owner_unit_id, acc.ledger.sign_off_unit_id or acc.ledger.owner_unit_id}
    units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    kids = dict(s.execute(select(LedgerItem.parent_id, func.count()).where(LedgerItem.parent_id.in_(ids))
                          .group_by(LedgerItem.parent_id)).all())
    by_item: dict[int, list[int]] = {}
    for item_id, unit_id in assists:
        by_item.setdefault(item_id, []).append(unit_id)
    return [items.view(s, r, acc.ledger, actor=actor, acc=acc, today=day, units=units, children=kids.get(r.id, 0),
                       assist_ids=by_item.get(r.id, [])) for r in rows]


def leaders(uow: UnitOfWork, ledger_code: str, actor: Actor) -> list[str]:
    """The responsible leaders named in the ledger (for the filter)."""
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        return [str(v) for (v,) in s.execute(
            select(LedgerItem.leader_name).where(LedgerItem.ledger_id == acc.ledger.id,
                                                 LedgerItem.leader_name.is_not(None), access.item_clause(acc, actor))
            .distinct().order_by(LedgerItem.leader_name))]
