"""Who sees a ledger and its items, and who may act on them — checked on every read and write.

Reading (scope, as for events: what is outside it is *not found*, so its existence does not leak):

* the whole ledger — global roles, the owner unit, a centre whose area contains the owner's area,
  everyone when the ledger is public, and, when it is public to peers (晒账), every unit that has an
  item in it;
* otherwise its own items — those whose lead unit lies in the actor's area subtrees, is the actor's
  unit, or that the actor's unit assists. A ledger without any such item is not found.

Acting: running a ledger (items, import, bulletin) needs ``ledger.manage`` and the whole ledger in
scope (not merely as a peer); reporting needs ``ledger.report`` and the item's lead unit (or, for a
sub-item assigned down, the parent's lead unit assigning it); closing off needs ``ledger.sign_off``
and membership of the item's sign-off authority — nobody else, an administrator included.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.adapters.db.tables_ledgers import Ledger, LedgerItem, LedgerItemAssist
from shuzhi.domain import permissions as P
from shuzhi.domain.ledgers import Visibility
from shuzhi.services.actors import Actor
from shuzhi.services.errors import NotFound
from shuzhi.services.security import authz


@dataclass(frozen=True)
class LedgerAccess:
    ledger: Ledger
    #: The whole ledger is readable (else only the actor's own items).
    whole: bool
    #: The actor may run the ledger (scope side; the permission is checked separately).
    manages: bool


def unit_path(session: Session, unit_id: int) -> str:
    return session.scalar(select(Area.path).join(Unit, Unit.area_id == Area.id).where(Unit.id == unit_id)) or ""


def own_items_clause(actor: Actor) -> ColumnElement[bool]:
    """Items of the actor's own: lead unit in its subtrees or its unit, or assisted by its unit."""
    if actor.is_global:
        return true()
    base = authz.area_clause(actor, LedgerItem.area_path, LedgerItem.lead_unit_id)
    if actor.unit_id is None:
        return base
    assisted = exists().where(and_(LedgerItemAssist.item_id == LedgerItem.id,
                                   LedgerItemAssist.unit_id == actor.unit_id))
    return or_(base, assisted)


def _manages(session: Session, actor: Actor, ledger: Ledger) -> bool:
    if actor.is_global or actor.unit_id == ledger.owner_unit_id:
        return True
    return authz.path_visible(actor, unit_path(session, ledger.owner_unit_id))


def ledger_access(session: Session, actor: Actor, ledger: Ledger) -> LedgerAccess:
    """The actor's access to ``ledger``, or *not found* when none of it is in scope."""
    authz.require(actor, P.LEDGER_READ)
    manages = _manages(session, actor, ledger)
    if manages or ledger.visibility == Visibility.PUBLIC.value:
        return LedgerAccess(ledger, True, manages)
    has_own = session.scalar(select(LedgerItem.id).where(LedgerItem.ledger_id == ledger.id,
                                                         own_items_clause(actor)).limit(1)) is not None
    if not has_own:
        raise NotFound(f"ledger {ledger.code} not found")
    return LedgerAccess(ledger, ledger.visibility == Visibility.PEERS.value, False)


def load_ledger(session: Session, actor: Actor, code: str) -> LedgerAccess:
    ledger = session.scalar(select(Ledger).where(Ledger.code == code))
    if ledger is None:
        raise NotFound(f"ledger {code} not found")
    return ledger_access(session, actor, ledger)


def item_clause(access: LedgerAccess, actor: Actor) -> ColumnElement[bool]:
    return true() if access.whole else own_items_clause(actor)


def load_item(session: Session, actor: Actor, item_id: int) -> tuple[LedgerItem, LedgerAccess]:
    """An item in the actor's scope with its ledger's access; any other is *not found*."""
    item = session.get(LedgerItem, item_id)
    if item is None:
        raise NotFound(f"ledger item {item_id} not found")
    ledger = session.get(Ledger, item.ledger_id)
    assert ledger is not None
    try:
        access = ledger_access(session, actor, ledger)
        if not access.whole and session.scalar(
                select(LedgerItem.id).where(LedgerItem.id == item.id, own_items_clause(actor))) is None:
            raise NotFound("")
    except NotFound:
        raise NotFound(f"ledger item {item_id} not found") from None
    return item, access


def require_manage(actor: Actor, access: LedgerAccess) -> None:
    authz.require(actor, P.LEDGER_MANAGE)
    if not access.manages:
        raise authz.Forbidden(f"{actor.label} does not run ledger {access.ledger.code} (its owner, or a centre "
                              "above the owner, does)")


def require_responsible(actor: Actor, item: LedgerItem) -> None:
    authz.require(actor, P.LEDGER_REPORT)
    if actor.unit_id != item.lead_unit_id:
        raise authz.Forbidden("only the item's lead unit reports on it (对账由牵头单位报送)", field="item")


def sign_off_unit_id(item: LedgerItem, ledger: Ledger) -> int:
    return item.sign_off_unit_id or ledger.sign_off_unit_id or ledger.owner_unit_id


def require_sign_off(actor: Actor, item: LedgerItem, ledger: Ledger) -> None:
    """到期销账: only people of the sign-off authority close, reject or reopen (not even an administrator)."""
    authz.require(actor, P.LEDGER_SIGN_OFF)
    if actor.unit_id != sign_off_unit_id(item, ledger):
        raise authz.Forbidden("only the item's sign-off authority (销账/销号机关) may do this", field="item")
