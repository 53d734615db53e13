"""The town's structure (一中心四板块一网格, issue #20): boards under the town centre, posts held by named
people, a town leader in charge, duties; the centre dispatches to a board, the board's leader assigns a
post holder, a board hands a case sideways or back up.

Town A (龙岗街道): bob is its centre's duty officer, tina a town leader (role ``leader`` in the centre),
sam handles in its 平安法治 board, dave is grid A-1's worker; frank is town B's duty officer, admin the
administrator.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.services.actors import forget_people
from tests.factories import World
from tests.integration.conftest import Api

TOWN = "500111001"
SAFETY = "B500111001-safety_law"
LIVELIHOOD = "B500111001-livelihood"


def _add_person(sf: sessionmaker[Session], code: str, name: str, unit_code: str, role: str) -> None:
    with sf() as s:
        unit = s.scalars(select(Unit).where(Unit.code == unit_code)).one()
        s.add(Person(code=code, name=name, phone="13800138009", unit_id=unit.id, role=role))
        s.commit()
    forget_people()


@pytest.fixture
def boards(api: Api, world: World, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    _add_person(session_factory, "tina", "唐娜", "C500111001", "leader")
    made = api.post(f"/api/towns/{TOWN}/boards", "admin")
    _add_person(session_factory, "sam", "沈默", SAFETY, "handler")
    return made


def _save_safety(api: Api, **over: Any) -> dict[str, Any]:
    body = {"leader_code": "tina", "posts": [{"name": "综治专干", "person_code": "sam"},
                                             {"name": "网格联络员", "person_code": "dave"}, {"name": "法律顾问"}],
            "duties": [{"title": "矛盾纠纷排查化解", "detail": "每月排查一次"}, {"title": "治安防控"}]}
    body.update(over)
    return api.request("PUT", f"/api/towns/{TOWN}/boards/safety_law", "admin", json=body)


def _board(structure: dict[str, Any], key: str) -> dict[str, Any]:
    return next(b for b in structure["boards"] if b["key"] == key)


def test_a_town_gets_the_four_default_boards_as_units_under_its_centre(
        boards: dict[str, Any], api: Api, session_factory: sessionmaker[Session]) -> None:
    assert [(b["key"], b["name"]) for b in boards["boards"]] == [
        ("party_building", "龙岗街道党的建设板块"), ("economy", "龙岗街道经济发展板块"),
        ("safety_law", "龙岗街道平安法治板块"), ("livelihood", "龙岗街道民生服务板块")]
    assert boards["missing_boards"] == [] and boards["centre"]["code"] == "C500111001"
    with session_factory() as s:
        centre = s.scalars(select(Unit).where(Unit.code == "C500111001")).one()
        unit = s.scalars(select(Unit).where(Unit.code == SAFETY)).one()
        assert (unit.kind, unit.level, unit.parent_id, unit.area.code) == ("department", "town", centre.id, TOWN)
    # once is enough: asking again makes none twice
    again = api.post(f"/api/towns/{TOWN}/boards", "admin")
    assert len(again["boards"]) == 4


def test_a_city_names_its_own_boards_and_towns_get_those(api: Api, world: World) -> None:
    assert [b["key"] for b in api.get("/api/town-boards", who="bob")] == [
        "party_building", "economy", "safety_law", "livelihood"]
    bad = api.request("PUT", "/api/town-boards", "admin", 422, json={"boards": [{"key": "Bad Key", "name": "x"}]})
    assert bad["field"] == "boards[0].key"
    api.request("PUT", "/api/town-boards", "bob", 403, json={"boards": [{"key": "economy", "name": "经济"}]})
    api.request("PUT", "/api/town-boards", "admin", json={"boards": [
        {"key": "party_building", "name": "党建统领"}, {"key": "governance", "name": "基层治理"}]})
    made = api.post(f"/api/towns/{TOWN}/boards", "admin")
    assert [b["name"] for b in made["boards"]] == ["龙岗街道党建统领板块", "龙岗街道基层治理板块"]


def test_a_board_has_posts_held_by_named_people_a_leader_in_charge_and_duties(
        boards: dict[str, Any], api: Api, session_factory: sessionmaker[Session]) -> None:
    safety = _board(_save_safety(api), "safety_law")
    assert safety["leader"] == {"code": "tina", "name": "唐娜"}
    assert [(p["name"], p["person"]["code"] if p["person"] else None) for p in safety["posts"]] == [
        ("综治专干", "sam"), ("网格联络员", "dave"), ("法律顾问", None)]
    assert [d["title"] for d in safety["duties"]] == ["矛盾纠纷排查化解", "治安防控"]
    assert _board(api.get(f"/api/towns/{TOWN}/structure", who="bob"), "safety_law") == safety
    with session_factory() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "town.board_save")).one()
        assert audit.details["before"]["posts"] == [] and len(audit.details["after"]["posts"]) == 3
    # a person of another town is named at the field; nothing changes
    wrong = api.request("PUT", f"/api/towns/{TOWN}/boards/safety_law", "admin", 422,
                        json={"posts": [{"name": "综治专干", "person_code": "frank"}]})
    assert wrong["field"] == "posts[0].person_code"
    assert api.request("PUT", f"/api/towns/{TOWN}/boards/nosuch", "admin", 422, json={})["field"] == "key"
    # only an administrator edits; the other town sees nothing of it
    api.request("PUT", f"/api/towns/{TOWN}/boards/safety_law", "bob", 403, json={})
    api.get(f"/api/towns/{TOWN}/structure", who="frank", status=404)


def _event_in_grid_2(api: Api) -> dict[str, Any]:
    from tests.factories import World as W

    return api.submit(who="bob", event_class_code="0201", lon=W.A2[0], lat=W.A2[1])


def test_the_centre_dispatches_to_a_board_whose_leader_gives_it_to_a_post_holder_who_handles_it(
        boards: dict[str, Any], api: Api) -> None:
    _save_safety(api)
    ev = _event_in_grid_2(api)
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "bob", {"units": [{"unit_code": SAFETY, "role": "lead"}]})
    task = api.task(ev, SAFETY)
    path = f"/api/events/{ev['number']}/tasks/{task['id']}"
    # the members offered: the board's post holders (dave sits in a grid unit) and its own people
    assert {m["code"] for m in api.get(f"{path}/members", who="tina")} == {"sam", "dave"}
    api.get(f"{path}/members", who="sam", status=403)
    api.post(f"{path}/assign", "sam", {"person_code": "dave"}, status=403)  # a member does not assign
    out = api.post(f"{path}/assign", "tina", {"person_code": "dave", "reason": "就近处置"})
    assert api.task(out, SAFETY)["assignee_code"] == "dave"
    # dave's grid is A-1 and the case lies in A-2: only his assignment lets him see and work it
    assert [i["event_number"] for i in api.get("/api/desk/inbox?box=mine", who="dave")] == [ev["number"]]
    api.post(f"{path}/accept", "dave", {})
    done = api.post(f"{path}/report-back", "dave", {"result": "已清运"})
    assert done["state"] == "reported_back"


def test_a_board_hands_a_case_sideways_to_another_board_with_a_reason(boards: dict[str, Any], api: Api) -> None:
    ev = _event_in_grid_2(api)
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "bob", {"units": [{"unit_code": SAFETY, "role": "lead"}]})
    task = api.task(ev, SAFETY)
    path = f"/api/events/{ev['number']}/tasks/{task['id']}/hand-to-board"
    assert api.post(path, "sam", {"board_key": "nosuch", "reason": "x"}, status=422)["field"] == "board_key"
    assert api.post(path, "sam", {"board_key": "safety_law", "reason": "x"}, status=422)["field"] == "board_key"
    api.post(path, "frank", {"board_key": "livelihood", "reason": "x"}, status=404)
    out = api.post(path, "sam", {"board_key": "livelihood", "reason": "属民生服务事项"})
    old = next(t for t in out["tasks"] if t["id"] == task["id"])
    assert old["state"] == "cancelled" and "属民生服务事项" in old["end_reason"]
    new = api.task(out, LIVELIHOOD)
    assert new["role"] == "lead" and new["state"] == "dispatched" and out["state"] == "dispatched"
    [entry] = [e for e in api.get(f"/api/events/{ev['number']}/timeline") if e["action"] == "task.hand_to_board"]
    assert entry["reason"] == "属民生服务事项" and entry["actor"].startswith("沈默")
    assert (entry["payload"]["from_unit"], entry["payload"]["to_unit"]) == (SAFETY, LIVELIHOOD)
    # a unit that is no board hands nothing to a board
    ev2 = api.submit()
    ev2 = api.post(f"/api/events/{ev2['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    t2 = api.task(ev2, "D500111-CGJ")
    api.post(f"/api/events/{ev2['number']}/tasks/{t2['id']}/hand-to-board", "carol",
             {"board_key": "livelihood", "reason": "x"}, status=409)


def test_a_board_hands_a_case_back_up_to_the_town_centre(boards: dict[str, Any], api: Api) -> None:
    ev = _event_in_grid_2(api)
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "bob", {"units": [{"unit_code": SAFETY, "role": "lead"}]})
    task = api.task(ev, SAFETY)
    api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/accept", "sam", {})
    out = api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/escalate", "sam", {"reason": "需多部门联动"})
    assert out["state"] == "registered"
    [entry] = [e for e in api.get(f"/api/events/{ev['number']}/timeline") if e["action"] == "task.escalate"]
    assert entry["payload"]["to_unit"] == "C500111001" and entry["reason"] == "需多部门联动"


def test_a_holder_who_loses_his_post_gives_the_boards_open_tasks_to_its_leader_in_charge(
        boards: dict[str, Any], api: Api) -> None:
    _save_safety(api)
    ev = _event_in_grid_2(api)
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "bob", {"units": [{"unit_code": SAFETY, "role": "lead"}]})
    task = api.task(ev, SAFETY)
    api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/assign", "tina", {"person_code": "dave"})
    _save_safety(api, posts=[{"name": "综治专干", "person_code": "sam"}, {"name": "网格联络员"}])
    assert api.task(api.get(f"/api/events/{ev['number']}", who="bob"), SAFETY)["assignee_code"] == "tina"
    [entry] = [e for e in api.get(f"/api/events/{ev['number']}/timeline", who="bob")
               if e["action"] == "task.assignee_return"]
    assert entry["payload"]["from"]["code"] == "dave" and "岗位" in entry["reason"]
    assert entry["actor"].startswith("周敏")
    assert api.get("/api/desk/inbox?box=mine", who="dave") == []


def test_the_town_centre_gives_a_boards_task_straight_to_its_person_and_another_town_cannot(
        boards: dict[str, Any], api: Api, session_factory: sessionmaker[Session]) -> None:
    _save_safety(api)
    _add_person(session_factory, "tom", "谭明", "C500111002", "leader")  # town B's leader
    ev = _event_in_grid_2(api)
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "bob", {"units": [{"unit_code": SAFETY, "role": "lead"}]})
    path = f"/api/events/{ev['number']}/tasks/{api.task(ev, SAFETY)['id']}/assign"
    api.post(path, "tom", {"person_code": "sam"}, status=404)  # town B does not see town A's case
    out = api.post(path, "bob", {"person_code": "sam", "reason": "中心直派"})  # a superior centre: the town's own
    assert api.task(out, SAFETY)["assignee_code"] == "sam"
    # only to the board's members: a person of the centre who holds no post on it is refused at the field
    assert api.post(path, "bob", {"person_code": "tina"}, status=422)["field"] == "person_code"
