"""Plan templates over the API: versions, JSON and XLSX round trips, refusals that name the place."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import load_workbook

from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_plan_runs import template


def _upload(api: Api, who: str, name: str, data: bytes, status: int = 200) -> Any:
    return api.request("POST", "/api/plans/import", who, status, files={"file": (name, data)})


def test_versions_and_refusals(api: Api, world: World) -> None:
    api.post("/api/plans", "alice", template(), status=403)  # writing plans is an administrator's job
    bad = template()
    bad["tasks"][2]["role"] = "grid_leader"
    bad["tasks"][0]["after"] = ["grid"]
    r = api.post("/api/plans", "admin", bad, status=422)
    assert r["field"] == "$.tasks[2].role"
    assert {d["path"] for d in r["details"]} == {"$.tasks[2].role", "$.tasks[0].after"}
    assert "brief → grid → brief" in json.dumps(r["details"], ensure_ascii=False) or any(
        "dependency cycle" in d["message"] for d in r["details"])
    first = api.post("/api/plans", "admin", template())
    assert first["version"] == 1
    changed = template(name="暴雨应急预案（修订）")
    assert api.post("/api/plans", "admin", changed)["version"] == 2
    assert api.post("/api/plans", "admin", changed)["version"] == 2  # unchanged: no new version
    assert api.get("/api/plans/storm?version=1")["document"]["name"] == "暴雨应急预案"
    assert api.get("/api/plans/storm")["name"] == "暴雨应急预案（修订）"
    api.get("/api/plans/storm?version=9", status=404)


def test_json_and_xlsx_round_trips(api: Api, world: World) -> None:
    api.post("/api/plans", "admin", template())
    exported = api.client.get("/api/plans/export?format=json", headers=api.headers("admin")).content
    assert json.loads(exported)[0]["code"] == "storm"
    report = _upload(api, "admin", "p.json", exported)
    assert report == {"created": [], "updated": [], "unchanged": ["storm"]}
    xlsx = api.get("/api/plans/export?format=xlsx").content
    wb = load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["plans", "tasks"] and wb["tasks"].max_row == 4
    wb["plans"]["B2"] = "暴雨应急预案（表格）"
    buf = io.BytesIO()
    wb.save(buf)
    report = _upload(api, "admin", "p.xlsx", buf.getvalue())
    assert report["updated"] == ["storm"]
    doc = api.get("/api/plans/storm")["document"]
    assert doc["tasks"][2]["after"] == ["brief"] and doc["tasks"][0]["checklist"] == ["通知村社", "值班到岗"]

    wb["tasks"]["D3"] = "mayor"  # the second task's role
    buf = io.BytesIO()
    wb.save(buf)
    r = api.client.post("/api/plans/import", files={"file": ("p.xlsx", buf.getvalue())}, headers=api.headers("admin"))
    assert r.status_code == 422 and r.json()["field"] == "tasks row 3 column role"
    assert api.get("/api/plans/storm")["name"] == "暴雨应急预案（表格）"  # nothing changed
    assert _upload(api, "admin", "p.json", b"[{\"code\": 1}]", 422)["field"].startswith("[0]")
    r = api.client.post("/api/plans/import", files={"file": ("p.json", b"{not json")}, headers=api.headers("admin"))
    assert r.status_code == 422 and r.json()["field"] == "file"
