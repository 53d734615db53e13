"""One response per situation, and what a plan task waiting on a returned, escalated or cancelled
predecessor does.

alice is the district dispatcher; bob is town A's (龙岗街道) duty officer, frank town B's (棠香街道);
carol handles city management (城管); dave is the grid worker of 北山社区第1网格 in town A.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shuzhi.adapters.db.tables_plans import PlanRun, PlanRunTrigger
from shuzhi.services import hooks
from shuzhi.services.actors import SYSTEM
from shuzhi.services.plans import activation as plan_activation
from shuzhi.services.plans import templates as plan_templates
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_plan_runs import board, by_unit, template

TOWN_A, TOWN_B, GRID_A1 = "500111001", "500111002", "500111001001001"
PATHS = {TOWN_A: "/500000/500111/500111001/", TOWN_B: "/500000/500111/500111002/",
         GRID_A1: "/500000/500111/500111001/500111001001/500111001001001/"}


@pytest.fixture
def storm(uow: UnitOfWork, world: World) -> None:
    plan_templates.save_template(uow, template(), SYSTEM)


def fire(uow: UnitOfWork, episode: str, area: str, level: str = "orange", *, warning_id: int = 7,
         event_id: int | None = None) -> None:
    change = hooks.WarningChange(
        warning_id=warning_id, episode_key=episode, indicator_code="IND.level.1",
        indicator_lineage=("SEC.infra", "RW.water", "IND.level.1"), series_key=f"gauge-{warning_id}",
        area_code=area, area_path=PATHS[area], level=level, previous_level=None, at=datetime.now(UTC),
        event_id=event_id)
    with uow:
        for hook in hooks.WARNING_HOOKS:
            hook(uow.session, change)
        uow.commit()


def timeline(api: Api, number: str) -> list[dict[str, Any]]:
    return api.get(f"/api/events/{number}/timeline")


def test_warnings_of_one_storm_join_one_run_and_add_tasks_only_for_new_areas(
        api: Api, storm: None, uow: UnitOfWork, session_factory: Any) -> None:
    fire(uow, "gauge-7:1", TOWN_A, warning_id=7)
    [run] = api.get("/api/plan-runs")
    first = board(api, run["id"])
    assert set(by_unit(first)) == {"C500111001", "D500111-CGJ", "G500111001001001"}

    # another gauge, in town B, the same storm: it joins; town B's centre gets its task, the bureau no second one
    notice = api.submit(event_class_code="0201", title="棠香街道水位预警")
    fire(uow, "gauge-8:1", TOWN_B, warning_id=8, event_id=notice["id"])
    fire(uow, "gauge-7:1", TOWN_A, "red", warning_id=7)  # the first episode rising: nothing new
    fire(uow, "gauge-9:1", GRID_A1, warning_id=9)  # inside town A: joins, adds nothing
    assert [r["id"] for r in api.get("/api/plan-runs")] == [run["id"]]
    b = board(api, run["id"])
    assert [a["code"] for a in b["affected_areas"]] == [TOWN_A, TOWN_B]
    units = by_unit(b)
    assert set(units) == {"C500111001", "C500111002", "D500111-CGJ", "G500111001001001"}
    assert units["C500111002"]["state"] == "dispatched" and units["C500111002"]["area_code"] == TOWN_B
    assert [(t["role"], t["warning_id"], t["new_areas"], t["added_tasks"]) for t in b["triggers"]] == [
        ("started", 7, [TOWN_A], 3), ("attached", 8, [TOWN_B], 1), ("attached", 9, [], 0)]
    assert b["triggers"][1]["event_number"] == notice["number"]

    lines = timeline(api, b["event_number"])
    added = [t for t in lines if t["action"] == "plan.trigger_added"]
    assert [(t["payload"]["new_areas"], t["payload"]["tasks"]) for t in added] == [([TOWN_B], 1), ([], 0)]
    assert "并入正在进行的预案响应" in added[0]["reason"]
    # the joining warning's own event says where its response is, and lists the run under it
    assert any(t["action"] == "plan.attached" and t["payload"]["run_event"] == b["event_number"]
               for t in timeline(api, notice["number"]))
    assert [r["id"] for r in api.get(f"/api/events/{notice['number']}/plans")] == [run["id"]]
    assert [r["id"] for r in api.get("/api/plan-runs?warning_id=8")] == [run["id"]]

    # a duty officer starting the plan by hand for town B while it runs: the same run (200), no new task
    again = api.post("/api/plans/storm/activate", "alice", {"area_codes": [TOWN_B]}, status=200)
    assert again["run_id"] == run["id"] and again["created"] is False
    with session_factory() as s:
        assert s.scalar(select(func.count(PlanRun.id))) == 1
        assert s.scalar(select(func.count(PlanRunTrigger.id))) == 4
    assert len(board(api, run["id"])["tasks"]) == 4


def test_a_manual_plan_for_separate_areas_is_a_separate_run(api: Api, world: World, uow: UnitOfWork) -> None:
    plan_templates.save_template(uow, template(code="fair", trigger={"kind": "manual"}), SYSTEM)
    a = api.post("/api/plans/fair/activate", "alice", {"area_codes": [TOWN_A]}, status=201)
    b = api.post("/api/plans/fair/activate", "alice", {"area_codes": [TOWN_B]}, status=201)
    assert a["run_id"] != b["run_id"]  # two occasions in two towns: not one situation
    inside = api.post("/api/plans/fair/activate", "alice", {"area_codes": [GRID_A1]}, status=200)
    assert inside["run_id"] == a["run_id"]


def test_a_triggered_run_that_is_still_a_proposal_collects_the_areas(api: Api, world: World,
                                                                     uow: UnitOfWork) -> None:
    plan_templates.save_template(uow, template(confirmation="propose"), SYSTEM)
    fire(uow, "g1", TOWN_A, warning_id=1)
    fire(uow, "g2", TOWN_B, warning_id=2)
    [run] = api.get("/api/plan-runs")
    assert run["state"] == "proposed" and run["affected_areas"] == [TOWN_A, TOWN_B]
    started = api.post(f"/api/plan-runs/{run['id']}/confirm", "alice", {})
    assert started["tasks"] == 3 and started["waiting"] == 1  # both town centres, the bureau; the grid waits


def test_a_returned_predecessor_keeps_its_dependants_waiting_until_it_is_redispatched_and_done(
        api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": [TOWN_A]}, status=201)
    rid = run["run_id"]
    b = board(api, rid)
    ev = api.get(f"/api/events/{b['event_number']}")
    town = api.task(ev, "C500111001")
    api.post(f"/api/events/{ev['number']}/tasks/{town['id']}/return", "bob", {"reason": "应由区防指部署"})
    grid = by_unit(board(api, rid))["G500111001001001"]
    assert grid["state"] == "waiting" and grid["blocked_by"] == ["brief@C500111001"]
    assert "等待改派" in grid["reason"]
    blocked = [t for t in timeline(api, ev["number"]) if t["action"] == "plan.blocked"]
    assert len(blocked) == 1 and blocked[0]["payload"]["waiting"] == ["grid"]

    step = by_unit(board(api, rid))["C500111001"]
    assert step["state"] == "returned"
    # only a returned or escalated share goes out again; a town-B officer does not see the run
    dept = by_unit(board(api, rid))["D500111-CGJ"]
    api.post(f"/api/plan-runs/{rid}/steps/{dept['step_id']}/redispatch", "alice", {}, status=409)
    api.post(f"/api/plan-runs/{rid}/steps/{step['step_id']}/redispatch", "alice", {"unit_code": "NOPE"},
             status=422)
    api.post(f"/api/plan-runs/{rid}/steps/{step['step_id']}/redispatch", "carol", {}, status=403)
    again = api.post(f"/api/plan-runs/{rid}/steps/{step['step_id']}/redispatch", "alice",
                     {"reason": "退单不成立，仍由镇街部署"})
    town_now = by_unit(again)["C500111001"]
    assert town_now["state"] == "dispatched" and town_now["former_task_ids"] == [town["id"]]
    assert town_now["task_id"] != town["id"] and town_now["seconds_left"] > 0
    assert by_unit(again)["G500111001001001"]["blocked_by"] == []

    api.post(f"/api/events/{ev['number']}/tasks/{town_now['task_id']}/accept", "bob")
    api.post(f"/api/events/{ev['number']}/tasks/{town_now['task_id']}/report-back", "bob", {"result": "已部署"})
    assert by_unit(board(api, rid))["G500111001001001"]["state"] == "dispatched"

    api.post(f"/api/plan-runs/{rid}/stand-down", "alice", {"reason": "演练结束"})
    review = api.get(f"/api/plan-runs/{rid}/review")
    assert [r["reason"] for r in review["returns"]] == ["应由区防指部署"]  # the returned task stays on record


def test_a_cancelled_predecessor_cancels_its_dependants_on_its_branch_with_the_reason(
        api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": ["500111"]}, status=201)
    rid = run["run_id"]
    number = board(api, rid)["event_number"]
    # town A's centre escalates the event: its open task is cancelled, so its grid will never be told
    api.post(f"/api/events/{number}/escalate", "bob", {"reason": "超出街道处置能力"})
    units = by_unit(board(api, rid))
    assert units["C500111001"]["state"] == "cancelled"
    grid = units["G500111001001001"]
    assert grid["state"] == "cancelled"
    assert "前置任务「镇街部署」" in grid["reason"] and "超出街道处置能力" in grid["reason"]
    assert units["C500111002"]["state"] == "dispatched"  # town B's branch goes on
    lines = [t for t in timeline(api, number) if t["action"] == "plan.cancel_waiting"]
    assert len(lines) == 1 and lines[0]["payload"]["cancelled"] == ["grid"]


def test_stand_down_gives_waiting_tasks_its_own_reason(api: Api, storm: None) -> None:
    run = api.post("/api/plans/storm/activate", "alice", {"area_codes": [TOWN_A]}, status=201)
    done = api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "alice", {"reason": "雨停，解除响应"})
    grid = by_unit(done)["G500111001001001"]
    assert grid["state"] == "cancelled" and grid["reason"] == "雨停，解除响应"
    number = done["event_number"]
    assert not [t for t in timeline(api, number) if t["action"] == "plan.cancel_waiting"]


def test_a_calendar_change_keeps_plan_tasks_on_the_template_s_limits(uow: UnitOfWork, world: World,
                                                                     session_factory: Any) -> None:
    from shuzhi.adapters.db.tables import Task
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.calendars import set_office_hours

    # the run's event has a class whose critical limit is 4 h; the town's task is the template's 2 h
    plan_templates.save_template(uow, template(event={"class": "0201", "urgency": "critical"}), SYSTEM)
    with session_factory() as s:
        alice = resolve_actor(s, "alice")
    start = datetime(2024, 6, 15, 2, 0, tzinfo=UTC)
    plan_activation.activate_manual(uow, "storm", plan_activation.Activate(area_codes=[TOWN_A]), alice, now=start)
    set_office_hours(uow, SYSTEM, "C500111001", "08:30-12:00,14:00-17:30", now=start)
    with session_factory() as s:
        town = s.scalars(select(Task).where(Task.unit_id == world.units["C500111001"].id)).one()
        assert town.handle_due_at == start + timedelta(hours=2)
        assert town.accept_due_at == start + timedelta(minutes=30)
