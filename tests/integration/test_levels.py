"""Three levels in one view (一贯到底) and the town's own cockpit, as the people of the small world.

mayor is a leader of the city centre (重庆市); alice the district dispatcher (大足区); bob town A's
(龙岗街道) duty officer, frank town B's (棠香街道); carol handles city management (a district
department); dave is grid A-1's worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, Event, Person, Task
from tests.factories import World
from tests.integration.conftest import Api

TOWN_A, TOWN_B, VILLAGE_A, GRID_A1 = "500111001", "500111002", "500111001001", "500111001001001"


@pytest.fixture
def mayor(world: World, session_factory: sessionmaker[Session]) -> str:
    with session_factory() as s:
        s.add(Person(code="mayor", name="市领导", unit_id=world.units["C500000"].id, role="leader"))
        s.commit()
    return "mayor"


def _do(api: Api, ev: dict[str, Any], action: str, who: str, body: dict[str, Any] | None = None) -> Any:
    return api.post(f"/api/events/{ev['number']}/{action}", who, body or {})


def _task_do(api: Api, ev: dict[str, Any], unit: str, action: str, who: str,
             body: dict[str, Any] | None = None) -> Any:
    task = api.task(ev, unit)
    return api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/{action}", who, body or {})


def _children(view: dict[str, Any]) -> dict[str, int]:
    return {c["code"]: c["open"] for c in view["children"]}


def test_each_level_shows_its_children_with_the_same_panels_down_to_the_grid(api: Api, world: World,
                                                                              mayor: str) -> None:
    for point in (World.A1, World.A1, World.A2, World.B1):
        api.submit(lon=point[0], lat=point[1])
    city = api.get("/api/levels", who=mayor)
    assert city["area"]["code"] == "500000" and city["child_level"] == "district"
    assert _children(city) == {"500111": 4} and city["totals"]["open"] == 4
    assert [c["code"] for c in city["crumbs"]] == ["500000"]
    assert {f["properties"]["code"] for f in city["map"]["features"]} == {"500111"}

    district = api.get("/api/levels/500111", who=mayor)
    assert _children(district) == {TOWN_A: 3, TOWN_B: 1} and district["child_level"] == "town"
    assert [c["code"] for c in district["crumbs"]] == ["500000", "500111"]
    town = api.get(f"/api/levels/{TOWN_A}", who=mayor)
    assert _children(town) == {VILLAGE_A: 3} and len(town["markers"]) == 3
    village = api.get(f"/api/levels/{VILLAGE_A}", who=mayor)
    assert _children(village) == {GRID_A1: 2, "500111001001002": 1} and village["child_level"] == "grid"
    grid = api.get(f"/api/levels/{GRID_A1}", who=mayor)
    assert grid["child_level"] is None and grid["totals"]["open"] == 2
    assert [c["drillable"] for c in grid["children"]] == [False]
    assert [c["code"] for c in grid["crumbs"]] == ["500000", "500111", TOWN_A, VILLAGE_A, GRID_A1]
    # the same panels at every level
    for view in (city, district, town, village, grid):
        assert set(view) >= {"area", "crumbs", "totals", "children", "map", "vitals", "markers"}
        assert set(view["totals"]) >= {"open", "overdue", "received_today", "closed_today", "warnings"}


def test_overdue_and_warnings_roll_up_to_the_child_they_happened_in(api: Api, world: World,
                                                                     session_factory: sessionmaker[Session]) -> None:
    late = api.submit(lon=World.B1[0], lat=World.B1[1])
    _do(api, late, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    with session_factory() as s:
        event_id = s.query(Event.id).filter(Event.number == late["number"]).scalar()
        s.execute(update(Task).where(Task.event_id == event_id)
                  .values(handle_due_at=datetime.now(UTC) - timedelta(hours=1)))
        s.commit()
    district = api.get("/api/levels/500111", who="alice")
    overdue = {c["code"]: c["overdue"] for c in district["children"]}
    assert overdue == {TOWN_A: 0, TOWN_B: 1} and district["totals"]["overdue"] == 1
    assert api.get(f"/api/levels/{TOWN_B}", who="frank")["totals"]["overdue"] == 1
    assert api.get(f"/api/levels/{TOWN_A}", who="bob")["totals"]["overdue"] == 0


def test_a_town_officer_sees_his_town_and_below_never_the_levels_above_or_beside(api: Api, world: World) -> None:
    api.submit(lon=World.B1[0], lat=World.B1[1], title="棠香的事")
    mine = api.get("/api/levels", who="bob")
    assert mine["area"]["code"] == TOWN_A
    # the breadcrumb names the areas above him, but they are not his to open
    assert [(c["code"], c["visible"]) for c in mine["crumbs"]] == [("500000", False), ("500111", False),
                                                                   (TOWN_A, True)]
    assert "棠香的事" not in str(mine)
    for code in ("500000", "500111", TOWN_B, "500111002001", "500111002001001"):
        r = api.get(f"/api/levels/{code}", who="bob", status=404)
        assert r["detail"] == api.get("/api/levels/500199999", who="bob", status=404)["detail"]
        api.get(f"/api/levels/{code}/cross-level", who="bob", status=404)
    api.get(f"/api/towns/{TOWN_B}/cockpit", who="bob", status=404)
    api.get(f"/api/levels/{VILLAGE_A}", who="bob")
    api.get(f"/api/levels/{GRID_A1}", who="dave")
    api.get(f"/api/levels/{VILLAGE_A}", who="dave", status=404)  # a grid worker's scope is his grid
    # a department has no area of its own: its work is its tasks (the event lists)
    api.get("/api/levels", who="carol", status=404)


def test_cross_level_figures_come_from_the_timeline(api: Api, world: World, mayor: str) -> None:
    # pushed down district → town A, signed for and done there, closed
    one = api.submit()
    one = _do(api, one, "push-down", "alice", {"centre_code": "C500111001", "instruction": "请镇街处置"})
    one = _task_do(api, one, "C500111001", "accept", "bob")
    one = _task_do(api, one, "C500111001", "report-back", "bob", {"result": "已处置"})
    one = _do(api, one, "verify", "alice", {"passed": True})
    _do(api, one, "close", "alice")
    # pushed down, then escalated back up by town A (上报)
    two = api.submit(lon=World.A2[0], lat=World.A2[1])
    two = _do(api, two, "push-down", "alice", {"centre_code": "C500111001"})
    _do(api, two, "escalate", "bob", {"reason": "涉及主干道，需区级协调"})
    # pushed down, returned before signing (退单)
    three = api.submit()
    three = _do(api, three, "push-down", "alice", {"centre_code": "C500111001"})
    _task_do(api, three, "C500111001", "return", "bob", {"reason": "不属于本镇街"})
    # handled sideways at the district's level by a department, closed there
    four = api.submit(lon=World.B1[0], lat=World.B1[1])
    four = _do(api, four, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    four = _task_do(api, four, "D500111-CGJ", "accept", "carol")
    four = _task_do(api, four, "D500111-CGJ", "report-back", "carol", {"result": "已处置"})
    four = _do(api, four, "verify", "alice", {"passed": True})
    _do(api, four, "close", "alice")

    f = api.get("/api/levels/500111/cross-level", who="alice")
    assert f["down"] == [{"from_level": "district", "to_level": "town", "count": 3}]
    up = {(r["action"], r["from_level"], r["to_level"]): r["count"] for r in f["up"]}
    assert up == {("event.escalate", "town", "district"): 1, ("task.return", "town", "district"): 1}
    waits = {w["level"]: w for w in f["waits"]}
    assert waits["town"]["tasks"] == 3 and waits["town"]["accepted"] == 1 and waits["town"]["reported"] == 1
    assert waits["town"]["accept_hours"] is not None and waits["town"]["accept_hours"] >= 0
    assert waits["district"]["tasks"] == 1 and waits["district"]["reported"] == 1  # the department's
    closes = {c["level"]: c["closed"] for c in f["closes"]}
    assert closes == {"town": 1, "district": 1}
    intake = {i["level"]: i for i in f["intake"]}
    assert intake["district"]["events"] == 4 and intake["district"]["dispatched"] == 4

    # the same figures from the city, none of them from town B's view
    assert api.get("/api/levels/500000/cross-level", who=mayor)["down"] == f["down"]
    b = api.get(f"/api/levels/{TOWN_B}/cross-level", who="frank")
    assert b["down"] == [] and b["up"] == [] and {c["level"]: c["closed"] for c in b["closes"]} == {"district": 1}
    a = api.get(f"/api/levels/{TOWN_A}/cross-level", who="bob")
    assert {c["level"]: c["closed"] for c in a["closes"]} == {"town": 1}
    api.get(f"/api/levels/{TOWN_A}/cross-level", who="bob", params={"days": 0}, status=422)


def test_the_town_cockpit_shows_boards_coverage_workers_and_plans(api: Api, world: World) -> None:
    api.post(f"/api/towns/{TOWN_A}/boards", "admin")
    safety = {"code": f"B{TOWN_A}-safety_law"}  # docs/town.md: a board's unit code
    ev = api.submit()
    ev = _do(api, ev, "push-down", "alice", {"centre_code": "C500111001"})
    # the town centre dispatches to its board (boards are units under the town centre)
    other = api.submit(lon=World.A2[0], lat=World.A2[1], who="bob")
    _do(api, other, "dispatch", "bob", {"units": [{"unit_code": safety["code"]}]})
    # dave walks grid A-1 now
    start = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    api.post("/api/patrols", "dave", {"point": {"lon": 105.702, "lat": 29.702, "at": start}}, status=201)

    town = api.get(f"/api/towns/{TOWN_A}/cockpit", who="bob")
    boards = {b["unit_code"]: b for b in town["boards"]}
    assert boards["C500111001"]["open"] == 1  # the centre's task pushed down from the district
    assert boards[safety["code"]]["open"] == 1 and boards[safety["code"]]["overdue"] == 0
    assert len(town["boards"]) == 5
    assert town["coverage"]["grids"] == 2 and town["coverage"]["covered"] == 1
    assert [g["code"] for g in town["coverage"]["uncovered"]] == ["500111001001002"]
    assert [(w["person_code"], w["on_patrol"]) for w in town["workers"]] == [("dave", True)]
    assert town["workers"][0]["lon"] == pytest.approx(105.702)
    assert town["plans"] == []
    # the district and the city open it too; town B and a grid worker do not
    assert api.get(f"/api/towns/{TOWN_A}/cockpit", who="alice")["coverage"]["covered"] == 1
    api.get(f"/api/towns/{TOWN_A}/cockpit", who="frank", status=404)
    api.get("/api/towns/500111/cockpit", who="alice", status=404)  # a district is not a town
    b = api.get(f"/api/towns/{TOWN_B}/cockpit", who="frank")
    assert b["workers"] == [] and b["coverage"]["covered"] == 0 and b["coverage"]["grids"] == 1


def test_each_child_has_its_own_vital_signs_colour_by_the_sectors_rule_from_one_set_of_queries(
        api: Api, world: World, session_factory: sessionmaker[Session], engine: Any) -> None:
    from sqlalchemy import event

    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing import warning_config as wc
    from shuzhi.services.sensing.ingest import ingest
    from shuzhi.services.sensing.vital_signs import area_colours
    from shuzhi.services.unit_of_work import UnitOfWork
    from tests.integration.test_warnings import RIVER
    from tests.sensing_data import load_sensing, reading

    uow = UnitOfWork(session_factory)
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", at, 3.1, device="WL-A")])  # orange, in town A
    district = api.get("/api/levels/500111", who="alice")
    colours = {c["code"]: c["vital_colour"] for c in district["children"]}
    assert colours[TOWN_A] == "orange" and colours[TOWN_B] not in (None, "orange", "red")
    # the same rule as each child's own level view, which narrows the sectors' tree to it
    for code in (TOWN_A, TOWN_B):
        assert colours[code] == api.get(f"/api/levels/{code}", who="alice")["vitals"]["colour"]
    # down to a grid: the grid's own colour is its own view's
    grid = api.get(f"/api/levels/{GRID_A1}", who="alice")
    assert grid["children"][0]["vital_colour"] == grid["vitals"]["colour"]
    # no N+1: one child or both, the same statements
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    with session_factory() as s:
        paths = dict(s.execute(select(Area.code, Area.path).where(Area.code.in_([TOWN_A, TOWN_B]))).all())
    towns = [(code, paths[code], "town") for code in (TOWN_A, TOWN_B)]
    event.listen(engine, "before_cursor_execute", count)
    try:
        one = area_colours(UnitOfWork(session_factory), SYSTEM, towns[:1])
        n_one = len(seen)
        seen.clear()
        both = area_colours(UnitOfWork(session_factory), SYSTEM, towns)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(seen) == n_one <= 10
    assert one[TOWN_A] == both[TOWN_A] and both[TOWN_A]["colour"] == "orange"
