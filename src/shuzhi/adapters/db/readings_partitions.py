"""Daily partitions of ``readings`` on PostgreSQL: made ahead of time, dropped whole when expired.

Why: a district keeps tens of millions of raw readings and a city billions; expiring them with ranged
``DELETE`` costs as much as writing them again (dead rows, vacuum, WAL). A day's partition is dropped
in one catalogue change. ``readings`` is declared ``PARTITION BY RANGE (at)`` with a ``DEFAULT``
partition (``tables_sensing.py``), so a reading always has a home: one for a day that has no partition
of its own (a back-filled week from before the installation, say) lands in the default partition and is
expired there by the ranged deletes, as before.

Partitions are named ``readings_pYYYYMMDD`` and cover ``[day 00:00 UTC, next day 00:00 UTC)``. They
are created by ``CREATE TABLE … (LIKE readings)`` then ``ATTACH PARTITION``, which needs only a
``SHARE UPDATE EXCLUSIVE`` lock on ``readings`` (``CREATE TABLE … PARTITION OF`` would take ``ACCESS
EXCLUSIVE`` and stall ingest). Every DDL statement runs with a short ``lock_timeout``: if ingest holds
the default partition, the day is simply tried again at the next round.

On Citus, a day partition older than a set age can be turned **columnar** (``citus_columnar``: compressed
by column, read as before). A columnar table is append-only — no ``DELETE``, no ``ON CONFLICT`` — so
ingest refuses readings that old (``services/sensing/ingest.py``) and a columnar day that must still lose
rows (a retention shortened after it was compressed) is turned back into a heap table first.

SQLite has no partitions: every function here is a no-op on it (a district on SQLite is small).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from psycopg import errors as pg_errors
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

PARENT = "readings"
DEFAULT_PARTITION = "readings_default"
_NAME = re.compile(r"^readings_p(\d{8})$")
#: How long a partition's DDL may wait for a lock before it gives up for this round.
LOCK_TIMEOUT = "2s"


@dataclass(frozen=True)
class Prepared:
    created: tuple[date, ...]
    #: Days whose partition could not be attached: rows for them already sit in the default partition
    #: (they stay there and expire by ranged deletes), or a lock was not granted in time.
    skipped: tuple[date, ...]


def partitioned(session: Session) -> bool:
    """True on PostgreSQL when ``readings`` is a partitioned table (it is after migration 0026)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    kind = session.execute(text("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(:t)"),
                           {"t": PARENT}).scalar()
    return kind == "p"


def is_partition(table_name: str) -> bool:
    """The partitions are the database's, not the models': schema comparison (Alembic) skips them."""
    return table_name == DEFAULT_PARTITION or _NAME.match(table_name) is not None


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic's ``include_name`` hook: every name but the partitions of ``readings``."""
    return not (type_ == "table" and name is not None and is_partition(name))


def partition_name(day: date) -> str:
    return f"readings_p{day:%Y%m%d}"


def day_partitions(session: Session) -> dict[date, str]:
    """The day partitions attached to ``readings`` (the default partition is not a day)."""
    rows = session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": PARENT}).scalars()
    out: dict[date, str] = {}
    for name in rows:
        m = _NAME.match(name)
        if m:
            out[datetime.strptime(m.group(1), "%Y%m%d").date()] = name
    return out


def _bounds(day: date) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start.isoformat(), (start + timedelta(days=1)).isoformat()


def create_days(session: Session, days: list[date]) -> Prepared:
    """Attach a partition for each of ``days`` that has none, each in a savepoint of its own so that one
    refusal (rows of that day already in the default partition: check violation; a lock not granted in
    time) skips that day only. The caller commits."""
    have = day_partitions(session)
    created: list[date] = []
    skipped: list[date] = []
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    for day in sorted(set(days)):
        if day in have:
            continue
        name = partition_name(day)
        lo, hi = _bounds(day)
        try:
            with session.begin_nested():
                session.execute(text(f'CREATE TABLE "{name}" (LIKE {PARENT} INCLUDING DEFAULTS)'))
                session.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION \"{name}\" "
                                     f"FOR VALUES FROM ('{lo}') TO ('{hi}')"))
            created.append(day)
        except DBAPIError as exc:
            if not isinstance(exc.orig, pg_errors.CheckViolation | pg_errors.LockNotAvailable):
                raise
            skipped.append(day)
    return Prepared(tuple(created), tuple(skipped))


def columnar_ready(session: Session) -> bool:
    """True on a Citus coordinator with the columnar access method (the ``citus_columnar`` extension,
    created here if the server has it: Citus ships it, and creating it needs no restart)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    if session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).scalar() is None:
        return False
    if session.execute(text("SELECT 1 FROM pg_am WHERE amname = 'columnar'")).scalar() is None:
        if session.execute(text(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'citus_columnar'")).scalar() is None:
            return False
        session.execute(text("CREATE EXTENSION IF NOT EXISTS citus_columnar"))
    return True


def access_methods(session: Session) -> dict[date, str]:
    """Each day partition's table access method (``heap`` or ``columnar``)."""
    rows = session.execute(text(
        "SELECT c.relname, a.amname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE i.inhparent = to_regclass(:t)"), {"t": PARENT}).all()
    out: dict[date, str] = {}
    for name, am in rows:
        m = _NAME.match(name)
        if m:
            out[datetime.strptime(m.group(1), "%Y%m%d").date()] = am
    return out


def set_access_method(session: Session, day: date, method: str) -> None:
    """Rewrite one day partition as ``heap`` or ``columnar`` (Citus's ``alter_table_set_access_method``:
    a new table, the rows moved, the old dropped, on every shard). Locks that day's partition until commit;
    the caller commits promptly."""
    if method not in ("heap", "columnar"):
        raise ValueError(f"unknown access method {method!r}")
    session.execute(text("SELECT alter_table_set_access_method(:t, :m)"),
                    {"t": partition_name(day), "m": method})


def drop_days_before(session: Session, cutoff: date) -> int:
    """Drop the day partitions wholly before ``cutoff`` (a day's partition ends at the next midnight, so
    day < cutoff means every row in it is older than ``cutoff``); returns how many rows they held. The
    caller commits, promptly: dropping holds an exclusive lock on ``readings`` until then."""
    dropped = 0
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    for day, name in sorted(day_partitions(session).items()):
        if day >= cutoff:
            break
        dropped += session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() or 0
        session.execute(text(f'DROP TABLE "{name}"'))
    return dropped


__all__ = ["DEFAULT_PARTITION", "PARENT", "Prepared", "access_methods", "columnar_ready",
           "create_days", "day_partitions", "drop_days_before", "include_name", "is_partition", "partition_name",
           "partitioned", "set_access_method"]
