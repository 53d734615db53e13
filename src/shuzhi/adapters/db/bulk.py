"""Bulk writes that stay fast at tens of thousands of rows.

On PostgreSQL, plain inserts go through ``COPY`` and inserts that skip duplicates or return columns,
and updates, send one array per column through ``unnest`` in binary — one short statement and a handful
of parameters whatever the number of rows, so neither the driver nor the server parses a statement with
thousands of placeholders. All of it runs on the caller's connection, inside its transaction.
SQLite (the demo) uses plain ``executemany``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, bindparam, insert, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator


def _dumps(value: Any) -> str:
    """JSON text of a column value: orjson (several times faster than the standard library, which
    matters at tens of thousands of payloads a batch), the standard library for what orjson refuses."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def _pg_type(col_type: Any) -> tuple[str, bool]:
    """(array element type, is JSON) for a column type."""
    t = col_type.impl if isinstance(col_type, TypeDecorator) else col_type
    if isinstance(t, JSON):
        return "text", True
    if isinstance(t, DateTime):
        return "timestamptz", False
    if isinstance(t, Boolean):
        return "boolean", False
    if isinstance(t, BigInteger):
        return "bigint", False
    if isinstance(t, Integer):
        return "integer", False
    if isinstance(t, Float):
        return "double precision", False
    return "text", False


