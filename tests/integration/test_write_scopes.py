"""Acting needs a role on the object, not just sight of it (issue #15, "Writes are scoped").

People (tests/factories.py): alice the district's dispatcher, bob town A's duty officer, frank town
B's, carol a handler of the district's city-management bureau (a department), dave a grid worker in
town A's grid 1, grace the district's leader. Each test says who tries what, and checks that what he
could not do left the object unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, EventClass, Person, Task
from shuzhi.domain import permissions as perms
from shuzhi.services.actors import ALL_PERMISSIONS, forget_people
from tests.factories import World
from tests.integration.conftest import Api


def _state(factory: sessionmaker[Session], number: str) -> tuple[Any, ...]:
    with factory() as s:
        ev = s.scalar(select(Event).where(Event.number == number))
        assert ev is not None
        tasks = tuple((t.id, t.state, t.handle_due_at) for t in
                      s.scalars(select(Task).where(Task.event_id == ev.id).order_by(Task.id)))
        return ev.version, ev.state, tasks


def _dispatched(api: Api, *units: tuple[str, str], who: str = "alice", **fields: Any) -> dict[str, Any]:
    ev = api.submit(who=who, **fields)
    return api.post(f"/api/events/{ev['number']}/dispatch", who,
                    {"units": [{"unit_code": u, "role": r} for u, r in units]})


@pytest.fixture
def department_with_all_permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    """carol's role may do everything, so that only her standing on the event can stop her."""
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.HANDLER, ALL_PERMISSIONS)
    forget_people()


def test_a_department_holding_a_task_cannot_cancel_withdraw_redispatch_or_verify_the_event(
        api: Api, world: World, session_factory: sessionmaker[Session], department_with_all_permissions: None) -> None:
    ev = _dispatched(api, ("D500111-CGJ", "lead"))
    number, task = ev["number"], api.task(ev, "D500111-CGJ")
    before = _state(session_factory, number)
    for path, body in [("cancel", {"reason": "不归我管"}), ("withdraw", {"reason": "收回"}),
                       ("dispatch", {"units": [{"unit_code": "G500111001001001", "role": "assist"}]}),
                       ("verify", {"passed": True}), ("close", {}),
                       ("reclassify", {"event_class_code": "0201", "reason": "改类"})]:
        r = api.client.post(f"/api/events/{number}/{path}", json=body, headers=api.headers("carol"))
        assert r.status_code == 403, (path, r.text)
    assert _state(session_factory, number) == before
    # her own live task she works on
    api.post(f"/api/events/{number}/tasks/{task['id']}/accept", "carol", {})


