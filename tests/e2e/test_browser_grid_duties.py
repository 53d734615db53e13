"""A grid worker's recurring patrol in a real browser (issue #20): dave serves full-time in grid A-1's
team; the city's duty list gives the full-time worker a daily patrol and a weekly visit. On his phone the
patrol appears under 履职清单; he walks a patrol and marks the item done with it, and records the visit
with a note (an empty note is refused in Chinese). The town's page shows his team and the month's figures;
the evaluation page counts his completion next to the other figures. The town edits a team and its chain
of contacts (五长制) on its page; a bad line is named at its field in Chinese.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Live, sign_in

pytestmark = pytest.mark.browser

HERE = {"longitude": 105.7021, "latitude": 29.7021}  # inside grid A-1
PHONE = {"bypass_csp": True, "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "geolocation": HERE, "permissions": ["geolocation"], "locale": "zh-CN"}


def test_a_recurring_patrol_appears_on_the_phone_is_done_and_counts(live: Live, browser: Any) -> None:
    live.call("PUT", "/api/grid-duties", "admin", {"duties": [
        {"role": "full_time", "title": "日常巡查", "frequency": "daily", "place": "主次干道", "done_by": "patrol"},
        {"role": "full_time", "title": "重点人群走访", "frequency": "weekly", "place": "独居老人",
         "done_by": "visit"}]})
    live.call("PUT", "/api/towns/500111001/grids/500111001001001/team", "admin",
              {"members": [{"person_code": "dave", "role": "full_time", "primary": True}]})

    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "dave")
    page.goto(f"{live.base}/m?every=1")
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_role("button", name="巡查").first.tap()
    patrol_item = page.locator("#duty-list li").filter(has_text="日常巡查")
    patrol_item.wait_for()
    assert "待完成" in patrol_item.inner_text() and "每日" in patrol_item.inner_text()
    # the visit wants a note: refused at the field, in Chinese
    visit_item = page.locator("#duty-list li").filter(has_text="重点人群走访")
    visit_item.get_by_role("button", name="走访完成").tap()
    page.wait_for_function("[...document.querySelectorAll('#duty-list .ph-error')].some((e) => "
                           "e.textContent.includes('请填写走访情况'))")
    visit_item.get_by_label("走访情况（对象、事项）").fill("走访独居老人张大爷，身体良好")
    visit_item.get_by_role("button", name="走访完成").tap()
    page.wait_for_function("document.querySelector(\"#duty-list li[data-state='done']\") !== null")

    # he walks a patrol, ends it, and marks the daily patrol done with it
    page.get_by_role("button", name="开始巡查").tap()
    page.wait_for_function("document.body.dataset.patrol")
    context.set_geolocation({"longitude": HERE["longitude"], "latitude": HERE["latitude"] + 0.0002})
    page.wait_for_function("Number(document.getElementById('pt-points').textContent) >= 2", timeout=10_000)
    page.get_by_role("button", name="结束巡查").tap()
    page.wait_for_function("!document.body.dataset.patrol")
    patrol_item = page.locator("#duty-list li").filter(has_text="日常巡查")
    patrol_item.get_by_role("button", name="以最近一次巡查完成").tap()
    page.wait_for_function("[...document.querySelectorAll('#duty-list li')].filter((e) => "
                           "e.dataset.state === 'done').length === 2")
    assert not errors, errors
    context.close()

    items = {i["title"]: i for i in live.call("GET", "/api/phone/duties", "dave")}
    assert items["日常巡查"]["done_kind"] == "patrol" and items["日常巡查"]["patrol_id"]
    assert items["重点人群走访"]["done_kind"] == "visit"

    # the town's page: dave in grid A-1's team, the month's figures
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    context.add_init_script("window.__shuzhiCountsPollMs = 60000;")
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")
    page.goto(f"{live.base}/town")
    page.wait_for_selector("#town-grids[data-ready='1']")
    grid = page.locator("[data-grid='500111001001001']").inner_text()
    assert "专职网格员" in grid and "赵伟" in grid and "主岗" in grid and "待办 0 项" in grid
    assert not errors, errors
    context.close()

    # the district leader's evaluation page: dave's duties done, next to the other figures
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    context.add_init_script("window.__shuzhiCountsPollMs = 60000;")
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "grace")
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("#grid-people-body tr[data-person='dave']")
    assert "赵伟" in page.locator("#grid-people-body tr[data-person='dave']").inner_text()
    assert page.locator("#grid-teams-body tr[data-unit='G500111001001001']").count() == 1
    assert not errors, errors
    context.close()


def test_the_town_edits_a_grid_team_on_its_page_and_bad_lines_are_named_in_chinese(live: Live,
                                                                                    browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    context.add_init_script("window.__shuzhiCountsPollMs = 60000;")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "admin")
    page.goto(f"{live.base}/town?town=500111001")
    page.wait_for_selector("#town-grids[data-ready='1']")
    card = page.locator("[data-grid='500111001001001']")
    assert "尚未配备网格队伍" in card.inner_text()
    card.get_by_role("button", name="编辑").click()
    members = card.locator("textarea[name=members]")
    members.fill("宇航员，dave")
    card.locator("form.grid-edit button[type=submit]").click()
    error = card.locator("form.grid-edit p.error")
    page.wait_for_function("[...document.querySelectorAll('form.grid-edit p.error')].some((e) => e.textContent)")
    assert "网格角色" in error.inner_text() and "第 1 项" in error.inner_text()
    members.fill("网格长，bob\n专职网格员，dave，主岗")
    card.locator("select[name=layer]").select_option("governance")
    card.locator("textarea[name=contacts]").fill("片区长，北片，dave\n楼栋长，3栋，bob，1")
    card.locator("form.grid-edit button[type=submit]").click()
    page.wait_for_function("document.querySelector(\"[data-grid='500111001001001'] li[data-person='dave']\") !== null")
    text = page.locator("[data-grid='500111001001001']").inner_text()
    assert "网格长" in text and "李波" in text and "楼栋长" in text and "3栋" in text
    team = next(g for g in live.call("GET", "/api/towns/500111001/grids", "bob")["grids"]
                if g["code"] == "500111001001001")
    assert [(m["code"], m["role"]) for m in team["members"]] == [("bob", "grid_leader"), ("dave", "full_time")]
    assert team["contacts"][1]["parent_id"] == team["contacts"][0]["id"]
    assert not errors, errors
    context.close()
