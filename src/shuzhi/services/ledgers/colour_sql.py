"""The five-colour rule (:func:`shuzhi.domain.ledgers.colour`) as one SQL expression, so that a ledger's
colour counts, its colour filter and its page are counted and cut in the database instead of reading
every matching item into Python (a 10,000-item ledger opened in about a second that way).

The domain function stays the rule's definition; ``tests/integration/test_ledger_colour_sql.py`` checks
this expression against it over a grid of facts on both engines. Days are whole day numbers since
2000-01-01; an item's creation and last progress count by their day in Asia/Shanghai (UTC+8 all year:
China has kept no daylight saving since 1991, which SQLite's fixed '+8 hours' relies on)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, and_, case, cast, func, literal, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from shuzhi.adapters.db.tables_ledgers import LedgerItem
from shuzhi.domain import ledgers as d

EPOCH = date(2000, 1, 1)
_JULIAN_EPOCH = 2451544.5  # julianday('2000-01-01')


def _day(col: Any, dialect: str, *, local: bool) -> ColumnElement[int]:
    """Day number of a Date column, or of a UTC timestamp's local (Shanghai) day."""
    if dialect == "postgresql":
        day = cast(func.timezone("Asia/Shanghai", col), Date) if local else col
        return type_coerce(day - cast(literal(EPOCH.isoformat()), Date), Integer)  # date - date: days
    day = func.date(col, "+8 hours") if local else col
    return cast(func.julianday(day) - _JULIAN_EPOCH, Integer)


def colour_expr(dialect: str, today: date, schedule: d.Schedule) -> ColumnElement[Any]:
    """The item's colour as text (NULL for cancelled items), in the order the domain rule decides it."""
    t = (today - EPOCH).days
    state = LedgerItem.state
    has_limit = LedgerItem.time_limit.is_not(None)
    limit = _day(LedgerItem.time_limit, dialect, local=False)
    created = _day(LedgerItem.created_at, dialect, local=True)
    last = func.coalesce(_day(LedgerItem.last_progress_at, dialect, local=True), created)
    active = [s.value for s in d.ACTIVE_STATES]
    running = [s.value for s in d.RUNNING_STATES]
    C = d.Colour
    return case(
        (state == d.ItemState.CANCELLED.value, None),
        (state == d.ItemState.CLOSED.value, C.BLUE.value),
        (and_(state.in_(active), has_limit, limit < t), C.RED.value),
        (and_(state.in_(running), t - last > d.STALL_DAYS[schedule]), C.ORANGE.value),
        (and_(has_limit, limit - t <= 7, state == d.ItemState.PENDING_SIGN_OFF.value), C.GREEN.value),
        (and_(has_limit, limit - t <= 7), C.YELLOW.value),
        # behind plan: progress + 20 < 100 × used ÷ total, multiplied out (total > 0) to stay in integers
        (and_(has_limit, limit - created > 0,
              (LedgerItem.progress + 20) * (limit - created) < 100 * (t - created)), C.YELLOW.value),
        else_=C.GREEN.value,
    )
