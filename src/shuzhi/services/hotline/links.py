"""Repeats: an event linked to an earlier, closed one — the same caller or the same place again.

A place reported again soon after its case was closed questions the verification of that case (the fix
did not hold); the analysis counts repeat callers and repeat places from these links and from the
reports themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shuzhi.adapters.db.tables_hotline import EventLink
from shuzhi.domain import hotline as rules
from shuzhi.domain.permissions import EVENT_DISPATCH
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict
from shuzhi.services.handling import load_actable_event, load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.transitions import note as timeline_note
from shuzhi.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class LinkView:
    number: str
    earlier_number: str
    kind: str
    reasons: list[str]
    at: datetime


def link_repeat(uow: UnitOfWork, ref: str, earlier: str, actor: Actor, *, note: str | None = None,
                now: datetime | None = None) -> LinkView:
    """Link ``ref`` as a repeat of the closed event ``earlier``; the reasons (same caller, same place
    within the repeat window) are worked out and kept; a person may link without either ("manual")."""
    authz.require(actor, EVENT_DISPATCH)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        event = load_actable_event(s, ref, actor)  # linking changes the event: a role on it, not sight
        past = load_visible_event(s, earlier, actor)
        if past.id == event.id:
            raise Conflict("an event cannot repeat itself", field="earlier_number")
        if past.closed_at is None:
            raise Conflict(f"{past.number} is not closed: merge a duplicate of an open case instead",
                           field="earlier_number")
        if past.closed_at > event.received_at:
            raise Conflict(f"{past.number} was closed after {event.number} was received", field="earlier_number")
        reasons = rules.repeat_reasons(
            event.event_class.code if event.event_class else None, event.lon, event.lat, event.reporter_phone,
            event.received_at, rules.PastCase(past.id, past.number, past.event_class.code if past.event_class
                                              else None, past.closed_at, past.lon, past.lat, past.reporter_phone),
            window_days=10_000) or ["manual"]
        if s.scalar(select(EventLink.id).where(EventLink.event_id == event.id, EventLink.linked_event_id == past.id,
                                               EventLink.kind == "repeat")) is not None:
            raise Conflict(f"{event.number} is already linked to {past.number}", field="earlier_number")
        s.add(EventLink(event_id=event.id, linked_event_id=past.id, kind="repeat", reasons=reasons,
                        actor=actor.label, at=at, note=note))
        days = round((event.received_at - past.closed_at).total_seconds() / 86400, 1)
        timeline_note(s, event, actor, "event.link_repeat", at, from_state=event.state, to_state=event.state,
                      reason=note, payload={"earlier": past.number, "reasons": reasons, "days_after_closure": days})
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict(f"{event.number} is already linked to {past.number}", field="earlier_number") from None
        return LinkView(event.number, past.number, "repeat", reasons, at)
