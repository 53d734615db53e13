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


__all__ = ["DEFAULT_PARTITION", "PARENT", "Prepared", "create_days", "day_partitions", "drop_days_before",
           "include_name", "is_partition", "partition_name", "partitioned"]
