"""Collection governance and the rectification loop in a real browser (issue #22).

The test tree (tests/sensing_data.py): the river gauge WL-A reports, town A's outages went silent five
hours ago (stale: a no-data warning after the periodic check), the manhole sensor never reported; the
online plan is partly online. alice (the district's dispatcher) carries a rectification of 易涝点 YL-001
from found to verified; the point shows 整改中 on the flood-season view while it is open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing import collection, warning_checks
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.sensing.risk_points import import_risk_points
from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Live, sign_in
from tests.integration.test_risk_points import POINT
from tests.sensing_data import load_sensing, reading, rows

pytestmark = pytest.mark.browser


def _world(live: Live) -> UnitOfWork:
    uow = UnitOfWork(live.factory)
    load_sensing(uow)
    now = datetime.now(UTC)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (now - timedelta(minutes=1)).isoformat(), 1.1, device="WL-A"),
                         reading("OUTAGES", (now - timedelta(hours=5)).isoformat(), 0, area="500111001")])
    warning_checks.check_no_data(uow, now)
    today = now.astimezone(SHANGHAI).date()
    collection.put_plan(uow, SYSTEM, [
        {"indicator_code": "RIVER_LEVEL", "batch": "第一批", "planned_on": str(today - timedelta(days=20))},
        {"indicator_code": "OUTAGES", "batch": "第一批", "planned_on": str(today - timedelta(days=20)),
         "online_on": str(today - timedelta(days=18))},
        {"indicator_code": "MANHOLE_OPEN", "batch": "第二批", "planned_on": str(today - timedelta(days=2))},
        {"indicator_code": "NEW_ONE", "batch": "第三批", "planned_on": str(today + timedelta(days=30))}])
    assert not import_risk_points(uow, rows(POINT), SYSTEM).errors
    return uow


def test_the_governance_page_shows_coverage_stale_series_and_the_plan(live: Live, browser: Any) -> None:
    _world(live)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/collection")
    page.wait_for_selector("body[data-ready='1']")
    assert "已上线 2 / 计划 4（50.0%），逾期未上线 1" in page.locator("#gov-plan-sum").inner_text()
    assert page.locator("#gov-plan-batches tr[data-batch='第二批'] td").nth(3).inner_text() == "1"
    stale = page.locator("#gov-stale tr[data-series='OUTAGES@500111001']")
    assert "停电次数" in stale.inner_text() and "大足区水务公司" in stale.inner_text()
    assert "已发蓝色无数据预警" in stale.inner_text()
    first = page.locator("#gov-indicators tbody tr").first
    assert first.get_attribute("data-code") == "MANHOLE_OPEN", "the least covered first"
    assert first.locator("td[data-key='coverage']").inner_text() == "0.0%"
    assert "水文监测平台" in page.locator("#gov-source").inner_text()
    # the window changes the figures' span, the page follows
    page.select_option("#gov-window", "168")
    page.wait_for_selector("#gov-indicators tbody tr")
    assert not errors, errors
    # the nav leads there, and town B's officer sees no stale series of town A
    other = browser.new_page()
    sign_in(other, live.base, "frank")
    other.goto(f"{live.base}/collection")
    other.wait_for_selector("body[data-ready='1']")
    assert other.locator("#gov-stale tbody").inner_text().strip() == "没有超时未更新的序列"


def test_a_rectification_goes_from_found_to_verified_in_the_browser(live: Live, browser: Any) -> None:
    _world(live)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/risk-points?code=YL-001")
    page.wait_for_selector("#rect-point:not([hidden])")
    assert page.locator("#rect-point-state").get_attribute("data-state") == "normal"
    # an empty finding is refused with the field named
    page.locator("#rect-start button[type='submit']").click()
    page.locator("#rect-finding-error", has_text="发现的问题").wait_for()
    page.fill("#rect-finding", "排水口被淤泥堵塞")
    page.locator("#rect-start button[type='submit']").click()
    page.locator("#rect-point-state[data-state='in_rectification']").wait_for()
    # the open list reloads after the point's own panel: wait for its row, then check it is there once
    page.locator("#rect-open tr[data-code='YL-001']").wait_for()
    assert page.locator("#rect-open tr[data-code='YL-001']").count() == 1
    # the flood-season view shows it in rectification
    flood = browser.new_page()
    sign_in(flood, live.base, "bob")
    flood.goto(f"{live.base}/flood-season")
    flood.wait_for_selector("body[data-ready='1']")
    assert flood.locator("#flood-table tr[data-code='YL-001']").get_attribute("data-state") == "in_rectification"
    assert "WL-A" in (flood.locator("#flood-table tr[data-code='YL-001'] td").nth(3).get_attribute("data-series") or "")

    page.fill("#rect-measures", "清淤并加装格栅")
    page.fill("#rect-days", "0")
    page.locator("form[data-action='measures'] button").click()
    page.locator(".rect-steps .field-error", has_text="整改期限（工作日）").wait_for()
    page.fill("#rect-days", "5")
    page.locator("form[data-action='measures'] button").click()
    page.locator(".rect-facts[data-state='in_progress']").wait_for()
    assert any(x in page.locator("#rect-deadline").inner_text() for x in ("进行中", "即将到期"))
    page.fill("#rect-note-done", "已清淤，格栅已装")
    page.locator("form[data-action='done'] button").click()
    page.locator(".rect-facts[data-state='done']").wait_for()
    page.fill("#rect-note-verified", "现场验收合格")
    page.locator("form[data-action='verified'] button").click()
    page.locator("#rect-point-state[data-state='normal']").wait_for()
    timeline = page.locator("#rect-timeline").inner_text()
    for label in ("发现问题，开始整改", "制定整改措施", "报告整改完成", "整改验收通过"):
        assert label in timeline, label
    assert "清淤并加装格栅（5个工作日）" in timeline
    page.locator("#rect-open tbody td", has_text="没有正在整改的风险点").wait_for()
    assert page.locator("#rect-open tbody tr").count() == 1
    assert not errors, errors
