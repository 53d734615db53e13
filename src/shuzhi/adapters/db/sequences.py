"""Gap-tolerant counters for human-readable numbers, safe under concurrency on both engines.

``INSERT … ON CONFLICT DO UPDATE … RETURNING`` takes the row lock (PostgreSQL) or the write lock
(SQLite) in one statement, so two concurrent intakes can never draw the same number.

:func:`draw` is the intake's way on PostgreSQL: the day's counter row is shared by every intake of
the district, and a row lock is held until the transaction that took it ends. Drawn inside the
intake's transaction, every other intake would queue behind that transaction's remaining round
trips and its commit (and PostgreSQL wakes every waiter at each release, which cost more CPU than
the intake itself at 32 concurrent requests). So it draws on a connection of its own, in a
transaction of one statement: the row is locked for microseconds. A number drawn for an intake that
then fails is skipped, which the numbering allows (numbers are unique, not gapless).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, Executable, Table, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
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


def format_number(prefix: str, value: int) -> str:
    """``<prefix>-<value, at least 6 digits>``: ``500111-20240613-000123``."""
    return f"{prefix}-{value:06d}"


def next_value(session: Session, prefix: str) -> int:
    stmt = _UPSERTS[session.get_bind().dialect.name]
    return int(session.execute(stmt, {"prefix": prefix}).scalar_one())


_NUMBERS_SQL = ("INSERT INTO event_sequences (prefix, last) VALUES (%(prefix)s, 1) "
                "ON CONFLICT (prefix) DO UPDATE SET last = event_sequences.last + 1 RETURNING last")
_numbers_lock = threading.Lock()


def _numbers_engine(engine: Engine) -> Engine:
    """A small autocommit pool beside ``engine`` for :func:`draw`, made on first use."""
    numbers: Engine | None = getattr(engine, "_shuzhi_numbers", None)
    if numbers is not None:
        return numbers
    with _numbers_lock:
        numbers = getattr(engine, "_shuzhi_numbers", None)
        if numbers is None:
            # A draw holds its connection for one round trip: a few connections serve a whole
            # process, and threads beyond them wait a moment rather than open more.
            numbers = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=0)

            @event.listens_for(numbers, "connect")
            def _no_flush_wait(dbapi_conn: Any, _record: Any) -> None:
                # The draw's commit need not wait for its WAL flush: the intake that uses the number
                # commits later with synchronous_commit on, and that flush writes the WAL up to and
                # including the draw. A crash before it loses the draw and the intake together.
                with dbapi_conn.cursor() as cur:
                    cur.execute("SET synchronous_commit TO off")

            @event.listens_for(engine, "engine_disposed")
            def _dispose_numbers(_conn: Any) -> None:
                numbers.dispose()

            engine._shuzhi_numbers = numbers  # type: ignore[attr-defined]
    return numbers


def draw(session: Session, prefix: str) -> int:
    """The next value under ``prefix``, committed at once on PostgreSQL (see the module docstring);
    in the caller's transaction on SQLite, whose single writer lock leaves nothing to gain."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return next_value(session, prefix)
    numbers = _numbers_engine(bind.engine)
    for attempt in (1, 2):
        try:
            with numbers.connect() as conn:
                return int(conn.exec_driver_sql(_NUMBERS_SQL, {"prefix": prefix}).scalar_one())
        except DBAPIError as exc:
            # A pooled connection that died with a PostgreSQL restart: the pool is invalidated by
            # now, one more try gets a fresh connection (this pool does without pre-ping).
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


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
