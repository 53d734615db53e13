"""好差评 joins the evaluation: the rating rates are measures a scoring scheme can weight, and the
rankings per unit (department), area, window and clerk move with them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.services import evaluation_schemes
from shuzhi.services.actors import resolve_actor
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_services_ratings import BAD, GOOD
from tests.services_factories import ServicesWorld, build_services


@pytest.fixture
def sw(world: World, session_factory: sessionmaker[Session]) -> ServicesWorld:
    with session_factory() as s:
        return build_services(s, world, UnitOfWork(session_factory))


def _rated_visit(api: Api, who: str, window: str, levels: dict[str, str]) -> None:
    visit = api.post("/api/services/visits", who, {"window_code": window, "purpose": "咨询"}, status=201)["id"]
    api.post(f"/api/services/visits/{visit}/rating", who, {"channel": "window", "levels": levels,
                                                           "comment": "等候太久"}, status=201)


def _scores(api: Api) -> dict[str, Any]:
    month = datetime.now(UTC).strftime("%Y-%m")
    ranking = api.get("/api/evaluation/rankings", params={"period": month, "by": "unit"})["ranking"]
    return {r["code"]: r for r in ranking}


def test_a_scheme_weighting_the_good_rating_rate_changes_the_ranking(
        api: Api, sw: ServicesWorld, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    # the district hall (staffed by C500111) is rated well, the town centre (C500111001) badly
    _rated_visit(api, "alice", "W-HALL", GOOD)
    _rated_visit(api, "kelly", "W-LG", BAD)
    before = _scores(api)
    hall, town = before["C500111"], before["C500111001"]
    assert hall["good_rating_rate"] == 1.0 and town["good_rating_rate"] == 0.0 and town["ratings_bad"] == 1
    assert hall["score"] == town["score"]  # the default scheme does not weight ratings: a tie
    windows = api.get("/api/services/rates?by=window", who="alice")
    assert all(w["score"] is None for w in windows)

    with session_factory() as s:
        admin = resolve_actor(s, "admin")
    evaluation_schemes.save_scheme(uow, admin, "with-ratings", "含好差评", {"total": 100, "items": [
        {"rate": "on_time_closure_rate", "weight": 50, "full_mark_at": 0.95, "zero_at": 0.6},
        {"rate": "good_rating_rate", "weight": 30, "full_mark_at": 0.9, "zero_at": 0.5},
        {"rate": "bad_rectification_rate", "weight": 20, "full_mark_at": 1.0, "zero_at": 0.0}]})
    after = _scores(api)
    hall, town = after["C500111"], after["C500111001"]
    # the hall: full marks; the town: nothing for 好评率 and nothing for an unrectified 差评
    assert (hall["score"], town["score"]) == (100.0, 50.0)
    assert hall["rank"] < town["rank"]
    assert town["score_items"] == {"on_time_closure_rate": 50.0, "good_rating_rate": 0.0,
                                   "bad_rectification_rate": 0.0}
    # the window ranking is scored by the same items and ordered by them
    windows = api.get("/api/services/rates?by=window", who="alice")
    assert [(w["name"], w["score"]) for w in windows] == [("大足区政务服务中心综合窗口", 50.0),
                                                          ("龙岗街道便民服务中心", 0.0)]
    # an unknown rating measure is refused by name
    refused = api.request("PUT", "/api/evaluation/schemes/x", "admin", 422, json={
        "name": "x", "document": {"items": [{"rate": "good_rating_ratio", "weight": 100,
                                             "full_mark_at": 1, "zero_at": 0}]}})
    assert "good_rating_ratio" in refused["detail"]


def _answered_call(api: Api, subject: str, department: str, handler: str) -> str:
    from tests.integration.test_services_whistle import CREDIT

    api.request("PUT", f"/api/services/enterprises/{CREDIT}", "admin",
                json={"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    number: str = api.post("/api/services/whistles", "bob", {
        "credit_code": CREDIT, "subject": subject, "department_codes": [department], "response_days": 3},
        status=201)["number"]
    task = api.get(f"/api/events/{number}", who=handler)["tasks"][0]
    api.post(f"/api/events/{number}/tasks/{task['id']}/accept", handler, {})
    api.post(f"/api/events/{number}/tasks/{task['id']}/report-back", handler, {"result": "已答复企业"})
    return number


def test_a_scheme_weighting_the_enterprises_good_rate_ranks_the_departments_by_it(
        api: Api, sw: ServicesWorld, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    # 政企双向评价: the enterprise rates the city management bureau's answer well, the water company's badly
    good = _answered_call(api, "厂区外道路积水影响货车进出", "D500111-CGJ", "carol")
    bad = _answered_call(api, "厂区供水压力不足", "D500111-SWJ", "erin")
    api.post(f"/api/services/whistles/{good}/rating", "bob", {"levels": {
        "overall": "very_satisfied", "response": "very_satisfied", "effectiveness": "satisfied",
        "attitude": "very_satisfied"}}, status=201)
    api.post(f"/api/services/whistles/{bad}/rating", "bob", {"levels": {
        "overall": "very_dissatisfied", "response": "dissatisfied", "effectiveness": "very_dissatisfied",
        "attitude": "satisfied"}, "comment": "三周未解决"}, status=201)
    # the department rates the enterprise too: that direction is about the enterprise, not the department
    api.post(f"/api/services/whistles/{bad}/enterprise-rating", "erin", {"levels": {
        "overall": "very_satisfied", "cooperation": "very_satisfied", "materials": "satisfied",
        "integrity": "very_satisfied"}}, status=201)
    before = _scores(api)
    cgj, swj = before["D500111-CGJ"], before["D500111-SWJ"]
    assert (cgj["enterprise_ratings"], cgj["enterprise_ratings_good"], cgj["enterprise_good_rate"]) == (1, 1, 1.0)
    assert (swj["enterprise_ratings"], swj["enterprise_ratings_bad"], swj["enterprise_good_rate"]) == (1, 1, 0.0)
    assert cgj["score"] == swj["score"]  # the default scheme does not weight them: a tie

    with session_factory() as s:
        admin = resolve_actor(s, "admin")
    evaluation_schemes.save_scheme(uow, admin, "with-enterprises", "含政企双向评价", {
        "total": 100, "items": [
            {"rate": "on_time_closure_rate", "weight": 60, "full_mark_at": 0.95, "zero_at": 0.6},
            {"rate": "enterprise_good_rate", "weight": 40, "full_mark_at": 0.9, "zero_at": 0.5}],
        "deductions": {"enterprise_ratings_bad": 5}})
    after = _scores(api)
    cgj, swj = after["D500111-CGJ"], after["D500111-SWJ"]
    assert cgj["score_items"]["enterprise_good_rate"] == 40.0 and swj["score_items"]["enterprise_good_rate"] == 0.0
    # 40 points for the rate and the 5-point deduction for the 差评 apart
    assert cgj["score"] - swj["score"] == 45.0 and cgj["rank"] < swj["rank"]
    # by area: the calls' town carries both
    month = datetime.now(UTC).strftime("%Y-%m")
    areas = api.get("/api/evaluation/rankings", params={"period": month, "by": "area"})["ranking"]
    town = next(r for r in areas if r["code"] == "500111001")
    assert (town["enterprise_ratings"], town["enterprise_good_rate"]) == (2, 0.5)
