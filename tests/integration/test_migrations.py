"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from typer.testing import CliRunner

from shuzhi.adapters.db.engine import make_engine
from shuzhi.adapters.db.migrate import upgrade
from shuzhi.adapters.db.tables import Base
from shuzhi.entrypoints.cli import app
from tests.conftest import PG_URL


def _fresh_url(tmp_path: Path) -> str:
    if not PG_URL:
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    # named after the test database, so that two suites on one server never drop each other's
    base, name = PG_URL.rsplit("/", 1)
    database = f"{name}_migrations"
    admin = base.replace("+psycopg", "") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return f"{base}/{database}"


def test_migrations_match_the_models(tmp_path: Path) -> None:
    url = _fresh_url(tmp_path)
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def test_shuzhi_init_creates_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'init.db'}"
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["init", "--database-url", url])
        assert result.exit_code == 0, result.output
        assert "database ready" in result.output
