"""The rest of the workbench in a real browser (Debian's Chromium driven by Playwright).

grace, the district leader, urges a task; alice, the district dispatcher, approves carol's extension
request with a date of her own, starts a plan for a town from the plans page, watches its board and
stands it down; she reads the five-colour map and downloads a report as .xlsx; admin creates a user who
then signs in with the initial password. Citizens' text stays text on every new screen.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Live, sign_in

pytestmark = pytest.mark.browser
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def _page(browser: Any, width: int = 1366, height: int = 768) -> tuple[Any, list[str]]:
    page = browser.new_page(bypass_csp=True, viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _local(dt: datetime) -> str:
    """A datetime-local value: Shanghai wall time, minutes."""
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def _dispatched(live: Live, **fields: Any) -> tuple[str, int]:
    event = live.submit(**fields)
    number = event["number"]
    done = live.call("POST", f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    return number, done["tasks"][0]["id"]


def test_leader_urges_a_task(live: Live, browser: Any) -> None:
    number, _ = _dispatched(live, title=HOSTILE)
    page, errors = _page(browser)
    sign_in(page, live.base, "grace")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    # a leader urges; a leader does not dispatch
    assert page.locator("summary", has_text="手动派遣（改派）").count() == 0
    page.locator("summary", has_text="督办").click()
    page.get_by_label("督办意见").fill("请今日内处置完毕并反馈")
    due = datetime.now(UTC) + timedelta(days=1, hours=3)
    page.get_by_label("新的办理时限").fill(_local(due))
    assert page.get_by_label(re.compile("大足区城市管理局")).is_checked()
    page.get_by_role("button", name="督办").click()
    page.locator("#ev-timeline").get_by_text("领导督办").first.wait_for()
    stored = live.call("GET", f"/api/events/{number}", "grace")
    got = datetime.fromisoformat(stored["tasks"][0]["handle_due_at"])
    assert abs(got - due.replace(second=0, microsecond=0)) < timedelta(seconds=1)
    timeline = live.call("GET", f"/api/events/{number}/timeline", "grace")
    assert any(x["action"] == "supervision.leader_urge" and x["reason"] == "请今日内处置完毕并反馈" for x in timeline)
    # the title from the citizen is still text
    assert page.locator("#ev-title").inner_text() == HOSTILE
    assert page.evaluate("window.__xss") is None
    assert not errors, errors


def test_dispatcher_approves_an_extension_with_her_own_date(live: Live, browser: Any) -> None:
    number, task_id = _dispatched(live, title="路灯不亮")
    live.call("POST", f"/api/events/{number}/tasks/{task_id}/accept", "carol", {})
    asked = datetime.now(UTC) + timedelta(days=20)
    live.call("POST", f"/api/events/{number}/tasks/{task_id}/extension", "carol",
              {"until": asked.isoformat(), "reason": HOSTILE})
    page, errors = _page(browser)
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/tasks")
    page.wait_for_selector("body[data-ready='1']")
    card = page.locator(f"#decisions article[data-number='{number}']")
    assert HOSTILE in card.inner_text()  # the unit's reason, shown as text
    assert card.locator("img, script").count() == 0
    card.locator("summary", has_text="批准延期").click()
    field = card.get_by_label("批准延期至")
    assert field.input_value() == _local(asked)  # the date asked for, ready to approve
    granted = datetime.now(UTC) + timedelta(days=10)
    field.fill(_local(granted))
    card.get_by_role("button", name="批准延期").click()
    page.get_by_text("暂无待审批的延期申请").wait_for()
    task = live.call("GET", f"/api/events/{number}", "alice")["tasks"][0]
    assert task["state"] == "accepted"
    assert abs(datetime.fromisoformat(task["handle_due_at"]) - granted.replace(second=0, microsecond=0)) \
        < timedelta(seconds=1)
    assert page.evaluate("window.__xss") is None
    assert not errors, errors


def test_handler_escalates_and_the_centre_suspends_and_resumes(live: Live, browser: Any) -> None:
    number, task_id = _dispatched(live, title="桥梁护栏断裂")
    live.call("POST", f"/api/events/{number}/tasks/{task_id}/accept", "carol", {})
    page, errors = _page(browser)
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    task = page.locator(f"#ev-tasks article[data-task='{task_id}']")
    task.locator("summary", has_text="挂起").click()
    task.get_by_label("挂起理由").fill("等待桥梁检测报告")
    task.get_by_role("button", name="挂起（停表）").click()
    page.wait_for_function(f"document.querySelector(\"#ev-tasks article[data-task='{task_id}']\").className"
                           ".includes('state-suspended')")
    page.locator(f"#ev-tasks article[data-task='{task_id}']").get_by_role("button", name="恢复办理").click()
    page.wait_for_function(f"document.querySelector(\"#ev-tasks article[data-task='{task_id}']\").className"
                           ".includes('state-accepted')")

    handler, _ = _page(browser)
    sign_in(handler, live.base, "carol")
    handler.goto(f"{live.base}/tasks")
    handler.wait_for_selector("body[data-ready='1']")
    card = handler.locator(f"#tasks article[data-number='{number}']")
    card.locator("summary", has_text="超出本单位能力").click()
    card.get_by_label("上报理由").fill("需跨部门联合处置")
    card.get_by_role("button", name="超出本单位能力，上报").click()
    handler.wait_for_function(f"!document.querySelector(\"#tasks article[data-number='{number}']\")")
    stored = live.call("GET", f"/api/events/{number}", "alice")
    assert stored["tasks"][0]["state"] == "escalated" and stored["state"] == "registered"
    assert not errors, errors


def test_dispatcher_reclassifies_and_sees_where_it_went(live: Live, browser: Any) -> None:
    number, _ = _dispatched(live, title="供水管道爆裂")
    page, errors = _page(browser)
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    form = page.locator("details.action", has=page.locator("summary", has_text="重新分类"))
    form.locator("summary").click()
    form.get_by_label("新的事件类别").select_option("0301")
    form.get_by_label("理由").fill("实为供水管道")
    form.get_by_role("button", name="重新分类").click()
    notice = page.locator("#ev-notice")
    notice.wait_for()
    assert "大足区城市管理局" in notice.inner_text() and "大足区水务公司" in notice.inner_text()
    stored = live.call("GET", f"/api/events/{number}", "alice")
    assert [t["unit_code"] for t in stored["tasks"] if t["state"] == "dispatched"] == ["D500111-SWJ"]
    assert not errors, errors


PLAN = {
    "code": "storm", "name": "暴雨应急预案", "confirmation": "auto",
    "trigger": {"kind": "manual"}, "event": {"urgency": "critical"}, "accept_within": "0.5h",
    "tasks": [
        {"key": "brief", "title": "镇街部署", "role": "town_centre", "instruction": "启动镇街应急响应",
         "deadline": "2h", "checklist": ["通知村社", "值班到岗"]},
        {"key": "dept", "title": "城管排水", "role": "unit:D500111-CGJ", "instruction": "清掏雨水口", "deadline": "4h"},
        {"key": "grid", "title": "网格巡查", "role": "grid_units", "instruction": "巡查低洼地带", "deadline": "1wd",
         "after": ["brief"]},
    ],
}


def test_dispatcher_activates_a_plan_watches_the_board_and_stands_it_down(live: Live, browser: Any) -> None:
    live.call("POST", "/api/plans", "admin", PLAN)
    page, errors = _page(browser)
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/plans")
    page.wait_for_selector("body[data-ready='1']")
    row = page.locator("#templates-body tr[data-plan='storm']")
    assert "v1" in row.inner_text() and "手动启动" in row.inner_text() and "3" in row.inner_text()
    row.get_by_role("button").click()
    detail = page.locator("#detail")
    detail.get_by_text("网格巡查").wait_for()
    assert "受影响网格" in detail.inner_text()
    detail.get_by_label("龙岗街道").check()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    detail.get_by_role("button", name="一键启动").click()
    page.wait_for_selector("#board-body[data-state='active']")
    assert "暴雨应急预案" in dialogs[0]
    board = page.locator("#board-table tbody tr")
    assert board.count() == 3
    text = page.locator("#board-table").inner_text()
    assert "龙岗街道城市运行和治理中心" in text and "大足区城市管理局" in text and "等待前置" in text
    assert "剩余" in text
    assert page.locator("#board-areas").inner_text() == "龙岗街道"
    assert page.locator("#board-shown").inner_text() == "显示 3 / 3 项" and page.locator("#board-more").is_hidden()
    # the filter asks the server (a city-wide run is paged there): only the waiting task comes back
    page.locator("#board-filter").select_option("waiting")
    page.wait_for_selector("#board-body >> text=显示 1 / 1 项")
    assert page.locator("#board-table tbody tr").count() == 1
    assert "等待前置" in page.locator("#board-table").inner_text()
    page.locator("#board-filter").select_option("all")
    page.wait_for_selector("#board-body >> text=显示 3 / 3 项")
    assert page.locator("#runs-active li").count() == 1
    run_id = int(page.locator("#board-body").get_attribute("data-run") or 0)

    page.locator("#board-body summary", has_text="解除响应").click()
    page.get_by_label("解除理由").fill("雨情解除")
    page.locator("#board-body").get_by_role("button", name="解除响应").click()
    page.wait_for_selector("#board-body[data-state='stood_down']")
    assert page.locator("#runs-past li").count() == 1
    stored = live.call("GET", f"/api/plan-runs/{run_id}", "alice")
    assert stored["state"] == "stood_down" and stored["end_reason"] == "雨情解除"
    assert page.locator("#review-html").get_attribute("href") == f"/api/plan-runs/{run_id}/review?format=html"
    with page.expect_download() as dl:
        page.locator("#review-docx").click()
    assert dl.value.suggested_filename.endswith(".docx")
    assert not errors, errors


def test_evaluation_shows_the_colour_map_and_downloads_an_xlsx_report(live: Live, browser: Any) -> None:
    number, task_id = _dispatched(live, title="占道经营")
    live.call("POST", f"/api/events/{number}/tasks/{task_id}/accept", "carol", {})
    live.call("POST", f"/api/events/{number}/tasks/{task_id}/report-back", "carol", {"result": "已劝离"})
    live.call("POST", f"/api/events/{number}/verify", "dave", {"passed": True})
    live.call("POST", f"/api/events/{number}/close", "alice", {})
    live.call("POST", "/api/evaluation/refresh", "admin")
    page, errors = _page(browser, 1920, 1080)
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#eval-map").get_attribute("data-areas") == "2"
    assert page.locator("#eval-map canvas").count() >= 1
    town_a = page.locator("#map-body tr[data-area='500111001']")
    assert town_a.get_attribute("data-colour") not in (None, "grey")  # it has a score and a band
    assert page.locator("#map-body tr[data-area='500111002']").get_attribute("data-colour") == "grey"
    assert page.locator("#eval-legend li").count() == 6
    page.get_by_label("评价周期").select_option("year")
    page.wait_for_url(re.compile(r"period=\d{4}$"))
    page.wait_for_function("document.getElementById('period-title').textContent.endsWith('年')")
    ranked = page.locator("#rank-body tr[data-code='D500111-CGJ']")
    ranked.wait_for()
    assert "新上榜" in ranked.inner_text()  # no score last year: it is new on the board

    page.get_by_label("报告类型").select_option("daily")
    page.locator("#r-date").fill(datetime.now(SHANGHAI).strftime("%Y-%m-%d"))
    page.get_by_role("button", name="立即生成").click()
    page.locator("#reports-body tr[data-report]").first.wait_for()
    with page.expect_download() as dl:
        page.locator("#reports-body tr[data-report] a", has_text=".xlsx").first.click()
    path = dl.value.path()
    assert dl.value.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    with open(path, "rb") as f:
        book = load_workbook(io.BytesIO(f.read()))
    assert book.sheetnames
    # the seeds' scored periods: a half-year summary (半年小结) compared with the half year before
    page.get_by_label("报告类型").select_option("half_year")
    page.get_by_role("button", name="立即生成").click()
    page.locator("#reports-body tr[data-report]", has_text="半年小结").first.wait_for()
    assert not errors, errors


def test_evaluation_page_fits_a_phone(live: Live, browser: Any) -> None:
    context = browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 812}, is_mobile=True)
    page = context.new_page()
    sign_in(page, live.base, "alice")
    for path in ("/evaluation", "/plans"):
        page.goto(f"{live.base}{path}")
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    context.close()


def test_admin_creates_a_user_who_then_signs_in(live: Live, browser: Any) -> None:
    page, errors = _page(browser)
    sign_in(page, live.base, "admin")
    page.goto(f"{live.base}/admin")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#users-body tr[data-user='carol']").count() == 1
    page.locator("#user-create summary").click()
    form = page.locator("#user-form")
    form.get_by_label("工号").fill("henry")
    form.get_by_label("姓名").fill("郑浩")
    form.get_by_label("所属单位").select_option("D500111-CGJ")
    form.get_by_label("角色").select_option("handler")
    form.get_by_label("初始密码").fill("first-login-pass-9")
    form.get_by_role("button", name="新增用户").click()
    row = page.locator("#users-body tr[data-user='henry']")
    page.wait_for_function("document.querySelector(\"#users-body tr[data-user='henry']\") || "
                           "document.querySelector('#user-form .error').textContent")
    assert page.locator("#user-form .error").inner_text() == ""
    assert "待改初始密码" in row.inner_text() and "大足区城市管理局" in row.inner_text()
    # the role is changed from the list, and the account disabled and enabled again
    row.get_by_label("角色 郑浩").select_option("grid_worker")
    page.wait_for_function("document.getElementById('toast').textContent === '已保存'")
    assert {u["code"]: u for u in live.call("GET", "/api/users", "admin")}["henry"]["role"] == "grid_worker"
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="停用").click()
    page.locator("#users-body tr[data-user='henry']", has_text="已停用").wait_for()
    page.locator("#users-body tr[data-user='henry']").get_by_role("button", name="启用").click()
    page.locator("#users-body tr[data-user='henry']", has_text="在用").wait_for()
    assert not errors, errors

    newcomer, _ = _page(browser)
    newcomer.goto(f"{live.base}/login")
    newcomer.get_by_label("工号").fill("henry")
    newcomer.get_by_label("密码", exact=True).fill("first-login-pass-9")
    newcomer.get_by_role("button", name="登录").click()
    newcomer.get_by_label("新密码", exact=True).wait_for()  # the initial password must be changed first
