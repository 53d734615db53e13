"""A leader's urge, escalation beyond capacity and inboxes over the HTTP API, as the small world's people.

grace is the district leader, alice the district duty officer, bob town A's duty officer, frank town
B's, carol handles city management, dave is grid A-1's worker, erin handles water affairs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import World
from tests.integration.conftest import Api


def _dispatch(api: Api, unit: str, cls: str = "0101") -> tuple[dict, dict]:
    ev = api.submit(event_class_code=cls)
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": unit}]})
    return ev, api.task(ev, unit)


def _future(days: int = 3) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_leader_urges_with_an_instruction_and_a_new_deadline(api: Api, world: World) -> None:
    ev, task = _dispatch(api, "D500111-CGJ")
    due = _future(2)
    out = api.post(f"/api/events/{ev['number']}/urge", "grace", {"instruction": "请于两日内办结并反馈", "due_at": due})
    urged = api.task(out, "D500111-CGJ")
    assert datetime.fromisoformat(urged["handle_due_at"]) == datetime.fromisoformat(due)
    timeline = api.get(f"/api/events/{ev['number']}/timeline")
    entry = [t for t in timeline if t["action"] == "supervision.leader_urge"]
    assert len(entry) == 1 and entry[0]["reason"] == "请于两日内办结并反馈" and entry[0]["actor"].startswith("吴昊")
    assert datetime.fromisoformat(entry[0]["payload"]["from"]) == datetime.fromisoformat(task["handle_due_at"])
    inbox = api.get("/api/inbox", who="carol")
    assert [n["kind"] for n in inbox] == ["supervision.leader_urge"]
    assert inbox[0]["body"] == "请于两日内办结并反馈" and inbox[0]["read_at"] is None


def test_urge_is_refused_without_permission_or_with_a_bad_deadline(api: Api, world: World) -> None:
    ev, task = _dispatch(api, "D500111-CGJ")
    path = f"/api/events/{ev['number']}/urge"
    api.post(path, "carol", {"instruction": "尽快", "due_at": _future()}, status=403)  # a handler does not urge
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    bad = api.post(path, "grace", {"instruction": "尽快办理", "due_at": past}, status=422)
    assert bad["field"] == "due_at"
    naive = api.post(path, "grace", {"instruction": "尽快办理", "due_at": "2030-01-01T10:00:00"}, status=422)
    assert naive["field"] == "due_at"
    other = api.post(path, "grace", {"instruction": "尽快办理", "due_at": _future(), "task_ids": [task["id"] + 999]},
                     status=422)
    assert other["field"] == "task_ids[0]"
    # nothing was changed by the refused requests
    assert api.task(api.get(f"/api/events/{ev['number']}"), "D500111-CGJ")["handle_due_at"] == task["handle_due_at"]
    assert api.get("/api/inbox/unread-count", who="carol")["unread"] == 0


def test_grid_declares_a_task_beyond_its_capacity_and_it_rises_to_the_town_centre(api: Api, world: World) -> None:
    ev, task = _dispatch(api, "G500111001001001", cls="0201")
    path = f"/api/events/{ev['number']}/tasks/{task['id']}/escalate"
    api.post(path, "frank", {"reason": "超出能力"}, status=404)  # town B does not even see it
    api.post(path, "erin", {"reason": "超出能力"}, status=404)  # a department sees only its own tasks' events
    api.post(path, "bob", {"reason": "超出能力"}, status=403)  # the town centre is not the task's unit
    api.post(path, "dave", {}, status=422)  # a reason is required
    out = api.post(path, "dave", {"reason": "需大型机械清运，超出网格处置能力"})
    assert out["state"] == "registered"
    assert [t["state"] for t in out["tasks"]] == ["escalated"]
    assert out["owner_unit_id"] == world.units["C500111001"].id
    timeline = api.get(f"/api/events/{ev['number']}/timeline")
    tail = [(t["action"], t["from_state"], t["to_state"]) for t in timeline][-2:]
    assert tail == [("task.escalate", "dispatched", "escalated"), ("event.escalate", "dispatched", "registered")]
    assert "超出网格处置能力" in timeline[-1]["reason"]
    bob_inbox = api.get("/api/inbox", who="bob", params={"kind": "supervision.escalate"})
    assert len(bob_inbox) == 1 and bob_inbox[0]["payload"]["to_unit"] == "C500111001"
    # the town centre re-dispatches it to a department
    again = api.post(f"/api/events/{ev['number']}/dispatch", "bob", {"units": [{"unit_code": "D500111-CGJ"}]})
    assert again["state"] == "dispatched"
    # an escalated task cannot be escalated again
    api.post(path, "dave", {"reason": "再次上报"}, status=409)


def test_inbox_is_scoped_to_the_person_and_their_unit(api: Api, world: World) -> None:
    ev, _ = _dispatch(api, "D500111-CGJ")
    api.post(f"/api/events/{ev['number']}/urge", "grace", {"instruction": "第一次督办", "due_at": _future(3)})
    api.post(f"/api/events/{ev['number']}/urge", "grace", {"instruction": "第二次督办", "due_at": _future(2)})
    assert api.get("/api/inbox/unread-count", who="carol")["unread"] == 2
    assert api.get("/api/inbox/unread-count", who="frank")["unread"] == 0
    assert api.get("/api/inbox", who="frank") == []
    items = api.get("/api/inbox", who="carol")
    assert [n["body"] for n in items] == ["第二次督办", "第一次督办"]  # newest first
    # frank cannot mark carol's unit's notification read; nothing changes
    assert api.post("/api/inbox/read", "frank", {"ids": [items[0]["id"]]})["changed"] == 0
    assert api.post("/api/inbox/read", "carol", {"ids": [items[0]["id"]]})["changed"] == 1
    assert api.get("/api/inbox/unread-count", who="carol")["unread"] == 1
    unread = api.get("/api/inbox", who="carol", params={"unread": True})
    assert [n["body"] for n in unread] == ["第一次督办"]
    read = api.get("/api/inbox", who="carol", params={"unread": False})
    assert read[0]["read_by"].startswith("陈静")
    page = api.get("/api/inbox", who="carol", params={"before_id": items[0]["id"]})
    assert [n["id"] for n in page] == [items[1]["id"]]
    assert api.post("/api/inbox/read-all", "carol")["changed"] == 1
    assert api.get("/api/inbox/unread-count", who="carol")["unread"] == 0
    api.post("/api/inbox/read", "carol", {"ids": []}, status=422)


def test_supervision_rules_are_data_checked_when_saved(api: Api, world: World) -> None:
    assert api.get("/api/supervision/rules", who="alice")["remind_at"] == [0.7, 0.9]
    api.request("PUT", "/api/supervision/rules", "bob", 403, json={"remind_at": [0.5]})  # a duty officer
    bad = api.request("PUT", "/api/supervision/rules", "admin", 422, json={"remind_at": [0.9, 0.5]})
    assert bad["field"] == "remind_at"
    bad = api.request("PUT", "/api/supervision/rules", "admin", 422, json={"redcard": 3})
    assert bad["field"] == "redcard"
    assert api.get("/api/supervision/rules", who="alice")["remind_at"] == [0.7, 0.9]
    saved = api.request("PUT", "/api/supervision/rules", "admin", 200,
                        json={"remind_at": [0.5, 0.8], "red_after_wd": 3})
    assert saved["remind_at"] == [0.5, 0.8] and saved["red_after_wd"] == 3
    assert api.get("/api/supervision/rules", who="alice")["red_after_wd"] == 3
