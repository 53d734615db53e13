"""The centre's desk in a real browser: every desk action from the event page, the inbox, the header.

alice is the district's dispatcher. She registers a hotline report, sees where the rules would send it
and why, copies it for information to the district's five towns at once (a keyboard shortcut opens the
copy form; typing in a field fires none), two town duty officers (bob, frank) acknowledge it from their
inbox while their header counts drop without a reload, alice turns the copy into a case with a lead unit
and a deadline, and grace, the district leader, urges it (一键督办). The header's menu shows every entry at
the three desk widths; an API refusal appears in Chinese, naming the field.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.entrypoints.web.pages import NAV
from shuzhi.services.areas import json_safe
from tests.e2e.conftest import Live, sign_in
from tests.factories import World

pytestmark = pytest.mark.browser
SHANGHAI = ZoneInfo("Asia/Shanghai")
MORE_TOWNS = [("500111003", "智凤街道"), ("500111004", "宝顶街道"), ("500111005", "铁山街道")]
TOWN_CENTRES = ["C500111001", "C500111002", *(f"C{code}" for code, _ in MORE_TOWNS)]


def _five_towns(live: Live) -> None:
    """Three more towns (and their centres) beside the world's two: the district has five."""
    with live.factory() as s:
        district = s.scalars(select(Area).where(Area.code == "500111")).one()
        centre = s.scalars(select(Unit).where(Unit.code == "C500111")).one()
        for i, (code, name) in enumerate(MORE_TOWNS):
            x = 105.74 + i * 0.02
            geom = box(x, 29.70, x + 0.01, 29.71)
            area = Area(code=code, name=name, level="town", parent_id=district.id, path=f"{district.path}{code}/",
                        boundary=json_safe(mapping(geom)), centroid_lon=geom.centroid.x,
                        centroid_lat=geom.centroid.y)
            s.add(area)
            s.flush()
            s.add(Unit(code=f"C{code}", name=f"{name}城市运行和治理中心", kind="centre", level="town",
                       area_id=area.id, parent_id=centre.id))
        s.commit()


def _local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def _page(browser: Any, live: Live, who: str, width: int = 1600) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 1000}, bypass_csp=True)
    context.add_init_script("window.__shuzhiCountsPollMs = 60000;")  # the refresh after an action is tested
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, who)
    return context, page, errors


def _count(page: Any, which: str) -> int:
    page.wait_for_selector("#desk-counts:not([hidden])")
    return int(page.locator(f"#count-{which}").inner_text())


def _acknowledge_from_inbox(browser: Any, live: Live, who: str, number: str) -> None:
    context, page, errors = _page(browser, live, who)
    before = _count(page, "unread")
    assert before >= 1
    page.goto(f"{live.base}/inbox")
    page.wait_for_selector("body[data-ready='1']")
    card = page.locator(".inbox-item", has_text=number)
    assert "抄送知悉" in card.inner_text() and "unread" in (card.get_attribute("class") or "")
    card.get_by_role("button", name="已阅").click()
    card.get_by_text("已阅知悉").wait_for()
    # the header's count drops without the page being loaded again
    page.wait_for_function(f"document.getElementById('count-unread').textContent === '{before - 1}'", timeout=5000)
    page.locator("#inbox-filter").select_option("false")  # 已读
    page.locator(".inbox-item.read", has_text=number).wait_for()
    assert not errors, errors
    context.close()


