"""The closed loop in a real browser (Debian's Chromium driven by Playwright).

alice, the district duty officer, watches the cockpit: a new report appears in the live feed within
2 s and the counters move; she opens it and dispatches it on the rules' suggestion. carol (city
management) accepts the task and reports back with a photo; dave, the grid worker, verifies it on a
phone. Citizens' text with markup is shown as text everywhere.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.e2e.conftest import Live, png_bytes, sign_in
from tests.factories import World

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def _counter(page: Any, key: str) -> str:
    return str(page.locator(f"#counter-{key} [data-value]").inner_text())


def test_duty_officer_sees_a_new_event_live_and_dispatches_it(live: Live, browser: Any) -> None:
    page = browser.new_page(bypass_csp=True, viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#who-name").inner_text().startswith("王丽")
    assert _counter(page, "received_today") == "0"
    assert _counter(page, "warnings_active") == "0"  # the warnings part counts firing warnings in scope
    page.wait_for_selector("#feed-status.live")

    submitted_at = time.monotonic()
    event = live.submit(title="北山路井盖破损", description="行人易绊倒")
    item = page.locator("#feed .feed-item", has_text="北山路井盖破损")
    item.first.wait_for(timeout=2000)  # the figure: new items appear within 2 s
    assert time.monotonic() - submitted_at < 2.5
    page.wait_for_function("document.querySelector('#counter-received_today [data-value]').textContent === '1'",
                           timeout=5000)
    assert _counter(page, "awaiting_dispatch") == "1"

    # the counter links to the list behind it
    href = page.locator("#counter-awaiting_dispatch").get_attribute("href")
    assert href and "state=registered" in href

    item.first.locator("a").click()
    page.wait_for_url(re.compile(rf"/events/{event['number']}$"))
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#ev-title").inner_text() == "北山路井盖破损"
    suggestion = page.locator("#suggestion")
    suggestion.wait_for()
    assert "城市管理局" in suggestion.inner_text()
    page.get_by_role("button", name="按建议派遣").click()
    page.wait_for_selector("body[data-state='dispatched']")
    assert page.locator("#ev-tasks").get_by_text("大足区城市管理局").count() >= 1
    assert page.locator("#ev-timeline").get_by_text("派遣").count() >= 1
    stored = live.call("GET", f"/api/events/{event['number']}", "alice")
    assert stored["state"] == "dispatched" and stored["tasks"][0]["unit_code"] == "D500111-CGJ"

    # back on the cockpit, today's dispatched figure counts it
    page.goto(f"{live.base}/")
    page.wait_for_selector("body[data-ready='1']")
    assert _counter(page, "dispatched_today") == "1"
    assert not errors, errors


def test_duty_officer_overrides_with_a_reason(live: Live, browser: Any) -> None:
    event = live.submit(title="供水管道漏水", event_class_code="0101")
    page = browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/events/{event['number']}")
    page.wait_for_selector("body[data-ready='1']")
    page.locator("summary", has_text="手动派遣（改派）").click()
    page.get_by_label("承办单位编码").fill("D500111-SWJ")
    page.get_by_label("改派理由").fill("实为供水管道问题，由水务公司处置")
    page.get_by_role("button", name="手动派遣（改派）").click()
    page.wait_for_selector("body[data-state='dispatched']")
    timeline = live.call("GET", f"/api/events/{event['number']}/timeline", "alice")
    assert any(line["reason"] == "实为供水管道问题，由水务公司处置" for line in timeline)
    assert live.call("GET", f"/api/events/{event['number']}", "alice")["tasks"][0]["unit_code"] == "D500111-SWJ"


def test_handler_accepts_and_reports_back_with_a_photo(live: Live, browser: Any) -> None:
    event = live.submit(title="人行道井盖缺失")
    live.call("POST", f"/api/events/{event['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    page = browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    sign_in(page, live.base, "carol")
    page.goto(f"{live.base}/tasks")
    page.wait_for_selector("body[data-ready='1']")
    card = page.locator(f"article[data-number='{event['number']}']")
    card.get_by_role("button", name="签收").click()
    card.get_by_text("处置反馈").first.wait_for()
    card.get_by_text("处置反馈").first.click()
    card.get_by_label("处置结果").fill("已更换新井盖并设置警示")
    card.get_by_label("现场照片").set_input_files(
        files=[{"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes()}])
    card.get_by_role("button", name="处置反馈").click()
    # the card stays (a reported-back task waits for verification) and shows its new state; it must
    # not be the moment the list is redrawn, which the page no longer empties before the answer is in
    page.wait_for_selector(f"article[data-number='{event['number']}'].state-reported_back", timeout=10_000)
    assert card.locator("button").count() == 0  # nothing left for the handler to do
    stored = live.call("GET", f"/api/events/{event['number']}", "carol")
    assert stored["state"] == "reported_back"
    assert stored["tasks"][0]["result"] == "已更换新井盖并设置警示"
    files = live.call("GET", f"/api/events/{event['number']}/attachments", "carol")
    assert [(f["filename"], f["task_id"]) for f in files] == [("现场.png", stored["tasks"][0]["id"])]

    # the photo is shown on the event page
    page.goto(f"{live.base}/events/{event['number']}")
    page.wait_for_selector("body[data-ready='1']")
    img = page.locator("#ev-attachments img")
    assert img.count() == 1
    page.wait_for_function("document.querySelector('#ev-attachments img').naturalWidth === 4")


def test_grid_worker_verifies_on_a_phone(live: Live, browser: Any) -> None:
    event = live.submit(title="楼道堆放杂物", lon=World.A1[0], lat=World.A1[1])
    number = event["number"]
    live.call("POST", f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    task_id = live.call("GET", f"/api/events/{number}", "alice")["tasks"][0]["id"]
    live.call("POST", f"/api/events/{number}/tasks/{task_id}/accept", "carol", {})
    live.call("POST", f"/api/events/{number}/tasks/{task_id}/report-back", "carol", {"result": "已清理"})

    context = browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 812}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    sign_in(page, live.base, "dave")
    page.goto(f"{live.base}/verify")
    page.wait_for_selector("body[data-ready='1']")
    card = page.locator(f"article[data-number='{number}']")
    card.get_by_text("已清理").wait_for()
    # nothing wider than the phone: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    box = card.bounding_box()
    assert box is not None and box["width"] <= 375
    card.locator("summary", has_text="核查通过").click()
    card.get_by_role("button", name="核查通过").click()
    page.get_by_text("暂无待核查事件").wait_for()
    assert live.call("GET", f"/api/events/{number}", "dave")["state"] == "verified"
    context.close()


def test_citizens_text_with_markup_is_shown_as_text(live: Live, browser: Any) -> None:
    page = browser.new_page(bypass_csp=True, viewport={"width": 1920, "height": 1080})
    sign_in(page, live.base, "alice")
    page.wait_for_selector("#feed-status.live")
    event = live.submit(title=HOSTILE, description=HOSTILE, address="<b>地址</b>")
    page.locator("#feed .feed-title").filter(has_text="<script>").first.wait_for(timeout=3000)
    assert page.locator("#feed .feed-title").filter(has_text="<script>").first.inner_text() == HOSTILE
    assert page.locator("#feed img").count() == 0

    page.goto(f"{live.base}/events/{event['number']}")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#ev-title").inner_text() == HOSTILE
    assert page.locator("#ev-desc").inner_text() == HOSTILE
    assert page.locator("#ev-title img, #ev-desc img, #ev-kv b").count() == 0

    page.goto(f"{live.base}/events?q=onerror")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#events-body .title-cell").first.inner_text() == HOSTILE
    assert page.locator("#events-body img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_event_list_filters_saved_views_and_keyboard(live: Live, browser: Any) -> None:
    live.submit(title="甲事件", source="hotline")
    live.submit(title="乙事件", source="grid_patrol", event_class_code="0201")
    page = browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/events")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#events-body tr").count() == 2
    # The registration form on the same page has its own 来源: the filter form is the search landmark.
    filters = page.get_by_role("search")
    filters.get_by_label("来源").select_option("grid_patrol")
    filters.get_by_label("关键字").focus()
    page.keyboard.press("Enter")  # the filter form submits from the keyboard
    page.wait_for_url(re.compile(r"source=grid_patrol"))
    page.wait_for_function("document.querySelectorAll('#events-body tr').length === 1")
    assert page.locator("#events-body").inner_text().count("乙事件") == 1
    page.once("dialog", lambda d: d.accept("巡查上报"))
    page.get_by_role("button", name="保存当前视图").click()
    page.goto(f"{live.base}/events")
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_role("link", name="巡查上报").click()
    page.wait_for_function("document.querySelectorAll('#events-body tr').length === 1")
    assert "乙事件" in page.locator("#events-body").inner_text()


def test_signed_out_visitor_is_sent_to_sign_in_and_initial_password_is_changed(live: Live, browser: Any) -> None:
    from shuzhi.services.security.passwords import set_password

    with live.factory() as s:
        set_password(s, "frank", "initial-password-1", must_change=True)
        s.commit()
    page = browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    page.goto(f"{live.base}/tasks")
    page.wait_for_url(re.compile(r"/login\?next=%2Ftasks"))
    page.get_by_label("工号").fill("frank")
    page.get_by_label("密码", exact=True).fill("wrong-password-1")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").first.inner_text() == "工号或密码不正确"
    sign_in_password = "initial-password-1"
    page.get_by_label("密码", exact=True).fill(sign_in_password)
    with page.expect_response("**/api/auth/login") as signed_in:
        page.get_by_role("button", name="登录").click()
    assert signed_in.value.status == 200
    page.get_by_label("新密码", exact=True).fill("a-new-password-22")
    page.get_by_label("再次输入新密码").fill("a-new-password-22")
    page.get_by_role("button", name="修改密码并进入").click()
    page.wait_for_url(f"{live.base}/tasks")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#who-name").inner_text().startswith("孙强")
