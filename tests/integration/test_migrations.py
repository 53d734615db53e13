"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from shuzhi.adapters.db.engine import make_engine
from shuzhi.adapters.db.migrate import upgrade
from shuzhi.adapters.db.readings_partitions import include_name
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
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), Base.metadata)
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


def test_upgrading_carries_the_task_and_event_onto_open_clocks(tmp_path: Path) -> None:
    """0014 fills the new columns of the clocks already there from their tasks and events, and drops
    the foreign keys of the append-only records (docs/architecture.md, "Append-only records")."""
    url = _fresh_url(tmp_path)
    upgrade(url, "0013")
    engine = make_engine(url)
    at = "2026-11-23 02:00:00+00:00"
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at) VALUES "
            "(1, '500111', '大足区', 'district', NULL, '/500111/', :at, :at)",
            "INSERT INTO units (id, code, name, kind, level, area_id, active, created_at, updated_at) VALUES "
            "(1, 'C500111', '大足区中心', 'centre', 'district', 1, true, :at, :at), "
            "(2, 'D500111-CGJ', '大足区城市管理局', 'department', 'district', 1, true, :at, :at)",
            "INSERT INTO event_classes (id, code, name, kind, major_code, major_name, default_mode, default_urgency, "
            "time_limits, active, created_at, updated_at) VALUES (7, '0101', '井盖破损', 'component', '01', "
            "'公用设施', 'handle', 'normal', '{}', true, :at, :at)",
            "INSERT INTO events (id, number, source, event_class_id, title, description, area_id, area_path, urgency, "
            "mode, state, owner_unit_id, self_handled, rework_count, return_count, received_at, updated_at, version) "
            "VALUES (5, 'B-5', 'hotline', 7, '井盖破损', '', 1, '/500111/', 'normal', 'handle', 'handling', 1, "
            "false, 0, 0, :at, :at, 1)",
            "INSERT INTO tasks (id, event_id, unit_id, role, state, dispatched_by_unit_id, dispatched_at, "
            "rework_count, updated_at, version) VALUES (9, 5, 2, 'lead', 'accepted', 1, :at, 0, :at, 1)",
            "INSERT INTO supervision_clocks (task_id, event_id, next_due_at, plan, failures, updated_at) VALUES "
            "(9, 5, :at, '[]', 0, :at)",
        ):
            conn.execute(text(sql), {"at": at})
    upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT unit_id, dispatched_by_unit_id, event_number, event_title, area_path, "
                                "event_class_id FROM supervision_clocks WHERE task_id = 9")).one()
        foreign_keys = {t: inspect(conn).get_foreign_keys(t)
                        for t in ("timeline_entries", "notifications", "supervision_steps")}
    engine.dispose()
    assert tuple(row) == (2, 1, "B-5", "井盖破损", "/500111/", 7)
    assert foreign_keys == {"timeline_entries": [], "notifications": [], "supervision_steps": []}


def test_upgrading_makes_the_supervision_thresholds_saved_so_far_the_districts(tmp_path: Path) -> None:
    """0028: thresholds belong to an area; those saved before are the district's (as dispatch rules
    became in 0015), so the district keeps editing the thresholds its tasks follow."""
    url = _fresh_url(tmp_path)
    upgrade(url, "0027")
    engine = make_engine(url)
    at = "2026-11-23 02:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at) VALUES "
                          "(1, '500111', '大足区', 'district', NULL, '/500111/', :at, :at)"), {"at": at})
        conn.execute(text("INSERT INTO supervision_rules (id, rules, updated_by, updated_at) VALUES "
                          "(1, '{\"remind_at\": [0.5]}', 'admin', :at)"), {"at": at})
    upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, area_path FROM supervision_rules")).one()
    engine.dispose()
    assert tuple(row) == (1, "/500111/")
