"""The done-when walk in a browser: a newborn bundle accepted at a town point with one material missing
under 容缺, three departments complete their tasks, the applicant rates it 差评, and the 差评 is verified,
rectified and answered within its limit."""

from __future__ import annotations

from typing import Any

import pytest

from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import PASSWORD, Live, sign_in
from tests.factories import World
from tests.services_factories import ID_OK, build_services

pytestmark = pytest.mark.browser


def _work(live: Live, number: str, who: str, unit: str) -> None:
    ev = live.call("GET", f"/api/events/{number}", who)
    task = next(t for t in ev["tasks"] if t["unit_code"] == unit and t["state"] == "dispatched")
    live.call("POST", f"/api/events/{number}/tasks/{task['id']}/accept", who, {})
    live.call("POST", f"/api/events/{number}/tasks/{task['id']}/report-back", who, {"result": "已办结"})


def test_newborn_at_a_town_point_to_an_answered_bad_rating(live: Live, browser: Any) -> None:
    from shuzhi.services.security.passwords import hash_password, set_password

    with live.factory() as s:
        from sqlalchemy import select

        from shuzhi.adapters.db.tables import Area, Person, Unit

        world = World({a.code: a for a in s.scalars(select(Area))}, {u.code: u for u in s.scalars(select(Unit))},
                      {p.code: p for p in s.scalars(select(Person))}, {})
        build_services(s, world, UnitOfWork(live.factory))
        hashed = hash_password(PASSWORD)
        for code in ("kelly", "hana", "ivan", "judy"):
            set_password(s, code, PASSWORD, must_change=False, password_hash=hashed)
        s.commit()
    page = browser.new_page()
    sign_in(page, live.base, "kelly")
    page.goto(f"{live.base}/window")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#w-window option").all_inner_texts() == ["龙岗街道便民服务中心"]
    page.fill("#w-name", "张三")
    page.fill("#w-id", ID_OK)
    page.fill("#w-phone", "13912345678")
    page.locator("#w-id").dispatch_event("change")
    assert "5001**********1232" in page.inner_text("#w-masked")  # as the API masks it
    page.fill("#w-search", "新生儿")
    page.click("#w-hits li[data-code='newborn']")
    page.wait_for_selector("#w-materials fieldset")
    page.check("input[name='q-born_here'][value='yes']")
    page.check("input[name='q-want_card'][value='no']")
    for key, value in {"child_name": "张小宝", "birth_date": "2026-11-30", "mother_id": ID_OK,
                       "phone": "13912345678"}.items():
        page.fill(f"[data-field='{key}']", value)
    assert page.locator("fieldset[data-matter-box='M-CARD'][disabled]").count() == 1
    page.select_option("select[data-matter='M-HUKOU'][data-material='cert']", "deferred")
    assert page.input_value("#w-mode") == "nearest"
    page.click("#w-submit")
    page.wait_for_selector("#w-receipt-number")
    number = page.inner_text("#w-receipt-number")
    assert "容缺" in page.inner_text("#w-receipt") or "补齐" in page.inner_text("#w-receipt")
    for who, unit in (("hana", "D500111-WJW"), ("ivan", "D500111-GAJ"), ("judy", "D500111-YBJ")):
        _work(live, number, who, unit)
    page.fill("#w-case-number", number)
    page.click("#w-case-form button")
    page.wait_for_selector("#w-case-card[data-state='awaiting_materials']")
    page.click("button[data-supply]")
    page.wait_for_selector("#w-case-card[data-state='completed']")
    for dim in ("overall", "efficiency", "service_level", "attitude"):
        page.check(f"input[name='r-{dim}'][value='dissatisfied']")
    page.fill("#w-rating textarea", "排队时间长，材料要求没有一次说清")
    page.click("#w-rating button[type=submit]")
    page.wait_for_selector("#w-bad article[data-state='open']")
    page.close()

    officer = browser.new_page()
    sign_in(officer, live.base, "bob")
    officer.goto(f"{live.base}/window")
    officer.wait_for_selector("body[data-ready='1']")
    for state, action, text in [("open", "call_back", "已回访申请人"), ("called_back", "classify_real", "属实"),
                                ("rectifying", "rectify", "增设专窗并一次性告知"),
                                ("rectified", "reply", "已向申请人反馈整改"), ("replied", "close", "申请人认可")]:
        card = officer.locator(f"#w-bad article[data-state='{state}']")
        card.locator("textarea").fill(text)
        card.locator(f"button[data-action='{action}']").click()
        officer.wait_for_selector(f"#w-bad article[data-state='{state}']", state="detached")
    vs = live.call("GET", "/api/services/verifications?open_only=false", "bob")
    assert len(vs) == 1 and vs[0]["state"] == "closed" and vs[0]["on_time"] is True
    public = officer.goto(f"{live.base}/public/ratings")
    assert public is not None and public.ok
    officer.wait_for_selector("body[data-ready='1']")
    assert "新生儿出生一件事" in officer.inner_text("#p-table") and "张三" not in officer.content()
    officer.close()
