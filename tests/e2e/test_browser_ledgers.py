"""The ledgers' done-when walk in a real browser (Debian's Chromium driven by Playwright).

alice runs the district's key-task ledger: she imports a messy Excel sheet (merged title, two-row
header, free-form dates, a unit name with a typo that she confirms from the suggestions), and assigns
an item down to town A. bob, town A's duty officer, reports progress as the town; the next month's
report is missed — the ledger clock reminds, urges and escalates on the working calendar — and bob
submits the item with evidence. alice publishes the month's bulletin and signs the item off.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shuzhi.adapters.db.tables_ledgers import LedgerClockStep, LedgerReportSlot
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.services.ledgers import clocks
from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Live, sign_in
from tests.integration.test_ledgers_api import messy_workbook

pytestmark = pytest.mark.browser
ERRORS: list[str] = []


def _page(browser: Any, live: Live, who: str) -> Any:
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.on("pageerror", lambda e: ERRORS.append(f"{who}: {e}"))
    sign_in(page, live.base, who)
    page.goto(f"{live.base}/ledgers")
    page.wait_for_selector("#ledger-body tr")
    return page


def _open(page: Any, title: str) -> None:
    page.locator("#ledger-body tr", has_text=title).first.click()
    page.wait_for_selector(f"#l-item-title:has-text('{title}')")


def test_import_assign_report_miss_publish_and_sign_off(live: Live, browser: Any, tmp_path: Path) -> None:
    live.call("POST", "/api/ledgers", "alice", {
        "code": "ZD2026", "name": "重点改革任务台账", "kind": "key_task", "owner_unit": "C500111",
        "visibility": "peers", "schedule": "monthly",
        "columns": [{"key": "category", "label": "改革类别", "type": "choice", "choices": ["经济", "民生"]}]})
    sheet = tmp_path / "台账.xlsx"
    sheet.write_bytes(messy_workbook([
        ["1", "推进城市管理综合执法改革", "大足区城管局", "", "2027年6月底", "10%", "民生"],
        ["2", "优化营商环境", "大足区城市管理局", "", "2027年第三季度", "", "经济"]]))

    alice = _page(browser, live, "alice")
    alice.set_input_files("#l-import-file", str(sheet))
    alice.get_by_role("button", name="预览", exact=True).click()
    alice.wait_for_selector("#l-import-errors")
    assert "未找到单位“大足区城管局”" in alice.inner_text("#l-import-errors")
    alice.locator("#l-unit-misses select").select_option("D500111-CGJ")  # the suggestion, confirmed
    alice.get_by_role("button", name="预览", exact=True).click()
    alice.wait_for_selector("#l-import-summary:has-text('可导入 2 行')")
    assert alice.locator("#l-import-errors").count() == 0
    alice.get_by_role("button", name="确认导入").click()
    alice.wait_for_selector("#l-import-done")
    alice.wait_for_selector("#ledger-body tr:has-text('推进城市管理综合执法改革')")

    # assign item 1 down to town A
    _open(alice, "推进城市管理综合执法改革")
    alice.locator("summary", has_text="交办下级").click()
    form = alice.locator("details[open] form")
    form.get_by_label("任务/事项").fill("龙岗街道执法队伍整合")
    form.get_by_label("责任单位（编码）").fill("C500111001")
    form.get_by_role("button", name="交办下级").click()
    alice.wait_for_selector("#l-detail-body .children:has-text('龙岗街道执法队伍整合')")

    # bob reports progress as the town
    bob = _page(browser, live, "bob")
    _open(bob, "龙岗街道执法队伍整合")
    bob.locator("summary", has_text="报送进展").click()
    form = bob.locator("details[open] form")
    form.get_by_label("进展情况").fill("已完成人员摸底，正在整合队伍")
    form.get_by_label("完成百分比（0—99）").fill("40")
    form.get_by_role("button", name="报送进展").click()
    bob.wait_for_selector("#l-detail-body:has-text('40%')")

    # the next month's report is missed: reminded, missing, urged, escalated on the working calendar
    found = live.call("GET", "/api/ledgers/ZD2026/items?q=龙岗街道执法队伍整合", "alice")["items"]
    item_id = found[0]["id"]
    with live.factory() as s:
        due = s.scalar(select(LedgerReportSlot.due_at).where(LedgerReportSlot.item_id == item_id,
                                                             LedgerReportSlot.reported_at.is_(None))
                       .order_by(LedgerReportSlot.due_at))
    assert item_id is not None and due is not None
    result = clocks.sweep(lambda: UnitOfWork(live.factory), due + timedelta(days=5))
    assert {"report.remind", "report.missing", "report.urge", "report.escalate"} <= set(result.by_step)
    with live.factory() as s:
        steps = {st for (st,) in s.execute(select(LedgerClockStep.step).where(LedgerClockStep.item_id == item_id))}
        assert {"remind", "missing", "urge", "escalate"} <= steps
        escalated_to = {u for (u,) in s.execute(select(Notification.unit_id).where(
            Notification.kind == "ledger.report.escalate"))}
        assert len(escalated_to) >= 2  # the town and the district centre above it (also the ledger's owner)
    bob.reload()
    _open(bob, "龙岗街道执法队伍整合")
    assert "对账升级" in bob.inner_text("#l-detail-body .timeline")  # the step, in words

    # bob submits with evidence
    bob.locator("summary", has_text="上传佐证材料").click()
    evidence = tmp_path / "验收.pdf"
    evidence.write_bytes(b"%PDF-1.4\n%test\n")
    bob.locator("details[open] input[type=file]").set_input_files(str(evidence))
    bob.locator("details[open] form").get_by_role("button", name="上传佐证材料").click()
    bob.wait_for_selector("#l-detail-body a:has-text('验收.pdf')")
    bob.locator("summary", has_text="申请销号").click()
    form = bob.locator("details[open] form")
    form.get_by_label("说明/理由").fill("队伍整合完成")
    form.get_by_role("button", name="申请销号").click()
    bob.wait_for_selector("#l-detail-body p:has-text('待销号')")

    # alice publishes the bulletin and signs the item off
    alice.reload()
    alice.wait_for_selector("#ledger-body tr")
    alice.get_by_role("button", name="发布晒账").click()
    alice.wait_for_selector("#l-ranking tbody tr")
    assert "龙岗街道城市运行和治理中心" in alice.inner_text("#l-ranking")
    alice.wait_for_selector("#l-bulletins li")
    _open(alice, "龙岗街道执法队伍整合")
    alice.locator("summary", has_text="审核销号").click()
    form = alice.locator("details[open] form")
    form.get_by_label("说明/理由").fill("经核验，同意销号")
    form.get_by_role("button", name="审核销号").click()
    alice.wait_for_selector("#l-detail-body p:has-text('已销账')")
    sub = live.call("GET", f"/api/ledger-items/{item_id}", "alice")
    assert sub["state"] == "closed" and sub["closed_by"].startswith("王丽")
    assert not ERRORS, ERRORS
