"""What each person may do on an event from the desk, the unit's desk inbox, the header's counts, and a
dispatch with the desk's own deadline.

alice is the district's dispatcher, bob town A's duty officer, frank town B's, carol a handler in the
district's city-management bureau, grace the district leader.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories import World
from tests.integration.conftest import Api


def _actions(api: Api, number: str, who: str) -> set[str]:
    return set(api.get(f"/api/events/{number}/desk-actions", who=who)["actions"])


def test_each_person_is_offered_only_what_the_services_let_him_do(api: Api, world: World) -> None:
    number = api.submit()["number"]
    alice = api.get(f"/api/events/{number}/desk-actions", who="alice")
    assert {"copy", "dispatch", "auto_dispatch", "override", "hand_sideways", "push_down", "merge", "cancel",
            "reclassify"} <= set(alice["actions"])
    assert [u["code"] for u in alice["push_down_to"]] == ["C500111001"]  # the town holding the event, not B
    assert "urge" not in alice["actions"] and "verify" not in alice["actions"]
    # bob's town holds the place but neither owns the event (the district does) nor a task: no escalation
    bob = api.get(f"/api/events/{number}/desk-actions", who="bob")
    assert "copy" in bob["actions"] and "escalate" not in bob["actions"] and bob["escalate_to"] is None
    # frank (town B) does not see town A's event at all; carol sees nothing to act on before a task
    api.get(f"/api/events/{number}/desk-actions", who="frank", status=404)
    assert _actions(api, number, "grace") == set()  # nothing to urge yet

    ev = api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    assert "urge" in _actions(api, number, "grace")
    assert "copy" not in _actions(api, number, "alice")  # a case is no longer copied as a notice
    # carol's unit holds the task: she works on the task, the event's desk actions are not hers
    assert _actions(api, number, "carol") == set()
    task = ev["tasks"][0]["id"]
    api.post(f"/api/events/{number}/tasks/{task}/accept", "carol")
    api.post(f"/api/events/{number}/tasks/{task}/report-back", "carol", {"result": "已更换井盖"})
    assert "verify" in _actions(api, number, "alice")
    api.post(f"/api/events/{number}/verify", "alice", {"passed": True})
    assert "close" in _actions(api, number, "alice")
    api.post(f"/api/events/{number}/close", "alice", {})
    assert "callback" in _actions(api, number, "alice")


def test_every_offered_action_is_one_the_service_accepts(api: Api, world: World) -> None:
    """An offered escalation really goes through (no button ends in a 403 or 409)."""
    # a grid patrol report is owned by its town centre (首接负责): bob's centre may hand it up
    number = api.submit(who="bob", source="grid_patrol", request_type=None)["number"]
    offered = _actions(api, number, "bob")
    assert {"copy", "auto_dispatch", "escalate"} <= offered
    api.post(f"/api/events/{number}/escalate", "bob", {"reason": "超出镇街处置能力"})
    assert "escalate" not in _actions(api, number, "bob")


def test_the_inbox_brings_copies_and_tasks_down_and_work_up_with_counts(api: Api, world: World) -> None:
    copy = api.submit(title="停水通知")["number"]
    api.post(f"/api/events/{copy}/notify", "alice", {"unit_codes": ["C500111001", "C500111002"]})
    case = api.submit(title="井盖破损")["number"]
    api.post(f"/api/events/{case}/dispatch", "alice", {"units": [{"unit_code": "C500111001"}]})

    counts = api.get("/api/desk/counts", who="bob")
    assert (counts["unread_copies"], counts["tasks_waiting"], counts["from_below"]) == (1, 1, 0)
    down = api.get("/api/desk/inbox?box=down&unread=true", who="bob")
    assert {(i["kind"], i["event_number"]) for i in down} == {("copy", copy), ("task", case)}
    copy_item = next(i for i in down if i["kind"] == "copy")
    api.post(f"/api/events/{copy}/tasks/{copy_item['task_id']}/read", "bob")
    assert api.get("/api/desk/counts", who="bob")["unread_copies"] == 0
    assert [i["event_number"] for i in api.get("/api/desk/inbox?box=down&unread=false", who="bob")] == [copy]
    # frank's copy is his own: bob's acknowledgement did not read it for town B
    assert api.get("/api/desk/counts", who="frank")["unread_copies"] == 1

    # bob's town reports back: the district's desk sees it coming up from below
    task = next(i for i in down if i["kind"] == "task")["task_id"]
    api.post(f"/api/events/{case}/tasks/{task}/accept", "bob")
    api.post(f"/api/events/{case}/tasks/{task}/report-back", "bob", {"result": "已处置"})
    up = api.get("/api/desk/inbox?box=up", who="alice")
    assert [(i["kind"], i["event_number"], i["unit_name"]) for i in up] == [
        ("reported_back", case, "龙岗街道城市运行和治理中心")]
    assert api.get("/api/desk/counts", who="alice")["from_below"] == 1
    # a task beyond bob's town's capacity, escalated (上报): it comes up to the district's desk
    hard = api.submit(title="山体滑坡隐患")["number"]
    ev = api.post(f"/api/events/{hard}/dispatch", "alice", {"units": [{"unit_code": "C500111001"}]})
    api.post(f"/api/events/{hard}/tasks/{ev['tasks'][0]['id']}/escalate", "bob", {"reason": "需要区级专业力量"})
    up = api.get("/api/desk/inbox?box=up", who="alice")
    assert [(i["kind"], i["event_number"]) for i in up] == [("escalated", hard), ("reported_back", case)]
    assert api.get("/api/desk/counts", who="alice")["from_below"] == 2
    assert api.get("/api/desk/inbox?box=up", who="frank") == []
    api.get("/api/desk/inbox?box=sideways", who="alice", status=422)


def test_a_dispatch_takes_the_desks_own_deadline_and_refuses_one_already_past(api: Api, world: World) -> None:
    number = api.submit()["number"]
    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    past: dict[str, Any] = {"units": [{"unit_code": "D500111-CGJ"}],
                            "due_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    r = api.post(f"/api/events/{number}/dispatch", "alice", past, status=422)
    assert r["field"] == "due_at"
    naive = {"units": [{"unit_code": "D500111-CGJ"}], "due_at": "2030-01-01T10:00:00"}
    assert api.post(f"/api/events/{number}/dispatch", "alice", naive, status=422)["field"] == "due_at"
    ev = api.post(f"/api/events/{number}/dispatch", "alice",
                  {"units": [{"unit_code": "D500111-CGJ"}], "due_at": due.isoformat()})
    task = ev["tasks"][0]
    assert datetime.fromisoformat(task["handle_due_at"]) == due
    assert datetime.fromisoformat(task["accept_due_at"]) <= due
