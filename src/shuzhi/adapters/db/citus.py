"""Distributed PostgreSQL (Citus): which tables are spread over the workers, and by what.

A city on Citus (issue #25) distributes what outgrows one PostgreSQL: the sensor stream and the cases.
13.6 million devices at one reading per five minutes are ~45,000 readings a second, ~4 billion rows a
day; events are ~100,000 a district a year. So:

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
  district_code) → events (id, district_code)``). Their foreign keys to the reference tables are kept
  (distributed → reference is allowed, each worker checks it); those between a case table and a table
  that stays on the coordinator (the ledgers', plans', warnings' … links to events) are dropped on Citus: a
  distributed table cannot reference a local one nor be referenced by one. The ids stay ``bigserial``:
  values come from the coordinator's sequences (every write goes through it).
* The reference tables (:data:`REFERENCE`: the organisation — areas, units, people, their coverage,
  duties and office hours —, the event classes, the dispatch and supervision rules, the escalation
  policies, the calendar) are copied whole to every worker and to the coordinator: they are small, change
  a few times a day and nearly every case query joins them, so those joins run on each worker with its
  own copy. Their change-stamp triggers (``change_stamps.py``) fire on every placement; the function Citus
  runs them with acts on the coordinator's only (``citus_is_coordinator()``), where ``change_stamps``
  lives, so a change is stamped once, at the writer's commit. Citus accepts triggers on a reference table
  only with ``citus.enable_unsafe_triggers`` (set for the statements that make them); the coordinator must
  be in the cluster's metadata (``citus_set_coordinator_host``) to hold a placement.
* Everything else stays on the coordinator as a plain table, as on one PostgreSQL: the warnings, plans,
  ledgers, duty desk, notices, public services, users, ``change_stamps``. Their foreign keys to the
  reference tables are dropped on Citus (:func:`_drop_local_references` says why: Citus would make them
  "Citus local tables", which a transaction may no longer write after a parallel read of the cases).

The same migrations build the schema on SQLite, PostgreSQL and a Citus coordinator (local tables);
:func:`distribute` then turns the tables above into reference and distributed ones, and is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from shuzhi.adapters.db import change_stamps
from shuzhi.adapters.db.districts import CASE_TABLES
from shuzhi.adapters.db.tables import Base

#: The case tables, distributed by ``district_code`` and co-located with ``events`` (in this order).
CASES: tuple[str, ...] = CASE_TABLES

#: The reference tables (a full copy on every node), parents before children: the organisation, the
#: catalogues, the rules and the calendars that the case tables' queries join with.
REFERENCE: tuple[str, ...] = (
    "areas", "units", "people", "event_classes", "unit_coverage", "unit_duties", "office_hours",
    "dispatch_rules", "dispatch_rule_versions", "supervision_rules", "escalation_policies", "calendar_years")

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
    distributed: tuple[str, ...]  # this call: distributed and reference tables
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


def one_connection_per_node(conn: Connection) -> None:
    """On Citus, this transaction's statements over several shards run over one connection per node
    (``citus.multi_shard_modify_mode = sequential``), for the few transactions that read or change cases
    across districts and then change a reference table (an area change: the cases' paths, then the areas):
    Citus refuses that write after a parallel statement. Call it first in the transaction; elsewhere a no-op."""
    if on_citus(conn):
        conn.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")


def distribute(conn: Connection) -> Distribution:
    """Make the tables of :data:`REFERENCE` reference tables and distribute those of :data:`DISTRIBUTED`
    (their rows move to the workers), the ones not done yet. The caller commits."""
    if not is_citus(conn):
        raise RuntimeError("not a Citus coordinator: CREATE EXTENSION citus and add the workers first")
    if conn.execute(text("SELECT 1 FROM pg_dist_node WHERE groupid = 0")).scalar() is None:
        # the change stamps' triggers replace a stamp on the coordinator's copy of a reference table only
        raise RuntimeError("the coordinator is not in the cluster's metadata: "
                           "SELECT citus_set_coordinator_host('<host>', <port>) first")
    rows = conn.execute(text(
        "SELECT logicalrelid::regclass::text, partmethod, repmodel FROM pg_dist_partition")).all()
    have = {t for t, method, _ in rows if method == "h"}
    reference = {t for t, method, model in rows if method == "n" and model == "t"}
    done: list[str] = []
    composite = _case_keys(conn) if "events" not in have else []
    _drop_local_references(conn)
    # the change stamps' triggers (change_stamps.py) go before a table becomes a reference table and come
    # back after: Citus copies the rows a table already holds (an organisation imported before the
    # layout) into each placement, where the deferred trigger would queue an event per row and the
    # placement's next ALTER TABLE fail ("cannot ALTER TABLE … because it has pending trigger events")
    change_stamps.drop_triggers(conn, [t for t in REFERENCE if t not in reference])
    for table in REFERENCE:
        if table in reference:
            continue
        # no coordinator table references it any more (_drop_local_references): none is pulled into Citus
        conn.execute(text("SELECT create_reference_table(:t)"), {"t": table})
        done.append(table)
    # back on every table they watch, in the version that acts on the coordinator only, which Citus
    # accepts on a reference table once told it is safe
    change_stamps.install(conn)
    for table, (column, colocate) in DISTRIBUTED.items():
        if table in have:
            continue
        conn.execute(text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
                     {"t": table, "c": column, "w": colocate or "default"})
        done.append(table)
    for sql in composite:
        conn.execute(text(sql))
    _reference_keys(conn)
    workers = conn.execute(text(
        "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0")).scalar() or 0
    before = (have & set(DISTRIBUTED)) | (reference & set(REFERENCE))
    return Distribution(tuple(done), tuple(sorted(before)), int(workers))


def _reference_keys(conn: Connection) -> None:
    """The case tables' foreign keys to the reference tables, as the models declare them, where missing
    (dropped while the case tables were made distributable, or by a layout older than the reference
    tables): a distributed table may reference a reference table, and each worker checks it."""
    present = set(conn.execute(text(
        "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid::regclass::text = ANY(:c)"), {"c": list(CASES)}).scalars())
    for table in CASES:
        for fk in Base.metadata.tables[table].foreign_key_constraints:
            parent = fk.referred_table.name
            cols = [c.name for c in fk.columns]
            name = f"fk_{table}_{cols[0]}_{parent}"  # the models' naming convention
            if parent not in REFERENCE or f"{table}.{name}" in present:
                continue
            pcols = [e.column.name for e in fk.elements]
            action = f" ON DELETE {fk.ondelete}" if fk.ondelete else ""
            conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ({", ".join(cols)}) '
                              f'REFERENCES "{parent}" ({", ".join(pcols)}){action}'))


def _drop_local_references(conn: Connection) -> None:
    """Drop the foreign keys from the coordinator's own tables (warnings, ledgers, plans, duty, services …)
    to the reference tables, and put back as plain tables any that Citus has turned into "Citus local
    tables" for such a key (it does so for a key made after :func:`distribute`, e.g. by a migration).

    Why not keep them: Citus keeps such a key by adding the table to its metadata, and a transaction that
    has read or written a distributed table over several shards in parallel may then no longer write that
    table (``cannot modify table … because there was a parallel operation on a distributed table``), as
    warnings' evaluation does (the series' latest values, then the warning). Running every transaction in
    ``citus.multi_shard_modify_mode = sequential`` would cost the city-wide reads their parallelism. The
    services check those references, as they do the case tables' links to the coordinator's tables."""
    fks = conn.execute(text(
        "SELECT conname, conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid::regclass::text = ANY(:r) AND NOT conrelid::regclass::text = ANY(:keep)"),
        {"r": list(REFERENCE), "keep": [*REFERENCE, *DISTRIBUTED]}).all()
    for name, table in fks:
        conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
    for table in conn.execute(text(
            "SELECT logicalrelid::regclass::text FROM pg_dist_partition "
            "WHERE partmethod = 'n' AND repmodel = 's' AND autoconverted")).scalars():
        conn.execute(text("SELECT undistribute_table(:t)"), {"t": table})


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


__all__ = ["CASES", "DISTRIBUTED", "REFERENCE", "Distribution", "distribute", "is_citus", "on_citus",
           "one_connection_per_node"]
