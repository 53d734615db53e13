"""Raw readings live in day partitions on PostgreSQL: made ahead by the hourly job, dropped whole when
every indicator's retention has passed, with a default partition for days that have none."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine

from shuzhi.adapters.db.engine import make_engine
from shuzhi.adapters.db.migrate import alembic_config, upgrade
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing.ingest import forget_catalogues, ingest
from shuzhi.services.sensing.readings import (
    compress_horizon_days,
    count_readings,
    history,
    prepare_partitions,
    purge_expired,
)
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import CITUS, PG_URL
from tests.factories import World
from tests.integration.test_migrations import _fresh_url
from tests.sensing_data import load_sensing

pg_only = pytest.mark.skipif(not PG_URL, reason="partitions are PostgreSQL's (SQLite keeps one table)")
citus_only = pytest.mark.skipif(not CITUS, reason="columnar day partitions are Citus's (citus_columnar)")

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)


@pytest.fixture
def sensing(world: World, uow: UnitOfWork, engine: Engine) -> Iterator[World]:
    _drop_days(engine)
    forget_catalogues()
    load_sensing(uow)
    yield world
    forget_catalogues()
    _drop_days(engine)  # before the world empties its tables: a columnar day takes no DELETE


def _drop_days(engine: Engine) -> None:
    if PG_URL:  # the test database keeps its tables between tests, and day partitions are tables
        with engine.begin() as conn:
            for name in _days(engine):
                conn.execute(text(f'DROP TABLE "{name}"'))


def _river(day: datetime, n: int, every_min: int = 60) -> list[dict[str, object]]:
    return [{"indicator": "RIVER_LEVEL", "device": "WL-A", "at": (day + timedelta(minutes=every_min * i)).isoformat(),
             "value": float(i)} for i in range(n)]


def _homes(engine: Engine) -> dict[str, int]:
    """Rows per partition (on Citus a row's table is a shard of the partition: its id is cut off)."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for name, count in conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM readings GROUP BY 1")):
            partition = re.sub(r"^(readings_(?:p\d{8}|default))_\d+$", r"\1", name)
            out[partition] = out.get(partition, 0) + count
    return out


def _methods(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT c.relname, a.amname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE i.inhparent = 'readings'::regclass "
            "AND c.relname <> 'readings_default'")).all())


def _days(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'readings'::regclass AND c.relname <> 'readings_default'")).scalars())


def test_on_sqlite_there_is_nothing_to_prepare_and_purge_deletes_by_range(sensing: World, uow: UnitOfWork,
                                                                           engine: Engine) -> None:
    if PG_URL:
        pytest.skip("the SQLite behaviour")
    assert prepare_partitions(uow, NOW).created == ()
    ingest(uow, SYSTEM, _river(NOW - timedelta(days=20), 48), now=NOW)
    done = purge_expired(uow, NOW, default_days=10)
    assert (done.readings, done.days_dropped) == (48, 0) and count_readings(uow) == 0


@pg_only
def test_the_hourly_job_makes_a_week_of_day_partitions_ahead_and_readings_land_in_their_day(
        sensing: World, uow: UnitOfWork, engine: Engine) -> None:
    made = prepare_partitions(uow, NOW)
    assert made.created == tuple(date(2026, 3, 10) + timedelta(days=n) for n in range(8)) and made.skipped == ()
    assert prepare_partitions(uow, NOW).created == ()  # idempotent: the next hour finds them made
    assert _days(engine) == [f"readings_p202603{d:02d}" for d in range(10, 18)]
    # today and tomorrow in their own partitions; a back-filled reading from last week in the default one
    ingest(uow, SYSTEM, _river(datetime(2026, 3, 10, tzinfo=UTC), 30), now=datetime(2026, 3, 11, 7, tzinfo=UTC))
    ingest(uow, SYSTEM, _river(NOW - timedelta(days=7), 2), now=NOW)
    assert _homes(engine) == {"readings_p20260310": 24, "readings_p20260311": 6, "readings_default": 2}
    # history reads across partitions as it did across one table
    points = history(uow, SYSTEM, "RIVER_LEVEL", "WL-A", datetime(2026, 3, 10, 20, tzinfo=UTC),
                     datetime(2026, 3, 11, 4, tzinfo=UTC)).points
    assert [p["value"] for p in points] == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0]


