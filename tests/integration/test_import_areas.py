"""Importing the area tree: all or nothing, updates by code, subtree moves, and the CLI's messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.entrypoints.cli import app
from tests.integration.conftest import Api
from tests.unit.test_geo import BASE, _box, _fc, _feature


@pytest.fixture(autouse=True)
def alice(session_factory: sessionmaker[Session]) -> None:
    """An administrator to import with, in an area of her own (990000) outside the tree under test."""
    with session_factory() as s:
        area = Area(code="990000", name="运维", level="city", parent_id=None, path="/990000/")
        s.add(area)
        s.flush()
        unit = Unit(code="OPS", name="运维组", kind="centre", level="city", area_id=area.id)
        s.add(unit)
        s.flush()
        s.add(Person(code="alice", name="王丽", unit_id=unit.id, role="administrator"))
        s.commit()


def _areas(s: Session) -> int:
    return int(s.scalar(select(func.count(Area.id)).where(Area.code != "990000")) or 0)


def _upload(api: Api, data: dict[str, Any], **params: Any) -> Any:
    return api.client.post("/api/areas/import", params=params, headers=api.headers("alice"),
                           files={"file": ("areas.geojson", json.dumps(data).encode(), "application/geo+json")})


GRIDS = [
    _feature("500111001001001", "grid", "500111001001", _box(105.700, 29.700, 105.705, 29.71), name="第1网格"),
    _feature("500111001001002", "grid", "500111001001", _box(105.705, 29.700, 105.71, 29.71), name="第2网格"),
]


def test_import_then_reimport_updates_by_code(api: Api, session_factory: sessionmaker[Session]) -> None:
    r = _upload(api, _fc(*BASE, *GRIDS))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 6, "updated": 0, "unchanged": 0, "dry_run": False}
    renamed = [dict(f, properties=dict(f["properties"])) for f in GRIDS]
    renamed[0]["properties"]["name"] = "北山第1网格"
    r = _upload(api, _fc(*BASE, *renamed))
    assert r.json() == {"created": 0, "updated": 1, "unchanged": 5, "dry_run": False}
    with session_factory() as s:
        assert _areas(s) == 6
    area = api.get("/api/areas/500111001001001")
    assert area["name"] == "北山第1网格"
    assert [c["code"] for c in area["chain"]] == ["500000", "500111", "500111001", "500111001001", "500111001001001"]
    loc = api.get("/api/areas/locate", params={"lon": 105.707, "lat": 29.705})
    assert loc["found"] and loc["grid"]["code"] == "500111001001002"
    towns = api.get("/api/areas/geojson", params={"level": "grid"})
    assert len(towns["features"]) == 2 and towns["features"][0]["geometry"]["type"] == "Polygon"


def test_one_bad_feature_rejects_the_file_and_keeps_what_was_stored(api: Api,
                                                                     session_factory: sessionmaker[Session]) -> None:
    assert _upload(api, _fc(*BASE)).status_code == 200
    bad = _feature("500111001001003", "grid", "500111001001", _box(105.70, 29.70, 106.5, 29.71))
    r = _upload(api, _fc(*BASE, *GRIDS, bad))
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "file" and body["details"][0]["row"] == 7
    assert body["details"][0]["value"] == "500111001001003" and "outside its parent" in body["details"][0]["message"]
    with session_factory() as s:
        assert _areas(s) == 4
    assert _upload(api, {"type": "Feature"}).status_code == 422
    r = api.client.post("/api/areas/import", files={"file": ("a.json", b"{oops", "application/json")},
                        headers=api.headers("alice"))
    assert r.status_code == 422 and "not GeoJSON" in r.json()["detail"]


def test_dry_run_writes_nothing(api: Api, session_factory: sessionmaker[Session]) -> None:
    r = _upload(api, _fc(*BASE), dry_run="true")
    assert r.json()["created"] == 4 and r.json()["dry_run"] is True
    with session_factory() as s:
        assert _areas(s) == 0


def test_an_area_cannot_move_under_another_parent(api: Api, session_factory: sessionmaker[Session]) -> None:
    town2 = _feature("500111002", "town", "500111", _box(105.70, 29.70, 105.72, 29.72))
    assert _upload(api, _fc(*BASE, town2, *GRIDS)).status_code == 200
    # the village's code says which town it belongs to
    moved = _feature("500111001001", "village", "500111002", _box(105.70, 29.70, 105.71, 29.71))
    r = _upload(api, _fc(moved))
    assert r.status_code == 422 and "extends its parent's code" in r.json()["details"][0]["message"]
    with session_factory() as s:
        paths = dict(s.execute(select(Area.code, Area.path)).all())
    assert paths["500111001001001"] == "/500000/500111/500111001/500111001001/500111001001001/"


def test_cli_import_reports_rows_and_exits_nonzero(tmp_path: Path, engine: Any) -> None:
    url = str(engine.url.render_as_string(hide_password=False))
    good = tmp_path / "areas.geojson"
    good.write_text(json.dumps(_fc(*BASE, *GRIDS)), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["import", "areas", str(good), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "6 created" in result.output
    bad = tmp_path / "bad.geojson"
    ring = [[105.70, 29.70], [105.705, 29.70], [105.705, 29.705], [105.70, 29.705]]
    bad.write_text(json.dumps(_fc(_feature("500111001001009", "grid", "500111001001",
                                           {"type": "Polygon", "coordinates": [ring]}))), encoding="utf-8")
    result = runner.invoke(app, ["import", "areas", str(bad), "--database-url", url])
    assert result.exit_code == 1
    assert "500111001001009" in result.output and "not closed" in result.output
    result = runner.invoke(app, ["import", "areas", str(tmp_path / "missing.geojson"), "--database-url", url])
    assert result.exit_code == 2
