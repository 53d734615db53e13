"""An event walked through every state over the HTTP API, as the people of the small world."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.factories import World
from tests.integration.conftest import Api


def _do(api: Api, ev: dict, action: str, who: str, body: dict | None = None, status: int = 200) -> dict:
    return api.post(f"/api/events/{ev['number']}/{action}", who, body or {}, status=status)


def _task_do(api: Api, ev: dict, task: dict, action: str, who: str, body: dict | None = None,
             status: int = 200) -> dict:
    return api.post(f"/api/events/{ev['number']}/tasks/{task['id']}/{action}", who, body or {}, status=status)


def test_full_loop_with_rework_and_dissatisfied_callback(api: Api, world: World) -> None:
    ev = api.submit(reporter_name="张三", reporter_phone="13912345678", address="龙岗街道北山路12号")
    assert re.fullmatch(r"500111-\d{8}-\d{6}", ev["number"])
    assert ev["state"] == "registered" and ev["area_code"] == "500111001001001"
    assert ev["area_chain"] == ["500000", "500111", "500111001", "500111001001", "500111001001001"]

    ev = _do(api, ev, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ", "role": "lead"}]})
    task = api.task(ev, "D500111-CGJ")
    assert ev["state"] == "dispatched" and task["state"] == "dispatched"
    assert task["accept_due_at"] and task["handle_due_at"] and task["handle_due_at"] > task["accept_due_at"]

    ev = _task_do(api, ev, task, "accept", "carol")
    assert ev["state"] == "handling"
    ev = _task_do(api, ev, task, "report-back", "carol", {"result": "已更换井盖"})
    assert ev["state"] == "reported_back"
    ev = _do(api, ev, "verify", "alice", {"passed": False, "reason": "井盖仍松动"})
    assert ev["state"] == "handling" and ev["rework_count"] == 1
    assert api.task(ev, "D500111-CGJ")["state"] == "accepted"
    ev = _task_do(api, ev, task, "report-back", "carol", {"result": "已重新固定"})
    ev = _do(api, ev, "verify", "alice", {"passed": True})
    assert ev["state"] == "verified"
    ev = _do(api, ev, "close", "alice")
    assert ev["state"] == "closed" and ev["closed_at"]

    ev = _do(api, ev, "callback", "alice", {"satisfied": False, "comment": "夜间仍有响声"})
    assert ev["state"] == "dispatched" and ev["satisfied"] is False and ev["closed_at"] is None
    redo = api.task(ev, "D500111-CGJ")
    assert redo["id"] != task["id"] and "回访不满意" in redo["instruction"]
    ev = _task_do(api, ev, redo, "accept", "carol")
    ev = _task_do(api, ev, redo, "report-back", "carol", {"result": "已加装防响垫"})
    ev = _do(api, ev, "verify", "alice", {"passed": True})
    ev = _do(api, ev, "close", "alice")
    ev = _do(api, ev, "callback", "alice", {"satisfied": True})
    assert ev["state"] == "called_back" and ev["satisfied"] is True and ev["allowed_actions"] == []

    timeline = api.get(f"/api/events/{ev['number']}/timeline")
    event_moves = [(t["from_state"], t["to_state"]) for t in timeline if t["action"].startswith("event.")]
    assert event_moves == [
        (None, "registered"), ("registered", "dispatched"), ("dispatched", "handling"),
        ("handling", "reported_back"), ("reported_back", "handling"), ("handling", "reported_back"),
        ("reported_back", "verified"), ("verified", "closed"), ("closed", "dispatched"),
        ("dispatched", "handling"), ("handling", "reported_back"), ("reported_back", "verified"),
        ("verified", "closed"), ("closed", "called_back"),
    ]
    assert {t["actor"] for t in timeline} >= {"王丽(alice)", "陈静(carol)"}
    rework = next(t for t in timeline if t["action"] == "event.rework")
    assert rework["reason"] == "井盖仍松动"
    assert [t["id"] for t in timeline] == sorted(t["id"] for t in timeline)


def test_return_goes_back_to_the_centre_for_redispatch(api: Api, world: World) -> None:
    ev = api.submit(event_class_code="0301", title="路面冒水")
    ev = _do(api, ev, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    task = api.task(ev, "D500111-CGJ")
    ev = _task_do(api, ev, task, "return", "carol", {"reason": "供水管道属水务公司职责"})
    assert ev["state"] == "registered" and ev["return_count"] == 1
    assert api.task(ev, "D500111-CGJ", live=False)["state"] == "returned"
    ev = _do(api, ev, "dispatch", "alice", {"units": [{"unit_code": "D500111-SWJ"}]})
    assert ev["state"] == "dispatched"
    # a returned task cannot be accepted afterwards: its unit keeps sight of its part, no more (#15);
    # the centre, which may act on every task, is told why the state machine refuses it
    err = _task_do(api, ev, task, "accept", "carol", status=403)
    assert "live task" in err["detail"]
    err = _task_do(api, ev, task, "accept", "alice", status=409)
    assert err["detail"] == "cannot accept: the task is returned"


def test_assisting_unit_must_report_too(api: Api, world: World) -> None:
    ev = api.submit()
    ev = _do(api, ev, "dispatch", "alice", {"units": [
        {"unit_code": "D500111-CGJ", "role": "lead"}, {"unit_code": "C500111001", "role": "assist"}]})
    lead, assist = api.task(ev, "D500111-CGJ"), api.task(ev, "C500111001")
    _task_do(api, ev, lead, "accept", "carol")
    _task_do(api, ev, assist, "accept", "bob")
    ev = _task_do(api, ev, lead, "report-back", "carol", {"result": "done"})
    assert ev["state"] == "handling"
    ev = _task_do(api, ev, assist, "report-back", "bob", {"result": "协助完成"})
    assert ev["state"] == "reported_back"


def test_notify_only_closes_when_all_have_read_and_has_no_callback(api: Api, world: World) -> None:
    ev = api.submit(event_class_code="9001", title="明日停水通知", source="legacy_system", request_type=None)
    assert ev["mode"] == "notify"
    ev = _do(api, ev, "notify", "alice", {"unit_codes": ["C500111001", "D500111-SWJ"]})
    assert ev["state"] == "notifying"
    ev = _task_do(api, ev, api.task(ev, "C500111001"), "read", "bob")
    assert ev["state"] == "notifying"
    ev = _task_do(api, ev, api.task(ev, "D500111-SWJ"), "read", "erin")
    assert ev["state"] == "closed"
    err = _do(api, ev, "callback", "alice", {"satisfied": True}, status=409)
    assert "notify-only" in err["detail"]


def test_self_handled_by_grid_worker(api: Api, world: World) -> None:
    ev = api.submit(who="dave", source="grid_patrol", request_type="report", event_class_code="0201",
                    title="路边暴露垃圾")
    owner = api.get("/api/events", params={"unit_code": "C500111001"})
    assert ev["number"] in [e["number"] for e in owner["items"]]  # patrol reports go to the town centre
    ev = _do(api, ev, "self-handle", "dave", {"result": "已清理"})
    assert ev["state"] == "reported_back" and ev["self_handled"] is True
    assert api.task(ev, "G500111001001001")["state"] == "reported_back"
    ev = _do(api, ev, "verify", "bob", {"passed": True})
    ev = _do(api, ev, "close", "bob")
    assert ev["state"] == "closed"


def test_extension_must_be_asked_before_the_deadline(api: Api, world: World) -> None:
    ev = api.submit()
    ev = _do(api, ev, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    task = api.task(ev, "D500111-CGJ")
    ev = _task_do(api, ev, task, "accept", "carol")
    due = datetime.fromisoformat(api.task(ev, "D500111-CGJ")["handle_due_at"])
    err = _task_do(api, ev, task, "extension", "carol",
                   {"until": (due - timedelta(hours=1)).isoformat(), "reason": "x"}, status=422)
    assert err["field"] == "until"
    later = (due + timedelta(days=3)).isoformat()
    ev = _task_do(api, ev, task, "extension", "carol", {"until": later, "reason": "需协调燃气公司"})
    assert api.task(ev, "D500111-CGJ")["state"] == "extension_requested"
    ev = _task_do(api, ev, task, "extension/decision", "alice", {"approve": True})
    t = api.task(ev, "D500111-CGJ")
    assert t["state"] == "accepted" and datetime.fromisoformat(t["handle_due_at"]) == datetime.fromisoformat(later)
    # denial keeps the deadline
    ev = _task_do(api, ev, task, "extension", "carol",
                  {"until": (datetime.fromisoformat(later) + timedelta(days=1)).isoformat(), "reason": "再延"})
    ev = _task_do(api, ev, task, "extension/decision", "alice", {"approve": False, "reason": "不予延期"})
    assert datetime.fromisoformat(api.task(ev, "D500111-CGJ")["handle_due_at"]) == datetime.fromisoformat(later)


def test_suspension_stops_the_clock(api: Api, world: World, session_factory) -> None:  # type: ignore[no-untyped-def]
    from shuzhi.services import commands as c
    from shuzhi.services import task_handling
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.unit_of_work import UnitOfWork

    ev = api.submit()
    ev = _do(api, ev, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    task = api.task(ev, "D500111-CGJ")
    _task_do(api, ev, task, "accept", "carol")
    with UnitOfWork(session_factory) as uow:
        alice = resolve_actor(uow.session, "alice")
    # a Tuesday morning in an ordinary working week: 09:00 → 11:00 Beijing time is 2 working hours
    start = datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
    task_handling.suspend_task(UnitOfWork(session_factory), ev["number"], task["id"], c.WithReason(reason="等待天晴"),
                          alice, now=start)
    before = datetime.fromisoformat(api.task(api.get(f"/api/events/{ev['number']}"), "D500111-CGJ")["handle_due_at"])
    task_handling.resume_task(UnitOfWork(session_factory), ev["number"], task["id"], c.OptionalReason(), alice,
                         now=start + timedelta(hours=2))
    after = api.task(api.get(f"/api/events/{ev['number']}"), "D500111-CGJ")
    assert after["state"] == "accepted"
    assert datetime.fromisoformat(after["handle_due_at"]) > before
    timeline = api.get(f"/api/events/{ev['number']}/timeline")
    moved = [t for t in timeline if t["action"] == "task.deadline_moved"]
    assert moved and moved[-1]["payload"]["why"] == "suspension"


def test_merge_and_cancel(api: Api, world: World) -> None:
    master = api.submit(title="北山路井盖缺失")
    dup = api.submit(title="北山路井盖没了", who="bob")
    dup = _do(api, dup, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    dup = _do(api, dup, "merge", "alice", {"master_number": master["number"], "reason": "重复报告"})
    assert dup["state"] == "merged" and dup["master_event_id"] == master["id"]
    assert all(t["state"] == "cancelled" for t in dup["tasks"])
    master_tl = api.get(f"/api/events/{master['number']}/timeline")
    assert any(t["action"] == "event.merged_in" and t["payload"]["duplicate"] == dup["number"] for t in master_tl)
    err = _do(api, master, "merge", "alice", {"master_number": master["number"]}, status=422)
    assert err["field"] == "master_number"
    bad = api.submit(title="测试误报")
    bad = _do(api, bad, "cancel", "alice", {"reason": "无效信息"})
    assert bad["state"] == "cancelled"
    err = _do(api, bad, "close", "alice", status=409)
    assert err["detail"] == "cannot close: the event is cancelled"
    err = _do(api, master, "cancel", "alice", {}, status=422)
    assert err["field"] == "reason"


def test_reclassify_redispatches_when_responsibility_changes(api: Api, world: World) -> None:
    ev = api.submit(event_class_code="0101", title="路面冒水")
    ev = _do(api, ev, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    ev = _do(api, ev, "reclassify", "alice", {"event_class_code": "0301", "reason": "实为供水管道破裂"})
    assert ev["event_class_code"] == "0301" and ev["state"] == "dispatched"
    live = [t for t in ev["tasks"] if t["state"] == "dispatched"]
    assert [t["unit_code"] for t in live] == ["D500111-SWJ"]
    assert api.task(ev, "D500111-CGJ", live=False)["state"] == "cancelled"
    # a class the current unit also handles keeps the task
    ev2 = api.submit(event_class_code="0101")
    ev2 = _do(api, ev2, "dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    ev2 = _do(api, ev2, "reclassify", "alice", {"event_class_code": "0201", "reason": "其实是垃圾"})
    assert [t["unit_code"] for t in ev2["tasks"] if t["state"] == "dispatched"] == ["D500111-CGJ"]
