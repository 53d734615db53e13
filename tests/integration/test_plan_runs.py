"""Plans started by hand, by one click from an event, by a warning and by an event class; tasks
that wait for their predecessors; one run per trigger episode; the board; stand-down.

alice is the district duty officer, bob town A's (龙岗街道) and frank town B's (棠香街道); carol
handles city management (城管), erin the water company.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shuzhi.adapters.db.tables import Event, Task
from shuzhi.adapters.db.tables_plans import PlanRun
from shuzhi.services import hooks
from shuzhi.services.actors import resolve_actor
from shuzhi.services.plans import activation as plan_activation
from shuzhi.services.plans import runs as plan_runs
from shuzhi.services.plans import templates as plan_templates
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api


def template(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": "storm", "name": "暴雨应急预案", "confirmation": "auto",
        "trigger": {"kind": "warning", "indicators": ["RW.water"], "at_least": "orange"},
        "event": {"urgency": "critical"}, "accept_within": "0.5h",
        "tasks": [
            {"key": "brief", "title": "镇街部署", "role": "town_centre", "instruction": "启动镇街应急响应",
             "deadline": "2h", "checklist": ["通知村社", "值班到岗"]},
            {"key": "dept", "title": "城管排水", "role": "unit:D500111-CGJ", "instruction": "清掏雨水口",
             "deadline": "4h"},
            {"key": "grid", "title": "网格巡查", "role": "grid_units", "instruction": "巡查低洼地带",
             "deadline": "1wd", "after": ["brief"]},
        ],
    }
    doc.update(over)
    return doc





@pytest.fixture
def storm(uow: UnitOfWork, world: World) -> None:
    plan_templates.save_template(uow, template(), _system())


def _system() -> Any:
    from shuzhi.services.actors import SYSTEM

    return SYSTEM


def board(api: Api, run_id: int, who: str = "alice") -> dict[str, Any]:
    return api.get(f"/api/plan-runs/{run_id}", who=who)


def by_unit(b: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["unit_code"]: t for t in b["tasks"]}


def test_manual_start_dispatches_at_once_and_releases_dependents_per_branch(api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["500111"]}, status=201)
    assert run["created"] and run["tasks"] == 3 and run["waiting"] == 1
    b = board(api, run["run_id"])
    tasks = by_unit(b)
    assert set(tasks) == {"C500111001", "C500111002", "D500111-CGJ", "G500111001001001"}
    assert tasks["G500111001001001"]["state"] == "waiting" and tasks["G500111001001001"]["task_id"] is None
    assert tasks["C500111001"]["state"] == "dispatched" and tasks["C500111001"]["checklist"] == ["通知村社", "值班到岗"]
    assert b["affected_areas"] == [{"code": "500111", "name": "大足区"}]
    assert 0 < tasks["C500111001"]["seconds_left"] <= 2 * 3600
    ev = api.get(f"/api/events/{b['event_number']}")
    assert ev["state"] == "dispatched" and ev["urgency"] == "critical" and ev["area_code"] == "500111"
    town_a = api.task(ev, "C500111001")
    assert "□ 通知村社" in town_a["instruction"] and town_a["accept_due_at"] < town_a["handle_due_at"]

    # town B reporting back releases nothing: the grid is on town A's branch
    town_b = api.task(ev, "C500111002")
    api.post(f"/api/events/{ev['number']}/tasks/{town_b['id']}/accept", "frank")
    api.post(f"/api/events/{ev['number']}/tasks/{town_b['id']}/report-back", "frank", {"result": "已部署"})
    assert by_unit(board(api, run["run_id"]))["G500111001001001"]["state"] == "waiting"
    api.post(f"/api/events/{ev['number']}/tasks/{town_a['id']}/accept", "bob")
    ev = api.post(f"/api/events/{ev['number']}/tasks/{town_a['id']}/report-back", "bob", {"result": "已部署"})
    grid = by_unit(board(api, run["run_id"]))["G500111001001001"]
    assert grid["state"] == "dispatched" and grid["task_id"] is not None
    assert ev["state"] == "handling"  # the grid's new task keeps the event open
    timeline = api.get(f"/api/events/{ev['number']}/timeline")
    actions = [t["action"] for t in timeline]
    assert actions[:2] == ["event.register", "event.dispatch"]
    assert actions.count("task.create") == 4 and "plan.release" in actions
    release = next(t for t in timeline if t["action"] == "plan.release")
    assert release["payload"]["released"] == ["grid"]


def test_one_click_from_an_event_twice_gives_one_run(api: Api, storm: None, session_factory: Any) -> None:
    ev = api.submit(event_class_code="0201", title="路面积水")
    first = api.post(f"/api/events/{ev['number']}/plans/storm/activate", "alice", status=201)
    again = api.post(f"/api/events/{ev['number']}/plans/storm/activate", "alice", status=200)
    assert again["run_id"] == first["run_id"] and again["created"] is False
    # the event's own area is a grid in town A: its town centre, the department and (later) its grid
    b = board(api, first["run_id"])
    assert {t["unit_code"] for t in b["tasks"]} == {"C500111001", "D500111-CGJ", "G500111001001001"}
    assert [r["id"] for r in api.get(f"/api/events/{ev['number']}/plans")] == [first["run_id"]]
    with session_factory() as s:
        assert s.scalar(select(func.count(PlanRun.id))) == 1


def _fire(uow: UnitOfWork, level: str | None, *, episode: str = "ep-1", lineage: tuple[str, ...] = (
        "SEC.infra", "RW.water", "IND.level.1"), event_id: int | None = None, previous: str | None = None) -> None:
    change = hooks.WarningChange(warning_id=7, episode_key=episode, indicator_code=lineage[-1],
                                 indicator_lineage=lineage, series_key="gauge-1", area_code="500111001",
                                 area_path="/500000/500111/500111001/", level=level, previous_level=previous,
                                 at=datetime.now(UTC), event_id=event_id)
    with uow:
        for hook in hooks.WARNING_HOOKS:
            hook(uow.session, change)
        uow.commit()


def test_a_warning_starts_the_plan_once_per_episode(api: Api, storm: None, uow: UnitOfWork,
                                                     session_factory: Any) -> None:
    _fire(uow, "yellow")  # below orange: nothing
    _fire(uow, "orange", lineage=("SEC.air", "IND.pm25"))  # another indicator: nothing
    assert api.get("/api/plan-runs") == []
    _fire(uow, "orange", previous="yellow")
    _fire(uow, "red", previous="orange")  # same episode, rising: no second run
    runs = api.get("/api/plan-runs")
    assert len(runs) == 1 and runs[0]["state"] == "active" and runs[0]["warning_id"] == 7
    b = board(api, runs[0]["id"])
    assert b["warning_level"] == "orange" and b["trigger_kind"] == "warning"
    assert {t["unit_code"] for t in b["tasks"]} == {"C500111001", "D500111-CGJ", "G500111001001001"}
    ev = api.get(f"/api/events/{b['event_number']}")
    assert ev["source"] == "sensor_warning" and ev["state"] == "dispatched"
    assert [r["id"] for r in api.get("/api/plan-runs?warning_id=7")] == [runs[0]["id"]]
    _fire(uow, None, previous="red")  # resolved: the board says so; standing down is a person's call
    assert any(t["action"] == "plan.warning_resolved" for t in api.get(f"/api/events/{ev['number']}/timeline"))
    # a new episode while the run is still active is the same situation: it joins the run
    _fire(uow, "orange", episode="ep-2")
    assert len(api.get("/api/plan-runs")) == 1
    assert [t["role"] for t in board(api, runs[0]["id"])["triggers"]] == ["started", "attached"]
    api.post(f"/api/plan-runs/{runs[0]['id']}/stand-down", "alice", {"reason": "雨停"})
    _fire(uow, "orange", episode="ep-3")  # after the stand-down a new episode is a new run
    assert len(api.get("/api/plan-runs")) == 2
    with session_factory() as s:
        assert s.scalar(select(func.count(Event.id))) == 2


def test_a_propose_template_waits_for_the_duty_officer(api: Api, world: World, uow: UnitOfWork) -> None:
    from shuzhi.services.actors import SYSTEM

    plan_templates.save_template(uow, template(confirmation="propose"), SYSTEM)
    _fire(uow, "red")
    run = api.get("/api/plan-runs")[0]
    assert run["state"] == "proposed" and run["event_number"] is None
    assert board(api, run["id"])["tasks"] == []
    started = api.post(f"/api/plan-runs/{run['id']}/confirm", "alice", {"reason": "确认启动"})
    assert started["state"] == "active" and started["tasks"] == 2 and started["event_number"]
    api.post(f"/api/plan-runs/{run['id']}/confirm", "alice", {}, status=409)
    _fire(uow, "red")  # the same episode again: still one run
    assert len(api.get("/api/plan-runs")) == 1


def test_an_event_class_trigger_starts_on_intake(api: Api, world: World, uow: UnitOfWork) -> None:
    from shuzhi.services.actors import SYSTEM

    plan_templates.save_template(uow, template(code="burst", trigger={"kind": "event_class", "classes": ["0301"],
                                                             "at_least": "urgent"}), SYSTEM)
    calm = api.submit(event_class_code="0301", title="小渗漏", urgency="normal")
    assert api.get(f"/api/events/{calm['number']}/plans") == []
    ev = api.submit(event_class_code="0301", title="供水主管爆裂")  # the class defaults to urgent
    runs = api.get(f"/api/events/{ev['number']}/plans")
    assert len(runs) == 1 and runs[0]["trigger_kind"] == "event_class" and runs[0]["state"] == "active"
    ev = api.get(f"/api/events/{ev['number']}")
    assert {t["unit_code"] for t in ev["tasks"]} == {"C500111001", "D500111-CGJ"}
    # the same episode: a click on the event answers with the triggered run
    again = api.post(f"/api/events/{ev['number']}/plans/burst/activate", "alice", status=200)
    assert again["run_id"] == runs[0]["id"]
    # reclassifying the calm one to urgent is a new episode for it
    api.post(f"/api/events/{calm['number']}/reclassify", "alice",
             {"event_class_code": "0301", "urgency": "urgent", "reason": "实为主管爆裂"})
    assert len(api.get(f"/api/events/{calm['number']}/plans")) == 1


def test_stand_down_closes_open_tasks_with_the_reason(api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["500111001"]}, status=201)
    b = board(api, run["run_id"])
    ev = api.get(f"/api/events/{b['event_number']}")
    dept = api.task(ev, "D500111-CGJ")
    api.post(f"/api/events/{ev['number']}/tasks/{dept['id']}/accept", "carol")
    api.post(f"/api/events/{ev['number']}/tasks/{dept['id']}/report-back", "carol", {"result": "已清掏"})
    api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "alice", {}, status=422)
    done = api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "alice", {"reason": "雨停，解除响应"})
    assert done["state"] == "stood_down" and done["end_reason"] == "雨停，解除响应"
    states = {t["unit_code"]: t["state"] for t in done["tasks"]}
    assert states == {"C500111001": "cancelled", "D500111-CGJ": "reported_back", "G500111001001001": "cancelled"}
    ev = api.get(f"/api/events/{ev['number']}")
    assert ev["state"] == "reported_back"  # the reported work is still verified and closed
    town = api.task(ev, "C500111001", live=False)
    assert town["end_reason"] == "雨停，解除响应"
    api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "alice", {"reason": "again"}, status=409)


def test_bad_requests_change_nothing(api: Api, storm: None, session_factory: Any) -> None:
    r = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["999999"]}, status=422)
    assert r["field"] == "area_codes[0]"
    api.post("/api/plans/nope/activate", "alice", {"area_codes": ["500111"]}, status=404)
    api.post("/api/plans/storm/activate", "alice", {"area_codes": []}, status=422)
    # bob (town A) cannot start a plan for town B: it reads as unknown
    r = api.post("/api/plans/storm/activate", "bob", {"area_codes": ["500111002"]}, status=422)
    assert r["field"] == "area_codes[0]"
    # carol (a handler) may not start plans at all
    api.post("/api/plans/storm/activate", "carol", {"area_codes": ["500111001"]}, status=403)
    with session_factory() as s:
        assert s.scalar(select(func.count(PlanRun.id))) == 0
        assert s.scalar(select(func.count(Task.id))) == 0


def test_a_run_is_seen_only_in_scope(api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "bob", {"area_codes": ["500111001"]}, status=201)
    api.get(f"/api/plan-runs/{run['run_id']}", who="frank", status=404)
    assert api.get("/api/plan-runs", who="frank") == []
    # every action on a run goes through the same scoped loader: town B does not see town A's run
    base = f"/api/plan-runs/{run['run_id']}"
    step = board(api, run["run_id"], "bob")["tasks"][0]["step_id"]
    for path, body in ((f"{base}/confirm", {}), (f"{base}/dismiss", {}), (f"{base}/stand-down", {"reason": "x"}),
                       (f"{base}/steps/{step}/redispatch", {})):
        api.post(path, "frank", body, status=404)
    api.get(f"{base}/review", who="frank", status=404)
    api.request("PUT", f"{base}/review/notes", "frank", 404, json={"notes": "x"})
    assert [r["id"] for r in api.get("/api/plan-runs", who="bob")] == [run["run_id"]]


def test_deadlines_follow_the_template(uow: UnitOfWork, world: World, session_factory: Any) -> None:
    from shuzhi.services.actors import SYSTEM

    plan_templates.save_template(uow, template(), SYSTEM)
    with session_factory() as s:
        alice = resolve_actor(s, "alice")
    start = datetime(2024, 6, 15, 2, 0, tzinfo=UTC)  # Saturday 10:00 in Shanghai
    run = plan_activation.activate_manual(uow, "storm", plan_activation.Activate(area_codes=["500111001"]), alice,
                                          now=start)
    with session_factory() as s:
        tasks = {t.unit.code: t for t in s.scalars(select(Task))}
    assert tasks["C500111001"].handle_due_at == start + timedelta(hours=2)  # calendar hours run on Saturday
    assert tasks["C500111001"].accept_due_at == start + timedelta(minutes=30)
    assert run.tasks == 2 and run.waiting == 1


def test_a_stood_down_run_has_a_review(api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["500111001"]}, status=201)
    api.get(f"/api/plan-runs/{run['run_id']}/review", status=409)
    api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "alice", {"reason": "演练结束"})
    r = api.get(f"/api/plan-runs/{run['run_id']}/review")
    assert r["kind"] == "run" and r["plan_code"] == "storm" and r["tasks"] == 2
    assert {s["unit_code"] for s in r["task_stages"]} == {"C500111001", "D500111-CGJ"}
    assert any(line["action"] == "plan.stand_down" for line in r["timeline"])
    assert api.get(f"/api/plan-runs/{run['run_id']}/review?format=docx").content[:2] == b"PK"


def _fire_in(uow: UnitOfWork, area_code: str, area_path: str, episode: str) -> None:
    change = hooks.WarningChange(warning_id=9, episode_key=episode, indicator_code="IND.level.1",
                                 indicator_lineage=("SEC.infra", "RW.water", "IND.level.1"), series_key=episode,
                                 area_code=area_code, area_path=area_path, level="red", previous_level=None,
                                 at=datetime.now(UTC), event_id=None)
    with uow:
        for hook in hooks.WARNING_HOOKS:
            hook(uow.session, change)
        uow.commit()


def test_a_town_reads_only_its_part_of_the_district_run_and_cannot_stand_it_down(api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["500111"]}, status=201)
    whole = board(api, run["run_id"])
    assert len(whole["tasks"]) == 4 and whole["affected_areas"] == [{"code": "500111", "name": "大足区"}]
    mine = board(api, run["run_id"], who="bob")  # town A: its centre and its grid, not town B nor the department
    assert {t["unit_code"] for t in mine["tasks"]} == {"C500111001", "G500111001001001"}
    assert sum(mine["counts"].values()) == 2 and mine["affected_areas"] == []
    assert {t["unit_code"] for t in board(api, run["run_id"], who="frank")["tasks"]} == {"C500111002"}
    api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "bob", {"reason": "本镇雨停"}, status=403)
    assert board(api, run["run_id"])["state"] == "active"


def test_a_town_sees_its_own_triggers_of_a_run_and_not_another_towns(api: Api, storm: None,
                                                                     uow: UnitOfWork) -> None:
    _fire_in(uow, "500111001", "/500000/500111/500111001/", "ep-a")
    _fire_in(uow, "500111002", "/500000/500111/500111002/", "ep-b")  # joins the running plan
    run = api.get("/api/plan-runs")[0]
    whole = board(api, run["id"])
    assert [t["role"] for t in whole["triggers"]] == ["started", "attached"]
    for who, area in (("bob", "500111001"), ("frank", "500111002")):
        seen = board(api, run["id"], who=who)["triggers"]
        assert [t["areas"] for t in seen] == [[area]], (who, seen)
        assert all(area in t["areas"] + t["new_areas"] for t in seen)


def test_a_proposal_over_two_towns_is_decided_only_by_the_centre_covering_both(api: Api, world: World,
                                                                               uow: UnitOfWork) -> None:
    from shuzhi.services.actors import SYSTEM

    plan_templates.save_template(uow, template(confirmation="propose"), SYSTEM)
    _fire_in(uow, "500111001", "/500000/500111/500111001/", "ep-a")
    _fire_in(uow, "500111002", "/500000/500111/500111002/", "ep-b")
    runs = api.get("/api/plan-runs")
    two_towns = [r for r in runs if len(r["affected_areas"]) > 1]
    target = (two_towns or runs)[0]
    if not two_towns:  # each episode proposed its own run: widen one to both towns, as a joined proposal is
        with uow:
            row = uow.session.get(PlanRun, target["id"])
            assert row is not None
            row.affected_areas = ["500111001", "500111002"]
            uow.commit()
    api.post(f"/api/plan-runs/{target['id']}/confirm", "bob", {"reason": "确认"}, status=403)
    api.post(f"/api/plan-runs/{target['id']}/dismiss", "frank", {"reason": "不启动"}, status=403)
    assert board(api, target["id"])["state"] == "proposed"
    assert api.post(f"/api/plan-runs/{target['id']}/confirm", "alice", {"reason": "确认启动"})["state"] == "active"


def test_the_board_counts_every_task_and_pages_and_filters_them_on_the_server(api: Api, storm: None,
                                                                             uow: UnitOfWork) -> None:
    """A city-wide run has thousands of tasks: the board answers the counts over all of them and one
    page of those that match the filter (issue #16, views people wait for)."""
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["500111"]}, status=201)
    whole = board(api, run["run_id"])
    assert (whole["total_tasks"], whole["matched"], len(whole["tasks"])) == (4, 4, 4)
    assert whole["counts"] == {"dispatched": 3, "waiting": 1} and whole["overdue"] == 0
    first = api.get(f"/api/plan-runs/{run['run_id']}?limit=3", who="alice")
    rest = api.get(f"/api/plan-runs/{run['run_id']}?limit=3&offset=3", who="alice")
    assert [t["step_id"] for t in first["tasks"] + rest["tasks"]] == [t["step_id"] for t in whole["tasks"]]
    assert first["counts"] == whole["counts"] and first["total_tasks"] == 4  # counts are never per page
    waiting = api.get(f"/api/plan-runs/{run['run_id']}?show=waiting", who="alice")
    assert [t["unit_code"] for t in waiting["tasks"]] == ["G500111001001001"] and waiting["matched"] == 1
    with uow:
        alice = resolve_actor(uow.session, "alice")
    late = plan_runs.board(uow, run["run_id"], alice, now=datetime.now(UTC) + timedelta(days=3), show="overdue")
    assert late.overdue == late.matched == 3 and {t.state for t in late.tasks} == {"dispatched"}
    for bad, field in (("show=late", "show"), ("offset=-1", "offset"), ("limit=0", "limit"), ("limit=5000", "limit")):
        r = api.client.get(f"/api/plan-runs/{run['run_id']}?{bad}", headers=api.headers("alice"))
        assert r.status_code == 422 and r.json()["field"] == field, (bad, r.text)
    # a town's person counts only what he may see
    town = board(api, run["run_id"], who="bob")
    assert town["total_tasks"] == sum(town["counts"].values()) == len(town["tasks"]) < 4
