"""Tasks to named people (事件责任人, issue #20), over the HTTP API as the small world's people.

lily leads city management (城管, a department: role ``leader``); carol and carl handle there; erin handles
water affairs; alice is the district centre's dispatcher, grace the district leader, admin the
administrator, frank town B's duty officer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.services.actors import forget_people
from shuzhi.services.supervision import sweep
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

CGJ = "D500111-CGJ"


@pytest.fixture
def cgj(world: World, session_factory: sessionmaker[Session]) -> World:
    """City management gets a leader (lily) and a second handler (carl)."""
    with session_factory() as s:
        unit = s.scalars(select(Unit).where(Unit.code == CGJ)).one()
        s.add_all([Person(code="lily", name="林丽", phone="13800138001", unit_id=unit.id, role="leader"),
                   Person(code="carl", name="蔡亮", phone="13800138002", unit_id=unit.id, role="handler")])
        s.commit()
    forget_people()
    return world


def _dispatched(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    ev = api.submit()
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": CGJ, "role": "lead"}]})
    return ev, api.task(ev, CGJ)


def _assign(api: Api, ev: dict[str, Any], task: dict[str, Any], who: str, person: str, status: int = 200,
            reason: str | None = "熟悉该片区") -> Any:
    body: dict[str, Any] = {"person_code": person}
    if reason is not None:
        body["reason"] = reason
    return api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/assign", who, body, status=status)


def _timeline(api: Api, ev: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [e for e in api.get(f"/api/events/{ev['number']}/timeline") if e["action"] == action]


def test_the_units_leader_assigns_its_task_to_a_member_and_it_reaches_his_inbox(api: Api, cgj: World) -> None:
    ev, task = _dispatched(api)
    out = _assign(api, ev, task, "lily", "carol")
    assigned = api.task(out, CGJ)
    assert assigned["assignee_code"] == "carol" and assigned["assignee_name"] == "陈静"
    [entry] = _timeline(api, ev, "task.assign")
    assert entry["actor"].startswith("林丽") and entry["reason"] == "熟悉该片区"
    assert entry["payload"]["from"] is None and entry["payload"]["to"]["code"] == "carol"
    # his inbox: the task under "assigned to me", a message, the count; and his own task list
    mine = api.get("/api/desk/inbox?box=mine", who="carol")
    assert [(i["kind"], i["task_id"]) for i in mine] == [("assigned", task["id"])]
    assert [n["kind"] for n in api.get("/api/inbox", who="carol")] == ["task.assigned"]
    assert api.get("/api/desk/counts", who="carol")["assigned_to_me"] == 1
    [my] = api.get("/api/my/assigned-tasks", who="carol")
    assert my["event_number"] == ev["number"] and my["handle_due_at"] is not None and my["overdue"] is False
    # carl, of the same unit, has nothing assigned to him
    assert api.get("/api/desk/inbox?box=mine", who="carl") == []


def test_reassigning_moves_the_task_to_the_other_person_with_from_and_to(api: Api, cgj: World) -> None:
    ev, task = _dispatched(api)
    _assign(api, ev, task, "lily", "carol")
    _assign(api, ev, task, "lily", "carl", reason="陈静出差")
    [entry] = _timeline(api, ev, "task.reassign")
    assert entry["payload"]["from"]["code"] == "carol" and entry["payload"]["to"]["code"] == "carl"
    assert entry["reason"] == "陈静出差"
    assert api.get("/api/my/assigned-tasks", who="carol") == []
    assert len(api.get("/api/my/assigned-tasks", who="carl")) == 1
    assert "task.reassigned" in [n["kind"] for n in api.get("/api/inbox", who="carol")]
    # the same person again is a mistake at the field
    assert _assign(api, ev, task, "lily", "carl", status=422)["field"] == "person_code"


def test_only_the_units_leader_or_a_superior_centre_may_assign(api: Api, cgj: World) -> None:
    ev, task = _dispatched(api)
    _assign(api, ev, task, "carol", "carl", status=403)  # a handler of the unit: no assigning
    _assign(api, ev, task, "erin", "carol", status=403)  # another department's handler
    _assign(api, ev, task, "frank", "carol", status=404)  # town B does not see the event at all
    # the district centre, where the event lies, may (a superior centre)
    assert api.task(_assign(api, ev, task, "alice", "carl"), CGJ)["assignee_code"] == "carl"
    assert len(_timeline(api, ev, "task.assign")) == 1


def test_assigning_to_someone_outside_the_unit_is_refused_naming_person_code(
        api: Api, cgj: World, session_factory: sessionmaker[Session]) -> None:
    ev, task = _dispatched(api)
    for who in ("erin", "nobody", "bob"):
        assert _assign(api, ev, task, "lily", who, status=422)["field"] == "person_code"
    with session_factory() as s:
        s.scalars(select(Person).where(Person.code == "carl")).one().active = False
        s.commit()
    assert _assign(api, ev, task, "lily", "carl", status=422)["field"] == "person_code"
    assert api.task(api.get(f"/api/events/{ev['number']}"), CGJ)["assignee_code"] is None
    assert _timeline(api, ev, "task.assign") == []


def test_a_copy_is_not_assigned_to_a_person(api: Api, cgj: World) -> None:
    ev = api.submit(event_class_code="9001")
    ev = api.post(f"/api/events/{ev['number']}/notify", "alice", {"unit_codes": [CGJ]})
    assert _assign(api, ev, api.task(ev, CGJ), "lily", "carol", status=409)["field"] == "task_id"


def test_reminders_and_a_leaders_urge_go_to_the_assigned_person(
        api: Api, cgj: World, session_factory: sessionmaker[Session]) -> None:
    ev, task = _dispatched(api)
    _assign(api, ev, task, "lily", "carol")
    api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/accept", "carol", {})
    api.post(f"/api/events/{ev['number']}/urge", "grace",
             {"instruction": "请今日办结", "due_at": (datetime.now(UTC) + timedelta(hours=20)).isoformat()})
    sweep(lambda: UnitOfWork(session_factory), datetime.now(UTC) + timedelta(days=30))
    with session_factory() as s:
        rows = s.execute(select(Notification.kind, Notification.person_id, Notification.unit_id)
                         .where(Notification.task_id == task["id"])).all()
        carol = s.scalars(select(Person.id).where(Person.code == "carol")).one()
    mine = [k for k, person, unit in rows if person == carol]
    assert "supervision.leader_urge" in mine and any(k.startswith("supervision.") and k != "supervision.leader_urge"
                                                     for k in mine), rows
    # nothing about this task went to the unit's desk as a whole: the person answers for it
    cgj_id = world_unit_id(session_factory, CGJ)
    assert [k for k, person, unit in rows if unit == cgj_id] == []


def test_reassigning_an_accepted_task_sends_its_next_reminders_to_the_new_person(
        api: Api, cgj: World, session_factory: sessionmaker[Session]) -> None:
    # the clock exists before the assignment and is not planned again: the sweep must still find the person
    ev, task = _dispatched(api)
    api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/accept", "carl", {})
    _assign(api, ev, task, "lily", "carol")
    _assign(api, ev, task, "lily", "carl")
    sweep(lambda: UnitOfWork(session_factory), datetime.now(UTC) + timedelta(days=30))
    with session_factory() as s:
        rows = s.execute(select(Notification.kind, Notification.person_id, Notification.unit_id)
                         .where(Notification.task_id == task["id"], Notification.kind.like("supervision.%"))).all()
        carl = s.scalars(select(Person.id).where(Person.code == "carl")).one()
    assert rows and {person for _k, person, _u in rows if person is not None} == {carl}, rows
    assert [k for k, person, unit in rows if unit == world_unit_id(session_factory, CGJ)] == []


def world_unit_id(session_factory: sessionmaker[Session], code: str) -> int:
    with session_factory() as s:
        return int(s.scalars(select(Unit.id).where(Unit.code == code)).one())


def test_a_person_whose_account_is_disabled_gives_his_open_tasks_back_to_the_leader(api: Api, cgj: World) -> None:
    ev, task = _dispatched(api)
    _assign(api, ev, task, "alice", "carol")
    api.request("PATCH", "/api/users/carol", "admin", json={"active": False})
    back = api.task(api.get(f"/api/events/{ev['number']}"), CGJ)
    assert back["assignee_code"] == "lily"
    [entry] = _timeline(api, ev, "task.assignee_return")
    assert entry["actor"].startswith("周敏") and entry["reason"] and "停用" in entry["reason"]
    assert entry["payload"]["from"]["code"] == "carol" and entry["payload"]["to"]["code"] == "lily"
    assert "task.returned_to_leader" in [n["kind"] for n in api.get("/api/inbox", who="lily")]
    assert len(api.get("/api/my/assigned-tasks", who="lily")) == 1


def test_a_person_moved_out_of_the_unit_gives_his_open_tasks_back_and_ended_ones_stay(api: Api, cgj: World) -> None:
    ev, task = _dispatched(api)
    done, done_task = _dispatched(api)
    _assign(api, ev, task, "lily", "carl")
    _assign(api, done, done_task, "lily", "carl")
    path = f"/api/events/{done['number']}/tasks/{done_task['id']}"
    api.post(f"{path}/accept", "carl", {})
    api.post(f"{path}/report-back", "carl", {"result": "已更换井盖"})
    api.post(f"/api/events/{done['number']}/verify", "alice", {"passed": True})
    api.request("PATCH", "/api/users/carl", "admin", json={"unit_code": "D500111-SWJ"})
    assert api.task(api.get(f"/api/events/{ev['number']}"), CGJ)["assignee_code"] == "lily"
    assert "调离" in _timeline(api, ev, "task.assignee_return")[0]["reason"]
    # a verified task is history: it stays his
    assert api.task(api.get(f"/api/events/{done['number']}"), CGJ, live=False)["assignee_code"] == "carl"
    assert _timeline(api, done, "task.assignee_return") == []


def test_a_unit_without_a_leader_takes_the_task_back_as_a_whole(api: Api, world: World) -> None:
    ev, task = _dispatched(api)
    _assign(api, ev, task, "alice", "carol")
    api.request("PATCH", "/api/users/carol", "admin", json={"active": False})
    assert api.task(api.get(f"/api/events/{ev['number']}"), CGJ)["assignee_code"] is None
    [entry] = _timeline(api, ev, "task.assignee_return")
    assert entry["payload"]["to"] is None


def test_the_persons_figures_count_his_tasks_and_how_many_were_on_time(api: Api, cgj: World) -> None:
    ev, task = _dispatched(api)
    _assign(api, ev, task, "lily", "carol")
    path = f"/api/events/{ev['number']}/tasks/{task['id']}"
    api.post(f"{path}/accept", "carol", {})
    api.post(f"{path}/report-back", "carol", {"result": "已处理"})
    other, other_task = _dispatched(api)
    _assign(api, other, other_task, "lily", "carol")
    month = datetime.now(UTC).astimezone().strftime("%Y-%m")
    rows = {r["code"]: r for r in api.get(f"/api/evaluation/people?period={month}", who="grace")["people"]}
    assert rows["carol"]["assigned"] == {"tasks": 2, "reported": 1, "on_time": 1, "overdue": 0, "on_time_rate": 1.0}
    assert "assigned" not in rows.get("carl", {})


def test_a_people_file_that_moves_a_person_to_another_unit_gives_his_open_tasks_back(
        api: Api, cgj: World, session_factory: sessionmaker[Session]) -> None:
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.organisation import import_people

    ev, task = _dispatched(api)
    _assign(api, ev, task, "lily", "carl")
    with session_factory() as s:
        admin = resolve_actor(s, "admin")
    report = import_people(UnitOfWork(session_factory), [
        {"code": "carl", "name": "蔡亮", "phone": "13800138002", "unit_code": "D500111-SWJ", "role": "handler"}],
        actor=admin)
    assert report.updated == 1 and not report.errors
    assert api.task(api.get(f"/api/events/{ev['number']}"), CGJ)["assignee_code"] == "lily"
    [entry] = _timeline(api, ev, "task.assignee_return")
    assert entry["actor"].startswith("周敏") and entry["payload"]["from"]["code"] == "carl"


def test_a_redo_after_a_dissatisfied_call_back_goes_to_the_person_who_did_the_work(api: Api, cgj: World) -> None:
    ev, task = _dispatched(api)
    _assign(api, ev, task, "lily", "carol")
    path = f"/api/events/{ev['number']}/tasks/{task['id']}"
    api.post(f"{path}/accept", "carol", {})
    api.post(f"{path}/report-back", "carol", {"result": "已更换井盖"})
    api.post(f"/api/events/{ev['number']}/verify", "alice", {"passed": True})
    api.post(f"/api/events/{ev['number']}/close", "alice", {})
    out = api.post(f"/api/events/{ev['number']}/callback", "alice", {"satisfied": False, "comment": "井盖仍松动"})
    redo = api.task(out, CGJ)
    assert redo["id"] != task["id"] and redo["assignee_code"] == "carol"
    assert [t["task_id"] for t in api.get("/api/my/assigned-tasks", who="carol")] == [redo["id"]]


def _set_deadline(session_factory: sessionmaker[Session], task_id: int, due: datetime) -> None:
    from shuzhi.adapters.db.tables import Task
    with session_factory() as s:
        task = s.get(Task, task_id)
        assert task is not None
        task.handle_due_at = due
        s.commit()


def test_a_persons_closure_rates_follow_the_units_rules(
        api: Api, cgj: World, session_factory: sessionmaker[Session]) -> None:
    """carol answers for three cases: one closed by its deadline, one closed after it, one still open
    past it — 结案率 2/3, 按期结案率 1/3; carl for one closed on time. Every task is the unit's, so the
    two people's figures add up to city management's own."""
    now = datetime.now(UTC)

    def case(person: str, due: timedelta, close: bool) -> None:
        ev, task = _dispatched(api)
        _assign(api, ev, task, "lily", person)
        path = f"/api/events/{ev['number']}/tasks/{task['id']}"
        api.post(f"{path}/accept", person, {})
        _set_deadline(session_factory, task["id"], now + due)
        if close:
            api.post(f"{path}/report-back", person, {"result": "已处理"})
            api.post(f"/api/events/{ev['number']}/verify", "alice", {"passed": True})
            api.post(f"/api/events/{ev['number']}/close", "alice", {})
            assert api.get(f"/api/events/{ev['number']}")["state"] == "closed"

    case("carol", timedelta(minutes=5), True)
    case("carol", -timedelta(hours=1), True)
    case("carol", -timedelta(hours=1), False)
    case("carl", timedelta(minutes=5), True)
    local = now.astimezone()
    period = f"{(local - timedelta(days=1)):%Y-%m-%d}..{(local + timedelta(days=1)):%Y-%m-%d}"
    rows = {r["code"]: r for r in api.get(f"/api/evaluation/people?period={period}", who="grace")["people"]}
    carol, carl = rows["carol"]["figures"], rows["carl"]["figures"]
    assert (carol["due"], carol["due_closed"], carol["due_closed_on_time"]) == (3, 2, 1), carol
    assert carol["closure_rate"] == round(2 / 3, 4) and carol["on_time_closure_rate"] == round(1 / 3, 4)
    assert carol["handled_on_time"] == 1 and carol["handled_overdue"] == 2 and carol["on_time_handling_rate"] == 0.3333
    assert (carl["due"], carl["closure_rate"], carl["on_time_closure_rate"]) == (1, 1.0, 1.0), carl
    assert "figures" not in rows.get("lily", {})
    api.post("/api/evaluation/refresh", "admin", {})
    unit = api.get("/api/evaluation/figures", who="grace", params={"period": period, "unit": CGJ})["total"]
    for k in ("due", "due_closed", "due_closed_on_time", "handled_on_time", "handled_overdue"):
        assert unit[k] == carol[k] + carl[k], k
