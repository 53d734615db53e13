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


def _work_in_the_task_list(browser: Any, live: Live, number: str, who: str, unit: str) -> None:
    """A department's handler signs for its share and reports it done on its own task list (/tasks), the
    same inbox as events."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, live.base, who)
    page.goto(f"{live.base}/tasks")
    page.wait_for_selector("body[data-ready='1']")
    card = page.locator(f"article[data-number='{number}']")
    card.get_by_role("button", name="签收").click()
    card.get_by_text("处置反馈").first.wait_for()
    card.get_by_text("处置反馈").first.click()
    card.get_by_label("处置结果").fill("已办结，结果已送综窗")
    card.get_by_role("button", name="处置反馈").click()
    # the share is done: its card leaves the list of work still to do (or shows it reported back)
    page.locator(f"article[data-number='{number}']:not(.state-reported_back)").wait_for(state="detached",
                                                                                       timeout=10_000)
    page.close()
    ev = live.call("GET", f"/api/events/{number}", who)
    # the last share done: the case verifies every task of the event
    assert [t["state"] for t in ev["tasks"] if t["unit_code"] == unit] in (["reported_back"], ["verified"])


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
    check_code = page.inner_text("#w-receipt-code")
    assert len(check_code) == 8
    case = live.call("GET", f"/api/services/cases/{number}", "kelly")
    assert sorted(s["department"] for s in case["shares"]) == ["大足区公安分局", "大足区医疗保障局",
                                                               "大足区卫生健康委员会"]
    assert [m["name"] for m in case["materials"] if m["status"] == "deferred"] == ["证明材料"]
    for who, unit in (("hana", "D500111-WJW"), ("ivan", "D500111-GAJ"), ("judy", "D500111-YBJ")):
        _work_in_the_task_list(browser, live, number, who, unit)
    page.fill("#w-case-number", number)
    page.click("#w-case-form button")
    page.wait_for_selector("#w-case-card[data-state='awaiting_materials']")
    page.click("button[data-supply]")
    page.wait_for_selector("#w-case-card[data-state='completed']")
    # the applicant is told once, with the result and where to collect it
    with live.factory() as s:
        from sqlalchemy import select

        from shuzhi.adapters.db.tables_supervision import OutboxMessage

        told = [m.payload for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == "service.case_completed"))]
    assert len(told) == 1 and told[0]["number"] == number and told[0]["collect_at"] == "龙岗街道便民服务中心"
    assert "张三" not in str(told) and "13912345678" not in str(told)
    page.close()

    # the applicant rates it herself, no sign-in: the receipt's number and check code, 差评
    applicant = browser.new_page()
    applicant.goto(f"{live.base}/rate?number={number}")
    applicant.wait_for_selector("body[data-ready='1']")
    assert applicant.input_value("#r-number") == number
    applicant.fill("#r-code", "ABCDEFGH")
    for dim in ("overall", "efficiency", "service_level", "attitude", "guide_accuracy", "convenience"):
        applicant.check(f"input[name='r-{dim}'][value='dissatisfied']")
    applicant.fill("#r-comment", "排队时间长，材料要求没有一次说清")
    applicant.click("#r-submit")
    applicant.locator("#r-error:not(:empty)").wait_for()
    assert applicant.inner_text("#r-error") == "办件号或查验码不正确"  # a wrong code: nothing rated
    applicant.fill("#r-code", check_code.lower())
    applicant.click("#r-submit")
    applicant.wait_for_selector("#r-result[data-grade='bad']")
    assert "不满意" in applicant.inner_text("#r-result") and "张三" not in applicant.content()
    applicant.close()
    rating = live.call("GET", "/api/services/verifications", "bob")
    assert len(rating) == 1 and rating[0]["case"] == number and rating[0]["state"] == "open"

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


def test_the_officer_follows_an_enterprise_call_and_both_sides_rate_it(live: Live, browser: Any) -> None:
    credit = "91500111MA5U000000"
    live.call("PUT", f"/api/services/enterprises/{credit}", "admin",
              {"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    call = live.call("POST", "/api/services/whistles", "bob", {
        "credit_code": credit, "subject": "厂区外道路积水影响货车进出", "department_codes": ["D500111-CGJ"],
        "response_days": 3}, status=201)
    number = call["number"]
    officer = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(officer, live.base, "bob")
    officer.goto(f"{live.base}/whistles")
    officer.wait_for_selector("body[data-ready='1']")
    officer.check("#wh-mine")
    card = officer.locator(f"article[data-number='{number}'][data-answered='0/1']")
    card.wait_for()
    assert "大足区城市管理局" in card.inner_text() and "未报到" in card.inner_text()
    assert card.locator("form").count() == 0  # nothing to rate before the department has answered
    ev = live.call("GET", f"/api/events/{number}", "carol")
    task = ev["tasks"][0]
    live.call("POST", f"/api/events/{number}/tasks/{task['id']}/accept", "carol", {})
    live.call("POST", f"/api/events/{number}/tasks/{task['id']}/report-back", "carol", {"result": "已疏通排水管"})
    officer.reload()
    officer.wait_for_selector("body[data-ready='1']")
    card = officer.locator(f"article[data-number='{number}'][data-answered='1/1']")
    form = card.locator("form[data-direction='enterprise']")
    for dim in ("overall", "response", "effectiveness", "attitude"):
        form.locator(f"input[data-dim='{dim}'][value='very_satisfied']").check()
    form.locator("textarea").fill("当天响应，问题解决")
    form.locator("button[type=submit]").click()
    officer.locator(f"article[data-number='{number}'] .enterprise-rating strong[data-grade='good']").wait_for()
    assert officer.locator(f"article[data-number='{number}'] form").count() == 0  # once
    officer.close()

    department = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(department, live.base, "carol")
    department.goto(f"{live.base}/whistles")
    department.wait_for_selector("body[data-ready='1']")
    form = department.locator(f"article[data-number='{number}'] form[data-direction='department']")
    for dim in ("overall", "cooperation", "materials", "integrity"):
        form.locator(f"input[data-dim='{dim}'][value='satisfied']").check()
    form.locator("button[type=submit]").click()
    department.locator(f"article[data-number='{number}'] tr[data-department='D500111-CGJ'] td",
                       has_text="满意").first.wait_for()
    department.close()
    figures = live.call("GET", "/api/services/two-way-figures", "admin")
    assert [(r["key"], r["good_rate"]) for r in figures["departments"]] == [("D500111-CGJ", 1.0)]
    assert [(r["key"], r["average"]) for r in figures["enterprises"]] == [(credit, 4.0)]


def test_a_mistaken_bad_rating_is_appealed_and_the_rating_office_upholds_it(live: Live, browser: Any) -> None:
    from sqlalchemy import select

    from shuzhi.adapters.db.tables import Area, Person, Unit
    from tests.services_factories import newborn_application

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
    town = browser.new_page()
    sign_in(town, live.base, "bob")
    town.goto(f"{live.base}/window")
    town.wait_for_selector("body[data-ready='1']")
    # rated at the window's device (评价器), anonymously: the clerk's page records it
    town.fill("#w-case-number", number)
    town.click("#w-case-form button")
    town.wait_for_selector("#w-case-card[data-state='completed']")
    for dim in ("overall", "efficiency", "service_level", "attitude"):
        town.check(f"input[name='r-{dim}'][value='very_dissatisfied']")
    town.fill("#w-rating textarea", "点错了")
    town.uncheck("#w-rating input[name='named']")
    town.click("#w-rating button[type=submit]")
    town.wait_for_selector("#w-bad article[data-state='open']")
    assert "已评价" in town.inner_text("#w-case-card")
    for state, action, text in [("open", "call_back", "已回访，申请人称误点"),
                                ("called_back", "classify_mistaken", "申请人确认误评，录音在案")]:
        card = town.locator(f"#w-bad article[data-state='{state}']")
        card.locator("textarea").fill(text)
        card.locator(f"button[data-action='{action}']").click()
        town.wait_for_selector(f"#w-bad article[data-state='{state}']", state="detached")
    appealing = town.locator("#w-bad article[data-state='appealing']")
    assert "申请人确认误评" in appealing.inner_text()
    assert appealing.locator("button").count() == 0  # the town does not decide its own appeal
    town.close()
    office = browser.new_page()
    sign_in(office, live.base, "admin")
    office.goto(f"{live.base}/window")
    office.wait_for_selector("body[data-ready='1']")
    card = office.locator("#w-bad article[data-state='appealing']")
    card.locator("textarea").fill("录音核实，属误评")
    card.locator("button[data-action='uphold_appeal']").click()
    office.wait_for_selector("#w-bad article[data-state='rectified']")
    office.close()
    [v] = live.call("GET", "/api/services/verifications?open_only=false", "bob")
    assert (v["classification"], v["appeal_decision"], v["state"]) == ("mistaken", "upheld", "rectified")
    [rate] = live.call("GET", "/api/services/rates?by=window", "admin")
    assert (rate["invalid"], rate["bad"]) == (1, 0)  # an upheld appeal takes it out of the rates


def test_the_officer_registers_an_enterprise_call_on_the_page(live: Live, browser: Any) -> None:
    credit = "91500111MA5U000000"
    live.call("PUT", f"/api/services/enterprises/{credit}", "admin",
              {"name": "重庆某精密制造有限公司", "area_code": "500111001", "officer_code": "bob"})
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(page, live.base, "bob")
    page.goto(f"{live.base}/whistles")
    page.wait_for_selector("body[data-ready='1']")
    # nothing chosen: said in Chinese at the form, nothing sent
    page.fill("#wh-subject", "厂区外道路积水影响货车进出")
    page.click("#wh-new button[type=submit]")
    assert page.inner_text("#wh-new-error") == "请从列表中选择企业"
    page.select_option("#wh-enterprise", credit)
    page.click("#wh-new button[type=submit]")
    assert page.inner_text("#wh-new-error") == "请至少选择一个责任部门，且每个部门只选一次"
    page.check("#wh-departments input[data-department='D500111-CGJ']")
    page.check("#wh-departments input[data-department='D500111-SWJ']")
    page.fill("#wh-days", "5")
    page.click("#wh-new button[type=submit]")
    page.wait_for_selector("#wh-new[data-created]")
    number = page.get_attribute("#wh-new", "data-created")
    card = page.locator(f"article[data-number='{number}'][data-answered='0/2']")
    card.wait_for()
    assert "大足区城市管理局" in card.inner_text() and "大足区水务公司" in card.inner_text()
    page.close()
    ev = live.call("GET", f"/api/events/{number}", "bob")
    assert ev["source"] == "enterprise" and sorted(t["unit_code"] for t in ev["tasks"]) == \
        ["D500111-CGJ", "D500111-SWJ"]
    # another town's officer is offered no enterprise of this town
    assert live.call("GET", "/api/services/enterprises", "frank") == []
