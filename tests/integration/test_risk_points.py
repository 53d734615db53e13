"""Risk points (风险点全量落图, issue #22): imported from Excel and GeoJSON with every problem at its row
and column, scoped, and each point's state following the warnings of the series watching it.

alice is the district's dispatcher (she may register points), bob town A's duty officer, frank town
B's. The river gauge WL-A stands in town A (tests/sensing_data.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.adapters.tabular import write_xlsx
from shuzhi.services.actors import SYSTEM, resolve_actor
from shuzhi.services.errors import Invalid
from shuzhi.services.sensing import risk_points as rps
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_warnings import NOW, RIVER
from tests.sensing_data import load_sensing, reading, rows

POINT = {"code": "YL-001", "name": "龙岗街道北山路下穿道", "kind": "易涝点", "grade": "较大", "area_code": "500111001",
         "lon": "105.708", "lat": "29.706", "responsible_unit_code": "C500111001", "responsible_person": "李波",
         "responsible_phone": "13800138000", "patrol_frequency": "1d", "devices": "WL-A",
         "series": "", "description": ""}


def _upload(api: Api, who: str, name: str, data: bytes, status: int = 200) -> Any:
    return api.request("POST", "/api/risk-points/import", who, status, files={"file": (name, data)})


def test_risk_points_are_imported_from_excel_with_every_problem_at_its_row_and_column(
        api: Api, world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    load_sensing(uow)
    bad = [POINT,
           {**POINT, "code": "YL-002", "kind": "火山"},
           {**POINT, "code": "YL-003", "grade": "特别重大", "lon": "east"},
           {**POINT, "code": "YL-004", "devices": "NO-SUCH", "series": "RIVER_LEVEL"},
           {**POINT, "code": "YL-005", "responsible_unit_code": "NOPE", "patrol_frequency": "often"}]
    got = _upload(api, "alice", "points.xlsx", write_xlsx(bad, rps.COLUMNS), 422)
    assert {(d["row"], d["column"]) for d in got["details"]} == {
        (3, "kind"), (4, "grade"), (4, "lon"), (5, "devices"), (5, "series"), (6, "responsible_unit_code"),
        (6, "patrol_frequency")}
    assert api.get("/api/risk-points", who="alice") == [], "all or nothing"

    done = _upload(api, "alice", "points.xlsx", write_xlsx([POINT, {**POINT, "code": "YL-002", "kind": "geohazard",
                                                                    "grade": "一般", "devices": "",
                                                                    "series": "RIVER_LEVEL@500111001"}], rps.COLUMNS))
    assert (done["created"], done["updated"]) == (2, 0)
    point = api.get("/api/risk-points/YL-001", who="bob")
    assert (point["kind_name"], point["grade"], point["responsible_unit_name"], point["patrol_frequency"]) == \
        ("易涝点", "large", "龙岗街道城市运行和治理中心", "1d")
    assert [s["series_key"] for s in point["series"]] == ["WL-A"]
    # re-importing the same file changes nothing; bob (duty officer) may not import at all
    again = _upload(api, "alice", "points.xlsx", write_xlsx([POINT], rps.COLUMNS))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    _upload(api, "bob", "points.xlsx", write_xlsx([POINT], rps.COLUMNS), 403)
    with session_factory() as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "risk_point.import")).all()) == 2


def test_risk_points_are_imported_from_geojson(api: Api, world: World, uow: UnitOfWork) -> None:
    load_sensing(uow)
    props = {k: v for k, v in POINT.items() if k not in ("lon", "lat")}
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.725, 29.705]},
         "properties": {**props, "code": "WF-009", "name": "棠香街道危房", "kind": "dilapidated_house",
                        "area_code": "500111002", "responsible_unit_code": "C500111002", "devices": ""}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[105.7, 29.7], [105.71, 29.7]]},
         "properties": {**props, "code": "WF-010"}}]}
    got = _upload(api, "alice", "points.geojson", orjson.dumps(doc), 422)
    assert {(d["row"], d["column"]) for d in got["details"]} == {(3, "lon"), (3, "lat")}
    doc["features"].pop()
    assert _upload(api, "alice", "points.geojson", orjson.dumps(doc))["created"] == 1
    [point] = api.get("/api/risk-points", who="frank")
    assert (point["code"], point["lon"], point["lat"], point["state"]) == ("WF-009", 105.725, 29.705, "normal")


def test_a_point_follows_its_series_warnings_and_a_rectification_mark(
        api: Api, world: World, uow: UnitOfWork) -> None:
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})
    assert not rps.import_risk_points(uow, rows(POINT), SYSTEM).errors

    def state() -> str:
        [p] = api.get("/api/risk-points", who="bob")
        assert api.get("/api/risk-points/YL-001", who="bob")["state"] == p["state"]
        return str(p["state"])

    def river(minutes: int, value: float) -> None:
        ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=minutes)).isoformat(), value,
                                     device="WL-A")], now=NOW)

    river(30, 1.0)
    assert state() == "normal"
    river(20, 2.6)  # yellow: to watch
    assert state() == "watch"
    river(10, 3.2)  # orange: in warning
    assert state() == "warning"
    assert api.get("/api/risk-points?state=warning", who="alice")[0]["code"] == "YL-001"
    assert api.get("/api/risk-points?state=normal", who="alice") == []

    marked = api.post("/api/risk-points/YL-001/rectification", "alice", {"active": True, "reason": "加装排水泵"})
    assert marked["state"] == "warning", "a live warning outranks the rectification"
    river(5, 1.0)  # back below every level
    assert state() == "in_rectification"
    api.post("/api/risk-points/YL-001/rectification", "alice", {"active": True, "reason": "again"}, status=422)
    done = api.post("/api/risk-points/YL-001/rectification", "alice", {"active": False, "reason": "泵站投用"})
    assert done["state"] == "normal"
    assert [(e["action"], e["reason"], e["actor"][:2]) for e in done["timeline"]] == [
        ("rectification.found", "加装排水泵", "王丽"), ("rectification.cancelled", "泵站投用", "王丽")]
    assert api.get("/api/risk-points?state=bogus", who="bob", status=422)["field"] == "state"


def test_a_town_sees_only_its_own_points(api: Api, world: World, uow: UnitOfWork) -> None:
    load_sensing(uow)
    assert not rps.import_risk_points(uow, rows(POINT), SYSTEM).errors
    assert [p["code"] for p in api.get("/api/risk-points", who="bob")] == ["YL-001"]
    assert api.get("/api/risk-points", who="frank") == []
    theirs = api.get("/api/risk-points/YL-001", who="frank", status=404)
    missing = api.get("/api/risk-points/NOPE", who="frank", status=404)
    assert theirs["detail"].replace("YL-001", "X") == missing["detail"].replace("NOPE", "X")
    api.post("/api/risk-points/YL-001/rectification", "frank", {"active": True, "reason": "x"}, status=403)
    # the map layer comes back unchanged as a 304, and changed as a new body
    first = api.client.get("/api/risk-points", headers=api.headers("bob"))
    tag = first.headers["etag"]
    again = api.client.get("/api/risk-points", headers={**api.headers("bob"), "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    api.post("/api/risk-points/YL-001/rectification", "alice", {"active": True, "reason": "加固"})
    changed = api.client.get("/api/risk-points", headers={**api.headers("bob"), "If-None-Match": tag})
    assert changed.status_code == 200 and changed.json()[0]["state"] == "in_rectification"



def test_the_cockpit_layer_is_compact_scoped_and_tagged(api: Api, world: World, uow: UnitOfWork) -> None:
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})
    assert not rps.import_risk_points(uow, rows(POINT, {**POINT, "code": "YL-002", "devices": "",
                                                         "kind": "危岩", "lon": "105.7012345"}), SYSTEM).errors
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=5)).isoformat(), 3.2, device="WL-A")],
           now=NOW)
    layer = api.get("/api/cockpit/risk-layer", who="bob")
    assert layer["code"] == ["YL-001", "YL-002"] and layer["lon"] == [105.708, 105.70123]
    assert [layer["states"][i] for i in layer["state"]] == ["warning", "normal"]
    assert [layer["kinds"][i][1] for i in layer["kind"]] == ["易涝点", "危岩"]
    assert "name" not in layer and "龙岗街道北山路下穿道" not in str(layer), "names come on click, not with the layer"
    assert api.get("/api/cockpit/risk-layer", who="frank")["code"] == []
    assert api.get("/api/cockpit/risk-layer?kind=dangerous_rock", who="bob")["code"] == ["YL-002"]
    first = api.client.get("/api/cockpit/risk-layer", headers={**api.headers("bob"), "Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"
    again = api.client.get("/api/cockpit/risk-layer", headers={**api.headers("bob"), "Accept-Encoding": "gzip",
                                                               "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_the_kept_layer_follows_every_change_of_warnings_marks_points_kinds_and_the_database(
        api: Api, world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    """The layer is kept between requests (its register under the risk points' change stamp, its
    encodings under its version): each change shows at the next request, whoever made it."""
    from sqlalchemy import text

    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})
    assert not rps.import_risk_points(uow, rows(POINT, {**POINT, "code": "YL-002", "devices": "",
                                                         "lon": "105.7041"}), SYSTEM).errors
    gz = {"Accept-Encoding": "gzip"}

    def layer(who: str = "bob") -> tuple[str, dict[str, Any]]:
        r = api.client.get("/api/cockpit/risk-layer", headers={**api.headers(who), **gz})
        assert r.status_code == 200, r.text
        got = r.json()
        return r.headers["etag"], dict(zip(got["code"], ([got["states"][i] for i in got["state"]]), strict=True))

    tag, first = layer()
    assert first == {"YL-001": "normal", "YL-002": "normal"}
    assert layer() == (tag, first), "the same layer, the same version"
    again = api.client.get("/api/cockpit/risk-layer", headers={**api.headers("bob"), **gz, "If-None-Match": tag})
    assert again.status_code == 304
    assert layer("frank")[1] == {}, "another scope, its own layer from the same register"

    # a warning of a watched series (no change to the register): the point turns at once
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=5)).isoformat(), 3.2, device="WL-A")],
           now=NOW)
    tag2, got = layer()
    assert got == {"YL-001": "warning", "YL-002": "normal"} and tag2 != tag
    changed = api.client.get("/api/cockpit/risk-layer", headers={**api.headers("bob"), **gz, "If-None-Match": tag})
    assert changed.status_code == 200
    # a rectification mark
    api.post("/api/risk-points/YL-002/rectification", "alice", {"active": True, "reason": "加固"})
    assert layer()[1] == {"YL-001": "warning", "YL-002": "in_rectification"}
    # a re-import moving a point to town B
    assert not rps.import_risk_points(uow, rows({**POINT, "code": "YL-002", "devices": "", "area_code": "500111002",
                                                 "responsible_unit_code": "C500111002"}), SYSTEM).errors
    assert layer()[1] == {"YL-001": "warning"}
    assert layer("frank")[1] == {"YL-002": "in_rectification"}
    # a kind renamed
    api.request("PUT", "/api/risk-points/kinds", "admin", json={"kinds": [{"code": "waterlogging", "name": "积水点"}]})
    assert api.get("/api/cockpit/risk-layer", who="bob")["kinds"] == [["waterlogging", "积水点"]]
    # an operator's statement in the database, past the services
    with session_factory() as s:
        s.execute(text("UPDATE risk_points SET active = false WHERE code = 'YL-001'"))
        s.commit()
    assert layer()[1] == {}


def test_the_kinds_are_data_and_a_kind_in_use_stays(api: Api, world: World, uow: UnitOfWork,
                                                    session_factory: sessionmaker[Session]) -> None:
    assert [k["name"] for k in api.get("/api/risk-points/kinds", who="bob")] == \
        ["危岩", "地灾隐患点", "易涝点", "危旧房", "燃气管网节点", "桥隧"]
    load_sensing(uow)
    assert not rps.import_risk_points(uow, rows(POINT), SYSTEM).errors
    body = {"kinds": [{"code": "waterlogging", "name": "易涝点"}, {"code": "tailings_dam", "name": "尾矿库"}]}
    assert api.request("PUT", "/api/risk-points/kinds", "admin", json=body)[1]["name"] == "尾矿库"
    gone = api.request("PUT", "/api/risk-points/kinds", "admin", 422,
                       json={"kinds": [{"code": "tailings_dam", "name": "尾矿库"}]})
    assert gone["field"] == "kinds" and "waterlogging" in gone["detail"]
    bad = api.request("PUT", "/api/risk-points/kinds", "admin", 422,
                      json={"kinds": [{"code": "Bad Code", "name": "x"}]})
    assert bad["field"] == "kinds[0].code"
    api.request("PUT", "/api/risk-points/kinds", "alice", 403, json=body)  # a district, not the installation
    with session_factory() as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "risk_point.kinds")).all()
        assert entry.details["after"][1] == ["tailings_dam", "尾矿库"]


def test_a_grid_worker_checks_a_point_of_his_grid_on_his_running_patrol(
        api: Api, world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    from datetime import UTC, datetime

    load_sensing(uow)
    mine = {**POINT, "code": "WY-001", "kind": "危岩", "area_code": "500111001001001", "devices": "",
            "lon": "105.703", "lat": "29.703", "patrol_frequency": "1d"}
    assert not rps.import_risk_points(uow, rows(mine, {**POINT, "code": "YL-009", "devices": ""}), SYSTEM).errors
    [listed] = api.get("/api/risk-points", who="dave")
    assert (listed["code"], listed["check_due"], listed["last_checked_at"]) == ("WY-001", True, None)
    api.post("/api/risk-points/YL-009/checks", "dave", {"result": "normal"}, status=404)  # not his grid
    assert api.post("/api/risk-points/WY-001/checks", "dave", {"result": "abnormal"}, status=422)["field"] == "note"
    assert api.post("/api/risk-points/WY-001/checks", "dave", {"result": "ok"}, status=422)["field"] == "result"
    with pytest.raises(Invalid) as bad:
        rps.record_check(uow, resolve_actor(session_factory(), "dave"), "WY-001", result="ok")
    assert bad.value.field == "result"
    api.post("/api/risk-points/WY-001/checks", "frank", {"result": "normal"}, status=403)  # not a grid worker

    patrol = api.post("/api/patrols", "dave", {"point": {"lon": 105.7021, "lat": 29.7021,
                                                          "at": datetime.now(UTC).isoformat()}}, status=201)
    done = api.post("/api/risk-points/WY-001/checks", "dave", {"result": "abnormal", "note": "坡面有新裂缝",
                                                               "lon": 105.703, "lat": 29.703}, status=201)
    [check] = done["checks"]
    assert (check["result"], check["note"], check["patrol_id"]) == ("abnormal", "坡面有新裂缝", patrol["id"])
    assert done["check_due"] is False
    [listed] = api.get("/api/risk-points", who="dave")
    assert listed["check_due"] is False and listed["last_checked_at"] is not None
    assert api.get("/api/risk-points/WY-001", who="bob")["checks"][0]["actor"] == "赵伟(dave)"


def test_the_cli_imports_risk_points_from_geojson_and_names_bad_rows(world: World, uow: UnitOfWork, tmp_path: Any,
                                                                     engine: Any) -> None:
    from typer.testing import CliRunner

    from shuzhi.entrypoints.cli import app

    load_sensing(uow)
    url = engine.url.render_as_string(hide_password=False)
    props = {k: v for k, v in POINT.items() if k not in ("lon", "lat")}
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.708, 29.706]}, "properties": props}]}
    good = tmp_path / "points.geojson"
    good.write_bytes(orjson.dumps(doc))
    result = CliRunner().invoke(app, ["import", "risk-points", str(good), "--database-url", url])
    assert result.exit_code == 0 and "1 created" in result.output, result.output
    doc["features"][0]["properties"]["grade"] = "特别重大"
    good.write_bytes(orjson.dumps(doc))
    result = CliRunner().invoke(app, ["import", "risk-points", str(good), "--database-url", url])
    assert result.exit_code == 1 and "grade" in result.output


def test_the_map_layer_is_gzipped_for_a_browser_that_accepts_it_with_its_own_etag(api: Api, world: World,
                                                                                  uow: UnitOfWork) -> None:
    load_sensing(uow)
    assert not rps.import_risk_points(uow, rows(POINT), SYSTEM).errors
    plain = api.client.get("/api/risk-points", headers={**api.headers("bob"), "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()[0]["code"] == "YL-001"
    packed = api.client.get("/api/risk-points", headers={**api.headers("bob"), "Accept-Encoding": "gzip, deflate"})
    assert packed.headers["content-encoding"] == "gzip" and "Accept-Encoding" in packed.headers["vary"]
    assert packed.json() == plain.json(), "the same points, decoded by the client"
    assert packed.headers["etag"] != plain.headers["etag"], "a cache must not answer one encoding with the other"
    again = api.client.get("/api/risk-points", headers={**api.headers("bob"), "Accept-Encoding": "gzip",
                                                         "If-None-Match": packed.headers["etag"]})
    assert again.status_code == 304


def test_thousands_of_points_are_imported_set_based_with_the_same_points_series_audit_and_states(
        world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    """3,000 points in one file, then again with some changed and some new: every point, its series,
    one audit line per created or changed point (the chain holds), the map layer's states; a bad row
    among thousands writes nothing."""
    from shuzhi.adapters.db.tables import Area
    from shuzhi.adapters.db.tables_sensing import Indicator, RiskPoint, RiskPointChange, RiskPointSeries
    from shuzhi.services.security import audit

    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})

    def point(i: int, **changed: str) -> dict[str, str]:
        return {**POINT, "code": f"BP-{i:05d}", "name": f"风险点{i}", "area_code": ("500111001", "500111002")[i % 2],
                "responsible_unit_code": ("C500111001", "C500111002")[i % 2], "lon": f"{105.7 + i / 1e5:.5f}",
                "grade": ("重大", "较大", "一般", "低")[i % 4], "kind": ("易涝点", "geohazard")[i % 2],
                "devices": "WL-A" if i % 3 == 0 else "", "series": "RIVER_LEVEL@500111001" if i % 5 == 0 else "",
                "patrol_frequency": "" if i % 7 == 0 else "1d", **changed}

    def stored() -> dict[str, tuple[Any, ...]]:
        with session_factory() as s:
            series: dict[int, list[tuple[str, str]]] = {}
            for pid, ind, key in s.execute(select(RiskPointSeries.risk_point_id, Indicator.code,
                                                  RiskPointSeries.series_key)
                                           .join(Indicator, Indicator.id == RiskPointSeries.indicator_id)):
                series.setdefault(pid, []).append((ind, key))
            return {code: (name, area, kind, grade, rect, every, sorted(series.get(pid, [])))
                    for pid, code, name, area, kind, grade, rect, every in s.execute(
                        select(RiskPoint.id, RiskPoint.code, RiskPoint.name, Area.code, RiskPoint.kind,
                               RiskPoint.grade, RiskPoint.rectifying, RiskPoint.patrol_every_s)
                        .join(Area, Area.id == RiskPoint.area_id))}

    def audit_lines() -> list[tuple[str, Any, Any]]:
        with session_factory() as s:
            return [(e.object, e.details["before"], e.details["after"]) for e in s.scalars(
                select(AuditEntry).where(AuditEntry.action == "risk_point.import").order_by(AuditEntry.id))]

    def expected(r: dict[str, str]) -> tuple[Any, ...]:
        keys = ([("RIVER_LEVEL", "WL-A")] if r["devices"] else []) + \
            ([("RIVER_LEVEL", "500111001")] if r["series"] else [])
        return (r["name"], r["area_code"], "waterlogging" if r["kind"] == "易涝点" else "geohazard",
                {"重大": "major", "较大": "large", "一般": "general", "低": "low"}[r["grade"]], False,
                86_400 if r["patrol_frequency"] else None, sorted(keys))

    first = [point(i) for i in range(3000)]
    report = rps.import_risk_points(uow, rows(*first), SYSTEM)
    assert (report.errors, report.created, report.updated, report.unchanged) == ([], 3000, 0, 0)
    assert stored() == {r["code"]: expected(r) for r in first}
    lines = audit_lines()
    assert [o for o, _, _ in lines] == [f"risk_point:{r['code']}" for r in first], "one line a point, in file order"
    assert all(b is None for _, b, _ in lines)
    assert [key for _, key in lines[3][2]["series"]] == ["WL-A"]
    assert lines[3][2]["grade"] == "low" and lines[3][2]["active"] is True

    # a bad row among thousands: nothing written
    bad = [*first[:1500], point(1500, grade="特别重大"), *[point(i) for i in range(3000, 4000)]]
    report = rps.import_risk_points(uow, rows(*bad), SYSTEM)
    assert [(e.row, e.column) for e in report.errors] == [(1502, "grade")]
    assert len(stored()) == 3000 and len(audit_lines()) == 3000

    # again: names changed on a tenth, series dropped on others, 100 new; a rectification mark survives
    rps.mark_rectification(uow, SYSTEM, "BP-00003", active=True, reason="整改")
    second = [point(i, name=f"改{i}") if i % 10 == 1 else point(i, devices="") if i % 10 == 3 else point(i)
              for i in range(3100)]
    report = rps.import_risk_points(uow, rows(*second), SYSTEM)
    changed_series = [i for i in range(3000) if i % 10 == 3 and i % 3 == 0]
    assert (report.created, report.updated, report.unchanged) == (100, 300 + len(changed_series),
                                                                   3000 - 300 - len(changed_series))
    want = {r["code"]: expected(r) for r in second}
    want["BP-00003"] = (*want["BP-00003"][:4], True, *want["BP-00003"][5:])
    assert stored() == want
    again = audit_lines()[3000:]
    assert [o for o, _, _ in again] == [f"risk_point:{r['code']}" for i, r in enumerate(second)
                                        if i >= 3000 or i % 10 == 1 or i in changed_series]
    by_object = {o: (b, a) for o, b, a in again}
    before, after = by_object["risk_point:BP-00011"]
    assert (before["name"], after["name"]) == ("风险点11", "改11")
    before, after = by_object["risk_point:BP-00003"]
    assert (len(before["series"]), after["series"]) == (1, [])
    with session_factory() as s:
        assert audit.verify_chain(s).ok
        assert [c.action for c in s.scalars(select(RiskPointChange))] == ["rectification.found"], \
            "an import writes no timeline line"

    # the map layer: each point's state and check due as the domain rules say
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=5)).isoformat(), 3.2, device="WL-A")],
           now=NOW)
    layer = rps.list_points(uow, SYSTEM, now=NOW)
    assert [p["code"] for p in layer] == sorted(want)
    states = {p["code"]: p["state"] for p in layer}
    watched = {c for c, v in want.items() if ("RIVER_LEVEL", "WL-A") in v[6]}
    assert {c for c, st in states.items() if st == "warning"} == watched
    assert {c for c, st in states.items() if st == "in_rectification"} == {"BP-00003"} - watched
    assert {c for c, st in states.items() if st == "normal"} == set(want) - watched - {"BP-00003"}
    assert {p["code"] for p in layer if p["check_due"]} == {c for c, v in want.items() if v[5]}
    assert rps.list_points(uow, SYSTEM, state="warning", limit=10, now=NOW) == \
        [p for p in layer if p["state"] == "warning"][:10]
    # the cockpit's compact layer draws the same points in the same states, kinds and places
    compact = rps.map_layer(uow, SYSTEM)
    assert compact["code"] == [p["code"] for p in layer]
    assert [compact["states"][i] for i in compact["state"]] == [p["state"] for p in layer]
    assert [compact["kinds"][i][1] for i in compact["kind"]] == [p["kind_name"] for p in layer]
    assert compact["lon"] == [round(p["lon"], 5) for p in layer]
    assert compact["lat"] == [round(p["lat"], 5) for p in layer]
