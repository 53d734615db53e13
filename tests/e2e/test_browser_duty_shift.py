"""A duty shift at the district centre, walked in a real browser from sign-in to handover (issue #18, done when).

alice, the district's dispatcher, signs in and takes the shift over from ivy (who listed her open items);
she registers a hotline report, copies it for information to the district's five towns, two town
officers (bob, frank) acknowledge from their inboxes, and when the read clock passes its deadline the
three others are reminded (kim, on duty at 智凤街道, sees the reminder in her inbox) and alice's centre
hears of the late ones. alice turns the copy into a case, dispatches it, urges it herself (一键督办 is the
desk's), and once the bureau reports back she hands the shift over to jack with the case waiting for
verification listed. Meanwhile dave, the grid worker, reports a finding from his phone (390×844).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shuzhi.adapters.db.tables import Person, Task, Unit
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.services.actors import forget_people
from shuzhi.services.security.passwords import set_password
from shuzhi.services.supervision import sweep
from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import PASSWORD, Live, png_bytes, sign_in
from tests.e2e.test_browser_desk import SHANGHAI, TOWN_CENTRES, _acknowledge_from_inbox, _five_towns, _local, _page
from tests.e2e.test_browser_phone import PHONE
from tests.factories import World

pytestmark = pytest.mark.browser
DISTRICT = "C500111"
LATE_TOWNS = TOWN_CENTRES[2:]  # the three western towns: nobody there reads in time


def _people(live: Live) -> str:
    """ivy (the shift before), jack (the shift after) at the district centre; kim on duty at 智凤街道."""
    with live.factory() as s:
        district = s.scalars(select(Unit).where(Unit.code == DISTRICT)).one()
        town = s.scalars(select(Unit).where(Unit.code == LATE_TOWNS[0])).one()
        for code, name, unit_id in (("ivy", "易梅", district.id), ("jack", "蒋杰", district.id),
                                    ("kim", "金燕", town.id)):
            s.add(Person(code=code, name=name, phone="13900000000", unit_id=unit_id, role="duty_officer"))
            s.flush()
            set_password(s, code, PASSWORD, must_change=False)
        s.commit()
    forget_people()
    now = datetime.now(UTC)
    for person, start, end in (("ivy", -9, 0), ("alice", 0, 8), ("jack", 8, 16)):
        live.call("POST", "/api/duty/shifts", "alice", {
            "unit_code": DISTRICT, "person_code": person, "role": "officer",
            "starts_at": (now + timedelta(hours=start, minutes=-1)).isoformat(),
            "ends_at": (now + timedelta(hours=end, minutes=-1)).isoformat()}, status=201)
    # ivy's night: a report still waiting for dispatch, handed over to alice
    waiting = live.submit(who="ivy", title="昨夜路灯不亮")
    live.call("POST", "/api/duty/handovers", "ivy", {"unit_code": DISTRICT, "to_person_code": "alice",
                                                     "note": "路灯一件待派遣"}, status=201)
    return waiting["number"]


def _duty_page(page: Any, live: Live) -> None:
    page.goto(f"{live.base}/duty")
    page.wait_for_selector("body[data-ready='1']")


def test_a_duty_shift_from_takeover_to_handover(live: Live, browser: Any) -> None:
    _five_towns(live)
    night = _people(live)
    live.call("POST", "/api/copy-lists", "alice", {"name": "西部三街道", "unit_codes": LATE_TOWNS}, status=201)
    context, page, errors = _page(browser, live, "alice")
    # the cockpit she lands on says who is on duty now: her shift has begun, ivy's has ended
    page.locator("#duty-panel").wait_for(state="visible", timeout=10000)
    assert page.locator("#duty-officers").inner_text() == "王丽"

    # 接班: ivy's handover lists what she left open; alice confirms it
    _duty_page(page, live)
    offered = page.locator("#d-handover-list li.duty-handover", has_text="易梅").first
    assert "待接班" in offered.inner_text() and night in offered.inner_text()
    offered.get_by_label("接班备注").fill("已接班，路灯事项已知悉")
    offered.get_by_role("button", name="确认接班").click()
    page.locator("#d-handover-list li.duty-handover.state-confirmed").wait_for(timeout=5000)

    # 受理登记: a hotline report
    page.goto(f"{live.base}/events")
    page.wait_for_selector("body[data-ready='1']")
    page.locator("#register-details summary").click()
    page.locator("#r-text").fill("龙岗街道北山路井盖破损，明天起停水检修")
    page.locator("#r-title").fill("北山路井盖破损")
    page.locator("#r-class").select_option("0101")
    page.locator("#r-lon").fill(str(World.A1[0]))
    page.locator("#r-lat").fill(str(World.A1[1]))
    page.locator("#register-form button[type=submit]").click()
    page.get_by_text(re.compile("已登记|登记成功")).first.wait_for()
    number = live.call("GET", "/api/events?q=北山路井盖破损", "alice")["items"][0]["number"]

    # 抄送知悉 to the five towns: a copy list of three, two picked by name
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    page.locator("#ev-title").click()
    page.keyboard.press("c")
    copy = page.locator("#act-copy")
    copy.get_by_label("西部三街道（3 个单位）").check()
    for name in ("龙岗街道", "棠香"):
        page.locator("#copy-filter").fill(name)
        page.locator("#copy-all").click()
    page.locator("#copy-reason").fill("请各镇街知悉并提醒辖区居民")
    page.locator("#copy-submit").click()
    page.wait_for_selector("body[data-state='notifying']")

    # two towns acknowledge from their inboxes
    _acknowledge_from_inbox(browser, live, "bob", number)
    _acknowledge_from_inbox(browser, live, "frank", number)

    # the read clock: past the deadline the three others are reminded, and counted late
    event = live.call("GET", f"/api/events/{number}", "alice")
    copies = {t["unit_code"]: t for t in event["tasks"] if t["role"] == "notify"}
    assert sorted(copies) == sorted(TOWN_CENTRES)
    assert {c: copies[c]["state"] for c in TOWN_CENTRES[:2]} == {c: "read" for c in TOWN_CENTRES[:2]}
    with live.factory() as s:
        due = max(s.scalars(select(Task.read_due_at).where(Task.id.in_([copies[c]["id"] for c in LATE_TOWNS]))))
    done = sweep(lambda: UnitOfWork(live.factory), due + timedelta(minutes=1))
    assert done.by_step == {"read_remind": 3, "read_overdue": 3}
    with live.factory() as s:
        told = s.execute(select(Unit.code, func.count()).join(Notification, Notification.unit_id == Unit.id)
                         .join(Task, Task.id == Notification.task_id)
                         .where(Notification.kind == "supervision.read_remind", Task.role == "notify")
                         .group_by(Unit.code)).all()
    assert dict(told) == {c: 1 for c in LATE_TOWNS}
    kim_context, kim, kim_errors = _page(browser, live, "kim")
    kim.goto(f"{live.base}/inbox?box=messages")
    kim.wait_for_selector("body[data-ready='1']")
    kim.locator(".inbox-item.unread", has_text="抄送待阅提醒").wait_for()
    assert number in kim.locator("#inbox-list").inner_text()
    assert not kim_errors, kim_errors
    kim_context.close()
    page.goto(f"{live.base}/inbox?box=messages")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("document.querySelectorAll('#inbox-list .inbox-item.unread').length >= 3")
    assert page.locator(".inbox-item", has_text="抄送逾期未阅").count() == 3

    # the copy becomes a case (转为案件) and is dispatched with the desk's deadline
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    page.locator("#ev-title").click()
    page.keyboard.press("d")
    dispatch = page.locator("#ev-actions details[data-action=dispatch]")
    assert "转为案件" in dispatch.locator("summary").inner_text()
    dispatch.get_by_label("主办单位编码").fill("D500111-CGJ")
    dispatch.get_by_label("办理时限（不填按事项时限）").fill(_local(datetime.now(SHANGHAI) + timedelta(days=2)))
    dispatch.get_by_label("派遣意见").fill("请今日内处置")
    dispatch.locator("button[type=submit]").click()
    page.wait_for_selector("body[data-state='dispatched']")

    # 一键督办 from the desk: alice, a dispatcher, urges it herself (U)
    page.wait_for_function("document.getElementById('ev-actions').dataset.actions.split(' ').includes('urge')")
    page.locator("#ev-title").click()
    page.keyboard.press("u")
    urge = page.locator("#ev-actions details[data-action=urge]")
    assert urge.get_attribute("open") is not None
    urge.get_by_label("督办意见").fill("群众反映强烈，请明日前办结")
    urge.get_by_label("新的办理时限").fill(_local(datetime.now(SHANGHAI) + timedelta(days=1)))
    urge.locator("button[type=submit]").click()
    page.locator("#ev-timeline li", has_text="群众反映强烈").wait_for()
    urged = [n for n in live.call("GET", "/api/inbox", "carol") if n["kind"] == "supervision.leader_urge"]
    assert len(urged) == 1 and urged[0]["title"].startswith("中心督办") and "王丽" in urged[0]["payload"]["by"]

    # the bureau reports back: the case waits for the centre's verification
    task = next(t for t in live.call("GET", f"/api/events/{number}", "alice")["tasks"] if t["role"] == "lead")
    live.call("POST", f"/api/events/{number}/tasks/{task['id']}/accept", "carol", {})
    live.call("POST", f"/api/events/{number}/tasks/{task['id']}/report-back", "carol", {"result": "已更换井盖"})

    # 交班: the open items are listed, and kept with the handover
    _duty_page(page, live)
    open_items = page.locator("#d-open-list")
    open_items.get_by_text(number).wait_for()
    assert "待核查事件 1" in open_items.inner_text() and night in open_items.inner_text()
    hand = page.locator("#d-handover-form")
    hand.get_by_label("接班人").select_option("jack")
    hand.get_by_label("交班说明").fill("北山路井盖待核查，路灯待派遣")
    hand.get_by_role("button", name="交班").click()
    mine = page.locator("#d-handover-list li.duty-handover", has_text="蒋杰").first
    mine.wait_for(timeout=5000)
    assert "待接班" in mine.inner_text() and number in mine.inner_text()
    record = next(h for h in live.call("GET", f"/api/duty/handovers?unit_code={DISTRICT}", "alice")
                  if h["to_person_code"] == "jack")
    assert [i["number"] for i in record["items"]["awaiting_verification"]["items"]] == [number]
    assert [i["number"] for i in record["items"]["awaiting_dispatch"]["items"]] == [night]
    assert not errors, errors
    context.close()

    # the grid worker reports a finding from his phone
    phone = browser.new_context(**PHONE)
    dave = phone.new_page()
    phone_errors: list[str] = []
    dave.on("pageerror", lambda e: phone_errors.append(str(e)))
    sign_in(dave, live.base, "dave")
    dave.goto(f"{live.base}/m")
    dave.wait_for_selector("body[data-ready='1']")
    assert dave.viewport_size == {"width": 390, "height": 844}
    dave.wait_for_function("document.getElementById('gps-status').textContent.startsWith('已定位')")
    assert dave.evaluate("document.documentElement.scrollWidth") <= 390
    dave.locator("#photo").set_input_files(
        files=[{"name": "p.png", "mimeType": "image/png", "buffer": png_bytes(16, 12)}])
    dave.wait_for_selector("#photo-preview:not([hidden])")
    dave.get_by_role("radio", name="暴露垃圾").tap()
    dave.get_by_label("情况说明").fill("北山路口垃圾堆放")
    dave.get_by_role("button", name="提交上报").tap()
    dave.wait_for_function("document.body.dataset.lastFinding")
    found = live.call("GET", f"/api/events/{dave.evaluate('document.body.dataset.lastFinding')}", "alice")
    assert found["source"] == "grid_patrol" and found["title"] == "北山路口垃圾堆放"
    assert not phone_errors, phone_errors
    phone.close()
