"""Gap-tolerant counters for human-readable numbers, safe under concurrency on both engines.

``INSERT … ON CONFLICT DO UPDATE … RETURNING`` takes the row lock (PostgreSQL) or the write lock
(SQLite) in one statement, so two concurrent intakes can never draw the same number.
"""

from __future__ import annotations

from sqlalchemy import Executable, Table, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import EventSequence


def _upsert(dialect: str) -> Executable:
    table: Table = EventSequence.__table__  # type: ignore[assignment]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(prefix=bindparam("prefix"), last=1)
    return stmt.on_conflict_do_update(index_elements=[table.c.prefix],
                                      set_={"last": table.c.last + 1}).returning(table.c.last)


# Built once per dialect: intake draws a number per event, and building the statement each time cost
# more than executing it.
_UPSERTS = {name: _upsert(name) for name in ("postgresql", "sqlite")}


def next_value(session: Session, prefix: str) -> int:
    stmt = _UPSERTS[session.get_bind().dialect.name]
    return int(session.execute(stmt, {"prefix": prefix}).scalar_one())


def _reserve(dialect: str) -> Executable:
    table: Table = EventSequence.__table__  # type: ignore[assignment]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(prefix=bindparam("prefix"), last=bindparam("n"))
    return stmt.on_conflict_do_update(index_elements=[table.c.prefix],
                                      set_={"last": table.c.last + stmt.excluded.last}).returning(table.c.last)


_RESERVES = {name: _reserve(name) for name in ("postgresql", "sqlite")}


def reserve(session: Session, prefix: str, n: int) -> int:
    """Draw ``n`` consecutive values in one statement (bulk intake); returns the first of them."""
    stmt = _RESERVES[session.get_bind().dialect.name]
    last = int(session.execute(stmt, {"prefix": prefix, "n": n}).scalar_one())
    return last - n + 1
