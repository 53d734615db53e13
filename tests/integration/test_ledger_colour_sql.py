"""The five colours computed in SQL (the ledger view's counts, filter and page) agree with the domain
rule, item by item, over a grid of facts around every boundary: states, time limits just past, due in
7 and 8 days, stalled and not, behind plan and not, creation late in the evening (the local day)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from shuzhi.adapters.db.tables_ledgers import LedgerItem
from shuzhi.domain import ledgers as d
from shuzhi.services.ledgers import browse
from shuzhi.services.ledgers.clocks import local_day
from shuzhi.services.ledgers.colour_sql import colour_expr
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.test_ledgers import make_item, make_ledger, who

TODAY = date(2026, 5, 20)


def test_sql_colours_match_the_domain_rule(uow: UnitOfWork, world: World) -> None:
    make_ledger(uow, schedule="monthly")
    # created on the 1st of March at 23:30 Beijing (15:30 UTC): the local day is the 1st, not the 2nd
    created = [datetime(2026, 3, 1, 15, 30, tzinfo=UTC), datetime(2026, 5, 19, 16, 10, tzinfo=UTC)]
    limits = [None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=7), TODAY + timedelta(days=8),
              TODAY + timedelta(days=60)]
    lasts = [None, datetime(2026, 3, 18, 16, 30, tzinfo=UTC), datetime(2026, 5, 10, 2, 0, tzinfo=UTC)]
    grid = list(itertools.product(list(d.ItemState), limits, [0, 30, 90], created, lasts))
    first = make_item(uow, title="事项", fields={}, milestones=[], time_limit=None)
    with uow:  # the grid's items as rows beside the first (the services would take minutes for 756 items)
        proto = uow.session.get(LedgerItem, first.id)
        assert proto is not None
        rows = [{"ledger_id": proto.ledger_id, "path": f"/g{n:04d}/", "depth": 0, "number": f"G{n:04d}",
                 "kind": proto.kind, "title": f"事项{n}", "state": state.value, "lead_unit_id": proto.lead_unit_id,
                 "area_path": proto.area_path, "milestones": [], "time_limit": limit, "progress": pct,
                 "own_progress": pct, "fields": {}, "created_at": at, "updated_at": at, "last_progress_at": last,
                 "reopen_count": 0, "version": 1}
                for n, (state, limit, pct, at, last) in enumerate(grid)]
        uow.session.execute(insert(LedgerItem), rows)
        ids = list(uow.session.scalars(select(LedgerItem.id).where(LedgerItem.path.like("/g%"))
                                       .order_by(LedgerItem.path)))
        uow.commit()
    with uow:
        s = uow.session
        expr = colour_expr(s.get_bind().dialect.name, TODAY, d.Schedule.MONTHLY)
        got = dict(s.execute(select(LedgerItem.id, expr).where(LedgerItem.id.in_(ids))).all())
    for item_id, (state, limit, pct, at, last) in zip(ids, grid, strict=True):
        facts = d.ItemFacts(state, limit, pct, local_day(at), local_day(last) if last else None)
        want = d.colour(facts, TODAY, d.Schedule.MONTHLY)
        assert got[item_id] == (want.value if want else None), (state, limit, pct, at, last)
    # the view counts and filters the same way, a page at a time
    alice = who(uow, "alice")
    page = browse.list_items(uow, "GG2026", browse.ItemFilter(view="all", colour=[d.Colour.RED], limit=5),
                             alice, today=TODAY)
    reds = [i for i, g in got.items() if g == "red"]
    assert page.total == len(reds) == page.colours["red"] and len(page.items) == min(5, len(reds))
    assert {i.id for i in page.items} <= set(reds)
    everything = browse.list_items(uow, "GG2026", browse.ItemFilter(view="all", limit=500), alice, today=TODAY)
    coloured = sum(1 for g in got.values() if g) + 1  # + the first item (green)
    assert everything.total == len(ids) + 1 and sum(everything.colours.values()) == coloured
