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
