"""Across levels: the district pushes down to town A (纵向交办), hands sideways to a department
(横向分拨); town A escalates (上报); each centre sees what it owns, pushed down, or got from above."""

from __future__ import annotations

from tests.factories import World
from tests.integration.conftest import Api


def test_push_down_from_above_and_escalate(api: Api, world: World) -> None:
    ev = api.submit()
    n = ev["number"]
    api.post(f"/api/events/{n}/push-down", "alice", {"centre_code": "C500111002"}, status=422)  # not its area
    api.post(f"/api/events/{n}/push-down", "alice", {"centre_code": "D500111-CGJ"}, status=422)  # not a centre
    ev = api.post(f"/api/events/{n}/push-down", "alice", {"centre_code": "C500111001", "instruction": "请镇街处置"})
    assert ev["state"] == "dispatched" and api.task(ev, "C500111001")["role"] == "lead"
    chain = api.get(f"/api/events/{n}/chain")
    assert [(x["from_unit"], x["to_unit"], x["direction"]) for x in chain] == [("C500111", "C500111001", "down")]
    assert [i["event_number"] for i in api.get("/api/coordination?view=from_above", who="bob")] == [n]
    assert [i["to_unit"] for i in api.get("/api/coordination?view=pushed_down", who="alice")] == ["C500111001"]
    assert api.get("/api/coordination?view=from_above", who="frank") == []
    api.post(f"/api/events/{n}/push-down", "bob", {"centre_code": "C500111001"}, status=422)  # not below bob

    ev = api.post(f"/api/events/{n}/escalate", "bob", {"reason": "涉及主干道，需区级协调"})
    assert ev["state"] == "registered" and api.task(ev, "C500111001", live=False)["state"] == "cancelled"
    assert api.get("/api/coordination?view=from_above", who="bob") == []
    assert n in [i["event_number"] for i in api.get("/api/coordination?view=owned", who="alice")]
    api.post(f"/api/events/{n}/escalate", "bob", {"reason": "again"}, status=409)  # nothing of bob's left

    api.post(f"/api/events/{n}/hand-sideways", "alice",
             {"units": [{"unit_code": "G500111001001001"}]}, status=422)
    ev = api.post(f"/api/events/{n}/hand-sideways", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    assert [i["to_unit"] for i in api.get("/api/coordination?view=sideways", who="alice")] == ["D500111-CGJ"]
    directions = [x["direction"] for x in api.get(f"/api/events/{n}/chain")]
    assert directions == ["down", "sideways"]
    timeline = api.get(f"/api/events/{n}/timeline")
    esc = next(t for t in timeline if t["action"] == "event.escalate")
    assert esc["payload"]["from_unit"] == "C500111001" and esc["payload"]["to_unit"] == "C500111"
    kinds = [t["payload"].get("coordination") for t in timeline if t["action"] == "event.dispatch"]
    assert kinds == ["push_down", "sideways"]


def test_a_town_owned_report_escalates_to_the_district(api: Api, world: World) -> None:
    ev = api.submit(who="dave", source="grid_patrol", request_type="report")
    n = ev["number"]
    assert n in [i["event_number"] for i in api.get("/api/coordination?view=owned", who="bob")]
    api.post(f"/api/events/{n}/escalate", "frank", {"reason": "不归我"}, status=404)  # town B cannot see it
    ev = api.post(f"/api/events/{n}/escalate", "bob", {"reason": "超出镇街能力"})
    assert ev["owner_unit_id"] == world.units["C500111"].id
    assert n not in [i["event_number"] for i in api.get("/api/coordination?view=owned", who="bob")]
    assert n in [i["event_number"] for i in api.get("/api/coordination?view=owned", who="alice")]
    api.get("/api/coordination?view=everything", who="alice", status=422)