@pg_only
def test_a_day_whose_readings_already_sit_in_the_default_partition_is_skipped_not_failed(
        sensing: World, uow: UnitOfWork, engine: Engine) -> None:
    ingest(uow, SYSTEM, _river(datetime(2026, 3, 12, tzinfo=UTC), 3), now=datetime(2026, 3, 12, 5, tzinfo=UTC))
    made = prepare_partitions(uow, NOW, days_ahead=3)
    assert made.skipped == (date(2026, 3, 12),)
    assert made.created == (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 13))
    assert _homes(engine) == {"readings_default": 3} and count_readings(uow) == 3


@pg_only
def test_purge_drops_whole_days_past_the_longest_retention_and_trims_the_rest_by_range(
        sensing: World, uow: UnitOfWork, engine: Engine) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    prepare_partitions(uow, start, days_ahead=9)  # 1–10 March
    ingest(uow, SYSTEM, _river(start, 24 * 10), now=start + timedelta(days=10))  # hourly, 1–10 March
    ingest(uow, SYSTEM, _river(start - timedelta(days=3), 24), now=start)  # 26 Feb, in the default partition
    assert count_readings(uow) == 264
    # retention 5 days at 10 March 06:00: 1–4 March and 26 Feb are wholly expired; 5 March (expired until
    # 06:00) goes whole tomorrow: the longest retention is kept by the day, one statement, not per series
    done = purge_expired(uow, NOW, default_days=5)
    assert done.days_dropped == 4
    assert _days(engine) == [f"readings_p202603{d:02d}" for d in range(5, 11)]
    assert done.readings == 4 * 24 + 24
    assert count_readings(uow) == 264 - done.readings
    assert _homes(engine).get("readings_default") is None and _homes(engine)["readings_p20260305"] == 24
    tomorrow = purge_expired(uow, NOW + timedelta(days=1), default_days=5)
    assert (tomorrow.days_dropped, tomorrow.readings) == (1, 24)


@pg_only
def test_an_indicator_keeping_readings_longer_keeps_its_days(sensing: World, uow: UnitOfWork,
                                                              engine: Engine) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    prepare_partitions(uow, start, days_ahead=9)
    ingest(uow, SYSTEM, _river(start, 24 * 10), now=start + timedelta(days=10))
    with uow:
        uow.session.execute(text("UPDATE indicators SET retention_days = 7 WHERE code = 'RIVER_LEVEL'"))
        uow.commit()
    done = purge_expired(uow, NOW, default_days=5)
    # the longest retention (7 days) decides which days go whole: 1 and 2 March (3 March tomorrow)
    assert done.days_dropped == 2 and done.readings == 2 * 24
    assert _days(engine)[0] == "readings_p20260303"


@pg_only
def test_the_migration_moves_stored_readings_into_their_day_partitions_and_back(tmp_path: Path) -> None:
    url = _fresh_url(tmp_path)
    upgrade(url, "0025")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO readings (indicator_id, series_key, at, value, area_id) VALUES "
                          "(1, 'WL-A', '2026-01-05 23:30+00', 1.5, 1), (1, 'WL-A', '2026-01-06 00:30+00', 2.5, 1)"))
    upgrade(url)
    try:
        with engine.connect() as conn:
            homes = dict(conn.execute(text("SELECT tableoid::regclass::text, value FROM readings ORDER BY at")).all())
        assert homes == {"readings_p20260105": 1.5, "readings_p20260106": 2.5}
        command.downgrade(alembic_config(url), "0025")
        with engine.connect() as conn:
            kind = conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'readings'")).scalar()
            values = conn.execute(text("SELECT value FROM readings ORDER BY at")).scalars().all()
        assert (kind, values) == ("r", [1.5, 2.5])
    finally:
        engine.dispose()


