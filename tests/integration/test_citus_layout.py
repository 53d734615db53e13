"""On a Citus coordinator the sensor stream is spread over the workers, each series in one place.

Runs in the Citus suite only (``make test-citus``: ``SHUZHI_TEST_CITUS=1``); on one PostgreSQL or SQLite
there is nothing to spread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from shuzhi.adapters.db import citus
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing.ingest import forget_catalogues, ingest
from shuzhi.services.sensing.readings import history
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import CITUS
from tests.factories import World
from tests.sensing_data import load_sensing

pytestmark = pytest.mark.skipif(not CITUS, reason="the Citus suite (make test-citus)")


@pytest.fixture
def sensing(world: World, uow: UnitOfWork) -> Iterator[World]:
    forget_catalogues()
    load_sensing(uow)
    yield world
    forget_catalogues()


def test_the_sensor_stream_is_distributed_by_series_and_co_located(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT logicalrelid::regclass::text, column_to_column_name(logicalrelid, partkey), colocationid "
            "FROM pg_dist_partition WHERE logicalrelid::regclass::text IN "
            "('readings', 'reading_latest', 'reading_rollups', 'mqtt_receipts', 'events')")).all()
        workers = conn.execute(text("SELECT count(DISTINCT nodeport) FROM citus_shards "
                                    "WHERE table_name = 'readings'::regclass")).scalar()
    layout = {name: (column, coloc) for name, column, coloc in rows}
    assert {n: c for n, (c, _) in layout.items()} == {
        "readings": "series_key", "reading_latest": "series_key", "reading_rollups": "series_key",
        "mqtt_receipts": "digest", "events": "district_code"}  # cases by district: test_citus_cases.py
    assert layout["readings"][1] == layout["reading_latest"][1] == layout["reading_rollups"][1]
    assert workers == 2
    with engine.begin() as conn:  # idempotent: a second `shuzhi init` distributes nothing more
        again = citus.distribute(conn)
    assert again.distributed == () and again.workers == 2


def test_a_series_raw_rows_latest_value_and_rollups_sit_on_one_worker(sensing: World, uow: UnitOfWork,
                                                                       engine: Engine) -> None:
    now = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    where = ({"device": "WL-A"}, {"area": "500111001"})  # a device's series and an area's series
    batch = [{"indicator": "RIVER_LEVEL", **w, "at": (now - timedelta(minutes=m)).isoformat(), "value": float(m)}
             for w in where for m in range(0, 120, 5)]
    assert ingest(uow, SYSTEM, batch, now=now).accepted == 48
    with engine.connect() as conn:
        for device in ("WL-A", "500111001"):
            nodes = {conn.execute(text(
                f"SELECT nodeport FROM citus_shards s JOIN pg_dist_shard d ON d.shardid = s.shardid "
                f"WHERE s.table_name = '{table}'::regclass AND d.shardid = get_shard_id_for_distribution_column("
                f"'{table}', CAST(:series AS text))"), {"series": device}).scalar() for table in
                ("readings", "reading_latest", "reading_rollups")}
            assert len(nodes) == 1, (device, nodes)
    # and the answers are those of one PostgreSQL: raw points of the last half hour, oldest first
    points = history(uow, SYSTEM, "RIVER_LEVEL", "500111001", now - timedelta(minutes=30),
                     now + timedelta(minutes=1)).points
    assert [p["value"] for p in points] == [30.0, 25.0, 20.0, 15.0, 10.0, 5.0, 0.0]


def test_a_database_that_already_holds_its_organisation_is_laid_out_with_its_rows(engine: Engine) -> None:
    """``shuzhi init`` on a coordinator whose organisation was imported before the layout (a district
    moving to Citus, a benchmark filling its tables first): the rows move to the reference tables' and the
    shards' placements, and the change stamps still work. Found by ``benchmarks/bench_intake.py --citus``:
    the stamps' deferred trigger, copied with the rows to each placement, made Citus refuse the layout
    ("cannot ALTER TABLE "areas_…" because it has pending trigger events")."""
    import psycopg

    from shuzhi.adapters.db.engine import make_engine
    from shuzhi.adapters.db.tables import Base
    from tests.conftest import _citus_database

    url = engine.url.set(database=f"{engine.url.database}_filled")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    base = plain.rsplit("/", 1)[0]

    def drop_everywhere() -> None:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            nodes = conn.execute("SELECT nodename, nodeport FROM pg_dist_node").fetchall()
        for host, port in nodes:
            with psycopg.connect(f"postgresql://postgres@{host}:{port}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    drop_everywhere()
    _citus_database(base, str(url.database))
    filled = make_engine(url.render_as_string(hide_password=False))
    try:
        with filled.begin() as conn:
            Base.metadata.create_all(conn)
        with filled.begin() as conn:
            conn.execute(text("INSERT INTO areas (code, name, level, path, created_at, updated_at) VALUES "
                              "('500111', '大足区', 'district', '/500111/', now(), now())"))
            conn.execute(text("INSERT INTO units (code, name, kind, level, area_id, active, created_at, updated_at) "
                              "SELECT 'C500111', '区中心', 'centre', 'district', id, true, now(), now() FROM areas"))
            conn.execute(text("INSERT INTO events (number, source, title, description, area_path, urgency, mode, "
                              "state, self_handled, rework_count, return_count, received_at, updated_at, version, "
                              "district_code) VALUES ('500111-20260310-000001', 'hotline', '井盖', '', '/500111/', "
                              "'normal', 'handle', 'registered', false, 0, 0, now(), now(), 1, '500111')"))
        with filled.begin() as conn:
            conn.execute(text("SET LOCAL citus.shard_count = 4"))
            done = citus.distribute(conn)
        assert {"areas", "units", "events"} <= set(done.distributed)
        with filled.connect() as conn:
            kinds = dict(conn.execute(text(
                "SELECT logicalrelid::regclass::text, partmethod FROM pg_dist_partition "
                "WHERE logicalrelid::regclass::text IN ('areas', 'units', 'events')")).all())
            assert kinds == {"areas": "n", "units": "n", "events": "h"}
            assert conn.execute(text("SELECT count(*) FROM units JOIN areas ON areas.id = units.area_id")).scalar() == 1
            assert conn.execute(text("SELECT district_code FROM events")).scalar() == "500111"
            before = conn.execute(text("SELECT token FROM change_stamps WHERE name = 'organisation'")).scalar()
        with filled.begin() as conn:  # the stamps' triggers are back on the reference table
            conn.execute(text("UPDATE units SET name = '区治理中心'"))
        with filled.connect() as conn:
            assert conn.execute(text("SELECT token FROM change_stamps WHERE name = 'organisation'")).scalar() != before
    finally:
        filled.dispose()
        drop_everywhere()