def _pg_arrays(table: Any, cols: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[list[str], list[Any]]:
    parts, arrays = [], []
    for i, c in enumerate(cols):
        _elem, is_json = _pg_type(table.c[c].type)
        values = [r[i] for r in rows]
        if is_json:
            values = [None if v is None else _dumps(v) for v in values]
        arrays.append(values)
        parts.append(f"u.c{i}::json" if is_json else f"u.c{i}")
    return parts, arrays


def _raw(conn: Connection) -> Any:
    """The psycopg connection under ``conn`` (same transaction)."""
    return conn.connection.driver_connection


def insert_rows(conn: Connection, table: Any, rows: Sequence[Any], *, columns: Sequence[str] | None = None,
                returning: Sequence[str] = (), skip_conflicts_on: Sequence[str] = ()) -> list[Any]:
    """INSERT ``rows`` — dicts with the same keys, or, with ``columns``, tuples in that order (what a
    caller writing tens of thousands of rows builds fastest); ``skip_conflicts_on`` names a unique key
    to skip duplicates on (ON CONFLICT DO NOTHING); returns the ``returning`` columns of the inserted rows."""
    if not rows:
        return []
    if columns is None:
        cols = list(rows[0])
        tuples: Sequence[Sequence[Any]] = [[r[c] for c in cols] for r in rows]
    else:
        cols, tuples = list(columns), rows
    if conn.dialect.name == "postgresql" and not returning and not skip_conflicts_on:
        kinds = [_pg_type(table.c[c].type) for c in cols]
        json_cols = [i for i, (_t, is_json) in enumerate(kinds) if is_json]
        time_cols = [i for i, (t, _j) in enumerate(kinds) if t == "timestamptz"]
        # times go as their ISO text, each distinct value formatted once: psycopg's text dumper for a
        # datetime costs several times a row's other fields, and a batch stamps every row with one time
        iso: dict[datetime, str] = {}
        with _raw(conn).cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for t in tuples:
                if json_cols or time_cols:
                    t = list(t)
                    for i in json_cols:
                        if t[i] is not None:
                            t[i] = _dumps(t[i])
                    for i in time_cols:
                        v = t[i]
                        if v.__class__ is datetime:
                            text = iso.get(v)
                            if text is None:
                                text = iso[v] = v.isoformat()
                            t[i] = text
                copy.write_row(t)
        return []
    if conn.dialect.name == "postgresql":
        select_list, arrays = _pg_arrays(table, cols, tuples)
        types = [_pg_type(table.c[c].type)[0] for c in cols]
        sql = (f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(select_list)} FROM unnest("
               + ", ".join(f"%b::{t}[]" for t in types) + f") AS u({', '.join(f'c{i}' for i in range(len(cols)))})")
        if skip_conflicts_on:
            sql += f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
        if returning:
            sql += f" RETURNING {', '.join(returning)}"
        with _raw(conn).cursor() as cur:
            cur.execute(sql, tuple(arrays), binary=True)
            return list(cur.fetchall()) if returning else []
    dicts = [dict(zip(cols, t, strict=True)) for t in tuples]
    stmt: Any = sqlite.insert(table) if conn.dialect.name == "sqlite" else insert(table)
    if skip_conflicts_on:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    if returning:
        return list(conn.execute(stmt.returning(*[table.c[c] for c in returning]), dicts).all())
    conn.execute(stmt, dicts)
    return []


def update_rows(conn: Connection, table: Any, key: str, rows: Sequence[dict[str, Any]],
                constant: dict[str, Any] | None = None) -> None:
    """UPDATE each row (matched on ``key``) with its own values, plus ``constant`` values for all."""
    if not rows:
        return
    constant = constant or {}
    cols = [c for c in rows[0] if c != key]
    if conn.dialect.name == "postgresql":
        all_cols = [key, *cols]
        select_list, arrays = _pg_arrays(table, all_cols, [[r[c] for c in all_cols] for r in rows])
        types = [_pg_type(table.c[c].type)[0] for c in all_cols]
        sets = [f"{c} = {select_list[i + 1]}" for i, c in enumerate(cols)]
        sets += [f"{c} = %s" for c in constant]
        sql = (f"UPDATE {table.name} SET {', '.join(sets)} FROM unnest("
               + ", ".join(f"%b::{t}[]" for t in types)
               + f") AS u({', '.join(f'c{i}' for i in range(len(all_cols)))}) WHERE {table.name}.{key} = u.c0")
        # parameters in the order of their placeholders: the constants of SET, then the arrays
        with _raw(conn).cursor() as cur:
            cur.execute(sql, (*constant.values(), *arrays), binary=True)
        return
    stmt = update(table).where(table.c[key] == bindparam(f"k_{key}")).values(
        **{c: bindparam(f"k_{c}") for c in cols}, **constant)
    conn.execute(stmt, [{f"k_{k}": v for k, v in r.items()} for r in rows])


_COMPILED: dict[tuple[str, str], str] = {}


def select_rows(conn: Connection, key: str, build: Callable[[], Any], params: dict[str, Any]) -> list[Any]:
    """The rows of a hot SELECT (``build()``, its parameters named by ``bindparam``) as named tuples.

    On PostgreSQL the statement is compiled once per ``key`` and sent on the driver's cursor: a batch of
    1,000 rows then costs the fetch alone, without SQLAlchemy's result processing per row (about half of
    a sweep claim's own time). So no column type converts its values: times come back as the driver
    gives them (aware, in the session's zone) and JSON as the driver loads it; select text where that
    matters. Elsewhere the statement runs as usual."""
    if conn.dialect.name != "postgresql":
        return list(conn.execute(build(), params).all())
    sql = _COMPILED.get((key, conn.dialect.name))
    if sql is None:
        sql = _COMPILED[(key, conn.dialect.name)] = str(build().compile(dialect=conn.dialect))
    from psycopg.rows import namedtuple_row

    with _raw(conn).cursor(row_factory=namedtuple_row) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def as_utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def next_ids(conn: Connection, table: Any, n: int) -> list[int]:
    """``n`` ids drawn from ``table``'s id sequence (PostgreSQL): rows written by COPY with their ids
    set need no query to read them back for the rows that point at them."""
    seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
    return list(conn.scalars(text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": seq, "n": n}))


def drop_secondary_indexes(conn: Connection, tables: Sequence[Any]) -> list[str]:
    """PostgreSQL: drop the indexes of ``tables`` that no constraint needs (primary keys and unique
    constraints stay) and return their definitions, to be created again by :func:`create_indexes` once a
    bulk load into empty tables is done: one index build over the loaded rows is several times cheaper
    than keeping ten indexes up to date row by row, and stays so when the indexes outgrow memory.
    Elsewhere: nothing (SQLite keeps its indexes)."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"),
        {"tables": [t.name for t in tables]}).all()
    for name, _definition in rows:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    return [definition for _name, definition in rows]


def create_indexes(conn: Connection, definitions: Sequence[str]) -> None:
    """Create the indexes :func:`drop_secondary_indexes` dropped (their ``CREATE INDEX`` statements)."""
    if definitions:
        # a sort in memory per index instead of on disk (the session's setting only)
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for definition in definitions:
        conn.exec_driver_sql(definition)
