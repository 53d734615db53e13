"""A duty shift in the browser: bob (town A's officer) signs in and sees who is on duty on the cockpit,
writes two duty-log entries (an empty one is refused at its field, in Chinese), hands the shift over
to ivy with the open items listed, exports the daily report; ivy signs in and confirms the handover."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from docx import Document
from openpyxl import load_workbook

from shuzhi.adapters.db.tables import Person
from shuzhi.services.actors import forget_people
from shuzhi.services.security.passwords import set_password
from tests.e2e.conftest import PASSWORD, Live, sign_in

TOWN_A = "C500111001"


def _roster(live: Live) -> dict[str, Any]:
    with live.factory() as s:
        unit_id = s.query(Person).filter_by(code="bob").one().unit_id
        for code, name, role in (("ivy", "易梅", "duty_officer"), ("hao", "郝建", "leader")):
            s.add(Person(code=code, name=name, phone="13900000000", unit_id=unit_id, role=role))
            s.flush()
            set_password(s, code, PASSWORD, must_change=False)
        s.commit()
    forget_people()
    now = datetime.now(UTC)

    def shift(person: str, role: str, start: timedelta, end: timedelta) -> None:
        live.call("POST", "/api/duty/shifts", "bob", {"unit_code": TOWN_A, "person_code": person, "role": role,
                                                      "starts_at": (now + start).isoformat(),
                                                      "ends_at": (now + end).isoformat()}, status=201)

    shift("hao", "leader_on_duty", timedelta(hours=-3), timedelta(hours=20))
    shift("bob", "officer", timedelta(hours=-3), timedelta(hours=1))
    shift("ivy", "officer", timedelta(hours=1), timedelta(hours=20))
    # an event town A's centre must still dispatch: an open item of bob's shift
    return live.submit(who="bob", title="北山路井盖破损", centre_code=TOWN_A)


def test_a_duty_shift_log_handover_and_daily_report(live: Live, browser: Any, tmp_path: Path) -> None:
    waiting = _roster(live)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")

    # who is on duty now, on the cockpit
    page.locator("#duty-panel").wait_for(state="visible", timeout=10000)
    assert page.locator("#duty-leaders").inner_text() == "郝建"
    assert page.locator("#duty-officers").inner_text() == "李波"

    page.goto(f"{live.base}/duty")
    page.wait_for_selector("body[data-ready='1']")
    assert "李波" in page.locator("#d-now-officers").inner_text()
    assert page.locator("#d-shift-body tr[data-shift]").count() == 3

    # the duty log: an empty entry is refused at its field, then two entries
    log = page.locator("#d-log-form")
    log.get_by_role("button", name="记录").click()
    assert log.locator('[data-error="content"]').inner_text() == "请填写内容"
    log.get_by_label("类别").select_option("call")
    log.get_by_label("对方").fill("张先生")
    log.get_by_label("关联事件编号").fill(waiting["number"])
    log.get_by_label("内容").fill("群众来电反映北山路井盖破损")
    log.get_by_role("button", name="记录").click()
    page.locator("#d-log-list li.duty-log-entry").first.wait_for(timeout=5000)
    log.get_by_label("类别").select_option("instruction_received")
    log.get_by_label("内容").fill("区中心要求今晚加强巡查")
    log.get_by_role("button", name="记录").click()
    page.wait_for_function("document.querySelectorAll('#d-log-list li.duty-log-entry').length === 2", timeout=5000)
    entries = page.locator("#d-log-list").inner_text()
    assert "来电" in entries and "接收指示" in entries and waiting["number"] in entries

    # hand over with the open items listed
    assert waiting["number"] in page.locator("#d-open-list").inner_text()
    assert "待派遣事件 1" in page.locator("#d-open-list").inner_text()
    hand = page.locator("#d-handover-form")
    hand.get_by_label("接班人").select_option("ivy")
    hand.get_by_label("交班说明").fill("北山路井盖待派遣，请跟进")
    hand.get_by_role("button", name="交班").click()
    offered = page.locator("#d-handover-list li.duty-handover").first
    offered.wait_for(timeout=5000)
    assert "待接班" in offered.inner_text() and "易梅" in offered.inner_text()
    assert waiting["number"] in offered.inner_text()

    # the daily report, Word and Excel
    with page.expect_download() as got:
        page.locator("#d-report-docx").click()
    docx = Path(got.value.path()).read_bytes()
    with page.expect_download() as got:
        page.locator("#d-report-xlsx").click()
    xlsx = Path(got.value.path()).read_bytes()
    cells = {c.text for t in Document(io.BytesIO(docx)).tables for r in t.rows for c in r.cells}
    assert {"群众来电反映北山路井盖破损", "区中心要求今晚加强巡查", "李波", "易梅"} <= cells
    assert [r[1] for r in load_workbook(io.BytesIO(xlsx))["值班日志"].iter_rows(min_row=4, values_only=True)] == [
        "来电", "接收指示"]
    assert not errors, errors
    context.close()

    # the incoming officer confirms
    context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "ivy")
    page.goto(f"{live.base}/duty")
    page.wait_for_selector("body[data-ready='1']")
    item = page.locator("#d-handover-list li.duty-handover").first
    item.get_by_label("接班备注").fill("已接班，井盖事项已知悉")
    item.get_by_role("button", name="确认接班").click()
    page.wait_for_function(
        "(document.querySelector('#d-handover-list li.duty-handover.state-confirmed') || {}).innerText", timeout=5000)
    assert "已接班，井盖事项已知悉" in page.locator("#d-handover-list").inner_text()
    record = live.call("GET", "/api/duty/handovers?unit_code=" + TOWN_A, "alice")[0]
    assert (record["from_person_code"], record["to_person_code"], record["state"]) == ("bob", "ivy", "confirmed")
    assert record["items"]["awaiting_dispatch"]["items"][0]["number"] == waiting["number"]
    assert not errors, errors
    context.close()


def _week_day(days: int) -> str:
    """A day counted from this week's Monday (Asia/Shanghai), as the roster sheet writes it."""
    from shuzhi.domain.duty import LOCAL

    today = datetime.now(UTC).astimezone(LOCAL).date()
    return (today - timedelta(days=today.weekday()) + timedelta(days=days)).isoformat()


