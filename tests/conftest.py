"""Shared fixtures: a fresh database per test on SQLite (default) or PostgreSQL.

The suite runs once per engine: ``SHUZHI_TEST_DATABASE_URL`` picks PostgreSQL
(``postgresql+psycopg://postgres@localhost/test``). Tests that need a service (PostgreSQL, MQTT,
a browser) skip when it is missing — unless ``SHUZHI_REQUIRE_SERVICES=1`` (set by CI), which turns
every such skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.adapters.db.tables import Base
from shuzhi.services import geo_index
from shuzhi.services.bootstrap import bootstrap
from shuzhi.services.ttl_cache import clear_all
from shuzhi.services.unit_of_work import UnitOfWork
from tests.snapshots import restore_or_build

# Every test runs with the parts wired as in a server process (hooks, session listeners, periodic jobs),
# whichever test modules were collected.
bootstrap()

PG_URL = os.environ.get("SHUZHI_TEST_DATABASE_URL", "")
#: The Citus suite: ``SHUZHI_TEST_DATABASE_URL`` names a database on a Citus coordinator (``make citus-up``);
#: each test database is made on every node and the sensor stream's tables are distributed.
CITUS = os.environ.get("SHUZHI_TEST_CITUS") == "1"
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
    base, name = url.rsplit("/", 1)
    database = f"{name}_{worker}" if worker else name
    if not worker and not CITUS:
        return url
    import psycopg

    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{database}"')
    if CITUS:
        _citus_database(base.replace("+psycopg", ""), database)
    return f"{base}/{database}"


def _citus_database(base: str, database: str) -> None:
    """The database on every node of the cluster (Citus does not propagate CREATE DATABASE), with the
    extension, the coordinator and the workers as the cluster's ``postgres`` database lists them."""
    import psycopg

    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        nodes = conn.execute("SELECT nodename, nodeport, groupid FROM pg_dist_node ORDER BY groupid").fetchall()
    coordinator = next((n for n in nodes if n[2] == 0), None)
    if coordinator is None or len(nodes) < 2:
        pytest.exit("SHUZHI_TEST_CITUS=1 but the server is not a Citus coordinator with workers (make citus-up)")
    for host, port, _group in nodes:
        with psycopg.connect(f"postgresql://postgres@{host}:{port}/postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"')
        with psycopg.connect(f"postgresql://postgres@{host}:{port}/{database}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
    with psycopg.connect(f"{base}/{database}", autocommit=True) as conn:
        conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (coordinator[0], coordinator[1]))
        known = {(h, p) for h, p in conn.execute("SELECT nodename, nodeport FROM pg_dist_node").fetchall()}
        for host, port, group in nodes:
            if group != 0 and (host, port) not in known:
                conn.execute("SELECT citus_add_node(%s, %s)", (host, port))


@pytest.fixture(scope="session")
def _pg_engine() -> Iterator[Engine | None]:
    if not PG_URL:
        yield None
        return
    engine = make_engine(_worker_database(PG_URL), pool_size=5)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    # on Citus, dropping distributed tables and distributing new ones in one transaction can deadlock
    # between the coordinator's connections to the workers: three transactions
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
    if CITUS:
        from shuzhi.adapters.db import citus

        with engine.begin() as conn:
            # a few shards (production: 48, docs/operations.md): every test empties the tables it wrote,
            # and each shard of a distributed table is a statement on a worker
            conn.execute(text("SET LOCAL citus.shard_count = 4"))
            citus.distribute(conn)
    yield engine
    engine.dispose()


def _empty_postgres(engine: Engine) -> None:
    """Empty the tables the last test wrote and restart every sequence, in three round trips.

    ``TRUNCATE`` of all ~100 tables costs a new file per table (about a second per test on this
    machine); a test writes a handful of them, and ``DELETE`` of a few rows is cheap. Foreign keys are
    not checked while emptying (``session_replication_role``), so the order does not matter."""
    # the change stamps keep their rows (their triggers are off while emptying): emptying is a change,
    # so each gets a new token below, and no process keeps the last test's units or rules
    # children first: on Citus the workers check the foreign keys between the case tables whatever the
    # coordinator's session_replication_role says
    names = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "change_stamps"]
    probe = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in names)
    with engine.begin() as conn:
        if CITUS:  # a transaction that writes a reference table (or a local table with a foreign key to one)
            # after reading or writing a distributed table's shards in parallel is refused: one connection per node
            conn.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        written = [r[0] for r in conn.exec_driver_sql(probe)]
        if written:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica; "
                                 + " ".join(f'DELETE FROM "{n}";' for n in written))
        conn.exec_driver_sql("UPDATE change_stamps SET token = md5(random()::text || clock_timestamp()::text), "
                             "txid = NULL")
        conn.exec_driver_sql("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE c.relkind = 'S' AND n.nspname = current_schema()")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema created once per worker; each test starts from a copy of the file (creating ~100
    tables per test cost a third of a second each)."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    eng = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(eng)
    eng.dispose()  # the last connection closed checkpoints the WAL into the file: the copy is whole
    assert not path.with_name("template.db-wal").exists()
    return path


@pytest.fixture
def engine(_pg_engine: Engine | None, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    clear_all()
    geo_index.forget()
    if _pg_engine is not None:
        _empty_postgres(_pg_engine)
        yield _pg_engine
        return
    target = tmp_path / "test.db"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
    eng = make_engine(f"sqlite:///{target}")
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


@pytest.fixture
def demo_district(engine: Engine, session_factory: sessionmaker[Session]) -> Any:
    """The demo district (seed 1) with its areas, classes, units and people imported through the real
    importers (``load_reference_data``), as a dozen demo tests start; built once per worker, restored
    from a snapshot for the others (tests/snapshots.py)."""
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data

    def build() -> Any:
        district = build_district(1)
        load_reference_data(lambda: UnitOfWork(session_factory), district)
        return district

    return restore_or_build(engine, "demo-reference-1", build)


#: The demo's history is replayed up to this moment in the tests (a Wednesday noon in Chongqing).
DEMO_NOW = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)


@pytest.fixture
def demo_history(engine: Engine, session_factory: sessionmaker[Session]) -> tuple[Any, list[Any], Any]:
    """The whole demo as ``shuzhi demo`` seeds it (seed 1, two days of history up to ``DEMO_NOW``): a
    replayer over this test's database that knows the history's event numbers and failures, the steps
    still in the future, and the district. Seeded once per worker, restored for the other tests."""
    from shuzhi.demo.replay import Replayer
    from shuzhi.demo.runner import seed_demo

    def build() -> Any:
        replayer, pending, district = seed_demo(session_factory, 1, 2, now=DEMO_NOW)
        return list(replayer.numbers), list(replayer.failures), pending, district

    numbers, failures, pending, district = restore_or_build(engine, "demo-history-1-2", build)
    replayer = Replayer(lambda: UnitOfWork(session_factory))
    replayer.numbers[:], replayer.failures[:] = numbers, failures
    return replayer, list(pending), district