def test_a_unit_whose_task_was_returned_keeps_sight_but_cannot_act_or_add_files(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ev = _dispatched(api, ("D500111-CGJ", "lead"))
    number, task = ev["number"], api.task(ev, "D500111-CGJ")
    api.post(f"/api/events/{number}/tasks/{task['id']}/return", "carol", {"reason": "不属于本单位职责"})
    before = _state(session_factory, number)
    r = api.client.post(f"/api/events/{number}/tasks/{task['id']}/report-back", json={"result": "已处理"},
                        headers=api.headers("carol"))
    assert r.status_code == 403, r.text
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    r = api.client.post(f"/api/events/{number}/attachments", files={"file": ("x.png", png, "image/png")},
                        headers=api.headers("carol"))
    assert r.status_code == 403, r.text
    assert _state(session_factory, number) == before
    assert api.get(f"/api/events/{number}", who="carol")["number"] == number  # still her history
    lines = api.get(f"/api/events/{number}/timeline", who="carol")
    assert lines and {line["task_id"] for line in lines} == {task["id"]}, lines
    assert len(api.get(f"/api/events/{number}/timeline", who="alice")) > len(lines)
    # the centre sends it on: carol's view of the event still holds her own task only, not the new unit's
    api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-SWJ", "role": "lead"}]})
    assert {t["unit_code"] for t in api.get(f"/api/events/{number}", who="alice")["tasks"]} == {
        "D500111-CGJ", "D500111-SWJ"}
    assert [t["id"] for t in api.get(f"/api/events/{number}", who="carol")["tasks"]] == [task["id"]]


def test_a_town_holding_a_district_task_cannot_approve_its_own_extension(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ev = _dispatched(api, ("C500111001", "lead"))
    number, task = ev["number"], api.task(ev, "C500111001")
    api.post(f"/api/events/{number}/tasks/{task['id']}/accept", "bob", {})
    until = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    api.post(f"/api/events/{number}/tasks/{task['id']}/extension", "bob", {"until": until, "reason": "需要协调"})
    before = _state(session_factory, number)
    for path in ("extension/decision", "suspend"):
        body = {"approve": True, "reason": "自己批"} if path.startswith("extension") else {"reason": "自己挂起"}
        r = api.client.post(f"/api/events/{number}/tasks/{task['id']}/{path}", json=body, headers=api.headers("bob"))
        assert r.status_code == 403 and "decides" in r.json()["detail"], (path, r.text)
    assert _state(session_factory, number) == before
    # the deciding centre (the district) may
    api.post(f"/api/events/{number}/tasks/{task['id']}/extension/decision", "alice",
             {"approve": True, "reason": "同意"})


def test_plain_dispatch_of_a_town_a_event_to_town_b_is_refused_with_the_field(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ev = api.submit(who="alice")
    before = _state(session_factory, ev["number"])
    r = api.client.post(f"/api/events/{ev['number']}/dispatch", headers=api.headers("alice"),
                        json={"units": [{"unit_code": "C500111001", "role": "lead"},
                                        {"unit_code": "C500111002", "role": "assist"}]})
    assert r.status_code == 422 and r.json()["field"] == "units[1].unit_code", r.text
    assert _state(session_factory, ev["number"]) == before


def test_the_person_who_reported_back_cannot_verify_his_own_work(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ev = _dispatched(api, ("G500111001001001", "lead"), who="bob")
    number, task = ev["number"], api.task(ev, "G500111001001001")
    api.post(f"/api/events/{number}/tasks/{task['id']}/accept", "dave", {})
    api.post(f"/api/events/{number}/tasks/{task['id']}/report-back", "dave", {"result": "已清理"})
    before = _state(session_factory, number)
    r = api.client.post(f"/api/events/{number}/verify", json={"passed": True}, headers=api.headers("dave"))
    assert r.status_code == 403 and "own loop" in r.json()["detail"], r.text
    assert _state(session_factory, number) == before
    assert api.post(f"/api/events/{number}/verify", "bob", {"passed": True})["state"] == "verified"


def test_a_grid_workers_self_handled_case_is_verified_by_someone_else_unless_the_class_allows(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ev = api.submit(who="dave", event_class_code="0201")
    api.post(f"/api/events/{ev['number']}/self-handle", "dave", {"result": "现场清理完毕"})
    before = _state(session_factory, ev["number"])
    r = api.client.post(f"/api/events/{ev['number']}/verify", json={"passed": True}, headers=api.headers("dave"))
    assert r.status_code == 403, r.text
    assert _state(session_factory, ev["number"]) == before
    with session_factory() as s:  # a class whose on-the-spot cases the grid worker may verify himself
        s.execute(update(EventClass).where(EventClass.code == "0201").values(separate_verifier=False))
        s.commit()
    assert api.post(f"/api/events/{ev['number']}/verify", "dave", {"passed": True})["state"] == "verified"


def test_a_leaders_urge_may_shorten_a_deadline_but_never_lengthen_it(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ev = _dispatched(api, ("D500111-CGJ", "lead"))
    number, task = ev["number"], api.task(ev, "D500111-CGJ")
    due = datetime.fromisoformat(task["handle_due_at"])
    before = _state(session_factory, number)
    later = (due + timedelta(days=30)).isoformat()
    r = api.client.post(f"/api/events/{number}/urge", json={"instruction": "抓紧办理", "due_at": later},
                        headers=api.headers("grace"))
    assert r.status_code == 422 and r.json()["field"] == "due_at", r.text
    assert _state(session_factory, number) == before
    sooner = max(due - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=30))
    api.post(f"/api/events/{number}/urge", "grace", {"instruction": "抓紧办理", "due_at": sooner.isoformat()})
    with session_factory() as s:
        got = s.scalar(select(Task.handle_due_at).where(Task.id == task["id"]))
    assert got is not None and got.replace(tzinfo=UTC) <= due


def test_an_api_key_cannot_date_a_report_far_back_and_nobody_in_the_future(api: Api, world: World) -> None:
    made = api.post("/api/api-keys", "admin", {"name": "渝快办", "sources": ["online_app"],
                                                "area_codes": ["500111001"], "write": True}, status=201)
    key = {"X-API-Key": made["key"]}
    body = {"source": "online_app", "event_class_code": "0101", "title": "井盖破损", "lon": World.A1[0],
            "lat": World.A1[1]}
    old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    r = api.client.post("/api/events", json={**body, "received_at": old}, headers=key)
    assert r.status_code == 422 and r.json()["field"] == "received_at", r.text
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = api.client.post("/api/events", json={**body, "source": "hotline", "received_at": future},
                        headers=api.headers("alice"))
    assert r.status_code == 422 and r.json()["field"] == "received_at", r.text
    assert api.get("/api/events", who="admin", params={"with_total": "true"})["total"] == 0
    recent = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    r = api.client.post("/api/events", json={**body, "received_at": recent}, headers=key)
    assert r.status_code == 201, r.text


# --- configuration belongs to an area -------------------------------------------------------------


RULE = {"name": "龙岗垃圾", "priority": 5, "condition": {"field": "event_class", "op": "eq", "value": "0201"},
        "targets": {"lead": "C500111001"}}


@pytest.fixture
def town_dispatchers(session_factory: sessionmaker[Session], world: World) -> None:
    with session_factory() as s:
        s.execute(update(Person).where(Person.code.in_(["bob", "frank"])).values(role="dispatcher"))
        s.commit()
    forget_people()


def test_a_town_dispatcher_writes_rules_for_his_town_only_and_they_never_route_another_towns_events(
        api: Api, town_dispatchers: None) -> None:
    r = api.client.post("/api/dispatch-rules", json={**RULE, "code": "R-B", "area_code": "500111002"},
                        headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == "$.area_code", r.text
    r = api.client.post("/api/dispatch-rules", json={**RULE, "code": "R-X", "targets": {"lead": "C500111002"}},
                        headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"].startswith("$.targets.lead"), r.text
    r = api.client.post("/api/dispatch-rules", json={**RULE, "code": "R-X", "area_code": "500111"},
                        headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == "$.area_code", r.text
    assert api.get("/api/dispatch-rules", who="bob") == []
    mine = api.post("/api/dispatch-rules", "bob", {**RULE, "code": "R-A"}, status=201)
    assert mine["area_code"] == "500111001"
    # the rule catches town A's garbage, never town B's (the grid principle decides there)
    a = api.post("/api/dispatch/dry-run", "alice", {"facts": {"event_class_code": "0201",
                                                              "area_code": "500111001001001"}})
    b = api.post("/api/dispatch/dry-run", "alice", {"facts": {"event_class_code": "0201",
                                                              "area_code": "500111002001001"}})
    assert a["rule"] == "R-A" and b["rule"] != "R-A", (a, b)
    # frank (town B) reads bob's rule but may not change or delete it; the district may
    changed = {**RULE, "targets": {"lead": "C500111002"}, "expected_version": 1}
    r = api.client.put("/api/dispatch-rules/R-A", json=changed, headers=api.headers("frank"))
    assert r.status_code == 403, r.text
    r = api.client.delete("/api/dispatch-rules/R-A", headers=api.headers("frank"))
    assert r.status_code == 403, r.text
    assert api.get("/api/dispatch-rules/R-A", who="frank")["version"] == 1
    api.request("PUT", "/api/dispatch-rules/R-A", "alice", json={**RULE, "priority": 6, "expected_version": 1})


# --- the staff directory and accounts -------------------------------------------------------------


def test_the_staff_directory_needs_a_permission_and_masks_phones(api: Api, world: World) -> None:
    r = api.client.get("/api/people", headers=api.headers("dave"))  # a grid worker has no staff.read
    assert r.status_code == 403, r.text
    staff = api.get("/api/people", who="bob")
    assert staff and all(p["phone"] in ("", "138****8000") for p in staff), staff
    assert "13800138000" not in api.client.get("/api/people", headers=api.headers("alice")).text


def test_reserved_codes_cannot_be_created_by_form_or_by_import(api: Api, world: World) -> None:
    r = api.client.post("/api/users", headers=api.headers("admin"), json={
        "code": "System", "name": "冒充", "unit_code": "C500111", "role": "administrator",
        "password": "Xy-2024-longer!"})
    assert r.status_code == 422 and r.json()["field"] == "code", r.text
    csv = "code,name,phone,unit_code,role\nsystem,冒充,,C500111,administrator\n".encode()
    r = api.client.post("/api/people/import", headers=api.headers("admin"),
                        files={"file": ("people.csv", csv, "text/csv")})
    assert r.status_code == 422 and "reserved" in r.text, r.text
    assert "system" not in {p["code"] for p in api.get("/api/people", who="admin")}


def test_a_people_import_never_re_enables_a_disabled_account(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    api.request("PATCH", "/api/users/carol", "admin", json={"active": False})
    csv = "code,name,phone,unit_code,role\ncarol,陈静,13800138001,D500111-CGJ,handler\n".encode()
    api.request("POST", "/api/people/import", "admin", files={"file": ("people.csv", csv, "text/csv")})
    with session_factory() as s:
        person = s.scalar(select(Person).where(Person.code == "carol"))
        assert person is not None and person.active is False and person.phone == "13800138001"


def test_a_department_handler_gets_his_units_figures_not_a_500(api: Api, world: World) -> None:
    ev = _dispatched(api, ("D500111-CGJ", "lead"))
    api.post(f"/api/events/{ev['number']}/tasks/{api.task(ev, 'D500111-CGJ')['id']}/accept", "carol", {})
    period = datetime.now(UTC).strftime("%Y-%m")
    mine = api.get("/api/evaluation/figures", who="carol", params={"period": period, "group_by": "unit"})
    assert mine["filters"]["unit"] == "D500111-CGJ" and {g["code"] for g in mine["groups"]} <= {"D500111-CGJ"}, mine
    r = api.client.get("/api/evaluation/figures", params={"period": period, "unit": "C500111001"},
                       headers=api.headers("carol"))
    assert r.status_code == 404, r.text


def test_peer_rankings_need_their_own_permission_and_show_scores_only(
        api: Api, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    period = datetime.now(UTC).strftime("%Y-%m")
    api.post("/api/evaluation/publications", "grace", {"period": period}, status=201)  # 赛马比拼 published
    peers = api.get("/api/evaluation/rankings", who="bob", params={"period": period, "by": "area",
                                                                  "peers": "true"})
    assert peers["area"]["code"] == "500111", peers
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.DUTY_OFFICER,
                        perms.ROLE_PERMISSIONS[perms.Role.DUTY_OFFICER] - {perms.PEER_COMPARE})
    forget_people()
    r = api.client.get("/api/evaluation/rankings", params={"period": period, "by": "area", "peers": "true"},
                       headers=api.headers("bob"))
    assert r.status_code == 403, r.text
