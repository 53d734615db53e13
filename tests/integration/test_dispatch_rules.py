"""Dispatch rules over the HTTP API, as the people of the small world: alice is the district
dispatcher, carol handles city management (城管, D500111-CGJ), erin water (D500111-SWJ), frank is town B's
duty officer.  Events are reported at grid A-1 of town A unless said otherwise."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import DispatchRuleVersion, Event, Task, TimelineEntry
from tests.factories import World
from tests.integration.conftest import Api

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def rule_body(code: str = "R-CGJ", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code, "name": "井盖破损交城管", "priority": 10,
        "condition": {"and": [leaf("event_class", "in", ["0101"]),
                              leaf("source", "in", ["hotline", "grid_patrol"]),
                              {"not": leaf("text", "contains_any", ["咨询"])}]},
        "targets": {"lead": "D500111-CGJ", "assist": [{"responsible": True, "level": "town"}]},
    }
    body.update(kw)
    return body


def create(api: Api, code: str = "R-CGJ", status: int = 201, **kw: Any) -> Any:
    return api.post("/api/dispatch-rules", "alice", rule_body(code, **kw), status=status)


def dry(api: Api, body: dict[str, Any], status: int = 200) -> Any:
    return api.post("/api/dispatch/dry-run", "alice", body, status=status)


def change(**kw: Any) -> dict[str, Any]:
    """A PUT body: the rule's content (no code) with the changes."""
    body = {k: v for k, v in rule_body().items() if k != "code"}
    body.update(kw)
    return body


def put(api: Api, code: str, body: dict[str, Any], status: int = 200) -> Any:
    r = api.client.put(f"/api/dispatch-rules/{code}", json=body, headers=api.headers("alice"))
    assert r.status_code == status, r.text
    return r.json()


def upload(api: Api, name: str, data: bytes, content_type: str, status: int = 200) -> Any:
    r = api.client.post("/api/dispatch-rules/import", files={"file": (name, data, content_type)},
                        headers=api.headers("alice"))
    assert r.status_code == status, r.text
    return r.json()


def timeline(api: Api, ev: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [t for t in api.get(f"/api/events/{ev['number']}/timeline") if t["action"] == action]


def counts(factory: sessionmaker[Session]) -> tuple[int, int, int, int]:
    with factory() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (Event, Task, TimelineEntry, DispatchRuleVersion))


# --- CRUD and versions ---------------------------------------------------------------------------


def test_create_read_update_delete_with_every_version_kept(api: Api, world: World) -> None:
    created = create(api)
    assert created["version"] == 1 and created["created_by"] == "王丽(alice)"
    create(api, "R-SWJ", priority=5, condition=leaf("event_class", "eq", "0301"),
           targets={"lead": {"unit": "D500111-SWJ"}})
    assert [r["code"] for r in api.get("/api/dispatch-rules")] == ["R-SWJ", "R-CGJ"]  # by priority
    assert api.get("/api/dispatch-rules/R-CGJ")["targets"]["lead"] == "D500111-CGJ"

    changed = put(api, "R-CGJ", change(name="井盖类交城管", expected_version=1, reason="改名"))
    assert changed["version"] == 2 and changed["name"] == "井盖类交城管"
    stale = put(api, "R-CGJ", change(priority=3, expected_version=1), status=409)
    assert stale["field"] == "expected_version"
    same = put(api, "R-CGJ", change(name="井盖类交城管"))
    assert same["version"] == 2  # nothing changed, no new version

    r = api.client.delete("/api/dispatch-rules/R-CGJ", params={"expected_version": 2, "reason": "停用"},
                          headers=api.headers("alice"))
    assert r.status_code == 204, r.text
    api.get("/api/dispatch-rules/R-CGJ", status=404)
    versions = api.get("/api/dispatch-rules/R-CGJ/versions")
    assert [(v["version"], v["change"], v["reason"]) for v in versions] == [
        (1, "create", None), (2, "update", "改名"), (3, "delete", "停用")]
    assert [v["snapshot"]["name"] for v in versions[:2]] == ["井盖破损交城管", "井盖类交城管"]
    # a rule created again under the same code continues its history
    again = create(api)
    assert again["version"] == 4
    api.post("/api/dispatch-rules", "alice", rule_body(), status=409)


