"""A second round of copies (抄送) on an event already copied: more units are told, none twice.

alice is the district's dispatcher; bob is town A's duty officer (C500111001), frank town B's
(C500111002); erin handles water affairs (D500111-SWJ).
"""

from __future__ import annotations

from tests.factories import World
from tests.integration.conftest import Api


def _notice(api: Api) -> str:
    ev = api.submit(event_class_code="9001", title="明日停水通知", source="legacy_system", request_type=None)
    return str(ev["number"])


def test_copying_again_adds_the_new_units_and_keeps_the_old_copies(api: Api, world: World) -> None:
    number = _notice(api)
    first = api.post(f"/api/events/{number}/notify", "alice", {"unit_codes": ["C500111001", "D500111-SWJ"]})
    copy_a = api.task(first, "C500111001")
    api.post(f"/api/events/{number}/tasks/{copy_a['id']}/read", "bob")
    assert "copy" in api.get(f"/api/events/{number}/desk-actions")["actions"]
    # town A again (already read it), the water company again (unread), town B new
    again = api.post(f"/api/events/{number}/notify", "alice",
                     {"unit_codes": ["C500111001", "D500111-SWJ", "C500111002"], "reason": "补充抄送棠香街道"})
    copies = sorted((t["unit_code"], t["state"]) for t in again["tasks"] if t["role"] == "notify")
    assert copies == [("C500111001", "read"), ("C500111002", "notified"), ("D500111-SWJ", "notified")]
    assert again["state"] == "notifying"
    assert again["dispatched_at"] == first["dispatched_at"]  # the first round's time stays the event's
    rounds = [t for t in api.get(f"/api/events/{number}/timeline") if t["action"] == "event.notify"]
    assert [r["payload"]["units"] for r in rounds] == [["C500111001", "D500111-SWJ"], ["C500111002"]]
    assert rounds[1]["payload"]["already_copied"] == ["C500111001", "D500111-SWJ"]
    assert rounds[1]["reason"] == "补充抄送棠香街道"
    # frank's town now has it in its inbox, once
    assert [i["number"] for i in api.get("/api/my/copies", who="frank")["items"]] == [number]


def test_copying_only_units_already_told_is_refused_at_the_field(api: Api, world: World) -> None:
    number = _notice(api)
    api.post(f"/api/events/{number}/notify", "alice", {"unit_codes": ["C500111001"]})
    err = api.post(f"/api/events/{number}/notify", "alice", {"unit_codes": ["C500111001"]}, status=422)
    assert err["field"] == "unit_codes" and "C500111001" in err["detail"]
    event = api.get(f"/api/events/{number}")
    assert [t["unit_code"] for t in event["tasks"]] == ["C500111001"]