def test_the_desk_registers_copies_to_five_towns_turns_a_copy_into_a_case_dispatches_and_urges(
        live: Live, browser: Any) -> None:
    _five_towns(live)
    live.call("POST", "/api/dispatch-rules", "admin", {
        "code": "R-COVER", "name": "井盖归城管", "priority": 1,
        "condition": {"field": "event_class", "op": "eq", "value": "0101"},
        "targets": {"lead": "D500111-CGJ"}}, status=201)
    live.call("POST", "/api/copy-lists", "alice", {"name": "西部三街道", "unit_codes": TOWN_CENTRES[2:]}, status=201)
    context, page, errors = _page(browser, live, "alice")

    # 受理登记 on the events page
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

    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    actions = page.locator("#ev-actions")
    # what alice may do, as the API answered; she holds no leader's urge
    offered = set(actions.get_attribute("data-actions").split())
    assert {"copy", "dispatch", "auto_dispatch", "override", "hand_sideways", "push_down"} <= offered
    assert "urge" not in offered and actions.locator("[data-action=urge]").count() == 0
    # the suggestion names its rule and the condition that matched
    why = page.locator("#dispatch-why")
    assert "井盖归城管" in why.inner_text() and "事件小类 为 0101" in why.inner_text()
    assert "快捷键 A" in page.locator("#dispatch-suggested").get_attribute("title")

    # C opens the copy form; typing a letter in its filter fires no other shortcut
    page.locator("#ev-title").click()
    page.keyboard.press("c")
    copy = page.locator("#act-copy")
    assert copy.get_attribute("open") is not None
    assert "快捷键 C" in copy.locator("summary").get_attribute("title")
    page.locator("#copy-filter").focus()
    page.keyboard.type("d")
    assert actions.locator("details[data-action=dispatch]").get_attribute("open") is None
    # the three western towns from a copy list, the other two picked by name
    copy.get_by_label("西部三街道（3 个单位）").check()
    page.locator("#copy-filter").fill("龙岗街道")
    page.locator("#copy-all").click()
    page.locator("#copy-filter").fill("棠香")
    page.locator("#copy-all").click()
    assert page.locator("#copy-count").inner_text() == "已选 2 个单位、1 个抄送名单"
    assert "null" not in copy.inner_text()
    page.locator("#copy-reason").fill("请各镇街知悉并提醒辖区居民")
    page.locator("#copy-submit").click()
    page.wait_for_selector("body[data-state='notifying']")
    event = live.call("GET", f"/api/events/{number}", "alice")
    assert sorted(t["unit_code"] for t in event["tasks"] if t["role"] == "notify") == sorted(TOWN_CENTRES)

    # two towns acknowledge from their inbox
    _acknowledge_from_inbox(browser, live, "bob", number)
    _acknowledge_from_inbox(browser, live, "frank", number)
    event = live.call("GET", f"/api/events/{number}", "alice")
    states = {t["unit_code"]: t["state"] for t in event["tasks"] if t["role"] == "notify"}
    assert sorted(states.values()) == ["notified", "notified", "notified", "read", "read"]
    assert states["C500111001"] == states["C500111002"] == "read"

    # the copy turned into a case: a lead unit and the desk's own deadline
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    offered = set(actions.get_attribute("data-actions").split())
    # a second round of copies stays possible; the rules no longer decide
    assert "copy" in offered and "auto_dispatch" not in offered and "dispatch" in offered
    page.locator("#ev-title").click()
    page.keyboard.press("d")
    dispatch = actions.locator("details[data-action=dispatch]")
    assert dispatch.get_attribute("open") is not None and "转为案件" in dispatch.locator("summary").inner_text()
    due = datetime.now(SHANGHAI) + timedelta(days=2)
    dispatch.get_by_label("主办单位编码").fill("D500111-CGJ")
    dispatch.get_by_label("办理时限（不填按事项时限）").fill(_local(due))
    dispatch.get_by_label("派遣意见").fill("请今日内处置")
    dispatch.locator("button[type=submit]").click()
    page.wait_for_selector("body[data-state='dispatched']")
    event = live.call("GET", f"/api/events/{number}", "alice")
    lead = next(t for t in event["tasks"] if t["role"] == "lead")
    assert lead["unit_code"] == "D500111-CGJ" and lead["state"] == "dispatched"
    set_due = due.replace(second=0, microsecond=0)
    assert abs(datetime.fromisoformat(lead["handle_due_at"]) - set_due) < timedelta(minutes=1)
    timeline = live.call("GET", f"/api/events/{number}/timeline", "alice")
    dispatched = next(line for line in timeline if line["action"] == "event.dispatch")
    assert dispatched["payload"]["to_case"] is True and dispatched["payload"]["due_at"]
    assert not errors, errors
    context.close()

    # grace, the district leader, urges it (U), with an earlier deadline
    context, page, errors = _page(browser, live, "grace")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    assert set(page.locator("#ev-actions").get_attribute("data-actions").split()) == {"urge"}
    page.locator("#ev-title").click()
    page.keyboard.press("u")
    urge = page.locator("#ev-actions details[data-action=urge]")
    assert urge.get_attribute("open") is not None
    urge.get_by_label("督办意见").fill("群众反映强烈，请明日前办结")
    urge.get_by_label("新的办理时限").fill(_local(datetime.now(SHANGHAI) + timedelta(days=1)))
    urge.locator("button[type=submit]").click()
    page.locator("#ev-timeline li", has_text="群众反映强烈").wait_for()
    timeline = live.call("GET", f"/api/events/{number}/timeline", "alice")
    assert any(line["action"] == "supervision.leader_urge" for line in timeline)
    assert not errors, errors
    context.close()


@pytest.mark.parametrize("width", [1366, 1600, 1920])
def test_every_menu_entry_is_reachable_at_desk_widths(live: Live, browser: Any, width: int) -> None:
    context, page, errors = _page(browser, live, "alice", width=width)
    page.goto(f"{live.base}/events")
    page.wait_for_selector("body[data-ready='1']")
    links = page.locator("nav.mainnav a")
    assert links.count() == len(NAV)
    for i in range(links.count()):
        link = links.nth(i)
        assert link.is_visible()
        b = link.bounding_box()
        assert b is not None and b["x"] >= 0 and b["x"] + b["width"] <= width and b["y"] >= 0, (width, i, b)
        # nothing covers it and it is not scrolled out of its bar: a click at its centre reaches it
        centre = [b["x"] + b["width"] / 2, b["y"] + b["height"] / 2]
        hit = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); return e && e.closest('a') "
                            "&& e.closest('a').getAttribute('href'); }", centre)
        assert hit == NAV[i][0], (width, NAV[i], hit)
    assert not errors, errors
    context.close()


