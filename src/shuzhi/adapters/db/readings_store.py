"""Bulk storage of readings: insert what is new, skip what is known, keep latest values and hourly
rollups exact — in the caller's transaction.

PostgreSQL: the batch is COPYed into a temporary table, then one statement inserts it into
``readings`` (first as a plain INSERT under a savepoint — the common all-new batch — and, if a row was
already stored, again with ``ON CONFLICT DO NOTHING RETURNING``) and, from exactly the returned (new) rows,
upserts the hourly rollups and the latest value per series (data-modifying CTEs). A concurrent
transaction inserting the same key waits and then skips it, so no reading is ever counted twice.

SQLite: ``INSERT OR IGNORE`` row by row (the rowcount says whether it was new; the engine already holds
the write lock from ``BEGIN IMMEDIATE``), then the rollups and latest values are upserted from the new
rows with ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from psycopg.errors import UniqueViolation
from sqlalchemy.orm import Session


class NewReading(NamedTuple):
    indicator_id: int
    series_key: str
    at: datetime  # aware
    value: float
    area_id: int


_PG_TEMP = """CREATE TEMP TABLE IF NOT EXISTS _readings_in (
    n integer, indicator_id integer, series_key varchar(60), at timestamptz, value double precision,
    area_id integer
) ON COMMIT DELETE ROWS"""

_PG_STORE = """
WITH ins AS (
    INSERT INTO readings (indicator_id, series_key, at, value, area_id)
    SELECT indicator_id, series_key, at, value, area_id FROM _readings_in
    ON CONFLICT DO NOTHING
    RETURNING indicator_id, series_key, at, value, area_id
), roll AS (
    INSERT INTO reading_rollups (indicator_id, series_key, hour, area_id, count, sum, min, max)
    SELECT indicator_id, series_key, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           max(area_id), count(*), sum(value), min(value), max(value)
    FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (indicator_id, series_key, hour) DO UPDATE SET
        count = reading_rollups.count + excluded.count, sum = reading_rollups.sum + excluded.sum,
        min = least(reading_rollups.min, excluded.min), max = greatest(reading_rollups.max, excluded.max),
        area_id = excluded.area_id
), latest AS (
    INSERT INTO reading_latest (indicator_id, series_key, area_id, at, value)
    SELECT DISTINCT ON (indicator_id, series_key) indicator_id, series_key, area_id, at, value
    FROM ins ORDER BY indicator_id, series_key, at DESC
    ON CONFLICT (indicator_id, series_key) DO UPDATE SET
        area_id = excluded.area_id, at = excluded.at, value = excluded.value
    WHERE excluded.at > reading_latest.at
)
SELECT (SELECT count(*) FROM ins) AS new, CASE WHEN (SELECT count(*) FROM ins) < %s
    THEN (SELECT array_agg(t.n) FROM ins JOIN _readings_in t USING (indicator_id, series_key, at)) END AS which
