"""The notice pages in Chromium: bob sets his quiet hours and channels on 我的通知 (a bad time refused in
Chinese at its field) and acknowledges a red warning's chain from the notices he received; the
administrator edits the red-warning escalation policy (a step sooner than the one before refused at
that step, a good one saved and listed), adds a DingTalk robot whose secret is only ever shown masked,
and looks at bob's notices; bob sees the policies read-only and no robots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from shuzhi.adapters.db.tables import Unit
from shuzhi.services.notices import escalation
from tests.e2e.conftest import Live, sign_in

SECRET = "SEC9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a"


def _red_chain(live: Live, event: dict[str, Any]) -> None:
    with live.factory() as s:
        unit = s.scalars(select(Unit).where(Unit.code == "C500111001")).one()
        escalation.start_chain(s, kind="warning.red", subject="gauge-7", unit=unit, event_id=event["id"],
                               at=datetime.now(UTC), context={"number": event["number"], "class_name": "河道水位",
                                                              "place": "龙岗街道", "level": "红色"})
        s.commit()


def _page(browser: Any, live: Live, who: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, who)
    return context, page, errors


def test_a_person_sets_quiet_hours_and_a_channel_and_acknowledges_a_notice(live: Live, browser: Any) -> None:
    event = live.submit(who="bob")
    _red_chain(live, event)
    context, page, errors = _page(browser, live, "bob")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#link-notice-admin").is_hidden()  # not a notice administrator
    page.get_by_role("link", name="我的通知").click()
    page.wait_for_url(f"{live.base}/notices")
    page.wait_for_selector("body[data-ready='1']")
    form = page.locator("#nu-settings")
    assert page.get_by_label("站内消息").is_checked() and page.get_by_label("站内消息").is_disabled()

    page.get_by_label("政务通讯群").uncheck()
    page.get_by_label("开始（时:分）").fill("25:99")
    page.get_by_label("结束（时:分）").fill("07:00")
    form.get_by_role("button", name="保存设置").click()
    slot = form.locator("[data-error-for='quiet_start']")
    slot.wait_for(state="visible", timeout=5000)
    assert slot.inner_text() == "免打扰开始：不是有效的时间，请按“时:分”填写，如 22:00"
    assert page.get_by_label("开始（时:分）").get_attribute("aria-invalid") == "true"
    assert live.call("GET", "/api/notices/settings/mine", "bob")["quiet_start"] is None  # nothing saved

    # one end only: refused at the other end
    page.get_by_label("开始（时:分）").fill("22:30")
    page.get_by_label("结束（时:分）").fill("")
    form.get_by_role("button", name="保存设置").click()
    end_slot = form.locator("[data-error-for='quiet_end']")
    end_slot.wait_for(state="visible", timeout=5000)
    assert "免打扰结束" in end_slot.inner_text() and "同时填写" in end_slot.inner_text()
    assert slot.inner_text() == ""  # the earlier error went away

    page.get_by_label("结束（时:分）").fill("07:00")
    form.get_by_role("button", name="保存设置").click()
    expect(page.locator("#toast")).to_contain_text("通知设置已保存", timeout=5000)
    saved = live.call("GET", "/api/notices/settings/mine", "bob")
    assert (saved["quiet_start"], saved["quiet_end"], saved["channels"]) == ("22:30", "07:00", ["inapp", "sms"])
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.get_by_label("开始（时:分）").input_value() == "22:30"
    assert not page.get_by_label("政务通讯群").is_checked() and page.get_by_label("短信").is_checked()

    # the notices he received: the red warning, its delivery state and receipts; acknowledged from here
    received = page.locator("#nu-received")
    received.locator("tr[data-notice]").first.wait_for(timeout=5000)
    text = received.inner_text()
    assert "红色预警" in text and event["number"] in text and "站内消息" in text and "已送达" in text
    received.get_by_role("button", name="确认收到").click()
    expect(received.locator("button[data-chain]")).to_have_count(0, timeout=5000)
    expect(received).to_contain_text("已确认")
    chain_id = live.call("GET", "/api/notices/mine", "bob")[0]["chain_id"]
    assert live.call("GET", f"/api/notice-chains/{chain_id}", "bob")["ack_channel"] == "page"

    # the configuration page: policies read-only, no robots, no one else's notices
    page.goto(f"{live.base}/notices/admin")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#nu-robots").is_hidden() and page.locator("#nu-person").is_hidden()
    assert page.locator("[data-policy='red-warning']").is_visible()
    assert page.locator("[data-policy='red-warning'] form").count() == 0
    assert page.locator("#nu-policies-readonly").is_visible()
    # on a phone: no sideways scrolling (the tables scroll in their own box)
    for path in ("/notices", "/notices/admin"):
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto(f"{live.base}{path}")
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    assert not errors, errors
    context.close()


def test_an_administrator_edits_an_escalation_policy_at_the_field(live: Live, browser: Any) -> None:
    context, page, errors = _page(browser, live, "admin")
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_role("link", name="通知配置").click()
    page.wait_for_url(f"{live.base}/notices/admin")
    page.wait_for_selector("body[data-ready='1']")
    card = page.locator("[data-policy='red-warning']")
    card.locator("summary").click()
    steps = card.locator(".nu-step")
    assert steps.count() == 3
    # the third step (leader in charge) sooner than the second: refused at that step's delay
    steps.nth(2).locator("input[name=after_minutes]").fill("5")
    card.get_by_role("button", name="保存策略").click()
    slot = card.locator("[data-error-for='steps[2].after_minutes']")
    slot.wait_for(state="visible", timeout=5000)
    assert slot.inner_text() == "第 3 步 · 延迟：延迟不能短于上一步（均从通知发出时起计）"
    assert steps.nth(2).locator("input[name=after_minutes]").get_attribute("aria-invalid") == "true"
    # a step with no recipient: refused at that step's recipients
    steps.nth(2).locator("input[name=after_minutes]").fill("45")
    for box in steps.nth(1).locator("input[name=who]:checked").all():
        box.uncheck()
    card.get_by_role("button", name="保存策略").click()
    who_slot = card.locator("[data-error-for='steps[1].who']")
    who_slot.wait_for(state="visible", timeout=5000)
    assert who_slot.inner_text() == "第 2 步 · 通知对象：请至少选择一项"
    assert slot.inner_text() == ""
    before = next(p for p in live.call("GET", "/api/escalation-policies", "admin") if p["code"] == "red-warning")
    assert [s["after_minutes"] for s in before["steps"]] == [0, 10, 30] and before["version"] == 1

    # the good one: the task holder by IM at 10 minutes, the leader in charge at 45
    steps.nth(1).get_by_label("任务承办人").check()
    steps.nth(1).get_by_label("政务通讯群").check()
    card.get_by_role("button", name="保存策略").click()
    expect(page.locator("#toast")).to_contain_text("升级策略已保存", timeout=5000)
    card = page.locator("[data-policy='red-warning']")
    card.locator(".nu-steps-read").wait_for(timeout=5000)
    listed = card.locator(".nu-steps-read").inner_text()
    assert "45分钟" in listed and "任务承办人" in listed and "版本 2" in card.inner_text()
    saved = next(p for p in live.call("GET", "/api/escalation-policies", "admin") if p["code"] == "red-warning")
    assert [s["after_minutes"] for s in saved["steps"]] == [0, 10, 45]
    assert saved["steps"][1]["who"] == ["task_holder"] and "im" in saved["steps"][1]["channels"]

    # no step at all: refused at the steps
    card.locator("summary").click()
    while card.locator(".nu-step").count():
        card.locator(".nu-step").first.get_by_role("button", name="删除此步").click()
    card.get_by_role("button", name="保存策略").click()
    none_slot = card.locator("[data-error-for='steps']")
    none_slot.wait_for(state="visible", timeout=5000)
    assert none_slot.inner_text() == "步骤：至少需要一个步骤"
    assert not errors, errors
    context.close()


def test_a_robot_is_added_with_its_secret_masked_and_a_persons_notices_are_shown(live: Live, browser: Any) -> None:
    event = live.submit(who="bob")
    _red_chain(live, event)
    context, page, errors = _page(browser, live, "admin")
    page.goto(f"{live.base}/notices/admin")
    page.wait_for_selector("body[data-ready='1']")
    panel = page.locator("#nu-robots")
    panel.get_by_text("添加机器人").first.click()
    form = page.locator("#nu-robot-form")
    form.get_by_label("所属单位").select_option("C500111001")
    form.get_by_label("类型").select_option("dingtalk")
    form.get_by_label("名称").fill("龙岗值班钉钉群<b>x</b>")
    form.get_by_label("Webhook 地址").fill("https://oapi.dingtalk.com/robot/send")
    form.get_by_label("加签密钥").fill(SECRET)
    form.get_by_role("button", name="添加机器人").click()
    slot = form.locator("[data-error-for='webhook_url']")
    slot.wait_for(state="visible", timeout=5000)
    assert slot.inner_text() == "Webhook 地址：钉钉机器人的地址须带 access_token=…"
    assert live.call("GET", "/api/notice-robots", "admin") == []

    form.get_by_label("Webhook 地址").fill("https://oapi.dingtalk.com/robot/send?access_token=tok-secret-123")
    form.get_by_role("button", name="添加机器人").click()
    row = page.locator("#nu-robots-body tr[data-robot]")
    row.wait_for(timeout=5000)
    assert row.locator("th").inner_text() == "龙岗值班钉钉群<b>x</b>"  # markup shown as text
    assert row.locator(".nu-secret").inner_text() == "SEC********" + SECRET[-4:]
    html = page.content()
    assert SECRET not in html and "tok-secret-123" not in html and SECRET[3:20] not in html
    row.get_by_role("button", name="停用").click()
    expect(page.locator("#nu-robots-body tr[data-robot]")).to_contain_text("已停用", timeout=5000)
    assert live.call("GET", "/api/notice-robots", "admin")[0]["enabled"] is False

    # one person's notices, reached from the page (and kept in the address)
    person = page.locator("#nu-person")
    person.get_by_label("人员工号").fill("bob")
    person.get_by_role("button", name="查看").click()
    person.locator("tr[data-notice]").first.wait_for(timeout=5000)
    assert event["number"] in person.inner_text() and "红色预警" in person.inner_text()
    assert person.locator("button[data-chain]").count() == 0  # acknowledging is the recipient's
    assert page.url.endswith("/notices/admin?person=bob")
    person.get_by_label("人员工号").fill("nobody")
    person.get_by_role("button", name="查看").click()
    expect(page.locator("#nu-person-notices")).to_contain_text("未找到，或不在您的管辖范围内", timeout=5000)
    assert not errors, errors
    context.close()