def test_an_api_refusal_shows_in_chinese_naming_the_field(live: Live, browser: Any) -> None:
    number = live.submit(who="alice")["number"]
    context, page, errors = _page(browser, live, "alice")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    dispatch = page.locator("#ev-actions details[data-action=dispatch]")
    dispatch.locator("summary").click()
    dispatch.get_by_label("主办单位编码").fill("NO-SUCH-UNIT")
    dispatch.locator("button[type=submit]").click()
    error = dispatch.locator(".error")
    error.filter(has_text="「").wait_for()
    assert error.inner_text() == "「承办单位（第 1 项）」：单位不存在或已停用"
    # a deadline already past: the service's own rule, named by its field
    dispatch.get_by_label("主办单位编码").fill("D500111-CGJ")
    dispatch.get_by_label("办理时限（不填按事项时限）").fill(_local(datetime.now(SHANGHAI) - timedelta(hours=1)))
    dispatch.locator("button[type=submit]").click()
    page.wait_for_function("document.querySelector('#ev-actions details[data-action=dispatch] .error')"
                           ".textContent.includes('办理时限')")
    assert error.inner_text() == "「办理时限」：时间必须晚于现在"
    assert not re.search("[A-Za-z]{3,}", error.inner_text())
    assert live.call("GET", f"/api/events/{number}", "alice")["state"] == "registered"
    # someone else changed the event meanwhile: 409, said in words, not as a version number
    live.call("POST", f"/api/events/{number}/reclassify", "alice", {"event_class_code": "0101", "urgency": "urgent",
                                                                    "reason": "群众反映情况紧急"})
    dispatch.get_by_label("办理时限（不填按事项时限）").fill("")
    dispatch.locator("button[type=submit]").click()
    page.wait_for_function("document.querySelector('#ev-actions details[data-action=dispatch] .error')"
                           ".textContent.includes('他人')")
    assert error.inner_text() == "已被他人更新，请刷新后重试"
    assert live.call("GET", f"/api/events/{number}", "alice")["state"] == "registered"
    assert not errors, errors
    context.close()


def test_verify_close_and_call_back_from_the_event_page_with_shortcuts(live: Live, browser: Any) -> None:
    number = live.submit(who="alice")["number"]
    ev = live.call("POST", f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    task = ev["tasks"][0]["id"]
    live.call("POST", f"/api/events/{number}/tasks/{task}/accept", "carol", {})
    live.call("POST", f"/api/events/{number}/tasks/{task}/report-back", "carol", {"result": "已更换井盖"})
    context, page, errors = _page(browser, live, "alice")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    assert {"verify"} <= set(page.locator("#ev-actions").get_attribute("data-actions").split())
    verify = page.locator("#ev-actions details[data-action=verify]")
    assert verify.locator("summary").get_attribute("aria-keyshortcuts") == "V"
    page.locator("#ev-title").click()
    page.keyboard.press("v")
    assert verify.get_attribute("open") is not None
    verify.locator("button[type=submit]").click()
    page.wait_for_selector("body[data-state='verified']")
    close = page.locator("#ev-actions [data-action=close]")
    assert "快捷键 J" in close.get_attribute("title")
    page.locator("#ev-title").click()
    page.keyboard.press("j")
    page.wait_for_selector("body[data-state='closed']")
    page.locator("#ev-actions [data-action=callback]").click()
    page.wait_for_selector("body[data-state='called_back']")
    assert page.locator("#ev-actions").get_attribute("data-actions") == ""
    assert not errors, errors
    context.close()


def test_a_second_copy_round_from_the_event_page_tells_only_the_new_units(live: Live, browser: Any) -> None:
    number = live.submit(who="alice", event_class_code="9001", title="明日停水通知", source="legacy_system",
                         request_type=None)["number"]
    live.call("POST", f"/api/events/{number}/notify", "alice", {"unit_codes": ["C500111001"]})
    context, page, errors = _page(browser, live, "alice")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-state='notifying'][data-ready='1']")
    page.locator("#ev-title").click()
    page.keyboard.press("c")
    told = page.locator("#copy-form input[name=copy_unit][value=C500111001]")
    assert told.is_checked() and told.is_disabled()
    assert "已抄送" in page.locator("#copy-form label.check", has=page.locator("input[value=C500111001]")).inner_text()
    assert page.locator("#copy-count").inner_text() == "已选 0 个单位、0 个抄送名单"
    page.locator("#copy-filter").fill("街道")
    page.locator("#copy-all").click()  # picks the shown towns not yet told
    assert page.locator("#copy-count").inner_text() == "已选 1 个单位、0 个抄送名单"
    page.locator("#copy-reason").fill("补充告知棠香街道")
    page.locator("#copy-submit").click()
    page.wait_for_function("document.querySelectorAll('#copy-form input[name=copy_unit]:disabled').length === 2")
    event = live.call("GET", f"/api/events/{number}", "alice")
    assert sorted(t["unit_code"] for t in event["tasks"] if t["role"] == "notify") == ["C500111001", "C500111002"]
    assert not errors, errors
    context.close()