def test_the_roster_page_keeps_shifts_and_imports_the_centres_sheet(live: Live, browser: Any, tmp_path: Path) -> None:
    from shuzhi.adapters.tabular import write_xlsx

    _roster(live)
    page = browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")
    page.goto(f"{live.base}/duty")
    page.wait_for_selector("body[data-ready='1']")
    rows = page.locator("#d-shift-body tr[data-shift]")
    assert rows.count() == 3

    # a second leader on duty for the same hours: refused at the field, in Chinese
    form = page.locator("#d-shift-form")
    form.get_by_label("值班人员").select_option("ivy")
    form.get_by_label("岗位").select_option("leader_on_duty")
    form.get_by_label("开始时间").fill(_local_input(datetime.now(UTC) + timedelta(hours=2)))
    form.get_by_label("结束时间").fill(_local_input(datetime.now(UTC) + timedelta(hours=4)))
    form.get_by_role("button", name="提交").click()
    role_error = form.locator('[data-error="role"]')
    role_error.wait_for(timeout=5000)
    page.wait_for_function("document.querySelector('[data-error=\"role\"]').textContent.length > 0", timeout=5000)
    assert "已有带班领导" in role_error.inner_text()
    # ends before it starts: at the end time
    form.get_by_label("岗位").select_option("officer")
    form.get_by_label("结束时间").fill(_local_input(datetime.now(UTC) + timedelta(hours=1)))
    form.get_by_label("开始时间").fill(_local_input(datetime.now(UTC) + timedelta(hours=30)))
    form.get_by_role("button", name="提交").click()
    page.wait_for_function("document.querySelector('[data-error=\"ends_at\"]').textContent.length > 0", timeout=5000)
    assert form.locator('[data-error="ends_at"]').inner_text() == "结束时间须晚于开始时间"

    # edit ivy's shift: add a note; then delete it (asked twice)
    ivy_row = rows.filter(has_text="易梅")
    ivy_row.get_by_role("button", name="编辑").click()
    assert "易梅" in page.locator("#d-shift-form-title").inner_text()
    form.get_by_label("备注").fill("夜班")
    form.get_by_role("button", name="提交").click()
    page.wait_for_function("[...document.querySelectorAll('#d-shift-body tr')].some(r => r.innerText.includes('夜班'))",
                           timeout=5000)
    ivy_row = rows.filter(has_text="易梅")
    ivy_row.get_by_role("button", name="删除").click()
    ivy_row.get_by_role("button", name="确认删除").click()
    page.wait_for_function("document.querySelectorAll('#d-shift-body tr[data-shift]').length === 2", timeout=5000)

    # import the centre's sheet: a name nobody has is reported by row and column, nothing is written
    bad = tmp_path / "值班表.xlsx"
    bad.write_bytes(write_xlsx([{"日期": _week_day(12), "带班领导": "郝建", "值班员": "查无此人"}],
                               ["日期", "带班领导", "值班员"]))
    page.locator("#d-import-file").set_input_files(str(bad))
    page.get_by_role("button", name="导入", exact=True).click()
    page.locator("#d-import-errors").wait_for(timeout=5000)
    problem = page.locator("#d-import-errors").inner_text()
    assert "第 2 行" in problem and "值班员" in problem and "查无此人" in problem
    assert rows.count() == 2
    good = tmp_path / "值班表2.xlsx"
    good.write_bytes(write_xlsx([{"日期": _week_day(12), "带班领导": "郝建", "值班员": "易梅"},
                                 {"日期": _week_day(13), "带班领导": "郝建", "值班员": "易梅"}],
                                ["日期", "带班领导", "值班员"]))
    page.locator("#d-import-file").set_input_files(str(good))
    page.get_by_role("button", name="导入", exact=True).click()
    page.locator("#d-import-done").wait_for(timeout=5000)
    assert "新排 2 天" in page.locator("#d-import-done").inner_text()
    # next week's Saturday and Sunday, a leader and an officer each
    page.get_by_role("button", name="下一周").click()
    page.wait_for_function("document.querySelectorAll('#d-shift-body tr[data-shift]').length === 4", timeout=5000)
    assert "易梅" in rows.last.inner_text() and "带班领导" in page.locator("#d-shift-body").inner_text()
    page.close()

    # the district centre checks that town A is at its desk; bob confirms from his page
    district = browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    district.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(district, live.base, "alice")
    district.goto(f"{live.base}/duty")
    district.wait_for_selector("body[data-ready='1']")
    ask = district.locator("#d-check-form")
    ask.get_by_label("抽查中心").select_option("C500111001")
    ask.get_by_label("确认时限（分钟）").fill("0")
    ask.get_by_role("button", name="发起抽查").click()
    minutes_error = "document.querySelector('#d-check-form [data-error=\"minutes\"]').textContent.length > 0"
    district.wait_for_function(minutes_error, timeout=5000)
    assert "1–120" in ask.locator('[data-error="minutes"]').inner_text()
    ask.get_by_label("确认时限（分钟）").fill("10")
    ask.get_by_role("button", name="发起抽查").click()
    district.locator("#d-check-list li.duty-check.state-pending").wait_for(timeout=5000)
    district.close()

    page = browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")
    page.goto(f"{live.base}/duty")
    page.wait_for_selector("body[data-ready='1']")
    page.locator("#d-check-list").get_by_role("button", name="确认在岗").click()
    page.locator("#d-check-list li.duty-check.state-confirmed").wait_for(timeout=5000)
    assert "已确认在岗" in page.locator("#d-check-list").inner_text()
    assert not errors, errors
    page.close()


def _local_input(at: datetime) -> str:
    from shuzhi.domain.duty import LOCAL

    return at.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M")
