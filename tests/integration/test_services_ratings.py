"""好差评: one immutable rating per case or visit, every 差评 verified within the installation's limit,
named 差评 always called back, rates per window/department/town/clerk, a public page without personal data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_public_services import ServiceRating, ServiceTimeline
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_services_window import _work
from tests.services_factories import ServicesWorld, build_services, newborn_application

GOOD = {"overall": "very_satisfied", "efficiency": "satisfied", "service_level": "very_satisfied",
        "attitude": "very_satisfied"}
BAD = {"overall": "dissatisfied", "efficiency": "very_dissatisfied", "service_level": "basically_satisfied",
       "attitude": "dissatisfied"}


@pytest.fixture
def sw(world: World, session_factory: sessionmaker[Session]) -> ServicesWorld:
    with session_factory() as s:
        return build_services(s, world, UnitOfWork(session_factory))


def _completed_case(api: Api) -> str:
    number: str = api.post("/api/services/cases", "kelly", newborn_application(), status=201)["number"]
    for who in ("hana", "ivan", "judy"):
        _work(api, number, who)
    assert api.get(f"/api/services/cases/{number}", who="kelly")["state"] == "completed"
    return number


def _rate(api: Api, number: str, levels: dict[str, str], comment: str = "", named: bool = True,
          status: int = 201) -> Any:
    return api.post(f"/api/services/cases/{number}/rating", "kelly",
                    {"channel": "window", "levels": levels, "comment": comment, "named": named}, status=status)


def test_a_named_bad_rating_is_verified_rectified_and_answered_within_its_limit(
        api: Api, sw: ServicesWorld, session_factory: sessionmaker[Session]) -> None:
    api.request("PUT", "/api/services/settings", "admin", json={"bad_rating_limit_days": 5,
                                                                "callback_limit_days": 1})
    number = _completed_case(api)
    out = _rate(api, number, BAD, "等候时间太长，窗口人员解释不清")
    assert out["grade"] == "bad" and out["verification_id"]
    vid = out["verification_id"]
    # one rating per case, never changed
    _rate(api, number, GOOD, status=409)
    v = api.get(f"/api/services/verifications/{vid}", who="bob")
    assert v["state"] == "open" and v["named"] and v["rater"]["phone"] != "13912345678"
    # a named 差评 cannot skip the call-back
    r = api.client.post(f"/api/services/verifications/{vid}/unreachable", json={"callback_note": "无人接听"},
                        headers=api.headers("bob"))
    assert r.status_code == 409, r.text
    # each step needs its text
    r = api.client.post(f"/api/services/verifications/{vid}/call_back", json={}, headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == "callback_note"
    for action, body in [("call_back", {"callback_note": "已电话回访，申请人反映排队超过1小时"}),
                         ("classify_real", {"note": "经调取监控，属实"}),
                         ("rectify", {"rectification": "增设新生儿一件事专窗，高峰期弹性开窗"}),
                         ("reply", {"reply": "已向申请人说明整改措施并致歉"}),
                         ("close", {"outcome": "申请人认可整改", "rater_satisfied": True})]:
        v = api.post(f"/api/services/verifications/{vid}/{action}", "bob", body)
    assert v["state"] == "closed" and v["on_time"] is True and not v["overdue"]
    assert [line["action"] for line in v["timeline"]] == [
        "verification.open", "verification.call_back", "verification.classify_real", "verification.rectify",
        "verification.reply", "verification.close"]
    # the limit was the installation's: 5 working days from the rating
    assert v["due_at"] > v["opened_at"]
    # the department and town rates see it rectified on time
    rows = {r["key"]: r for r in api.get("/api/services/rates?by=department", who="alice")}
    assert len(rows) == 3 and all(r["bad"] == 1 and r["rectification_rate"] == 1.0 and r["on_time_rate"] == 1.0
                                  for r in rows.values())
    town = api.get("/api/services/rates?by=town", who="alice")
    assert town[0]["name"] == "龙岗街道" and town[0]["good_rate"] == 0.0
    # the public page: the bundle's rating, no personal data
    public = api.client.get("/api/public/services/ratings").json()
    assert public == [{"code": "newborn", "name": "新生儿出生一件事", "department": "一件事一次办", "ratings": 1,
                       "good_rate": 0.0, "average": 2.0}]
    with session_factory() as s:
        rating = s.scalar(select(ServiceRating))
        assert rating is not None
        rating.comment = "改成好评"
        with pytest.raises(ValueError, match="immutable"):
            s.flush()
        s.rollback()
        assert s.scalar(select(ServiceTimeline.id).where(ServiceTimeline.action == "rating.create"))


def test_a_mistaken_bad_rating_goes_to_the_office_on_appeal(api: Api, sw: ServicesWorld) -> None:
    number = _completed_case(api)
    vid = _rate(api, number, BAD, "误点了不满意", named=False)["verification_id"]
    api.post(f"/api/services/verifications/{vid}/unreachable", "bob", {"callback_note": "匿名评价，无联系方式"})
    api.post(f"/api/services/verifications/{vid}/classify_mistaken", "bob", {"appeal": "评价人留言称误点"})
    # bob (a town duty officer) cannot decide the appeal; the rating office (admin) can
    r = api.client.post(f"/api/services/verifications/{vid}/uphold_appeal", json={"note": "x"},
                        headers=api.headers("bob"))
    assert r.status_code == 403
    api.post(f"/api/services/verifications/{vid}/uphold_appeal", "admin", {"note": "核实为误评"})
    api.post(f"/api/services/verifications/{vid}/reply", "bob", {"reply": "已说明"})
    rows = api.get("/api/services/rates?by=window", who="alice")
    assert rows[0]["invalid"] == 1 and rows[0]["bad"] == 0 and rows[0]["good_rate"] is None


@pytest.mark.parametrize("body, field", [
    ({"channel": "window", "levels": {**GOOD, "overall": "great"}}, "levels.overall"),
    ({"channel": "window", "levels": {k: v for k, v in GOOD.items() if k != "attitude"}}, "levels.attitude"),
    ({"channel": "window", "levels": {**GOOD, "convenience": "satisfied"}}, "levels.convenience"),
    ({"channel": "online", "levels": GOOD}, "levels.guide_accuracy"),
    ({"channel": "window", "levels": BAD, "comment": ""}, "comment"),
    ({"channel": "fax", "levels": GOOD}, "channel"),
])
def test_bad_ratings_input_is_refused_with_the_field(api: Api, sw: ServicesWorld, body: dict[str, Any],
                                                     field: str) -> None:
    number = api.post("/api/services/cases", "kelly", newborn_application(), status=201)["number"]
    for who in ("hana", "ivan", "judy"):
        _work(api, number, who)
    r = api.client.post(f"/api/services/cases/{number}/rating", json=body, headers=api.headers("kelly"))
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_a_case_in_progress_cannot_be_rated_and_a_visit_can_once(api: Api, sw: ServicesWorld) -> None:
    number = api.post("/api/services/cases", "kelly", newborn_application(), status=201)["number"]
    _rate(api, number, GOOD, status=409)
    visit = api.post("/api/services/visits", "kelly", {"window_code": "W-LG", "purpose": "咨询新生儿落户"},
                     status=201)["id"]
    body = {"channel": "window", "levels": GOOD}
    assert api.post(f"/api/services/visits/{visit}/rating", "kelly", body, status=201)["grade"] == "good"
    api.post(f"/api/services/visits/{visit}/rating", "kelly", body, status=409)
    # frank in town B sees neither the visit nor its rating rates
    api.post(f"/api/services/visits/{visit}/rating", "frank", body, status=404)


@pytest.mark.parametrize("body, field", [({"bad_rating_limit_days": 16, "callback_limit_days": 1},
                                          "bad_rating_limit_days"),
                                         ({"bad_rating_limit_days": 5, "callback_limit_days": 0},
                                          "callback_limit_days"),
                                         ({"bad_rating_limit_days": 3, "callback_limit_days": 5},
                                          "callback_limit_days")])
def test_limits_are_1_to_15_working_days(api: Api, sw: ServicesWorld, body: dict[str, int], field: str) -> None:
    r = api.client.put("/api/services/settings", json=body, headers=api.headers("admin"))
    assert r.status_code == 422 and r.json()["field"] == field


def test_another_town_cannot_see_a_verification(api: Api, sw: ServicesWorld) -> None:
    number = _completed_case(api)
    vid = _rate(api, number, BAD, "态度差")["verification_id"]
    for who, status in (("frank", 404), ("bob", 200)):
        api.get(f"/api/services/verifications/{vid}", who=who, status=status)
    seen = api.client.post(f"/api/services/verifications/{vid}/call_back", json={"callback_note": "x"},
                           headers=api.headers("frank"))
    none = api.client.post("/api/services/verifications/999999/call_back", json={"callback_note": "x"},
                           headers=api.headers("frank"))
    assert seen.status_code == none.status_code == 404 and seen.text.replace(str(vid), "") == \
        none.text.replace("999999", "")
    assert api.get("/api/services/verifications", who="frank") == []
    assert api.get(f"/api/services/verifications/{vid}", who="bob")["state"] == "open"


def test_a_late_verification_is_told_once(api: Api, sw: ServicesWorld, session_factory: sessionmaker[Session]
                                          ) -> None:
    from datetime import datetime, timedelta

    from shuzhi.adapters.db.tables_supervision import Notification
    from shuzhi.services.window.ratings import remind_verifications

    number = _completed_case(api)
    vid = _rate(api, number, BAD, "一直没人理")["verification_id"]
    v = api.get(f"/api/services/verifications/{vid}", who="bob")
    late = datetime.fromisoformat(v["due_at"]) + timedelta(minutes=1)
    assert remind_verifications(UnitOfWork(session_factory), datetime.fromisoformat(v["opened_at"])) == 0
    assert remind_verifications(UnitOfWork(session_factory), late) == 2
    assert remind_verifications(UnitOfWork(session_factory), late + timedelta(hours=1)) == 0
    with session_factory() as s:
        kinds = s.scalars(select(Notification.kind).where(Notification.kind.like("service.bad_rating%"))).all()
    assert sorted(kinds) == ["service.bad_rating", "service.bad_rating_overdue", "service.bad_rating_overdue"]
    actions = [line["action"] for line in api.get(f"/api/services/verifications/{vid}", who="bob")["timeline"]]
    assert actions == ["verification.open", "verification.callback_overdue", "verification.overdue"]


def test_the_rates_read_an_evaluation_period_as_the_evaluation_page_names_it(api: Api, sw: ServicesWorld) -> None:
    from datetime import UTC, datetime, timedelta

    from shuzhi.domain.periods import PeriodKind, of_kind

    number = _completed_case(api)
    _rate(api, number, GOOD)
    today = (datetime.now(UTC) + timedelta(hours=8)).date()  # Asia/Shanghai's day
    month = of_kind(PeriodKind.MONTH, today)
    [row] = api.get(f"/api/services/rates?by=window&period={month.label}", who="alice")
    assert (row["ratings"], row["good"], row["good_rate"]) == (1, 1, 1.0)
    # the month before has nothing rated; a week or a quarter reads as well
    before = of_kind(PeriodKind.MONTH, month.start - timedelta(days=1))
    assert api.get(f"/api/services/rates?by=clerk&period={before.label}", who="alice") == []
    assert len(api.get(f"/api/services/rates?by=town&period={of_kind(PeriodKind.QUARTER, today).label}",
                       who="alice")) == 1
    # a period that is not one, or both a period and days, is named field by field
    r = api.client.get("/api/services/rates?period=2026-13", headers=api.headers("alice"))
    assert r.status_code == 422 and r.json()["field"] == "period", r.text
    r = api.client.get(f"/api/services/rates?period={month.label}&since={month.start}",
                       headers=api.headers("alice"))
    assert r.status_code == 422 and r.json()["field"] == "period", r.text
