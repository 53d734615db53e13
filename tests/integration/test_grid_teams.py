"""Grid teams "1+3+N", duty lists "6+1", 五长制 and the dual grid (issue #20), through the API and the
services, on SQLite and PostgreSQL.

Town A (龙岗街道) has grids A-1 (dave's, unit G500111001001001) and A-2 (here given a unit too); bob is
town A's duty officer (here allowed to configure his town), olga a volunteer and lily a handler of town
A's centre, frank town B's duty officer (allowed likewise); admin the administrator, grace the district leader.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.adapters.db.tables_town import DutyItem, GridTeamMember
from shuzhi.domain import permissions as perms
from shuzhi.services import grid_teams
from shuzhi.services.actors import forget_people, resolve_actor
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

TOWN = "500111001"
A1, A2 = "500111001001001", "500111001001002"
G1 = "G500111001001001"


def _add_person(sf: sessionmaker[Session], code: str, name: str, unit_code: str, role: str) -> None:
    with sf() as s:
        unit = s.scalars(select(Unit).where(Unit.code == unit_code)).one()
        s.add(Person(code=code, name=name, phone="13800138009", unit_id=unit.id, role=role))
        s.commit()
    forget_people()


@pytest.fixture
def town(api: Api, world: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    # a town's duty officer configures his town (the installation's role table may grant it; here: bob, frank)
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.DUTY_OFFICER,
                        perms.ROLE_PERMISSIONS[perms.Role.DUTY_OFFICER] | {perms.REFERENCE_WRITE})
    with session_factory() as s:
        s.add(Unit(code="G500111001001002", name="北山社区第2网格", kind="grid", level="grid",
                   area_id=world.areas[A2].id, parent_id=world.units["C500111001"].id))
        s.commit()
    _add_person(session_factory, "olga", "欧佳", "C500111001", "grid_worker")
    _add_person(session_factory, "lily", "李丽", "C500111001", "handler")


def _team(api: Api, grid: str, members: list[dict[str, Any]], who: str = "bob", status: int = 200,
          **more: Any) -> Any:
    return api.request("PUT", f"/api/towns/{TOWN}/grids/{grid}/team", who, status=status,
                       json={"members": members, **more})


def _grid(view: dict[str, Any], code: str) -> dict[str, Any]:
    return next(g for g in view["grids"] if g["code"] == code)


def _duties(api: Api) -> list[dict[str, Any]]:
    return api.request("PUT", "/api/grid-duties", "admin", json={"duties": [
        {"role": "full_time", "title": "日常巡查", "frequency": "daily", "place": "主次干道", "done_by": "patrol"},
        {"role": "full_time", "title": "重点人员走访", "frequency": "weekly", "place": "独居老人", "done_by": "visit"},
        {"role": "part_time", "title": "楼栋巡查", "frequency": "weekly", "done_by": "either"}]})


def test_a_town_names_its_grid_teams_with_roles_and_one_primary_membership(
        town: None, api: Api, session_factory: sessionmaker[Session]) -> None:
    # the city adds its N roles to "1+3"
    roles = api.request("PUT", "/api/grid-team-roles", "admin", json={"roles": [
        {"key": "grid_leader", "name": "网格长"}, {"key": "full_time", "name": "专职网格员"},
        {"key": "part_time", "name": "兼职网格员"}, {"key": "instructor", "name": "网格指导员"},
        {"key": "volunteer", "name": "志愿者"}, {"key": "courier", "name": "快递骑手"}]})
    assert [r["key"] for r in roles][-2:] == ["volunteer", "courier"]
    view = _team(api, A1, [{"person_code": "lily", "role": "grid_leader"},
                           {"person_code": "dave", "role": "full_time", "primary": True},
                           {"person_code": "olga", "role": "volunteer"}])
    g1 = _grid(view, A1)
    assert [(m["code"], m["role_name"], m["primary"]) for m in g1["members"]] == [
        ("lily", "网格长", True), ("dave", "专职网格员", True), ("olga", "志愿者", True)]
    # olga serves in a second grid too; asking for it makes it her primary one, the first is no longer
    view = _team(api, A2, [{"person_code": "olga", "role": "part_time", "primary": True}])
    assert _grid(view, A2)["members"][0]["primary"] is True
    assert next(m for m in _grid(view, A1)["members"] if m["code"] == "olga")["primary"] is False
    with session_factory() as s:
        olga = s.scalars(select(Person).where(Person.code == "olga")).one()
        flags = s.scalars(select(GridTeamMember.is_primary).where(GridTeamMember.person_id == olga.id)).all()
        assert sorted(flags) == [False, True]
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "grid.team_save")).all()
    # the API reads it for anyone in the town's scope; town B does not see town A
    assert len(api.get(f"/api/towns/{TOWN}/grids", who="bob")["grids"]) == 2
    api.get(f"/api/towns/{TOWN}/grids", who="frank", status=404)


def test_bad_teams_are_refused_at_their_field(town: None, api: Api) -> None:
    two = [{"person_code": "lily", "role": "grid_leader"}, {"person_code": "dave", "role": "grid_leader"}]
    bad = _team(api, A1, two, status=422)
    assert bad["field"] == "members[1].role"
    assert _team(api, A1, [{"person_code": "nobody", "role": "full_time"}], status=422)["field"] == \
        "members[0].person_code"
    assert _team(api, A1, [{"person_code": "dave", "role": "astronaut"}], status=422)["field"] == "members[0].role"
    assert _team(api, A1, [], layer="moon", status=422)["field"] == "layer"
    # "1+3" stay in the city's roles
    bad = api.request("PUT", "/api/grid-team-roles", "admin", status=422, json={"roles": [
        {"key": "full_time", "name": "专职"}, {"key": "part_time", "name": "兼职"},
        {"key": "instructor", "name": "指导"}, {"key": "volunteer", "name": "志愿者"}]})
    assert bad["field"] == "roles"


def test_a_town_edits_only_its_own_grids(town: None, api: Api, session_factory: sessionmaker[Session]) -> None:
    _team(api, A1, [{"person_code": "dave", "role": "full_time"}], who="frank", status=404)
    _team(api, A1, [{"person_code": "dave", "role": "full_time"}], who="lily", status=403)
    _team(api, "500111002001001", [{"person_code": "dave", "role": "full_time"}], status=404)
    # the city's lists are the installation's, not a town's
    api.request("PUT", "/api/grid-duties", "bob", status=403, json={"duties": []})
    assert api.get(f"/api/towns/{TOWN}/grids", who="bob")["can_edit"] is True


def test_the_dual_grid_keeps_points_in_the_governance_grid(town: None, api: Api) -> None:
    # A-2 is marked a special-purpose (flood) grid: a point in it is no longer in a governance grid,
    # and asking for the flood layer finds it
    view = _team(api, A2, [], layer="flood")
    assert _grid(view, A2)["layer_name"] == "防汛网格"
    here = {"lon": World.A2[0], "lat": World.A2[1]}
    assert api.get("/api/areas/locate", params=here)["found"] is False
    flood = api.get("/api/areas/locate", params={**here, "layer": "flood"})
    assert flood["grid"]["code"] == A2
    assert api.get("/api/areas/locate", params={"lon": World.A1[0], "lat": World.A1[1]})["grid"]["code"] == A1
    assert api.get("/api/areas/locate", params={**here, "layer": "moon"}, status=422)["field"] == "layer"


def test_due_items_are_made_per_member_done_by_patrol_or_visit_and_counted(
        town: None, api: Api, session_factory: sessionmaker[Session]) -> None:
    _duties(api)
    _team(api, A1, [{"person_code": "dave", "role": "full_time"}, {"person_code": "olga", "role": "part_time"}])
    uow = UnitOfWork(session_factory)
    # a week ago: the clock made that day's and week's items; nobody did them
    then = datetime.now(UTC) - timedelta(days=8)
    assert grid_teams.generate_due_items(uow, then) == 3  # dave: a daily and a weekly; olga: a weekly
    assert grid_teams.generate_due_items(UnitOfWork(session_factory), then) == 0  # idempotent
    # opening the phone makes today's
    items = api.get("/api/phone/duties", who="dave")
    titles = {i["title"]: i for i in items}
    assert {"日常巡查", "重点人员走访"} <= set(titles)
    patrol_item, visit_item = titles["日常巡查"], titles["重点人员走访"]
    assert patrol_item["state"] == "open" and patrol_item["done_by"] == "patrol"
    # a patrol duty wants a patrol; a visit duty a note; someone else's item is not found
    assert api.post(f"/api/phone/duties/{patrol_item['id']}/done", "dave", {"note": "走了一圈"},
                    status=422)["field"] == "patrol_id"
    assert api.post(f"/api/phone/duties/{visit_item['id']}/done", "dave", {}, status=422)["field"] == "note"
    api.post(f"/api/phone/duties/{patrol_item['id']}/done", "olga", {"note": "x"}, status=404)
    patrol = api.post("/api/patrols", "dave", {}, status=201)
    api.post(f"/api/patrols/{patrol['id']}/stop", "dave", {})
    done = api.post(f"/api/phone/duties/{patrol_item['id']}/done", "dave", {"patrol_id": patrol["id"]})
    assert done["state"] == "done" and done["done_kind"] == "patrol"
    assert api.post(f"/api/phone/duties/{patrol_item['id']}/done", "dave", {"patrol_id": patrol["id"]},
                    status=409)["field"] == "item_id"
    api.post(f"/api/phone/duties/{visit_item['id']}/done", "dave", {"note": "走访独居老人张大爷"})
    # the old, undone ones are overdue: the town sees them, with whom and where
    view = api.get(f"/api/towns/{TOWN}/grids", who="bob")
    assert {(o["person"]["code"], o["title"]) for o in view["overdue"]} >= {("dave", "日常巡查"), ("olga", "楼栋巡查")}
    # evaluation: per person and per grid team, next to the other figures
    first, last = (then - timedelta(days=1)).date(), (datetime.now(UTC) + timedelta(days=8)).date()
    period = f"{first.isoformat()}..{last.isoformat()}"
    people = {r["code"]: r for r in api.get("/api/evaluation/people", who="grace", params={"period": period})["people"]}
    dave = people["dave"]["duties"]
    assert dave["overdue"] >= 2 and dave["due"] >= 2
    assert people["dave"]["patrol"]["patrols"] == 1
    # town B's officer counts none of town A's duty items
    other = api.get("/api/evaluation/people", who="frank", params={"period": period})["people"]
    assert not [r for r in other if r.get("duties")]
    with session_factory() as s:
        done_items = s.scalars(select(DutyItem).where(DutyItem.done_at.is_not(None))).all()
        assert len(done_items) == 2
    figures = api.get("/api/evaluation/figures", who="grace",
                      params={"period": period, "group_by": "unit"})
    team = next(g for g in figures["groups"] if g["code"] == G1)
    assert team["duties"]["overdue"] >= 3 and "completion_rate" in team["duties"]


def test_the_completion_rate_counts_on_time_over_fallen_due(
        town: None, api: Api, session_factory: sessionmaker[Session]) -> None:
    _duties(api)
    _team(api, A1, [{"person_code": "dave", "role": "full_time"}])
    monday = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    uow = lambda: UnitOfWork(session_factory)  # noqa: E731
    with session_factory() as s:
        dave = resolve_actor(s, "dave")
    items = grid_teams.my_items(uow(), dave, now=monday)
    daily = next(i for i in items if i["frequency"] == "daily")
    patrol_id = _patrol(session_factory, dave, monday)
    grid_teams.do_item(uow(), dave, daily["id"], grid_teams.DoItem(patrol_id=patrol_id),
                       now=monday + timedelta(hours=1))
    # Tuesday's daily item is never done; the weekly visit is done late, after Sunday
    grid_teams.generate_due_items(uow(), monday + timedelta(days=1))
    weekly = next(i for i in items if i["frequency"] == "weekly")
    grid_teams.do_item(uow(), dave, weekly["id"], grid_teams.DoItem(note="补访"), now=monday + timedelta(days=8))
    with session_factory() as s:
        counts = grid_teams.duty_counts(s, monday - timedelta(days=1), monday + timedelta(days=10),
                                        monday + timedelta(days=9), by="person")
    c = counts[dave.person_id or 0]
    assert (c["due"], c["on_time"], c["late"], c["overdue"]) == (3, 1, 1, 1)
    assert c["completion_rate"] == round(1 / 3, 4)


def _patrol(sf: sessionmaker[Session], actor: Any, at: datetime) -> int:
    from shuzhi.services import patrols

    started = patrols.start_patrol(UnitOfWork(sf), actor, patrols.StartPatrol(), now=at)
    patrols.stop_patrol(UnitOfWork(sf), actor, started.patrol["id"], patrols.StopPatrol(),
                        now=at + timedelta(minutes=30))
    return int(started.patrol["id"])


def test_a_case_is_assigned_to_the_building_leader_reached_through_the_chain(
        town: None, api: Api, session_factory: sessionmaker[Session]) -> None:
    _add_person(session_factory, "wang", "王楼", "C500111001", "handler")  # a resident, 楼栋长 of building 3
    _team(api, A1, [{"person_code": "lily", "role": "grid_leader"}, {"person_code": "dave", "role": "full_time"}])
    chain = [{"link": "grid", "place": "北山社区第1网格", "person_code": "lily"},
             {"link": "block", "place": "北片", "person_code": "dave", "parent": 0},
             {"link": "building", "place": "3栋", "person_code": "wang", "parent": 1}]
    bad = api.request("PUT", f"/api/towns/{TOWN}/grids/{A1}/contacts", "bob", status=422,
                      json={"contacts": [chain[0], {**chain[2], "parent": 0}]})
    assert bad["field"] == "contacts[1].parent"
    view = api.request("PUT", f"/api/towns/{TOWN}/grids/{A1}/contacts", "bob", json={"contacts": chain})
    assert [c["link_name"] for c in _grid(view, A1)["contacts"]] == ["网格长", "片区长", "楼栋长"]
    # a case goes to the grid; the town centre assigns its task to the building leader by name
    ev = api.submit(who="bob", event_class_code="0201", lon=World.A1[0], lat=World.A1[1])
    number = ev["number"]
    api.post(f"/api/events/{number}/dispatch", "bob", {"units": [{"unit_code": G1, "role": "lead"}]})
    task = next(t for t in api.get(f"/api/events/{number}", who="bob")["tasks"] if t["unit_code"] == G1)
    members = {m["code"]: m for m in api.get(f"/api/events/{number}/tasks/{task['id']}/members", who="bob")}
    assert members["wang"]["post"] == "楼栋长（3栋）" and members["lily"]["post"] == "网格长"
    after = api.post(f"/api/events/{number}/tasks/{task['id']}/assign", "bob", {"person_code": "wang"})
    assert next(t for t in after["tasks"] if t["id"] == task["id"])["assignee_code"] == "wang"
    assert [t["event_number"] for t in api.get("/api/my/assigned-tasks", who="wang")] == [number]
    # someone outside the chain and the team is refused at the field
    assert api.post(f"/api/events/{number}/tasks/{task['id']}/assign", "bob", {"person_code": "olga"},
                    status=422)["field"] == "person_code"
    # wang leaves the chain: his open task returns to the grid's 网格长
    api.request("PUT", f"/api/towns/{TOWN}/grids/{A1}/contacts", "bob", json={"contacts": chain[:2]})
    back = next(t for t in api.get(f"/api/events/{number}", who="bob")["tasks"] if t["id"] == task["id"])
    assert back["assignee_code"] == "lily"


def test_evaluation_by_board_and_by_grid_team_has_the_standard_rates_of_units(town: None, api: Api) -> None:
    api.post(f"/api/towns/{TOWN}/boards", "admin")
    _duties(api)
    _team(api, A1, [{"person_code": "dave", "role": "full_time"}])
    api.get("/api/phone/duties", who="dave")  # today's items
    safety = "B500111001-safety_law"
    for unit in (safety, G1):
        ev = api.submit(who="bob", event_class_code="0201", lon=World.A1[0], lat=World.A1[1])
        api.post(f"/api/events/{ev['number']}/dispatch", "bob", {"units": [{"unit_code": unit, "role": "lead"}]})
    api.post("/api/evaluation/refresh", "admin")
    period = datetime.now(UTC).astimezone().date().isoformat()[:7]
    boards = api.get("/api/evaluation/figures", who="grace",
                     params={"period": period, "group_by": "unit", "unit_kind": "board"})
    assert [g["code"] for g in boards["groups"]] == [safety]
    assert {"closure_rate", "on_time_closure_rate", "accurate_dispatch_rate"} <= set(boards["groups"][0])
    teams = api.get("/api/evaluation/figures", who="grace",
                    params={"period": period, "group_by": "unit", "unit_kind": "grid_team"})
    assert [g["code"] for g in teams["groups"]] == [G1]
    assert "closure_rate" in teams["groups"][0] and teams["groups"][0]["duties"]["open"] == 2
    ranked = api.get("/api/evaluation/rankings", who="grace",
                     params={"period": period, "by": "unit", "unit_kind": "board"})
    codes = [e["code"] for e in ranked["ranking"] + ranked["unranked"]]
    assert codes and all(c.startswith("B500111001-") for c in codes)
