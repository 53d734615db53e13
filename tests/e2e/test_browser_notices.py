"""A red warning's notice pops up as a browser notification on bob's open page, and the event page's
通知与回执 section shows the chain, each send with its receipts, and acknowledges it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shuzhi.adapters.db.tables import Unit
from shuzhi.services.notices import escalation
from tests.e2e.conftest import Live, sign_in

CAPTURE = """
window.__shuzhiNoticePollMs = 300;
window.__notices = [];
class FakeNotification { constructor(title, opts) { window.__notices.push({ title, body: opts.body }); } }
FakeNotification.permission = "granted";
FakeNotification.requestPermission = async () => "granted";
window.Notification = FakeNotification;
"""


def test_an_urgent_notice_pops_up_and_is_acknowledged_on_the_event_page(live: Live, browser: Any) -> None:
    event = live.submit(who="bob")
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    context.add_init_script(CAPTURE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_timeout(600)  # the first poll sets what was already there
    with live.factory() as s:
        unit = s.scalars(select(Unit).where(Unit.code == "C500111001")).one()
        escalation.start_chain(s, kind="warning.red", subject="river", unit=unit, event_id=event["id"],
                               at=datetime.now(UTC), context={"number": event["number"], "class_name": "河道水位",
                                                              "place": "龙岗街道", "level": "红色"})
        s.commit()
    page.wait_for_function("window.__notices.length > 0", timeout=5000)
    shown = page.evaluate("window.__notices")
    assert shown[0]["title"] == "红色预警" and event["number"] in shown[0]["body"]

    page.goto(f"{live.base}/events/{event['number']}")
    section = page.locator("#ev-notices")
    section.locator(".notice-chain").first.wait_for(timeout=5000)
    assert "红色预警通知" in section.inner_text() and "等待确认" in section.inner_text()
    assert "站内消息" in section.inner_text() and "已送达" in section.inner_text()
    section.get_by_role("button", name="确认收到").click()
    page.wait_for_function("document.querySelector('#ev-notices').innerText.includes('已确认')", timeout=5000)
    assert "李波通过页面" in section.inner_text()
    assert not errors, errors
    context.close()
