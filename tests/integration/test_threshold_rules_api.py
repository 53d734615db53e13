"""Threshold rules, silences and inhibitions over HTTP: checked with paths, imported all or nothing,
exported in the import format, and only for those who may configure warnings."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.tabular import write_xlsx
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.sensing_data import load_sensing

RULE: dict[str, Any] = {
    "code": "RIVER", "name": "河道水位", "indicator": "RIVER_LEVEL", "for": "5m", "keep_firing_for": "15m",
    "conditions": [{"kind": "value", "op": "above", "levels": {"yellow": 2.5, "red": 3.5}},
                   {"kind": "rate", "op": "above", "window": "1h", "levels": {"orange": 0.5}}],
    "actions": {"red": {"mode": "handle", "event_class": "0301", "urgency": "critical", "dispatch": True}},
}


@pytest.fixture
def admin(world: World, session_factory: sessionmaker[Session], uow: UnitOfWork) -> str:
    """alice's colleague ada administers the district's configuration."""
    from shuzhi.adapters.db.tables import Person

    load_sensing(uow)
    with session_factory() as s:
        s.add(Person(code="ada", name="管理员", unit_id=world.units["C500111"].id, role="administrator"))
        s.commit()
    return "ada"


def upload(api: Api, who: str, name: str, data: bytes, status: int = 200) -> Any:
    return api.request("POST", "/api/threshold-rules/import", who, status,
                       files={"file": (name, data, "application/octet-stream")})


def test_create_read_update_delete(api: Api, admin: str) -> None:
    created = api.post("/api/threshold-rules", admin, RULE, status=201)
    assert created["version"] == 1 and created["for"] == "5m" and created["conditions"][1]["window"] == "1h"
    assert api.get("/api/threshold-rules/RIVER", who="alice")["indicator"] == "RIVER_LEVEL"
    changed = api.request("PUT", "/api/threshold-rules/RIVER?expected_version=1", admin, 200,
                          json={**RULE, "for": "10m"})
    assert changed["version"] == 2 and changed["for"] == "10m"
    api.request("PUT", "/api/threshold-rules/RIVER?expected_version=1", admin, 409, json=RULE)
    api.post("/api/threshold-rules", admin, RULE, status=409)
    api.post("/api/threshold-rules", admin, {**RULE, "code": "RIVER2"}, status=422)  # same indicator and area
    api.request("DELETE", "/api/threshold-rules/RIVER", admin, 204)
    api.get("/api/threshold-rules/RIVER", status=404, who="alice")


def test_a_bad_rule_names_each_bad_node(api: Api, admin: str) -> None:
    bad = {**RULE, "indicator": "NOPE",
           "conditions": [{"kind": "value", "op": "above", "levels": {"yellow": 3, "red": 2}}]}
    body = api.post("/api/threshold-rules", admin, bad, status=422)
    assert body["field"] == "$.conditions[0].levels.red"
    unknown = api.post("/api/threshold-rules", admin, {**RULE, "indicator": "NOPE"}, status=422)
    assert unknown["field"] == "$.indicator"
    cls = {**RULE, "actions": {"red": {"mode": "handle", "event_class": "9999"}}}
    assert api.post("/api/threshold-rules", admin, cls, status=422)["field"] == "$.actions.red.event_class"
    assert api.get("/api/threshold-rules", who="alice") == []


def test_only_configurers_write(api: Api, admin: str) -> None:
    api.post("/api/threshold-rules", "alice", RULE, status=403)
    api.post("/api/warning-silences", "alice", {"ends_at": "2030-01-01T00:00:00+08:00", "comment": "x",
                                               "matcher": {"indicators": ["RIVER_LEVEL"]}}, status=403)


def test_export_and_import_round_trip_json_and_xlsx(api: Api, admin: str) -> None:
    api.post("/api/threshold-rules", admin, RULE, status=201)
    api.post("/api/threshold-rules", admin, {**RULE, "code": "RIVER-A", "area": "500111001"}, status=201)
    exported = json.dumps(api.get("/api/threshold-rules/export?format=json", who="alice")).encode()
    again = upload(api, admin, "rules.json", exported)
    assert again == {"created": [], "updated": [], "unchanged": ["RIVER", "RIVER-A"]}
    sheet = api.get("/api/threshold-rules/export?format=xlsx", who="alice").content
    ws = load_workbook(io.BytesIO(sheet)).active
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value or "" for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]
    rows[0]["for"] = "20m"
    rows.append({**rows[1], "code": "RIVER-B", "area": "500111002"})
    data = write_xlsx([{k: str(v) for k, v in r.items()} for r in rows], header)
    report = upload(api, admin, "rules.xlsx", data)
    assert report == {"created": ["RIVER-B"], "updated": ["RIVER"], "unchanged": ["RIVER-A"]}
    assert api.get("/api/threshold-rules/RIVER", who="alice")["for"] == "20m"


def test_a_bad_import_changes_nothing_and_lists_every_problem(api: Api, admin: str) -> None:
    docs = [RULE, {**RULE, "code": "X", "area": "500111001",
                   "conditions": [{"kind": "rate", "levels": {"red": 1}}]},
            {**RULE, "code": "RIVER"}]
    body = upload(api, admin, "rules.json", json.dumps({"rules": docs}).encode(), 422)
    paths = {d["path"] for d in body["details"]}
    assert {"$[1].conditions[0].window", "$[2].code"} <= paths
    assert api.get("/api/threshold-rules", who="alice") == []
    sheet = write_xlsx([{"code": "Y", "indicator": "RIVER_LEVEL", "conditions": "{not json"}],
                       ["code", "indicator", "conditions"])
    body = upload(api, admin, "rules.xlsx", sheet, 422)
    assert body["details"][0]["row"] == 2 and body["details"][0]["column"] == "conditions"


def test_silences_and_inhibitions(api: Api, admin: str) -> None:
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = api.post("/api/warning-silences", admin, {
        "ends_at": until, "comment": "管网施工",
        "matcher": {"indicators": ["S2.R1"], "area": "500111001", "levels": ["blue", "yellow"]}}, status=201)
    assert created["active"] is True
    assert [x["id"] for x in api.get("/api/warning-silences", who="alice")] == [created["id"]]
    bad = api.post("/api/warning-silences", admin, {"ends_at": until, "comment": "x",
                                                    "matcher": {"levels": ["purple"], "area": "1"}}, status=422)
    assert bad["field"].startswith("matcher.")
    api.post("/api/warning-silences", admin, {"ends_at": until, "comment": "all",
                                              "matcher": {}}, status=422)
    ended = api.request("DELETE", f"/api/warning-silences/{created['id']}", admin, 200)
    assert ended["active"] is False and api.get("/api/warning-silences", who="alice") == []
    inh = api.request("PUT", "/api/warning-inhibitions/POWER-PUMPS", admin, 200, json={
        "source": {"indicators": ["OUTAGES"]}, "target": {"indicators": ["RIVER_LEVEL"]}, "min_level": "yellow"})
    assert inh["scope"] == "subtree"
    api.request("PUT", "/api/warning-inhibitions/X", admin, 422, json={"source": {"indicators": ["NOPE"]},
                                                                        "target": {"indicators": ["OUTAGES"]}})
    api.request("DELETE", "/api/warning-inhibitions/POWER-PUMPS", admin, 204)
    assert api.get("/api/warning-inhibitions", who="alice") == []


def test_warnings_over_http(api: Api, admin: str) -> None:
    api.post("/api/threshold-rules", admin, {**RULE, "for": "0s"}, status=201)
    api.post("/api/readings", admin, {"readings": [
        {"indicator": "RIVER_LEVEL", "device": "WL-A", "at": "2026-06-13T08:00:00+08:00", "value": 3.9}]})
    listed = api.get("/api/warnings", who="bob")
    assert listed["total"] == 1 and listed["items"][0]["level"] == "red"
    wid = listed["items"][0]["id"]
    assert listed["items"][0]["event_number"]
    assert api.get("/api/warnings?area=500111002", who="alice")["total"] == 0
    api.get(f"/api/warnings/{wid}", status=404, who="frank")
    acked = api.post(f"/api/warnings/{wid}/ack", "bob", {"comment": "收到"})
    assert acked["ack_note"] == "收到"
    api.post(f"/api/warnings/{wid}/ack", "bob", {}, status=409)
    assert api.post("/api/warnings/check", admin, {})["series"] >= 1
