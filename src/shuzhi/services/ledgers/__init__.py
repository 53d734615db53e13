"""Ledgers (台账): the work that is not an event, on the same engine (docs/ledgers.md).

- ``access``   who sees a ledger and its items, who may run it, report on and sign off an item
- ``books``    ledgers as data: kinds, typed columns, owner, visibility, schedule
- ``items``    items with the "四合一", sub-items down the levels, the transition door and timeline
- ``progress`` progress reports (按期对账), evidence, replies, links to events
- ``clocks``   the item's time limit and its reports owed, on the working calendar; the sweep
- ``browse``   the filtered ledger view, counts by colour, the item's history
- ``excel``    import with mapping and preview, export in the same layout
- ``bulletin`` the period's bulletin (定期晒账): ranking, overdue and stalled items, Word/Excel/HTML
- ``figures``  per unit and per leader figures for the evaluation's periods
"""
