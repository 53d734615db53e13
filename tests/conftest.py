"""Shared fixtures: a fresh database per test on SQLite (default) or PostgreSQL.

The suite runs once per engine: ``SHUZHI_TEST_DATABASE_URL`` picks PostgreSQL
(``postgresql+psycopg://postgres@localhost/test``). Tests that need a service (PostgreSQL, MQTT,
a browser) skip when it is missing — unless ``SHUZHI_REQUIRE_SERVICES=1`` (set by CI), which turns
every such skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.adapters.db.tables import Base
from shuzhi.services import geo_index
from shuzhi.services.bootstrap import bootstrap
from shuzhi.services.ttl_cache import clear_all
from shuzhi.services.unit_of_work import UnitOfWork

# Every test runs with the parts wired as in a server process (hooks, session listeners, periodic jobs),
# whichever test modules were collected.
bootstrap()

PG_URL = os.environ.get("SHUZHI_TEST_DATABASE_URL", "")
REQUIRE_SERVICES = os.environ.get("SHUZHI_REQUIRE_SERVICES") == "1"


def need_service(available: bool, what: str) -> None:
    """Skip when ``what`` is missing on a laptop; fail in CI, where it must be there."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required here (SHUZHI_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets its own database beside the named one (``test_gw0`` …),
    created when missing, so that parallel workers never truncate each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    import psycopg

    base, name = url.rsplit("/", 1)
    database = f"{name}_{worker}"
    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{database}"')
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def _pg_engine() -> Iterator[Engine | None]:
    if not PG_URL:
        yield None
        return
    engine = make_engine(_worker_database(PG_URL), pool_size=5)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        Base.metadata.create_all(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_pg_engine: Engine | None, tmp_path: Path) -> Iterator[Engine]:
    clear_all()
    geo_index.forget()
    if _pg_engine is not None:
        tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        with _pg_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield _pg_engine
        return
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> UnitOfWork:
    return UnitOfWork(session_factory)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s
