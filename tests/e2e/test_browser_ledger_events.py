"""Recurring waterlogging at one place, in a real browser: alice sees the hot spot on the analysis page
(分析研判), makes it one problem on the district's problem list in one action (every event linked), the
event's page shows the problem, and the evaluation page ranks the ledgers' responsible leaders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Live, sign_in
from tests.factories import World

pytestmark = pytest.mark.browser


def test_a_hot_spot_becomes_a_problem_to_rectify_and_shows_on_its_events(live: Live, browser: Any) -> None:
    live.call("POST", "/api/ledgers", "alice", {"code": "WT2026", "name": "问题整改清单", "kind": "problem",
                                                "owner_unit": "C500111", "visibility": "private"})
    numbers = [live.submit(title="下穿道积水", description="大雨后下穿道积水", event_class_code="0101",
                           lon=World.A1[0], lat=World.A1[1])["number"] for _ in range(3)]
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/analysis")
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_label("起始日期").fill(today)
    page.get_by_label("截止日期").fill(today)
    page.get_by_role("button", name="查询").click()
    page.locator("#an-spots tbody a", has_text="转为整改问题").first.click()

    # on the ledgers page with the spot's events: the problem list chosen, the "四合一" filled in
    page.wait_for_selector("#l-from-events:not([hidden])")
    for n in numbers:
        assert n in page.inner_text("#l-from-events-body")
    page.select_option("#l-ledger", "WT2026")
    page.wait_for_selector("#l-total:has-text('共')")
    form = page.locator("#l-from-events-body form")
    assert form.get_by_label("任务/事项").input_value().endswith("反复发生")  # proposed from the spot
    form.get_by_label("任务/事项").fill("龙岗下穿道反复积水整治")
    form.get_by_label("责任单位（编码）").fill("C500111001")
    form.get_by_label("责任领导").fill("张区长")
    form.get_by_role("button", name="转为整改问题").click()
    page.wait_for_selector("#l-from-events-done")
    page.wait_for_selector("#l-item-title:has-text('龙岗下穿道反复积水整治')")
    links = page.inner_text("#l-detail-body .event-links")
    assert all(n in links for n in numbers)
    assert "由事件规律立项整改" in page.inner_text("#l-detail-body .timeline")

    # the event's page shows the problem it is part of
    page.goto(f"{live.base}/events/{numbers[0]}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#ev-ledger-items li:has-text('龙岗下穿道反复积水整治')")

    # the evaluation page ranks the ledgers' responsible leaders beside the units
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("#ledger-leaders-body tr:has-text('张区长')")
    assert not errors, errors
