"""赛马比拼 on the evaluation page (issue #20): grace, the district's leader, publishes the towns' ranking of
the month; bob, town A's duty officer, then sees it with his own town marked — before, "not published"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Live, sign_in

pytestmark = pytest.mark.browser


def test_the_district_publishes_and_a_town_sees_the_ranking(live: Live, browser: Any) -> None:
    ev = live.call("POST", "/api/events", "alice", {"source": "hotline", "request_type": "complain",
                                                    "event_class_code": "0101", "title": "井盖缺失",
                                                    "lon": 105.705, "lat": 29.705}, status=201)
    live.call("POST", f"/api/events/{ev['number']}/dispatch", "alice",
              {"units": [{"unit_code": "C500111001", "role": "lead"}]})
    live.call("POST", "/api/evaluation/refresh", "admin", {})

    town = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(town, live.base, "bob")
    town.goto(f"{live.base}/evaluation")
    town.wait_for_selector("body[data-ready='1']")
    town.wait_for_selector("#pub-status[data-published='false']")
    assert "尚未发布" in town.inner_text("#pub-status")
    assert town.locator("#pub-form").is_hidden()

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(page, live.base, "grace")
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#pub-status[data-published='false']")
    page.fill("#pub-note", "本月赛马比拼")
    page.once("dialog", lambda d: d.accept())
    page.click("#pub-submit")
    page.wait_for_selector("#pub-status[data-published='true']")
    assert "吴昊" in page.inner_text("#pub-status") and page.locator("#pub-body tr").count() >= 1
    assert "本月赛马比拼" in page.inner_text("#pub-list")
    # publishing twice is refused, in Chinese
    page.once("dialog", lambda d: d.accept())
    page.click("#pub-submit")
    page.locator("#pub-error", has_text="已发布").wait_for()

    town.reload()
    town.wait_for_selector("#pub-status[data-published='true']")
    own = town.locator("#pub-body tr[aria-current='true']")
    assert own.count() == 1 and "龙岗街道" in own.inner_text() and "本镇街" in own.inner_text()