def test_a_day_is_compressed_only_after_every_shorter_retention_is_done_with_it() -> None:
    assert compress_horizon_days(7, [400, 400], 400) == 7
    # a 30-day indicator still deletes in days up to 30 days old (and the day after its own): 32
    assert compress_horizon_days(7, [400, 30, 90], 400) == 92
    assert compress_horizon_days(120, [400, 30, 90], 400) == 120
    assert compress_horizon_days(0, [400], 400) == 0


def test_ingest_refuses_readings_older_than_the_compressed_history_by_name(sensing: World, uow: UnitOfWork) -> None:
    prepare_partitions(uow, NOW - timedelta(days=9), days_ahead=9)
    done = ingest(uow, SYSTEM, _river(NOW - timedelta(days=8), 3) + _river(NOW - timedelta(hours=2), 2), now=NOW,
                  compress_after_days=7)
    assert (done.accepted, done.rejected) == (2, 3)
    assert {(r.index, r.field) for r in done.rejections} == {(0, "at"), (1, "at"), (2, "at")}
    assert "older than 7 days" in done.rejections[0].reason and "compressed" in done.rejections[0].reason


@pg_only
def test_on_postgresql_without_citus_nothing_is_compressed(sensing: World, uow: UnitOfWork, engine: Engine) -> None:
    if CITUS:
        pytest.skip("plain PostgreSQL's behaviour")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    prepare_partitions(uow, start, days_ahead=9)
    ingest(uow, SYSTEM, _river(start, 24 * 10), now=start + timedelta(days=10))
    done = purge_expired(uow, NOW, default_days=400, compress_after_days=3)
    assert (done.days_compressed, done.readings) == (0, 0)
    assert set(_methods(engine).values()) == {"heap"}


@citus_only
def test_on_citus_old_days_turn_columnar_read_as_before_and_a_shortened_retention_turns_them_back(
        sensing: World, uow: UnitOfWork, engine: Engine) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    prepare_partitions(uow, start, days_ahead=9)  # 1–10 March
    ingest(uow, SYSTEM, _river(start, 24 * 10), now=start + timedelta(days=10))  # hourly, 1–10 March
    # at 10 March 06:00, compress after 3 days: 1–6 March are wholly older than 7 March 00:00 … 06:00
    done = purge_expired(uow, NOW, default_days=400, compress_after_days=3)
    assert (done.days_compressed, done.readings, done.days_dropped) == (6, 0, 0)
    methods = _methods(engine)
    assert [d for d, m in sorted(methods.items()) if m == "columnar"] == [
        f"readings_p202603{d:02d}" for d in range(1, 7)]
    assert methods["readings_p20260307"] == "heap"
    # read as before, across compressed and plain days
    points = history(uow, SYSTEM, "RIVER_LEVEL", "WL-A", datetime(2026, 3, 6, 22, tzinfo=UTC),
                     datetime(2026, 3, 7, 2, tzinfo=UTC)).points
    assert [p["value"] for p in points] == [142.0, 143.0, 144.0, 145.0]  # 22:00 to 01:00, the end excluded
    # a second run finds nothing more to do; ingest keeps writing the recent days (ON CONFLICT on heap)
    assert purge_expired(uow, NOW, default_days=400, compress_after_days=3).days_compressed == 0
    again = ingest(uow, SYSTEM, _river(NOW - timedelta(hours=3), 2), now=NOW, compress_after_days=3)
    assert (again.accepted + again.duplicate, again.rejected) == (2, 0)
    # the river's retention shortened to 4 days: its rows before 6 March 06:00 (all columnar) must go, so
    # the six days holding them turn back to heap and lose them; 7 March, heap all along, keeps its rows
    with uow:
        uow.session.execute(text("UPDATE indicators SET retention_days = 4 WHERE code = 'RIVER_LEVEL'"))
        uow.commit()
    done = purge_expired(uow, NOW, default_days=400, compress_after_days=3)
    assert done.days_decompressed == 6 and done.readings == 5 * 24 + 6
    assert count_readings(uow) == 240 - done.readings
    # the horizon is now 4 + 2 days: only 1–3 March (emptied) are compressed again; 6 March keeps heap
    assert done.days_compressed == 3
    methods = _methods(engine)
    assert [d for d, m in sorted(methods.items()) if m == "columnar"] == [
        f"readings_p202603{d:02d}" for d in range(1, 4)]
