"""The one window: accepting a newborn bundle at a town point, departments working their tasks in the
same loop, 容缺 materials, completion told once, and bad input refused with the field."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Task, TimelineEntry
from shuzhi.adapters.db.tables_supervision import OutboxMessage, SupervisionClock
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.services_factories import ID_OK, PROXY_ID, ServicesWorld, build_services, newborn_application


@pytest.fixture
def sw(world: World, session_factory: sessionmaker[Session]) -> ServicesWorld:
    with session_factory() as s:
        return build_services(s, world, UnitOfWork(session_factory))


UNIT_OF = {"hana": "D500111-WJW", "ivan": "D500111-GAJ", "judy": "D500111-YBJ"}


def _work(api: Api, number: str, who: str) -> None:
    """The department's handler signs for and reports back its task, through the loop's own routes."""
    event = api.get(f"/api/events/{number}", who=who)
    mine = [t for t in event["tasks"] if t["state"] == "dispatched" and t["unit_code"] == UNIT_OF[who]]
    assert len(mine) == 1, event["tasks"]
    t = mine[0]
    api.post(f"/api/events/{number}/tasks/{t['id']}/accept", who, {})
    api.post(f"/api/events/{number}/tasks/{t['id']}/report-back", who, {"result": "已办结，证照已制发"})


def test_newborn_bundle_at_a_town_point_with_a_deferred_material(api: Api, sw: ServicesWorld,
                                                                 session_factory: sessionmaker[Session]) -> None:
    body = newborn_application()
    body["materials"]["M-HUKOU"] = {"id": "provided", "cert": "deferred"}
    receipt = api.post("/api/services/cases", "bob", body, status=201)
    number = receipt["number"]
    assert [d["department"] for d in receipt["departments"]] == ["大足区公安分局", "大足区卫生健康委员会",
                                                                 "大足区医疗保障局"]
    assert receipt["skipped"] == ["M-CARD"]
    assert len(receipt["deferred"]) == 1 and receipt["applicant"]["id_number"] != ID_OK
    case = api.get(f"/api/services/cases/{number}", who="bob")
    assert case["state"] == "handling" and case["mode"] == "nearest"
    with session_factory() as s:
        tasks = s.scalars(select(Task).join(Task.event).where(Task.event.has(number=number))).all()
        assert len(tasks) == 3
        clocks = s.scalars(select(SupervisionClock).where(SupervisionClock.task_id.in_([t.id for t in tasks]))).all()
        assert len(clocks) == 3, "each department's task runs on the loop's supervision clock"
    # the department sees it among its tasks, with the shared form's fields passed on
    ev = api.get(f"/api/events/{number}", who="hana")
    assert all("张小宝" in t["instruction"] for t in ev["tasks"])
    for who in ("hana", "ivan"):
        _work(api, number, who)
    assert api.get(f"/api/services/cases/{number}", who="bob")["state"] == "handling"
    _work(api, number, "judy")
    case = api.get(f"/api/services/cases/{number}", who="bob")
    assert case["state"] == "awaiting_materials", "the result waits for the 容缺 material"
    assert case["event_state"] == "closed"
    owed = [m for m in case["materials"] if m["status"] == "deferred"]
    case = api.post(f"/api/services/cases/{number}/materials/{owed[0]['id']}/supply", "kelly", {})
    assert case["state"] == "completed" and case["notified_at"]
    with session_factory() as s:
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "service.case_completed")).all()
        assert len(told) == 1 and told[0].payload["number"] == number
        assert ID_OK not in str(told[0].payload) and "13912345678" not in str(told[0].payload)
        actions = s.scalars(select(TimelineEntry.action).where(TimelineEntry.event_id == ev["id"])
                            .order_by(TimelineEntry.id)).all()
    assert actions[:3] == ["event.register", "case.accept", "event.dispatch"]
    assert "case.wait_materials" in actions and "case.materials_supplied" in actions
    assert actions.count("case.notify_applicant") == 1
    api.post(f"/api/services/cases/{number}/deliver", "kelly", {})
    assert api.get(f"/api/services/cases/{number}", who="bob")["state"] == "delivered"


def test_a_second_stage_waits_for_the_first(api: Api, sw: ServicesWorld) -> None:
    body = newborn_application(answers={"born_here": "yes", "want_card": "yes"})
    body["materials"]["M-CARD"] = {"id": "provided", "cert": "provided", "photo": "provided"}
    receipt = api.post("/api/services/cases", "kelly", body, status=201)
    number = receipt["number"]
    assert receipt["skipped"] == [] and receipt["promised_days"] == 3 + 5
    for who in ("hana", "ivan", "judy"):
        _work(api, number, who)
    case = api.get(f"/api/services/cases/{number}", who="bob")
    assert case["current_stage"] == 2 and case["state"] == "handling"
    _work(api, number, "judy")
    case = api.get(f"/api/services/cases/{number}", who="bob")
    assert case["state"] == "completed"


def _error(api: Api, body: dict[str, Any], who: str = "kelly") -> dict[str, Any]:
    r = api.client.post("/api/services/cases", json=body, headers=api.headers(who))
    assert r.status_code == 422, r.text
    return r.json()


@pytest.mark.parametrize("change, field", [
    ({"window_code": "W-NOPE"}, "window_code"),
    ({"bundle_code": "nope"}, "bundle_code"),
    ({"answers": {"born_here": "maybe", "want_card": "no"}}, "answers.born_here"),
    ({"answers": {"born_here": "yes"}}, "answers.want_card"),
    ({"form": {"child_name": "张小宝", "birth_date": "30/11/2026", "mother_id": ID_OK, "phone": "13912345678"}},
     "form.birth_date"),
    ({"form": {"child_name": "张小宝", "birth_date": "2026-11-30", "mother_id": "500111199001011237",
               "phone": "13912345678"}}, "form.mother_id"),
    ({"materials": {"M-BIRTH": {"id": "deferred", "cert": "provided"}}}, "materials.M-BIRTH.id"),
    ({"applicant": {"kind": "person", "name": "张三", "id_number": "123", "phone": "13912345678"}},
     "applicant.id_number"),
    ({"mode": "proxy"}, "proxy"),
    ({"matter_code": "M-HALL", "bundle_code": None, "answers": {}, "form": {}, "materials": {}}, "window_code"),
])
def test_bad_applications_are_refused_with_the_field(api: Api, sw: ServicesWorld, change: dict[str, Any],
                                                     field: str) -> None:
    body = newborn_application(**change)
    err = _error(api, body)
    assert err["field"] == field, err


def test_proxy_is_recorded_and_masked(api: Api, sw: ServicesWorld) -> None:
    body = newborn_application(mode="proxy", proxy={"name": "李代办", "id_number": PROXY_ID, "relation": "村代办员"})
    number = api.post("/api/services/cases", "kelly", body, status=201)["number"]
    case = api.get(f"/api/services/cases/{number}", who="kelly")
    assert case["proxy"]["relation"] == "村代办员" and case["proxy"]["id_number"] != PROXY_ID


def test_another_town_cannot_see_the_case(api: Api, sw: ServicesWorld) -> None:
    body = newborn_application()
    body["materials"]["M-HUKOU"] = {"id": "provided", "cert": "deferred"}
    number = api.post("/api/services/cases", "kelly", body, status=201)["number"]
    owed = next(m for m in api.get(f"/api/services/cases/{number}", who="kelly")["materials"]
                if m["status"] == "deferred")
    missing = "500111-20000101-999999"
    for method, path, payload in [
            ("GET", "/api/services/cases/{n}", None), ("POST", "/api/services/cases/{n}/deliver", {}),
            ("POST", "/api/services/cases/{n}/withdraw", {"reason": "x"}),
            ("POST", "/api/services/cases/{n}/rating", {"channel": "window", "levels": {}}),
            ("POST", "/api/services/cases/{n}/materials/" + str(owed["id"]) + "/supply", {})]:
        seen = api.client.request(method, path.format(n=number), json=payload, headers=api.headers("frank"))
        none = api.client.request(method, path.format(n=missing), json=payload, headers=api.headers("frank"))
        assert seen.status_code == none.status_code == 404, (path, seen.text)
        assert seen.text.replace(number, "<n>") == none.text.replace(missing, "<n>")
    assert api.get(f"/api/services/cases/{number}", who="kelly")["state"] == "handling"
    # and cannot accept at town A's window
    err = _error(api, newborn_application(), who="frank")
    assert err["field"] == "window_code"


def test_the_applicant_is_told_once_by_sms_with_where_to_collect(
        kannel_live: Any, api: Api, sw: ServicesWorld, session_factory: sessionmaker[Session]) -> None:
    from shuzhi.adapters.db.tables_notices import Notice
    from shuzhi.services.notices import sender as notice_sender
    from tests.integration.live_notices import wait_until

    number = api.post("/api/services/cases", "bob", newborn_application(), status=201)["number"]
    for who in ("hana", "ivan", "judy"):
        _work(api, number, who)
    assert api.get(f"/api/services/cases/{number}", who="bob")["state"] == "completed"
    with session_factory() as s:
        [sms] = s.scalars(select(Notice).where(Notice.kind == "service.case_completed")).all()
        assert (sms.channel, sms.address, sms.state, sms.person_id) == ("sms", "13912345678", "queued", None)
    uf = lambda: UnitOfWork(session_factory)  # noqa: E731
    gw = kannel_live.gateways()
    wait_until(lambda: notice_sender.send_due(uf, sms.next_attempt_at, gw) >= 0
               and len(kannel_live.kannel.received()) == 1, what="the applicant's SMS at the carrier")
    [msg] = kannel_live.kannel.received()
    assert msg.receiver == "13912345678" and number in msg.text and "龙岗街道便民服务中心" in msg.text
    # told once: delivering the result later sends nothing more
    api.post(f"/api/services/cases/{number}/deliver", "kelly", {})
    with session_factory() as s:
        assert len(s.scalars(select(Notice).where(Notice.kind == "service.case_completed")).all()) == 1
