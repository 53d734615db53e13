"""Gap-tolerant counters for human-readable numbers, safe under concurrency on both engines.

``INSERT … ON CONFLICT DO UPDATE … RETURNING`` takes the row lock (PostgreSQL) or the write lock
(SQLite) in one statement, so two concurrent intakes can never draw the same number.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import EventSequence


def next_value(session: Session, prefix: str) -> int:
    table: Table = EventSequence.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(prefix=prefix, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.prefix], set_={"last": table.c.last + 1})
    return int(session.execute(stmt.returning(table.c.last)).scalar_one())
