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
* The case tables (:data:`CASES`: events, tasks, timeline lines, attachments, supervision clocks and
  steps, urges, escalations) are distributed by ``district_code`` and co-located with ``events``: one
  case's rows sit on one worker, so a step of the closed loop (an event, its tasks and its timeline in one
  transaction) runs on one node, and a district centre's queues are single-shard queries. Citus wants
  every primary and unique key of a distributed table to hold the distribution column: here (Citus only)
  each key of those tables gets ``district_code`` appended (``events (id, district_code)``, the number,
  the intake key …) and the foreign keys between them become composite (``tasks (event_id,
  district_code) → events (id, district_code)``). Foreign keys between a case table and a table that
  stays on the coordinator (areas, units, classes, people; the ledgers', plans' … links to events) are
  dropped on Citus: a distributed table cannot reference a local one nor be referenced by one. The ids
  stay ``bigserial``: values come from the coordinator's sequences (every write goes through it).
* Everything else stays on the coordinator as it is on one PostgreSQL: the organisation, rules and
  calendars (reference tables next: their change-stamp triggers must first stop writing a local table),
  the warnings, plans, ledgers, notices.

The same migrations build the schema on SQLite, PostgreSQL and a Citus coordinator (local tables);
:func:`distribute` then turns the tables above into distributed ones, and is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from shuzhi.adapters.db.districts import CASE_TABLES

#: The case tables, distributed by ``district_code`` and co-located with ``events`` (in this order).
CASES: tuple[str, ...] = CASE_TABLES

#: table → (distribution column, table it is co-located with, or None)
DISTRIBUTED: dict[str, tuple[str, str | None]] = {
    "readings": ("series_key", None),
    "reading_latest": ("series_key", "readings"),
    "reading_rollups": ("series_key", "readings"),
    "mqtt_receipts": ("digest", None),
    **{t: ("district_code", None if t == "events" else "events") for t in CASES},
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


_ON_CITUS: dict[str, bool] = {}


def on_citus(conn: Connection) -> bool:
    """:func:`is_citus`, asked once per database (URL) and process: for the few statements that take
    another form on Citus (a lock that must stay on one shard)."""
    if conn.dialect.name != "postgresql":
        return False
    key = conn.engine.url.render_as_string(hide_password=True)
    if key not in _ON_CITUS:
        _ON_CITUS[key] = is_citus(conn)
    return _ON_CITUS[key]


def distribute(conn: Connection) -> Distribution:
    """Distribute the tables of :data:`DISTRIBUTED` that are not distributed yet (their rows move to the
    workers). The caller commits."""
    if not is_citus(conn):
        raise RuntimeError("not a Citus coordinator: CREATE EXTENSION citus and add the workers first")
    have = set(conn.execute(text(
        "SELECT logicalrelid::regclass::text FROM pg_dist_partition")).scalars())
    done: list[str] = []
    composite = _case_keys(conn) if "events" not in have else []
    for table, (column, colocate) in DISTRIBUTED.items():
        if table in have:
            continue
        conn.execute(text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
                     {"t": table, "c": column, "w": colocate or "default"})
        done.append(table)
    for sql in composite:
        conn.execute(text(sql))
    workers = conn.execute(text(
        "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0")).scalar() or 0
    return Distribution(tuple(done), tuple(sorted(have & set(DISTRIBUTED))), int(workers))


def _case_keys(conn: Connection) -> list[str]:
    """Make the case tables' keys distributable: drop every foreign key that touches a case table, append
    ``district_code`` to each primary and unique key of theirs, and return the statements that put the
    foreign keys between two case tables back as composite ones (to run once the tables are distributed)."""
    cases = list(CASES)
    fks = conn.execute(text(
        "SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text, "
        "  (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(att, n) "
        "   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att), "
        "  (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY k(att, n) "
        "   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att), c.confdeltype "
        "FROM pg_constraint c WHERE c.contype = 'f' "
        "AND (c.conrelid::regclass::text = ANY(:t) OR c.confrelid::regclass::text = ANY(:t))"),
        {"t": cases}).all()
    later: list[str] = []
    for name, table, parent, cols, pcols, on_delete in fks:
        conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
        # a merged event's master may be another district's case: that link is checked by the service only
        if table in cases and parent in cases and len(cols) == 1 and cols[0] != "master_event_id":
            action = {"c": " ON DELETE CASCADE", "n": " ON DELETE SET NULL (" + cols[0] + ")"}.get(on_delete, "")
            later.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ({cols[0]}, district_code) '
                         f'REFERENCES "{parent}" ({pcols[0]}, district_code){action}')
    keys = conn.execute(text(
        "SELECT c.conname, c.conrelid::regclass::text, c.contype, "
        "  (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(att, n) "
        "   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att) "
        "FROM pg_constraint c WHERE c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(:t)"),
        {"t": cases}).all()
    for table in cases:
        conn.execute(text(f'UPDATE "{table}" SET district_code = \'\' WHERE district_code IS NULL'))
        conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN district_code SET NOT NULL'))
    for name, table, kind, cols in keys:
        if "district_code" in cols:
            continue
        what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
        conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
        conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {what} ({", ".join(cols)}, district_code)'))
    return later


__all__ = ["CASES", "DISTRIBUTED", "Distribution", "distribute", "is_citus", "on_citus"]
