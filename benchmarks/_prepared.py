"""Prepared benchmark databases: reuse one only when its fingerprint matches, rebuild it otherwise.

Preparing a database (a million events, a year of supervision history …) costs far more than measuring
on it, so ``make bench`` keeps them between runs. A kept database is only trusted when it was built
by the same schema (the Alembic head of this checkout), with the same volume and the same seed: the
fingerprint is stored on the database itself (``COMMENT ON DATABASE``) once preparing has finished,
so a preparation cut short never looks complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql


def schema_head() -> str:
    """The Alembic head(s) of this checkout: the schema version a prepared database must have."""
    from alembic.script import ScriptDirectory

    from shuzhi.adapters.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return ",".join(sorted(heads))


def fingerprint(bench: str, **params: Any) -> dict[str, Any]:
    """What a prepared database must have been built from: schema head, benchmark, volume and seed."""
    return {"bench": bench, "schema": schema_head(), **params}


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _db_name(url: str) -> str:
    return _plain(url).rsplit("/", 1)[1].split("?", 1)[0]


def stored(admin_url: str, db_url: str) -> dict[str, Any] | None:
    """The fingerprint a database carries, or None (no database, or never finished preparing)."""
    with psycopg.connect(_plain(admin_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (_db_name(db_url),)
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        found = json.loads(row[0])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def matches(admin_url: str, db_url: str, wanted: Mapping[str, Any]) -> bool:
    """True when the database exists and was prepared with exactly this fingerprint."""
    found = stored(admin_url, db_url)
    return found == dict(wanted)


def mark(admin_url: str, db_url: str, fp: Mapping[str, Any]) -> None:
    """Store the fingerprint once the database is fully prepared."""
    name = _db_name(db_url)
    with psycopg.connect(_plain(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(json.dumps(dict(fp), sort_keys=True))))


def explain(admin_url: str, db_url: str, wanted: Mapping[str, Any]) -> str:
    """Why a database is (not) reused, for the script's output."""
    found = stored(admin_url, db_url)
    if found is None:
        return f"{_db_name(db_url)}: no finished preparation found; building it"
    if found == dict(wanted):
        return f"{_db_name(db_url)}: fingerprint matches {json.dumps(dict(wanted), sort_keys=True)}; reusing it"
    diff = {k: (found.get(k), v) for k, v in wanted.items() if found.get(k) != v}
    return f"{_db_name(db_url)}: fingerprint differs {diff}; rebuilding it"
