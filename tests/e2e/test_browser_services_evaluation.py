"""好差评 on the evaluation page (issue #24): the rates per window, department, town and clerk in the
period the page shows, switched with the grouping selector."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Live, sign_in
from tests.factories import World
from tests.services_factories import build_services, newborn_application

pytestmark = pytest.mark.browser

BAD = {"overall": "dissatisfied", "efficiency": "very_dissatisfied", "service_level": "basically_satisfied",
       "attitude": "dissatisfied"}


def test_the_evaluation_page_shows_the_rating_rates_by_window_department_town_and_clerk(
        live: Live, browser: Any) -> None:
    from shuzhi.adapters.db.tables import Area, Person, Unit

    with live.factory() as s:
        world = World({a.code: a for a in s.scalars(select(Area))}, {u.code: u for u in s.scalars(select(Unit))},
                      {p.code: p for p in s.scalars(select(Person))}, {})
        build_services(s, world, UnitOfWork(live.factory))
    number = live.call("POST", "/api/services/cases", "bob", newborn_application(), status=201)["number"]
    for who, unit in (("hana", "D500111-WJW"), ("ivan", "D500111-GAJ"), ("judy", "D500111-YBJ")):
        ev = live.call("GET", f"/api/events/{number}", who)
        task = next(t for t in ev["tasks"] if t["unit_code"] == unit)
        live.call("POST", f"/api/events/{number}/tasks/{task['id']}/accept", who, {})
        live.call("POST", f"/api/events/{number}/tasks/{task['id']}/report-back", who, {"result": "已办结"})
    vid = live.call("POST", f"/api/services/cases/{number}/rating", "bob",
                    {"channel": "window", "levels": BAD, "comment": "等候太久", "named": True},
                    status=201)["verification_id"]
    for action, body in (("call_back", {"callback_note": "已回访"}), ("classify_real", {"note": "属实"}),
                         ("rectify", {"rectification": "增设取号窗口"}), ("reply", {"reply": "已整改并答复"})):
        live.call("POST", f"/api/services/verifications/{vid}/{action}", "bob", body)

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#svc-rates[data-loaded='window']")
    [row] = page.locator("#svc-rates-body tr").all()
    assert "龙岗街道便民服务中心" in row.inner_text()
    assert row.locator("td[data-rate='good']").inner_text() == "0.0%"
    assert row.locator("td[data-rate='rectification']").inner_text() == "100.0%"
    assert row.locator("td[data-rate='on_time']").inner_text() == "100.0%"
    # a bundle's rating counts for each of its three departments
    page.select_option("#svc-rates-by", "department")
    page.wait_for_selector("#svc-rates[data-loaded='department']")
    assert page.inner_text("#svc-rates-name") == "部门"
    assert page.locator("#svc-rates-body tr[data-by='department']").count() == 3
    page.select_option("#svc-rates-by", "town")
    page.wait_for_selector("#svc-rates[data-loaded='town']")
    assert "龙岗街道" in page.inner_text("#svc-rates-body")
    page.select_option("#svc-rates-by", "clerk")
    page.wait_for_selector("#svc-rates[data-loaded='clerk']")
    assert page.locator("#svc-rates-body tr[data-by='clerk']").count() == 1
    # the year before has nothing rated
    page.select_option("#p-kind", "year")
    page.fill("#p-date", "2020-06-01")
    page.click("#period-form button[type=submit]")
    page.wait_for_selector("#svc-rates[data-period='2020']")
    assert page.inner_text("#svc-rates-body") == "暂无数据"
    assert page.locator("#svc-rates-body tr[data-by]").count() == 0
    page.close()