def test_a_bad_rule_is_refused_with_every_path_and_nothing_is_stored(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    bad = rule_body(condition={"and": [leaf("event_class", "in", ["0101", "9999"]),
                                       leaf("source", "gte", "hotline"), {"or": []},
                                       leaf("time_of_day", "between", ["22:00", "25:00"]),
                                       leaf("area", "within", "500199")]},
                    targets={"lead": {"unit": "NOBODY"}, "assist": [{"kind": "team"}]})
    before = counts(session_factory)
    body = api.post("/api/dispatch-rules", "alice", bad, status=422)
    assert body["field"] == "$.condition.and[0].value[1]"
    assert [(p["path"], p["code"]) for p in body["details"]] == [
        ("$.condition.and[0].value[1]", "unknown_value"),
        ("$.condition.and[1].op", "op_not_allowed"),
        ("$.condition.and[2].or", "empty"),
        ("$.condition.and[3].value[1]", "bad_time"),
        ("$.condition.and[4].value", "unknown_value"),
        ("$.targets.assist[0].kind", "unknown_value"),
    ]
    assert counts(session_factory) == before
    assert api.get("/api/dispatch-rules") == []
    api.get("/api/dispatch-rules/R-CGJ/versions", status=404)
    # once the shape is right, the unknown unit is named too
    body = create(api, targets={"lead": {"unit": "NOBODY"}}, status=422)
    assert body["field"] == "$.targets.lead.unit" and "unknown unit" in body["detail"]
    # an update is checked the same way and leaves the stored rule alone
    create(api)
    body = put(api, "R-CGJ", change(condition=leaf("colour", "eq", "red")), status=422)
    assert body["field"] == "$.condition.field"
    assert api.get("/api/dispatch-rules/R-CGJ")["version"] == 1


def test_department_tasks_are_not_pushed_down_to_a_grid(api: Api, world: World) -> None:
    # 0101 is in the city-management bureau's duties and not in the grid team's
    body = create(api, targets={"lead": {"kind": "grid"}}, status=422)
    assert body["field"] == "$.targets.lead" and body["details"][0]["code"] == "pushed_down"
    body = create(api, targets={"lead": "G500111001001001"}, status=422)
    assert "not pushed down" in body["detail"]
    # 0201 (exposed rubbish) is the grid team's own duty: fine
    create(api, condition=leaf("event_class", "eq", "0201"), targets={"lead": {"kind": "grid"}})


# --- import and export ---------------------------------------------------------------------------


def test_json_import_is_all_or_nothing_and_lists_every_problem(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    rules = [rule_body("R1"), rule_body("R2", condition=leaf("source", "eq", "fax")),
             rule_body("R3", targets={"lead": "NOBODY"}), {"code": "R4", "condition": {}, "targets": {}},
             rule_body("R1")]
    before = counts(session_factory)
    body = upload(api, "rules.json", json.dumps({"rules": rules}).encode(), "application/json", status=422)
    paths = [p["path"] for p in body["details"]]
    assert paths == ["$[1].condition.value", "$[2].targets.lead", "$[3].name", "$[3].condition",
                     "$[3].targets.lead", "$[4].code"]
    assert counts(session_factory) == before

    good = [rule_body("R1"), rule_body("R2", priority=20, condition=leaf("event_class", "eq", "0301"),
                                       targets={"lead": "D500111-SWJ"})]
    assert upload(api, "rules.json", json.dumps(good).encode(), "application/json") == {
        "created": ["R1", "R2"], "updated": [], "unchanged": []}
    good[1]["priority"] = 30
    assert upload(api, "rules.json", json.dumps(good).encode(), "application/json") == {
        "created": [], "updated": ["R2"], "unchanged": ["R1"]}
    assert api.get("/api/dispatch-rules/R2/versions")[-1]["reason"] == "import rules.json"


def test_xlsx_export_and_import_round_trip_and_bad_rows_are_named(api: Api, world: World) -> None:
    create(api)
    exported = api.client.get("/api/dispatch-rules/export", params={"format": "json"},
                              headers=api.headers("alice")).json()
    assert [r["code"] for r in exported["rules"]] == ["R-CGJ"]
    r = api.client.get("/api/dispatch-rules/export", params={"format": "xlsx"}, headers=api.headers("alice"))
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header == ["code", "name", "priority", "level", "enabled", "condition", "targets"]
    assert json.loads(ws.cell(2, 6).value) == rule_body()["condition"]
    assert upload(api, "rules.xlsx", r.content, XLSX)["unchanged"] == ["R-CGJ"]

    wb = Workbook()
    sheet = wb.active
    sheet.append(header)
    sheet.append(["R-OK", "供水交水务", 5, None, "yes", json.dumps(leaf("event_class", "eq", "0301")),
                  json.dumps({"lead": "D500111-SWJ"})])
    sheet.append(["R-BAD", "坏规则", 6, None, "yes", "{not json", json.dumps({"lead": "D500111-SWJ"})])
    sheet.append(["R-BAD2", "坏规则2", 7, None, "no", json.dumps(leaf("urgency", "gte", "high")),
                  json.dumps({"lead": "D500111-SWJ"})])
    out = io.BytesIO()
    wb.save(out)
    body = upload(api, "rules.xlsx", out.getvalue(), XLSX, status=422)
    assert [(p["row"], p["path"]) for p in body["details"]] == [
        (3, "$[1].condition"), (4, "$[2].condition.value")]
    api.get("/api/dispatch-rules/R-OK", status=404)


# --- deciding ------------------------------------------------------------------------------------


def test_dry_run_says_where_and_why_and_creates_nothing(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    create(api)
    api.post("/api/dispatch-rules", "alice", rule_body(
        "R-NIGHT", priority=1, condition={"and": [leaf("event_class", "eq", "0301"),
                                                  leaf("time_of_day", "between", ["22:00", "06:00"])]},
        targets={"lead": {"kind": "centre", "level": "district"}}), status=201)
    ev = api.submit()
    before = counts(session_factory)
    d = dry(api, {"number": ev["number"]})
    assert d["lead"] == {"code": "D500111-CGJ", "name": "大足区城市管理局", "kind": "department",
                         "level": "district"}
    assert [a["code"] for a in d["assist"]] == ["C500111001"]
    assert d["rule"] == "R-CGJ" and d["rule_version"] == 1 and not d["fallback"]
    assert d["why"] == [leaf("event_class", "in", ["0101"]), leaf("source", "in", ["hotline", "grid_patrol"]),
                        {"not": leaf("text", "contains_any", ["咨询"])}]
    assert counts(session_factory) == before
    assert api.get(f"/api/events/{ev['number']}")["state"] == "registered"

    night = {"event_class_code": "0301", "area_code": "500111002001001", "source": "hotline",
             "received_at": "2024-06-13T23:30:00+08:00"}
    d = dry(api, {"facts": night})
    assert d["rule"] == "R-NIGHT" and d["lead"]["code"] == "C500111"
    assert d["facts"]["time_of_day"] == "23:30" and d["facts"]["is_working_time"] is False
    d = dry(api, {"facts": night | {"received_at": "2024-06-13T10:00:00+08:00"}})
    assert d["fallback"] and d["lead"]["code"] == "D500111-SWJ" and "grid principle" in d["message"]
    assert counts(session_factory) == before
    dry(api, {}, status=422)
    dry(api, {"facts": {"area_code": "999999"}}, status=422)


def test_a_changed_rule_is_used_by_the_next_decision(api: Api, world: World) -> None:
    create(api)
    ev = api.submit()
    assert dry(api, {"number": ev["number"]})["lead"]["code"] == "D500111-CGJ"
    put(api, "R-CGJ", change(targets={"lead": "C500111001"}))
    assert dry(api, {"number": ev["number"]})["lead"]["code"] == "C500111001"
    put(api, "R-CGJ", change(enabled=False))
    d = dry(api, {"number": ev["number"]})
    assert d["rule"] is None and d["fallback"]


def test_auto_dispatch_records_the_rule_on_the_timeline(api: Api, world: World) -> None:
    create(api)
    ev = api.submit()
    ev = api.post(f"/api/events/{ev['number']}/auto-dispatch", "alice")
    assert ev["state"] == "dispatched"
    assert {(t["unit_code"], t["role"]) for t in ev["tasks"]} == {
        ("D500111-CGJ", "lead"), ("C500111001", "assist")}
    [entry] = timeline(api, ev, "event.dispatch")
    p = entry["payload"]
    assert p["rule"] == "R-CGJ" and p["rule_version"] == 1 and p["override"] is False and p["reason"] is None
    assert p["why"][0] == leaf("event_class", "in", ["0101"]) and p["fallback"] is None
    assert entry["actor"] == "王丽(alice)" and "R-CGJ" in entry["reason"]
    # only registered events are dispatched automatically
    api.post(f"/api/events/{ev['number']}/auto-dispatch", "alice", status=409)


def test_without_a_matching_rule_the_grid_principle_decides_and_says_so(api: Api, world: World) -> None:
    create(api, condition=leaf("source", "eq", "sensor_warning"))
    ev = api.submit(event_class_code="0201", title="暴露垃圾")
    ev = api.post(f"/api/events/{ev['number']}/auto-dispatch", "alice")
    assert [t["unit_code"] for t in ev["tasks"]] == ["G500111001001001"]  # the grid team holds 0201 here
    p = timeline(api, ev, "event.dispatch")[0]["payload"]
    assert p["rule"] is None and p["fallback"] == "grid_principle" and "grid principle" in p["message"]
    # nobody to choose: a class no unit holds stays with the centre
    ev = api.submit(event_class_code="9001", title="停水通知")
    body = api.post(f"/api/events/{ev['number']}/auto-dispatch", "alice", status=409)
    assert "by hand" in body["detail"]


def test_override_outside_the_area_is_refused_and_inside_is_recorded(api: Api, world: World) -> None:
    ev = api.submit()  # town A
    body = api.post(f"/api/events/{ev['number']}/override", "alice",
                    {"units": [{"unit_code": "C500111002"}], "reason": "棠香街道更近"}, status=422)
    assert body["field"] == "units[0].unit_code" and "neither sits in nor covers" in body["detail"]
    api.post(f"/api/events/{ev['number']}/override", "alice", {"units": [{"unit_code": "C500111001"}]},
             status=422)  # no reason
    assert api.get(f"/api/events/{ev['number']}")["state"] == "registered"
    ev = api.post(f"/api/events/{ev['number']}/override", "alice",
                  {"units": [{"unit_code": "C500111001"}, {"unit_code": "D500111-SWJ", "role": "assist"}],
                   "reason": "街道先行处置，水务配合"})
    assert {t["unit_code"] for t in ev["tasks"]} == {"C500111001", "D500111-SWJ"}
    entry = timeline(api, ev, "event.dispatch")[0]
    assert entry["reason"] == "街道先行处置，水务配合"
    p = entry["payload"]
    assert p["override"] is True and p["rule"] is None and p["reason"] == "街道先行处置，水务配合"
    assert p["suggested"]["unit"] == "D500111-CGJ" and p["suggested"]["rule"] is None
    # replacing the automatic choice withdraws its open tasks first
    ev = api.post(f"/api/events/{ev['number']}/override", "alice",
                  {"units": [{"unit_code": "D500111-CGJ"}], "reason": "属城管职责", "replace": True})
    live = [t["unit_code"] for t in ev["tasks"] if t["state"] == "dispatched"]
    assert live == ["D500111-CGJ"]


def test_a_returned_dispatch_counts_as_inaccurate(api: Api, world: World) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    api.post("/api/dispatch-rules", "alice", rule_body(targets={"lead": "D500111-CGJ"}), status=201)
    wrong = api.post(f"/api/events/{api.submit()['number']}/auto-dispatch", "alice")
    right = api.post(f"/api/events/{api.submit()['number']}/auto-dispatch", "alice")
    task = api.task(wrong, "D500111-CGJ")
    wrong = api.post(f"/api/events/{wrong['number']}/tasks/{task['id']}/return", "carol",
                     {"reason": "不属本单位"})
    assert wrong["state"] == "registered"  # back to the centre that dispatched it
    api.post(f"/api/events/{right['number']}/tasks/{api.task(right, 'D500111-CGJ')['id']}/accept", "carol")
    # the same rule would send it round the same loop: the centre decides by hand
    body = api.post(f"/api/events/{wrong['number']}/auto-dispatch", "alice", status=409)
    assert "already returned" in body["detail"]
    api.post(f"/api/events/{wrong['number']}/override", "alice",
             {"units": [{"unit_code": "D500111-SWJ"}], "reason": "改派水务"})
    until = datetime.now(UTC) + timedelta(minutes=1)
    rows = api.get("/api/dispatch/accuracy", params={"since": since.isoformat(), "until": until.isoformat()})
    assert rows == [
        {"rule": "(override)", "dispatched": 1, "returned": 0, "accurate": 1, "rate": 1.0},
        {"rule": "R-CGJ", "dispatched": 2, "returned": 1, "accurate": 1, "rate": 0.5},
    ]


def test_reclassification_redispatches_by_the_rules(api: Api, world: World) -> None:
    api.post("/api/dispatch-rules", "alice", rule_body(
        "R-WATER", condition=leaf("event_class", "eq", "0301"),
        targets={"lead": {"responsible": True, "level": "town"}, "assist": ["D500111-SWJ"]}), status=201)
    ev = api.submit()
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    ev = api.post(f"/api/events/{ev['number']}/reclassify", "alice",
                  {"event_class_code": "0301", "reason": "实为供水管道破裂"})
    live = {(t["unit_code"], t["role"]) for t in ev["tasks"] if t["state"] == "dispatched"}
    assert live == {("C500111001", "lead"), ("D500111-SWJ", "assist")}
    p = timeline(api, ev, "event.dispatch")[-1]["payload"]
    assert p["rule"] == "R-WATER" and p["why"] == [leaf("event_class", "eq", "0301")]
