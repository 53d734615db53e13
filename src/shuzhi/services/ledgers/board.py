"""The cockpit's ledger panel: the five-colour state of every ledger the actor sees (台账五色).

Each ledger's counts come from the ledger view itself (:func:`browse.list_items` over all states,
one row of page), so the panel and the /ledgers page always agree, scope included."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from shuzhi.domain import ledgers as d
from shuzhi.services.actors import Actor
from shuzhi.services.ledgers import books, browse
from shuzhi.services.unit_of_work import UnitOfWork


class LedgerColours(BaseModel):
    code: str
    name: str
    kind: str
    total: int
    colours: dict[str, int]


class LedgerBoard(BaseModel):
    colours: dict[str, int]  # over every ledger below
    ledgers: list[LedgerColours]


def board(uow: UnitOfWork, actor: Actor, *, today: date | None = None) -> LedgerBoard:
    """Five-colour counts per ledger in the actor's scope, and their sum (cancelled items are out of view).
    The unit of work is entered once per ledger (each read is its own short transaction)."""
    records = books.list_ledgers(uow, actor)
    every = browse.ItemFilter(view="all", limit=1)
    out: list[LedgerColours] = []
    total = {c.value: 0 for c in d.Colour}
    for r in records:
        page = browse.list_items(uow, r.code, every, actor, today=today)
        out.append(LedgerColours(code=r.code, name=r.name, kind=r.kind, total=sum(page.colours.values()),
                                 colours=page.colours))
        for k, v in page.colours.items():
            total[k] += v
    return LedgerBoard(colours=total, ledgers=out)
