"""抄送知悉 as the main road: copy lists, copying many units at once, copy → case, rules that copy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, Unit
from tests.factories import World
from tests.integration.conftest import Api


def _notice(api: Api) -> dict[str, Any]:
    return api.submit(event_class_code="9001", title="明日停水通知", source="legacy_system", request_type=None)


def _copies(ev: dict[str, Any]) -> dict[str, str]:
    return {t["unit_code"]: t["state"] for t in ev["tasks"] if t["role"] == "notify"}


def test_a_notice_is_copied_to_the_named_units_and_every_unit_on_a_copy_list_once(api: Api, world: World) -> None:
    towns = api.post("/api/copy-lists", "alice", {"name": "全区镇街", "unit_codes": ["C500111001", "C500111002"]},
                     status=201)
    assert towns["unit_codes"] == ["C500111001", "C500111002"]
    ev = api.post(f"/api/events/{_notice(api)['number']}/notify", "alice",
                  {"unit_codes": ["C500111001", "D500111-SWJ"], "copy_lists": [towns["id"]]})
    assert ev["state"] == "notifying"
    assert _copies(ev) == {"C500111001": "notified", "D500111-SWJ": "notified", "C500111002": "notified"}
    created = [t for t in api.get(f"/api/events/{ev['number']}/timeline") if t["action"] == "task.create"]
    assert sorted(t["payload"]["unit"] for t in created) == ["C500111001", "C500111002", "D500111-SWJ"]
    assert all(t["task_id"] is not None and t["actor"] for t in created)


def test_a_notice_needs_a_unit_or_a_copy_list_and_names_the_bad_one(api: Api, world: World) -> None:
    number = _notice(api)["number"]
    api.post(f"/api/events/{number}/notify", "alice", {}, status=422)
    err = api.post(f"/api/events/{number}/notify", "alice", {"unit_codes": ["C500111001", "X-NONE"]}, status=422)
    assert err["field"] == "unit_codes[1]" and "X-NONE" in err["detail"]
    err = api.post(f"/api/events/{number}/notify", "alice", {"copy_lists": [999999]}, status=422)
    assert err["field"] == "copy_lists[0]"
    assert api.get(f"/api/events/{number}")["state"] == "registered"  # nothing half-copied


def test_copy_lists_are_scoped_to_the_authors_area(api: Api, world: World) -> None:
    err = api.post("/api/copy-lists", "bob", {"name": "邻镇", "unit_codes": ["C500111002"]}, status=422)
    assert err["field"] == "unit_codes[0]" and "outside" in err["detail"]
    mine = api.post("/api/copy-lists", "bob", {"name": "本镇", "unit_codes": ["C500111001"]}, status=201)
    franks = api.post("/api/copy-lists", "frank", {"name": "本镇", "unit_codes": ["C500111002"]}, status=201)
    district = api.post("/api/copy-lists", "alice", {"name": "全区", "unit_codes": ["C500111001", "C500111002"]},
                        status=201)
    assert [x["id"] for x in api.get("/api/copy-lists", who="bob")] == [mine["id"]]
    assert {x["id"] for x in api.get("/api/copy-lists", who="alice")} >= {mine["id"], franks["id"], district["id"]}
    api.get(f"/api/copy-lists/{franks['id']}", who="bob", status=404)
    ev = api.submit(who="bob", event_class_code="9001", title="停电通知", source="legacy_system",
                    request_type=None)
    err = api.post(f"/api/events/{ev['number']}/notify", "bob", {"copy_lists": [franks["id"]]}, status=422)
    assert err["field"] == "copy_lists[0]"


def test_copy_list_names_are_unique_per_unit_and_a_list_can_be_replaced_and_deleted(api: Api, world: World) -> None:
    first = api.post("/api/copy-lists", "alice", {"name": "防汛", "unit_codes": ["D500111-SWJ"]}, status=201)
    err = api.post("/api/copy-lists", "alice", {"name": "防汛", "unit_codes": ["C500111001"]}, status=409)
    assert err["field"] == "name"
    err = api.post("/api/copy-lists", "alice", {"name": "x", "unit_codes": ["C500111001", "C500111001"]},
                   status=422)
    assert "twice" in str(err)
    replaced = api.request("PUT", f"/api/copy-lists/{first['id']}", "alice", 200,
                           json={"name": "防汛名单", "unit_codes": ["D500111-CGJ", "D500111-SWJ"]})
    assert (replaced["name"], replaced["unit_codes"]) == ("防汛名单", ["D500111-CGJ", "D500111-SWJ"])
    api.request("DELETE", f"/api/copy-lists/{first['id']}", "alice", 204)
    api.get(f"/api/copy-lists/{first['id']}", status=404)


def test_a_copy_turns_into_a_case_in_one_step_keeping_its_copies_and_history(api: Api, world: World) -> None:
    ev = api.post(f"/api/events/{_notice(api)['number']}/notify", "alice",
                  {"unit_codes": ["C500111001", "D500111-SWJ"]})
    ev = api.post(f"/api/events/{ev['number']}/tasks/{api.task(ev, 'D500111-SWJ')['id']}/read", "erin")
    # the town that was only copied is made the lead unit
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "alice",
                  {"units": [{"unit_code": "C500111001", "role": "lead"}], "reason": "需要镇街处置"})
    assert (ev["state"], ev["mode"]) == ("dispatched", "handle")
    assert _copies(ev) == {"C500111001": "notified", "D500111-SWJ": "read"}
    lead = next(t for t in ev["tasks"] if t["role"] == "lead")
    assert (lead["unit_code"], lead["state"]) == ("C500111001", "dispatched")
    # the remaining copy is still read as information; it neither closes nor moves the case
    copy = next(t for t in ev["tasks"] if t["role"] == "notify" and t["state"] == "notified")
    ev = api.post(f"/api/events/{ev['number']}/tasks/{copy['id']}/read", "bob")
    assert ev["state"] == "dispatched"
    ev = api.post(f"/api/events/{ev['number']}/tasks/{lead['id']}/accept", "bob")
    assert ev["state"] == "handling"
    moves = [(t["from_state"], t["to_state"]) for t in api.get(f"/api/events/{ev['number']}/timeline")
             if t["action"].startswith("event.")]
    assert moves[:3] == [(None, "registered"), ("registered", "notifying"), ("notifying", "dispatched")]
    dispatched = next(t for t in api.get(f"/api/events/{ev['number']}/timeline") if t["action"] == "event.dispatch")
    assert dispatched["payload"]["to_case"] is True


def test_auto_dispatch_copies_a_notify_only_event_and_never_makes_it_a_case(api: Api, world: World) -> None:
    api.post("/api/dispatch-rules", "admin", {
        "code": "R-WATER", "name": "停水通知", "priority": 1,
        "condition": {"field": "event_class", "op": "eq", "value": "9001"},
        "targets": {"lead": "D500111-SWJ", "copy": ["C500111001"]}}, status=201)
    ev = api.post(f"/api/events/{_notice(api)['number']}/auto-dispatch", "alice")
    assert (ev["state"], ev["mode"]) == ("notifying", "notify")
    assert _copies(ev) == {"D500111-SWJ": "notified", "C500111001": "notified"} and len(ev["tasks"]) == 2


def test_a_rule_copies_units_for_information_beside_the_lead(api: Api, world: World) -> None:
    api.post("/api/dispatch-rules", "admin", {
        "code": "R-COPY", "name": "井盖抄送镇街", "priority": 1,
        "condition": {"field": "event_class", "op": "eq", "value": "0101"},
        "targets": {"lead": "D500111-CGJ", "copy": ["C500111001", "D500111-CGJ"]}}, status=201)
    ev = api.post(f"/api/events/{api.submit()['number']}/auto-dispatch", "alice")
    assert ev["state"] == "dispatched"
    assert sorted((t["unit_code"], t["role"]) for t in ev["tasks"]) == [("C500111001", "notify"),
                                                                       ("D500111-CGJ", "lead")]
    err = api.post("/api/dispatch-rules", "admin", {
        "code": "R-BAD", "name": "x", "priority": 2, "condition": {"field": "source", "op": "eq", "value": "hotline"},
        "targets": {"lead": "D500111-CGJ", "copy": "C500111001"}}, status=422)
    assert "copy" in str(err)


def test_copying_many_units_costs_as_many_statements_as_copying_a_few(
        api: Api, world: World, session_factory: sessionmaker[Session], engine: Engine) -> None:
    with session_factory() as s:
        town = s.query(Area).filter(Area.code == "500111001").one()
        for i in range(60):
            s.add(Unit(code=f"V{i:04d}", name=f"村{i}", kind="village", level="village", area_id=town.id))
        s.commit()
    counts = []
    for codes in (["V0000", "V0001"], [f"V{i:04d}" for i in range(2, 60)]):
        number = _notice(api)["number"]
        statements: list[str] = []

        def count(*args: Any, statements: list[str] = statements) -> None:
            statements.append(args[2])

        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            ev = api.post(f"/api/events/{number}/notify", "alice", {"unit_codes": codes})
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        assert len(_copies(ev)) == len(codes)
        counts.append(len([s for s in statements if "INSERT" in s.upper() or "SELECT" in s.upper()]))
    assert counts[1] <= counts[0] + 2, counts  # not one round trip per unit
