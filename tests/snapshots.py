"""Database snapshots for tests that start from the same costly state (the demo district's areas, units and
people imported through the real importers: ~10 s each time on this machine, and a dozen tests need it).

The first test of a worker that asks for a state builds it through the real code and takes a snapshot;
every later test restores the snapshot into its own, freshly emptied database. The snapshot is the data
exactly as the importers wrote it (audit chain, sequences included), so a test sees what it would have
built itself. SQLite: a copy of the file, through sqlite3's online backup. PostgreSQL: each written table in
``COPY … (FORMAT binary)`` and each sequence's position.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

#: The stamps of reference data (adapters/db/change_stamps.py) are the test fixture's: it keeps their rows
#: when it empties the database and gives them new tokens, so a snapshot must not bring old ones back.
_NOT_COPIED = {"change_stamps"}


@dataclass
class Snapshot:
    tables: dict[str, bytes]  # PostgreSQL: 'table (columns)' → COPY binary; SQLite: {"": the snapshot file's path}
    sequences: dict[str, tuple[int, bool]]
    value: Any  # what the builder returned (e.g. the demo district), handed to every later test


_SNAPSHOTS: dict[str, Snapshot] = {}


def restore_or_build(engine: Engine, key: str, build: Callable[[], Any]) -> Any:
    """The state ``key`` in ``engine``'s (empty) database: built by ``build`` the first time in this
    process, restored from its snapshot afterwards. Returns what ``build`` returned."""
    snap = _SNAPSHOTS.get(key)
    if snap is not None:
        (_restore_sqlite if engine.dialect.name == "sqlite" else _restore_postgres)(engine, snap)
        return snap.value
    value = build()
    take = _take_sqlite if engine.dialect.name == "sqlite" else _take_postgres
    _SNAPSHOTS[key] = take(engine, value)
    return value


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    assert path and path != ":memory:", "a snapshot needs a file database"
    return path


def _take_sqlite(engine: Engine, value: Any) -> Snapshot:
    # a file beside nothing else of the test's (the test's own directory is removed after it)
    folder = tempfile.mkdtemp(prefix="shuzhi-snapshot-")
    atexit.register(shutil.rmtree, folder, True)  # a demo's history is ~45 MB: not left behind in /tmp
    path = Path(folder) / "snapshot.db"
    with sqlite3.connect(_sqlite_path(engine)) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    return Snapshot({"": str(path).encode()}, {}, value)


def _restore_sqlite(engine: Engine, snap: Snapshot) -> None:
    engine.dispose()  # no pooled connection keeps the empty file's pages
    with sqlite3.connect(snap.tables[""].decode()) as copy, sqlite3.connect(_sqlite_path(engine)) as target:
        copy.backup(target)


def _written_tables(cur: Any) -> dict[str, str]:
    """Each table with rows → the column list its rows are copied with. A partitioned table (readings by
    day) is copied through its parent, which routes the rows back into their partitions."""
    cur.execute("SELECT c.relname, c.relkind, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                "AND a.attgenerated = '' "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND NOT c.relispartition "
                "GROUP BY c.relname, c.relkind")
    tables = {name: columns for name, _kind, columns in cur.fetchall()
              if name not in _NOT_COPIED and name != "alembic_version"}
    return {n: c for n, c in tables.items() if cur.execute(f'SELECT EXISTS (SELECT 1 FROM "{n}")').fetchone()[0]}


def _take_postgres(engine: Engine, value: Any) -> Snapshot:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        tables: dict[str, bytes] = {}
        for name, columns in _written_tables(cur).items():
            with cur.copy(f'COPY (SELECT {columns} FROM "{name}") TO STDOUT (FORMAT binary)') as copy:
                tables[f'"{name}" ({columns})'] = b"".join(bytes(block) for block in copy)
        cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'S' AND n.nspname = current_schema()")
        sequences = {}
        for (seq,) in cur.fetchall():
            last, called = cur.execute(f'SELECT last_value, is_called FROM "{seq}"').fetchone()
            sequences[seq] = (int(last), bool(called))
        raw.rollback()
    finally:
        raw.close()
    return Snapshot(tables, sequences, value)


def _restore_postgres(engine: Engine, snap: Snapshot) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # foreign keys and triggers are not fired while the rows go back as they were taken
        cur.execute("SET LOCAL session_replication_role = replica")
        for target, data in snap.tables.items():
            with cur.copy(f"COPY {target} FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
        for seq, (last, called) in snap.sequences.items():
            cur.execute("SELECT setval(%s::regclass, %s, %s)", (f'"{seq}"', last, called))
        # the restored organisation is a change: every process's caches of reference data start again
        cur.execute("UPDATE change_stamps SET token = md5(random()::text || clock_timestamp()::text), txid = NULL")
        raw.commit()
    finally:
        raw.close()
