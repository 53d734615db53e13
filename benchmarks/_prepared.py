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


#: Set on a fingerprint when the database was brought to the head by Alembic rather than built at it.
UPGRADED = "upgraded_from"


def _same(found: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    return found is not None and {k: v for k, v in found.items() if k != UPGRADED} == dict(wanted)


def _ancestor(schema: object, head: str) -> bool:
    """Whether ``schema`` is a revision below ``head`` on this checkout's one line of migrations."""
    if not isinstance(schema, str) or "," in head or schema == head:
        return False
    from alembic.script import ScriptDirectory

    from shuzhi.adapters.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return any(rev.revision == schema for rev in script.walk_revisions("base", head))


def _upgrade(db_url: str, built_at: str) -> None:
    from alembic import command

    from shuzhi.adapters.db.migrate import alembic_config, upgrade

    url = db_url if "+psycopg" in db_url else db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(_plain(db_url)) as conn:
        versioned = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
    if not (versioned and versioned[0]):
        # built by create_all from the models as they were at that revision: record it as such first
        command.stamp(alembic_config(url), built_at)
    upgrade(url)


def _upgradeable(found: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """The same benchmark, volume and seed, built at a revision below the wanted head."""
    if "schema" not in wanted:
        return False
    rest = {k: v for k, v in found.items() if k not in ("schema", UPGRADED)}
    return (rest == {k: v for k, v in wanted.items() if k != "schema"}
            and _ancestor(found.get("schema"), str(wanted["schema"])))


def matches(admin_url: str, db_url: str, wanted: Mapping[str, Any]) -> bool:
    """True when the database exists and was prepared with exactly this fingerprint.

    A database prepared with the same benchmark, volume and seed at an *older* schema is brought to
    the head by the project's own migrations (as an operator upgrades a district's database) instead of
    being rebuilt: preparing the 10 M-event database takes an hour, a migration seconds to minutes. Its
    fingerprint then names the revision it was built at (``upgraded_from``), and the script says so."""
    found = stored(admin_url, db_url)
    if _same(found, wanted):
        return True
    if found is None or not _upgradeable(found, wanted):
        return False
    print(f"{_db_name(db_url)}: prepared at schema {found['schema']}; upgrading it to {wanted['schema']} "
          f"with the project's migrations", flush=True)
    _upgrade(db_url, str(found["schema"]))
    mark(admin_url, db_url, {**wanted, UPGRADED: found.get(UPGRADED) or found["schema"]})
    return True


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
    if _same(found, wanted):
        return f"{_db_name(db_url)}: fingerprint matches {json.dumps(dict(wanted), sort_keys=True)}; reusing it"
    diff = {k: (found.get(k), v) for k, v in wanted.items() if found.get(k) != v}
    if _upgradeable(found, wanted):
        return f"{_db_name(db_url)}: prepared at an older schema {diff}; upgrading it in place"
    return f"{_db_name(db_url)}: fingerprint differs {diff}; rebuilding it"
