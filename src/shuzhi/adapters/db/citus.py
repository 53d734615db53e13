"""Distributed PostgreSQL (Citus): which tables are spread over the workers, and by what.

Step one of a city on Citus (issue #25) distributes what outgrows one PostgreSQL first: the sensor
stream. 13.6 million devices at one reading per five minutes are ~45,000 readings a second, ~4 billion
rows a day; events are ~100,000 a district a year. So:

* ``readings`` (partitioned by day, ``readings_partitions.py``), ``reading_latest`` and
  ``reading_rollups`` are distributed by ``series_key`` and co-located: a series' raw rows, its latest
  value and its hourly roll-ups sit on one worker, so the ingest statement (one INSERT with
  data-modifying CTEs into all three) and a series' history run on one node. Every key of the three
  tables already starts with the series (``indicator_id, series_key, …``), as Citus requires.
* ``mqtt_receipts`` is distributed by its ``digest``.
* Everything else stays on the coordinator as it is on one PostgreSQL: events and their tasks,
  timeline and clocks, the organisation, rules and calendars. Distributing cases by district code
  (with the district code in their keys) is the next step; until then the coordinator carries them.

The same migrations build the schema on SQLite, PostgreSQL and a Citus coordinator (local tables);
:func:`distribute` then turns the tables above into distributed ones, and is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

#: table → (distribution column, table it is co-located with, or None)
DISTRIBUTED: dict[str, tuple[str, str | None]] = {
    "readings": ("series_key", None),
    "reading_latest": ("series_key", "readings"),
    "reading_rollups": ("series_key", "readings"),
    "mqtt_receipts": ("digest", None),
}


@dataclass(frozen=True)
class Distribution:
    distributed: tuple[str, ...]  # this call
    already: tuple[str, ...]
    workers: int


def is_citus(conn: Connection) -> bool:
    """Whether the database has the Citus extension (a coordinator)."""
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).scalar() is not None


def distribute(conn: Connection) -> Distribution:
    """Distribute the tables of :data:`DISTRIBUTED` that are not distributed yet (their rows move to the
    workers). The caller commits."""
    if not is_citus(conn):
        raise RuntimeError("not a Citus coordinator: CREATE EXTENSION citus and add the workers first")
    have = set(conn.execute(text(
        "SELECT logicalrelid::regclass::text FROM pg_dist_partition")).scalars())
    done: list[str] = []
    for table, (column, colocate) in DISTRIBUTED.items():
        if table in have:
            continue
        conn.execute(text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
                     {"t": table, "c": column, "w": colocate or "default"})
        done.append(table)
    workers = conn.execute(text(
        "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0")).scalar() or 0
    return Distribution(tuple(done), tuple(sorted(have & set(DISTRIBUTED))), int(workers))


__all__ = ["DISTRIBUTED", "Distribution", "distribute", "is_citus"]