def test_every_move_of_a_run_and_its_steps_is_on_the_event_s_timeline(api: Api, world: World,
                                                                       uow: UnitOfWork) -> None:
    from shuzhi.services.actors import SYSTEM

    plan_templates.save_template(uow, template(), SYSTEM)
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["500111001"]}, status=201)
    number = board(api, run["run_id"])["event_number"]
    done = api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "alice", {"reason": "雨停，解除响应"})
    waiting = [t["step_id"] for t in done["tasks"] if t["task_id"] is None]
    lines = {t["action"]: t for t in api.get(f"/api/events/{number}/timeline") if t["action"].startswith("plan.")}
    assert lines["plan.start"]["payload"]["run"] == {"from": "proposed", "to": "active"}
    assert lines["plan.start"]["actor"] == lines["plan.stand_down"]["actor"]
    down = lines["plan.stand_down"]
    assert down["payload"]["run"] == {"from": "active", "to": "stood_down"} and down["reason"] == "雨停，解除响应"
    assert down["payload"]["steps"] == {"action": "cancel", "ids": waiting} and waiting

    # a proposal on an event, declined: the event's timeline says who declined it and why
    plan_templates.save_template(uow, template(code="burst", confirmation="propose", trigger={
        "kind": "event_class", "classes": ["0301"], "at_least": "urgent"}), SYSTEM)
    ev = api.submit(event_class_code="0301", title="供水主管爆裂")
    proposal = api.get(f"/api/events/{ev['number']}/plans")[0]
    api.post(f"/api/plan-runs/{proposal['id']}/dismiss", "alice", {"reason": "已由供水公司处置"})
    api.post(f"/api/plan-runs/{proposal['id']}/confirm", "alice", {}, status=409)
    dismissed = [t for t in api.get(f"/api/events/{ev['number']}/timeline") if t["action"] == "plan.dismiss"]
    assert len(dismissed) == 1 and dismissed[0]["reason"] == "已由供水公司处置"
    assert dismissed[0]["payload"]["run"] == {"from": "proposed", "to": "dismissed"}