"""
# Rollups and latest values are upserted in key order: two batches touching the same series lock
# their rows in the same order, so they queue instead of deadlocking.
# ``which`` is computed only when some rows were already stored: PostgreSQL evaluates an uncorrelated
# sub-select (an InitPlan) when it is first needed, so the common all-new batch skips the join back to
# the staging table, which cost about a quarter of the statement.

# The first try: a plain INSERT, no ON CONFLICT. Speculative insertion (ON CONFLICT) probes the primary
# key twice per row — about a third of the statement's CPU — and almost every batch is all new. If any
# row is already stored the plain INSERT fails with a unique violation, is rolled back to a savepoint,
# and the batch goes through _PG_STORE (a resent batch pays twice; that is rare).
_PG_STORE_NEW = _PG_STORE.replace("    ON CONFLICT DO NOTHING\n    RETURNING", "    RETURNING", 1)
assert _PG_STORE_NEW != _PG_STORE
# COPY's text format: a backslash, tab or line break inside a value must be escaped.
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def store(session: Session, rows: Sequence[NewReading]) -> list[int]:
    """Store ``rows`` (no two with the same key); return the indexes of those that were new."""
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _store_pg(conn.connection.driver_connection, rows)
    return _store_sqlite(conn.connection.driver_connection, rows)


def copy_text(rows: Sequence[NewReading]) -> str:
    """The COPY text of ``rows``, numbered: ints, ISO times, repr() floats (exact), escaped keys.

    Text lines built here are several times faster than write_row() per reading; a batch repeats few
    distinct times and series, so each is formatted once.
    """
    times: dict[datetime, str] = {}
    keys: dict[str, str] = {}
    out = []
    for n, (ind, key, at, value, area) in enumerate(rows):
        t = times.get(at)
        if t is None:
            t = times[at] = at.isoformat()
        k = keys.get(key)
        if k is None:
            k = keys[key] = key.translate(_COPY_ESCAPE)
        out.append(f"{n}\t{ind}\t{k}\t{t}\t{value!r}\t{area}\n")
    return "".join(out)


def _store_pg(raw: Any, rows: Sequence[NewReading]) -> list[int]:
    text = copy_text(rows)
    with raw.cursor() as cur:
        cur.execute(_PG_TEMP)
        with cur.copy("COPY _readings_in (n, indicator_id, series_key, at, value, area_id) FROM STDIN") as copy:
            copy.write(text.encode())
        cur.execute("SAVEPOINT readings_all_new")
        try:
            cur.execute(_PG_STORE_NEW, (len(rows),), prepare=False)
            count, which = cur.fetchone()
            cur.execute("RELEASE SAVEPOINT readings_all_new")
        except UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT readings_all_new")
            cur.execute(_PG_STORE, (len(rows),), prepare=False)
            count, which = cur.fetchone()
        new = list(range(len(rows))) if count == len(rows) else sorted(which or ())
        # The temp table empties at commit; a caller that goes on in the same transaction must not see
        # this batch again.
        cur.execute("DELETE FROM _readings_in")
    return new


_SQLITE_FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite DATETIME stores a naive UTC time


def sqlite_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_SQLITE_FMT)


def _store_sqlite(raw: Any, rows: Sequence[NewReading]) -> list[int]:
    cur = raw.cursor()
    new: list[int] = []
    rollups: dict[tuple[int, str, str], list[Any]] = {}
    latest: dict[tuple[int, str], tuple[str, float, int]] = {}
    try:
        for n, r in enumerate(rows):
            at = sqlite_time(r.at)
            cur.execute("INSERT OR IGNORE INTO readings (indicator_id, series_key, at, value, area_id) "
                        "VALUES (?, ?, ?, ?, ?)", (r.indicator_id, r.series_key, at, r.value, r.area_id))
            if cur.rowcount != 1:
                continue
            new.append(n)
            hour = at[:13] + ":00:00.000000"
            key = (r.indicator_id, r.series_key, hour)
            agg = rollups.get(key)
            if agg is None:
                rollups[key] = [r.area_id, 1, r.value, r.value, r.value]
            else:
                agg[0] = r.area_id
                agg[1] += 1
                agg[2] += r.value
                agg[3] = min(agg[3], r.value)
                agg[4] = max(agg[4], r.value)
            cur_latest = latest.get((r.indicator_id, r.series_key))
            if cur_latest is None or at > cur_latest[0]:
                latest[(r.indicator_id, r.series_key)] = (at, r.value, r.area_id)
        cur.executemany(
            "INSERT INTO reading_rollups (indicator_id, series_key, hour, area_id, count, sum, min, max) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (indicator_id, series_key, hour) DO UPDATE SET "
            "count = count + excluded.count, sum = sum + excluded.sum, min = min(min, excluded.min), "
            "max = max(max, excluded.max), area_id = excluded.area_id",
            [(k[0], k[1], k[2], *v) for k, v in rollups.items()])
        cur.executemany(
            "INSERT INTO reading_latest (indicator_id, series_key, area_id, at, value) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (indicator_id, series_key) DO UPDATE SET area_id = excluded.area_id, at = excluded.at, "
            "value = excluded.value WHERE excluded.at > reading_latest.at",
            [(k[0], k[1], v[2], v[0], v[1]) for k, v in latest.items()])
    finally:
        cur.close()
    return new
