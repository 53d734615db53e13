"""Change stamps: one token per kind of reference data, replaced whenever a change to it is committed.

Why: a decision (dispatch, the desk's suggestion) reads the organisation — units, the areas they
cover, their duties — and the dispatch rules. They change a few times a day and are read hundreds of
times a second, so a process keeps them compiled in memory (``services/dispatching/directory.py``).
What it needs is a cheap, exact "has anything changed since I compiled it?": one indexed row read per
decision instead of three to five joins over 62,000 grids (issue #16: p99 ≤ 2 ms).

The stamps are written by the database itself (triggers), so that every writer is seen — the API, an
import, the demo builder, an operator's ``psql`` — not only the ORM's flushes:

* **PostgreSQL**: a *deferred constraint trigger* per row replaces the token **at commit**, once per
  transaction (the row remembers the transaction id that last replaced it). At commit, because a
  token taken at the statement would be visible to nobody until commit anyway, and taking the stamp's
  row lock last — after every other lock of the transaction — means two writers can never deadlock
  on it. A reader that sees the new token also sees the data committed with it (the token is read
  first, the data after; newer data under an older token only causes one rebuild more).
  ``TRUNCATE`` has a statement trigger of its own.
* **SQLite**: a plain trigger per row and statement kind; SQLite has one writer at a time.
* **Citus**: the watched tables are reference tables (``citus.py``), and a change to one runs on each of
  its placements — every worker's and the coordinator's — and so do the triggers. The function returns at
  once on a worker (``citus_is_coordinator()``): the coordinator's placement stamps the change, once, in the
  writer's transaction, in ``change_stamps`` (a plain table on the coordinator). Citus asks for
  ``citus.enable_unsafe_triggers`` to make such triggers; it is set for the statements that do.

A token is random, not a counter: a database emptied and rebuilt (tests, a restored backup) can never
hand a process a token it has cached for other data. A database without the rows (older than
migration 0031, or with the rows removed) has no stamps, and readers fall back to plain queries.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, text

#: Each stamp and the tables whose changes replace it. ``risk_points`` (migration 0042): the register
#: the cockpit's risk layer draws — its points (position, kind, rectification mark, scope), their
#: watching series and the kinds; the warnings that colour them are not watched (they change with
#: readings; the layer reads the few open ones at each request, ``services/sensing/risk_points.py``).
WATCHED: dict[str, tuple[str, ...]] = {
    "organisation": ("areas", "units", "unit_coverage", "unit_duties", "event_classes"),
    "dispatch_rules": ("dispatch_rule_versions",),
    "risk_points": ("risk_points", "risk_point_series", "risk_point_kinds"),
}

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION shuzhi_replace_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{citus}
  UPDATE change_stamps
     SET token = md5(random()::text || clock_timestamp()::text), txid = txid_current()
   WHERE name = TG_ARGV[0] AND txid IS DISTINCT FROM txid_current();
  RETURN NULL;
END $$
"""


#: On Citus the watched tables are reference tables: a row's change runs on every placement (each worker's
#: and the coordinator's), and so does the trigger. Only the coordinator's replaces the stamp, in its own
#: ``change_stamps`` (a table local to the coordinator, where every statement of the application goes). A
#: coordinator not yet in the cluster's metadata (before ``citus_set_coordinator_host``) says it is not
#: one, but has no nodes at all: there the tables are still its own, and it stamps.
_CITUS_GUARD = """
  IF NOT citus_is_coordinator() AND EXISTS (SELECT 1 FROM pg_dist_node) THEN RETURN NULL; END IF;"""


def _is_citus(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).scalar() is not None


def _pg(conn: Connection, names: tuple[str, ...]) -> None:
    citus = _is_citus(conn)
    if citus:
        # Citus refuses triggers on distributed and reference tables unless told that their functions are
        # safe where they run (on the shards' nodes): ours writes only on the coordinator (_CITUS_GUARD)
        conn.exec_driver_sql("SET LOCAL citus.enable_unsafe_triggers = on")
    conn.exec_driver_sql(_PG_FUNCTION.format(citus=_CITUS_GUARD if citus else ""))
    for stamp in names:
        tables = WATCHED[stamp]
        for table in tables:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS stamp_{table} ON {table}")
            conn.exec_driver_sql(
                f"CREATE CONSTRAINT TRIGGER stamp_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shuzhi_replace_stamp('{stamp}')")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS stamp_truncate_{table} ON {table}")
            conn.exec_driver_sql(
                f"CREATE TRIGGER stamp_truncate_{table} AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION shuzhi_replace_stamp('{stamp}')")


def _sqlite(conn: Connection, names: tuple[str, ...]) -> None:
    for stamp in names:
        for table in WATCHED[stamp]:
            for op in ("INSERT", "UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS stamp_{table}_{op.lower()} AFTER {op} ON {table} BEGIN "
                    f"UPDATE change_stamps SET token = lower(hex(randomblob(16))) WHERE name = '{stamp}'; END")


def install(conn: Connection, names: tuple[str, ...] | None = None) -> None:
    """The stamps' rows and triggers (idempotent), all of them or the ``names`` given: after ``create_all``,
    and from the migration that brought each (0031: organisation, dispatch rules; 0042: risk points)."""
    names = tuple(WATCHED) if names is None else names
    for name in names:
        conn.execute(text("INSERT INTO change_stamps (name, token) VALUES (:n, :t) ON CONFLICT (name) DO NOTHING"),
                     {"n": name, "t": secrets.token_hex(16)})
    (_pg if conn.dialect.name == "postgresql" else _sqlite)(conn, names)


def drop_triggers(conn: Connection, tables: list[str]) -> None:
    """Remove the stamps' triggers from those of ``tables`` that are watched (PostgreSQL), keeping the
    stamps' rows: ``citus.distribute`` does so while it makes the tables reference tables, then
    :func:`install` puts them back."""
    for table in (t for t in tables if any(t in watched for watched in WATCHED.values())):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS stamp_{table} ON {table}")
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS stamp_truncate_{table} ON {table}")


def uninstall(conn: Connection, names: tuple[str, ...] | None = None) -> None:
    """What :func:`install` made (all of it, or the ``names`` given), for the migrations' downgrades
    (the table is migration 0031's)."""
    if conn.dialect.name == "postgresql" and _is_citus(conn):
        conn.exec_driver_sql("SET LOCAL citus.enable_unsafe_triggers = on")
    names = tuple(WATCHED) if names is None else names
    for name in names:
        conn.execute(text("DELETE FROM change_stamps WHERE name = :n"), {"n": name})
        for table in WATCHED[name]:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS stamp_{table} ON {table}")
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS stamp_truncate_{table} ON {table}")
            else:
                for op in ("insert", "update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS stamp_{table}_{op}")
    left = conn.execute(text("SELECT count(*) FROM change_stamps")).scalar()
    if conn.dialect.name == "postgresql" and not left:  # the triggers' function goes with the last stamp
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS shuzhi_replace_stamp()")


def after_create(_target: Any, connection: Connection, **_kw: Any) -> None:
    """``Base.metadata``'s ``after_create``: a schema made by ``create_all`` (tests) gets them too."""
    install(connection)
