"""企业吹哨·部门报到: routed to the departments with a response deadline, followed by the officer."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.services_factories import ServicesWorld, build_services

CREDIT = "91500111MA5U000000"


@pytest.fixture
def sw(world: World, session_factory: sessionmaker[Session]) -> ServicesWorld:
    with session_factory() as s:
        return build_services(s, world, UnitOfWork(session_factory))


def test_a_call_reaches_each_department_and_the_officer_hears_each_answer(
        api: Api, sw: ServicesWorld, session_factory: sessionmaker[Session]) -> None:
    api.request("PUT", f"/api/services/enterprises/{CREDIT}", "admin",
                json={"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    out = api.post("/api/services/whistles", "bob", {
        "credit_code": CREDIT, "subject": "厂区外道路积水影响货车进出",
        "department_codes": ["D500111-CGJ", "D500111-SWJ"],
        "response_days": 3}, status=201)
    ev = api.get(f"/api/events/{out['number']}", who="carol")
    assert ev["source"] == "enterprise" and len(ev["tasks"]) == 2
    task = next(t for t in ev["tasks"] if t["unit_code"] == "D500111-CGJ")
    api.post(f"/api/events/{out['number']}/tasks/{task['id']}/accept", "carol", {})
    api.post(f"/api/events/{out['number']}/tasks/{task['id']}/report-back", "carol", {"result": "已疏通排水"})
    with session_factory() as s:
        bob = sw.world.people["bob"].id
        titles = s.scalars(select(Notification.title).where(Notification.person_id == bob)
                           .order_by(Notification.id)).all()
    assert titles[0].startswith("您服务的企业吹哨") and titles[1] == "部门已报到：大足区城市管理局"


@pytest.mark.parametrize("change, field", [({"response_days": 0}, "response_days"),
                                           ({"response_days": 16}, "response_days"),
                                           ({"department_codes": ["D-NOPE"]}, "department_codes[0]"),
                                           ({"credit_code": "91500111MA5U999999"}, "credit_code"),
                                           ({"subject": ""}, "subject")])
def test_bad_calls_are_refused_with_the_field(api: Api, sw: ServicesWorld, change: dict[str, object],
                                              field: str) -> None:
    api.request("PUT", f"/api/services/enterprises/{CREDIT}", "admin",
                json={"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    body = {"credit_code": CREDIT, "subject": "用电报装", "department_codes": ["D500111-CGJ"], "response_days": 3,
            **change}
    r = api.client.post("/api/services/whistles", json=body, headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    # another town cannot call for this enterprise: it reads as unknown
    r = api.client.post("/api/services/whistles", json={**body, **{"subject": "x", "response_days": 3,
                                                                     "department_codes": ["D500111-CGJ"],
                                                                     "credit_code": CREDIT}},
                        headers=api.headers("frank"))
    assert r.status_code == 422 and r.json()["field"] == "credit_code"


def _call(api: Api) -> dict[str, object]:
    api.request("PUT", f"/api/services/enterprises/{CREDIT}", "admin",
                json={"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    return api.post("/api/services/whistles", "bob", {
        "credit_code": CREDIT, "subject": "厂区外道路积水影响货车进出", "department_codes": ["D500111-CGJ"],
        "response_days": 3}, status=201)


def _answer(api: Api, number: str) -> None:
    ev = api.get(f"/api/events/{number}", who="carol")
    task = ev["tasks"][0]
    api.post(f"/api/events/{number}/tasks/{task['id']}/accept", "carol", {})
    api.post(f"/api/events/{number}/tasks/{task['id']}/report-back", "carol", {"result": "已疏通排水"})


HANDLING = {"overall": "dissatisfied", "response": "satisfied", "effectiveness": "dissatisfied",
            "attitude": "satisfied"}
COOPERATION = {"overall": "very_satisfied", "cooperation": "very_satisfied", "materials": "satisfied",
               "integrity": "very_satisfied"}


def test_the_officer_lists_his_calls_with_each_departments_answer(api: Api, sw: ServicesWorld) -> None:
    out = _call(api)
    mine = api.get("/api/services/whistles?mine=true", who="bob")
    assert [(w["number"], w["answered"], w["departments"][0]["department"], w["mine"]) for w in mine] == \
        [(out["number"], 0, "大足区城市管理局", True)]
    assert mine[0]["departments"][0]["response_due_at"] is not None and mine[0]["departments"][0]["late"] is False
    _answer(api, str(out["number"]))
    after = api.get("/api/services/whistles?mine=true", who="bob")[0]
    assert after["answered"] == 1 and after["departments"][0]["reported_at"] is not None
    # another town's officer neither follows nor sees it
    assert api.get("/api/services/whistles", who="frank") == []
    assert api.get("/api/services/whistles?mine=true", who="frank") == []


def test_two_way_ratings_are_given_once_each_and_never_changed(
        api: Api, sw: ServicesWorld, session_factory: sessionmaker[Session]) -> None:
    from shuzhi.adapters.db.tables_public_services import ServiceWhistleRating

    number = str(_call(api)["number"])
    # before the department has answered, neither side rates
    r = api.client.post(f"/api/services/whistles/{number}/rating", json={"levels": HANDLING, "comment": "慢"},
                        headers=api.headers("bob"))
    assert r.status_code == 409, r.text
    r = api.client.post(f"/api/services/whistles/{number}/enterprise-rating", json={"levels": COOPERATION},
                        headers=api.headers("carol"))
    assert r.status_code == 409, r.text
    _answer(api, number)
    # a 差评 must say why; every dimension must be rated
    r = api.client.post(f"/api/services/whistles/{number}/rating", json={"levels": HANDLING},
                        headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == "comment"
    r = api.client.post(f"/api/services/whistles/{number}/rating",
                        json={"levels": {"overall": "satisfied"}}, headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == "levels.response"
    got = api.post(f"/api/services/whistles/{number}/rating", "bob",
                   {"levels": HANDLING, "comment": "积水反复出现，只临时抽排"}, status=201)
    assert got["grade"] == "bad" and got["direction"] == "enterprise"
    again = api.client.post(f"/api/services/whistles/{number}/rating",
                            json={"levels": {**HANDLING, "overall": "satisfied"}}, headers=api.headers("bob"))
    assert again.status_code == 409
    coop = api.post(f"/api/services/whistles/{number}/enterprise-rating", "carol", {"levels": COOPERATION},
                    status=201)
    assert coop["grade"] == "good" and coop["department"] == "大足区城市管理局"
    assert api.client.post(f"/api/services/whistles/{number}/enterprise-rating", json={"levels": COOPERATION},
                           headers=api.headers("carol")).status_code == 409
    # another town cannot rate it: the same 404 as for no call
    r = api.client.post(f"/api/services/whistles/{number}/rating", json={"levels": HANDLING, "comment": "x"},
                        headers=api.headers("frank"))
    nope = api.client.post("/api/services/whistles/500111-20000101-999999/rating",
                           json={"levels": HANDLING, "comment": "x"}, headers=api.headers("frank"))
    assert r.status_code == nope.status_code == 404
    r = api.client.post(f"/api/services/whistles/{number}/enterprise-rating", json={"levels": COOPERATION},
                        headers=api.headers("frank"))
    assert r.status_code == 404
    assert r.text.replace(number, "N") == nope.text.replace("500111-20000101-999999", "N")
    with session_factory() as s:
        row = s.scalars(select(ServiceWhistleRating).where(ServiceWhistleRating.direction == "enterprise")).one()
        row.level = "very_satisfied"
        with pytest.raises(ValueError, match="immutable"):
            s.flush()
    listed = api.get("/api/services/whistles?mine=true", who="bob")[0]
    assert listed["enterprise_rating"] == "不满意" and listed["departments"][0]["cooperation"] == "非常满意"
    actions = [x["action"] for x in api.get(f"/api/events/{number}/timeline", who="bob")]
    assert "whistle.rated_by_enterprise" in actions and "whistle.rated_enterprise" in actions
    fig = api.get("/api/services/two-way-figures", who="admin")
    assert [(d["key"], d["ratings"], d["bad"], d["good_rate"]) for d in fig["departments"]] == \
        [("D500111-CGJ", 1, 1, 0.0)]
    assert [(e["key"], e["ratings"], e["good_rate"], e["average"]) for e in fig["enterprises"]] == \
        [(CREDIT, 1, 1.0, 5.0)]
    with session_factory() as s:
        told = s.scalars(select(Notification.title).where(Notification.kind == "service.whistle_bad_rating")).all()
    assert any(t.startswith("企业差评") for t in told)


def test_an_enterprises_bad_rating_is_verified_rectified_and_answered_like_a_service_one(
        api: Api, sw: ServicesWorld) -> None:
    api.request("PUT", "/api/services/settings", "admin", json={"bad_rating_limit_days": 5,
                                                                "callback_limit_days": 1})
    number = str(_call(api)["number"])
    _answer(api, number)
    got = api.post(f"/api/services/whistles/{number}/rating", "bob",
                   {"levels": HANDLING, "comment": "积水反复出现，只临时抽排"}, status=201)
    vid = got["verification_id"]
    assert vid is not None
    # the centre owning the call answers for it, beside the service 差评 on the same list
    [v] = api.get("/api/services/verifications", who="alice")
    assert (v["id"], v["kind"], v["state"], v["named"], v["case"], v["rater"]["name"]) == \
        (vid, "whistle", "open", True, number, "重庆某精密制造有限公司")
    assert v["due_at"] > v["callback_due_at"] > v["opened_at"]
    # a known enterprise is called back, always
    r = api.client.post(f"/api/services/verifications/{vid}/unreachable", json={"callback_note": "无人接听"},
                        headers=api.headers("alice"))
    assert r.status_code == 409, r.text
    for action, body in [("call_back", {"callback_note": "已回访企业负责人"}),
                         ("classify_real", {"note": "属实：排水管网老化"}),
                         ("rectify", {"rectification": "更换排水管并纳入汛前排查"}),
                         ("reply", {"reply": "已向企业说明整改措施"}),
                         ("close", {"outcome": "企业认可", "rater_satisfied": True})]:
        v = api.post(f"/api/services/verifications/{vid}/{action}", "alice", body)
    assert v["state"] == "closed" and v["on_time"] is True
    assert [line["action"] for line in v["timeline"]] == [
        "verification.open", "verification.call_back", "verification.classify_real", "verification.rectify",
        "verification.reply", "verification.close"]
    actions = [x["action"] for x in api.get(f"/api/events/{number}/timeline", who="bob")]
    assert actions.index("whistle.rated_by_enterprise") < actions.index("whistle.verification_opened")
    # another town neither sees nor works it: the same 404 as for none
    assert api.client.get(f"/api/services/verifications/{vid}", headers=api.headers("frank")).status_code == 404
    # the service rates are not touched by an enterprise's rating
    assert api.get("/api/services/rates?by=window", who="alice") == []
    # a good rating opens nothing
    api.request("PUT", f"/api/services/enterprises/{CREDIT}", "admin",
                json={"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    second = str(_call(api)["number"])
    _answer(api, second)
    good = api.post(f"/api/services/whistles/{second}/rating", "bob", {"levels": {
        "overall": "satisfied", "response": "satisfied", "effectiveness": "satisfied", "attitude": "satisfied"}},
        status=201)
    assert good["verification_id"] is None


def test_the_call_form_lists_only_the_enterprises_in_ones_areas(api: Api, sw: ServicesWorld) -> None:
    api.request("PUT", f"/api/services/enterprises/{CREDIT}", "admin",
                json={"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    listed = api.get("/api/services/enterprises", who="bob")
    assert [(e["credit_code"], e["name"], e["area_code"], e["officer_code"]) for e in listed] == \
        [(CREDIT, "重庆某精密制造有限公司", "500111001", "bob")]
    # another town's people do not see it (and cannot call for it: the same "unknown enterprise")
    assert api.get("/api/services/enterprises", who="frank") == []
