"""Migration 0035 (issue #20, areas that change) goes up and down on both engines, keeping the
areas, units and events already there."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from shuzhi.adapters.db.engine import make_engine
from shuzhi.adapters.db.migrate import alembic_config, upgrade
from tests.integration.test_migrations import _fresh_url


def _columns(url: str) -> dict[str, set[str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {t: {c["name"] for c in inspect(conn).get_columns(t)} for t in ("areas", "units", "events")}
        found["tables"] = set(inspect(conn).get_table_names())
    engine.dispose()
    return found


def test_area_validity_migrates_up_and_down_keeping_the_rows(tmp_path: Path) -> None:
    url = _fresh_url(tmp_path)
    upgrade(url, "0030")
    engine = make_engine(url)
    at = "2026-11-23 02:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO areas (id, code, name, level, parent_id, path, created_at, updated_at) VALUES "
                          "(1, '500111', '大足区', 'district', NULL, '/500111/', :at, :at)"), {"at": at})
        conn.execute(text("INSERT INTO units (id, code, name, kind, level, area_id, active, created_at, updated_at) "
                          "VALUES (1, 'C500111', '大足区中心', 'centre', 'district', 1, true, :at, :at)"), {"at": at})
    engine.dispose()
    upgrade(url)
    cols = _columns(url)
    assert {"valid_from", "valid_to", "successor_id"} <= cols["areas"]
    assert {"valid_from", "valid_to"} <= cols["units"]
    assert {"origin_area_id", "origin_area_path"} <= cols["events"]
    assert "area_changes" in cols["tables"]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT code, valid_from, valid_to FROM areas")).one() == ("500111", None, None)
    engine.dispose()

    command.downgrade(alembic_config(url), "0030")
    cols = _columns(url)
    assert not {"valid_from", "valid_to", "successor_id"} & cols["areas"]
    assert not {"valid_from", "valid_to"} & cols["units"]
    assert not {"origin_area_id", "origin_area_path"} & cols["events"]
    assert "area_changes" not in cols["tables"]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT code FROM units")).scalar_one() == "C500111"
    engine.dispose()
    upgrade(url)  # and up again
    assert "area_changes" in _columns(url)["tables"]
