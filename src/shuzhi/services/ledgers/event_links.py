"""Items and events, both ways: an event's ledger items (the task a case arose from, the problem its
pattern became), and a pattern of events — the evaluation's hot spot, "recurring waterlogging at X" —
turned into one problem item to rectify, linked to every event, in one action."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_ledgers import Ledger, LedgerEventLink, LedgerItem
from shuzhi.domain import ledgers as d
from shuzhi.domain import permissions as P
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.handling import load_visible_event
from shuzhi.services.ledgers import access, clocks, items
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

#: Events one action may link to a new problem (a hot spot's cluster is far smaller).
MAX_EVENTS = 200


class EventItem(BaseModel):
    """A ledger item linked to an event, as the event's page shows it."""

    item_id: int
    ledger: str
    ledger_name: str
    number: str
    title: str
    state: str
    colour: str | None
    lead_unit_name: str
    relation: str
    note: str
    created_by: str
    created_at: datetime


def items_of_event(uow: UnitOfWork, ref: str, actor: Actor) -> list[EventItem]:
    """The ledger items linked to the event that the actor may see (the event itself in his scope;
    an item outside it is left out, as on every ledger page)."""
    authz.require(actor, P.LEDGER_READ)
    with uow:
        s = uow.session
        event = load_visible_event(s, ref, actor)
        today = datetime.now(UTC)
        out = []
        for link in s.scalars(select(LedgerEventLink).where(LedgerEventLink.event_id == event.id)
                              .order_by(LedgerEventLink.created_at)):
            try:
                item, acc = access.load_item(s, actor, link.item_id)
            except NotFound:
                continue
            v = items.view(s, item, acc.ledger, today=clocks.local_day(today))
            out.append(EventItem(item_id=item.id, ledger=acc.ledger.code, ledger_name=acc.ledger.name,
                                 number=item.number, title=item.title, state=item.state, colour=v.colour,
                                 lead_unit_name=v.lead_unit_name, relation=link.relation, note=link.note,
                                 created_by=link.created_by, created_at=link.created_at))
        return out


class FromEventsCommand(items.ItemCommand):
    """The problem's "四合一" and source, and the events whose pattern it is."""

    event_numbers: list[str] = Field(min_length=1, max_length=MAX_EVENTS,
                                     description="the events of the pattern (a hot spot's cases)")
    note: str = Field(default="", max_length=1000, description="why these events make one problem")


def problem_from_events(uow: UnitOfWork, ledger_code: str, cmd: FromEventsCommand, actor: Actor, *,
                        now: datetime | None = None) -> items.ItemView:
    """One action (the ledger's runner): a new item for the pattern, linked (``pattern``) to every one of
    its events, each of which the actor must see; all or nothing. A problem ledger's item without a
    finding gets the events' count and numbers as its finding, and "other" as its source."""
    at = now or datetime.now(UTC)
    numbers = list(dict.fromkeys(n.strip() for n in cmd.event_numbers if n.strip()))
    if not numbers:
        raise Invalid("name at least one event", field="event_numbers")
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        access.require_manage(actor, acc)
        ledger: Ledger = acc.ledger
        events: list[Event] = []
        for i, number in enumerate(numbers):
            try:
                events.append(load_visible_event(s, number, actor))
            except NotFound:
                raise Invalid(f"event {number} not found", field=f"event_numbers[{i}]") from None
        if d.ITEM_KIND_OF[d.LedgerKind(ledger.kind)] is d.ItemKind.PROBLEM:
            listed = "、".join(e.number for e in events[:20]) + ("等" if len(events) > 20 else "")
            cmd = cmd.model_copy(update={
                "source": cmd.source or d.ProblemSource.OTHER,
                "finding": (cmd.finding or "").strip() or f"同类事件反复发生：{len(events)}件（{listed}）"})
        item = items.insert_item(s, ledger, cmd, actor, at, action="item.from_events",
                                 extra={"events": [e.number for e in events], "note": cmd.note})
        s.add_all(LedgerEventLink(item_id=item.id, event_id=e.id, relation="pattern", note=cmd.note,
                                  created_by=actor.label, created_at=at) for e in events)
        uow.commit()
        fresh = s.get(LedgerItem, item.id)
        assert fresh is not None
        return items.view(s, fresh, ledger, actor=actor, acc=acc)
