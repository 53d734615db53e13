"""The indicator tree is imported all or nothing, re-imported by code, and exported in its import format."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.adapters.db.tables_sensing import Device, Indicator, IndicatorArea, IndicatorNode
from shuzhi.adapters.json_table import read_json_table, write_json_table
from shuzhi.adapters.tabular import read_table, write_csv, write_xlsx
from shuzhi.entrypoints.cli import app
from shuzhi.services.actors import SYSTEM, resolve_actor
from shuzhi.services.security import authz
from shuzhi.services.sensing.indicators import (
    INDICATOR_COLUMNS,
    export_indicators,
    import_devices,
    import_indicators,
    indicator_info,
    indicators_by_id,
)
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.sensing_data import DEVICES, INDICATORS, indicator_row, load_sensing, rows


def _count(session_factory: sessionmaker[Session], model: object) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def test_import_builds_the_tree_and_lookups_give_lineage_owner_and_unit(
        world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    report = import_indicators(uow, rows(*INDICATORS), SYSTEM)
    assert (report.created, report.updated, report.unchanged, report.errors) == (3, 0, 0, [])
    with session_factory() as s:
        kinds = dict(s.execute(select(IndicatorNode.kind, func.count()).group_by(IndicatorNode.kind)).all())
        assert kinds == {"sector": 1, "runway": 2, "sub_runway": 2}
        info = indicator_info(s, "MANHOLE_OPEN")
        assert info is not None
        assert info.lineage == ("S2", "S2.R2", "S2.R2.1", "MANHOLE_OPEN")
        assert info.owner_unit_code == "D500111-CGJ" and info.value_type == "boolean" and info.frequency_s == 60
        assert (info.realtime, info.warning, info.traceable, info.evaluable) == (True, True, True, False)
        river = indicator_info(s, "RIVER_LEVEL")
        assert river is not None and river.unit == "m" and river.frequency_s == 300
        assert indicators_by_id(s, [river.id])[river.id] == river
        assert indicator_info(s, "NOPE") is None


def test_reimport_updates_by_code_and_export_round_trips(world: World, uow: UnitOfWork,
                                                        session_factory: sessionmaker[Session]) -> None:
    import_indicators(uow, rows(*INDICATORS), SYSTEM)
    again = import_indicators(uow, rows(*INDICATORS), SYSTEM)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = [dict(r) for r in INDICATORS]
    changed[0]["name"] = "河道水位(主河道)"
    changed[2]["areas"] = "500111001;500111002"
    report = import_indicators(uow, rows(*changed), SYSTEM)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    with session_factory() as s:
        assert s.scalar(select(Indicator.name).where(Indicator.code == "RIVER_LEVEL")) == "河道水位(主河道)"
        outage_id = s.scalar(select(Indicator.id).where(Indicator.code == "OUTAGES"))
        assert len(s.scalars(select(IndicatorArea.area_id).where(IndicatorArea.indicator_id == outage_id)).all()) == 2
    exported = export_indicators(uow, SYSTEM)
    assert [r["code"] for r in exported] == ["MANHOLE_OPEN", "OUTAGES", "RIVER_LEVEL"]
    for data, name in ((write_csv(exported, INDICATOR_COLUMNS), "x.csv"),
                       (write_xlsx(exported, INDICATOR_COLUMNS), "x.xlsx")):
        back = import_indicators(uow, read_table(data, name), SYSTEM)
        assert (back.created, back.updated, back.unchanged, back.errors) == (0, 0, 3, [])
    back = import_indicators(uow, read_json_table(write_json_table(exported)), SYSTEM)
    assert (back.created, back.updated, back.unchanged, back.errors) == (0, 0, 3, [])


def test_a_bad_file_names_every_row_and_column_and_changes_nothing(world: World, uow: UnitOfWork,
                                                                  session_factory: sessionmaker[Session]) -> None:
    bad = [
        indicator_row("GOOD", "好指标"),
        indicator_row("BAD_UNIT", "x", owner_unit_code="D-NOPE"),
        indicator_row("BAD_FREQ", "x", frequency="sometimes"),
        indicator_row("BAD_TYPE", "x", value_type="text"),
        indicator_row("BAD_AREA", "x", areas="500111001001001"),  # a grid, below the town level
        indicator_row("BAD_FLAG", "x", warning="maybe"),
        indicator_row("BAD_NODE", "x", runway_name="别的名字"),  # S2.R1 named differently above
        indicator_row("GOOD", "重复"),
    ]
    report = import_indicators(uow, rows(*bad), SYSTEM)
    found = {(e.row, e.column) for e in report.errors}
    assert found == {(3, "owner_unit_code"), (4, "frequency"), (5, "value_type"), (6, "areas"), (7, "warning"),
                     (8, "runway_name"), (9, "code")}, report.errors
    assert _count(session_factory, Indicator) == 0 and _count(session_factory, IndicatorNode) == 0


def test_missing_columns_are_reported_once(world: World, uow: UnitOfWork) -> None:
    report = import_indicators(uow, [{"code": "X", "name": "x", "__row__": "2"}], SYSTEM)
    assert {e.column for e in report.errors} >= {"sector_code", "owner_unit_code", "level"}


def test_devices_must_sit_in_an_area_their_indicator_is_measured_in(world: World, uow: UnitOfWork,
                                                                   session_factory: sessionmaker[Session]) -> None:
    load_sensing(uow)
    assert _count(session_factory, Device) == 2
    report = import_devices(uow, rows(
        {"code": "WL-X", "indicator_code": "RIVER_LEVEL", "area_code": "500111001001"},  # a village
        {"code": "OUT-B", "indicator_code": "OUTAGES", "area_code": "500111002"},  # not in its listed areas
        {"code": "GHOST", "indicator_code": "NOPE", "area_code": "500111001"},
        {"code": "FAR", "indicator_code": "RIVER_LEVEL", "area_code": "500111001", "lon": "500"},
    ), SYSTEM)
    assert {(e.row, e.column) for e in report.errors} == {(2, "area_code"), (3, "area_code"),
                                                           (4, "indicator_code"), (5, "lon")}
    assert _count(session_factory, Device) == 2


def test_importing_needs_indicator_write(world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        alice = resolve_actor(s, "alice")  # a duty officer: reads indicators, does not edit them
    with pytest.raises(authz.Forbidden):
        import_indicators(uow, rows(*INDICATORS), alice)


def test_api_import_export_tree_and_one_indicator(world: World, api: Api) -> None:
    csv_bytes = write_csv([{k: v for k, v in r.items()} for r in INDICATORS], INDICATOR_COLUMNS)
    done = api.request("POST", "/api/indicators/import", "admin", 200,
                       files={"file": ("indicators.csv", io.BytesIO(csv_bytes), "text/csv")})
    assert done == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": False}
    tree = api.get("/api/indicators/tree", who="alice")
    assert [s["code"] for s in tree] == ["S2"]
    leaves = [i["code"] for r in tree[0]["children"] for sub in r["children"] for i in sub["children"]]
    assert sorted(leaves) == ["MANHOLE_OPEN", "OUTAGES", "RIVER_LEVEL"]
    one = api.get("/api/indicators/RIVER_LEVEL", who="alice")
    assert one["lineage"] == ["S2", "S2.R1", "S2.R1.1", "RIVER_LEVEL"] and one["owner_unit_code"] == "D500111-SWJ"
    api.get("/api/indicators/NOPE", 404, who="alice")
    exported = api.get("/api/indicators/export?format=json", who="alice")
    assert [r["code"] for r in exported] == ["MANHOLE_OPEN", "OUTAGES", "RIVER_LEVEL"]
    xlsx = api.get("/api/indicators/export?format=xlsx", who="alice").content
    assert [r["code"] for r in read_table(xlsx, "x.xlsx")] == ["MANHOLE_OPEN", "OUTAGES", "RIVER_LEVEL"]
    bad = write_csv([indicator_row("X", "x", level="planet")], INDICATOR_COLUMNS)
    problem = api.request("POST", "/api/indicators/import", "admin", 422,
                          files={"file": ("bad.csv", io.BytesIO(bad), "text/csv")})
    assert [(d["row"], d["column"]) for d in problem["details"]] == [(2, "level")]
    # a duty officer may not import
    api.request("POST", "/api/indicators/import", "alice", 403,
                files={"file": ("indicators.csv", io.BytesIO(csv_bytes), "text/csv")})


def test_cli_imports_indicators_and_devices_and_names_bad_rows(world: World, tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    url = engine.url.render_as_string(hide_password=False)
    good = tmp_path / "indicators.json"
    good.write_bytes(write_json_table([{k: v for k, v in r.items()} for r in INDICATORS]))
    runner = CliRunner()
    result = runner.invoke(app, ["import", "indicators", str(good), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    devices = tmp_path / "devices.csv"
    devices.write_bytes(write_csv(DEVICES))
    result = runner.invoke(app, ["import", "devices", str(devices), "--database-url", url])
    assert result.exit_code == 0 and "2 created" in result.output, result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(write_csv([indicator_row("Y", "y", frequency="often")], INDICATOR_COLUMNS))
    result = runner.invoke(app, ["import", "indicators", str(bad), "--database-url", url])
    assert result.exit_code == 1
    assert "frequency" in result.output and "often" in result.output
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["export", "indicators", str(out), "--database-url", url])
    assert result.exit_code == 0 and len(read_table(out.read_bytes(), "out.xlsx")) == 3
