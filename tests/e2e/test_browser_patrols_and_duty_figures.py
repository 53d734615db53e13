"""The centre reads its grid workers' patrols (巡查记录) on a desktop page, and the evaluation page shows
the on-post checks (在岗抽查) and the patrols beside the other figures.

dave (grid A-1) walks his grid and reports a finding on the way; alice, the district centre, checks that
town A is at its desk and bob confirms; alice then reads both on the evaluation page and opens dave's
patrol with its track and finding.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import Live
from tests.e2e.test_browser_desk import _page

pytestmark = pytest.mark.browser
T0 = datetime.now(UTC) - timedelta(minutes=20)


def _pt(lon: float, lat: float, seconds: float) -> dict[str, Any]:
    return {"lon": lon, "lat": lat, "at": (T0 + timedelta(seconds=seconds)).isoformat()}


def test_the_centre_reads_patrols_and_on_post_checks(live: Live, browser: Any) -> None:
    patrol = live.call("POST", "/api/patrols", "dave", {"point": _pt(105.702, 29.702, 0)}, status=201)
    live.call("POST", f"/api/patrols/{patrol['id']}/points", "dave",
              {"points": [_pt(105.702, 29.703, 100), _pt(105.703, 29.703, 200)]})
    finding = live.call("POST", "/api/phone/findings", "dave", {
        "patrol_id": patrol["id"], "event_class_code": "0201", "description": "路口垃圾堆放",
        "lon": 105.703, "lat": 29.703}, status=201)
    live.call("POST", f"/api/patrols/{patrol['id']}/stop", "dave", {"points": [_pt(105.703, 29.704, 300)]})
    check = live.call("POST", "/api/duty/presence-checks", "alice", {"unit_code": "C500111001", "minutes": 10},
                      status=201)
    live.call("POST", f"/api/duty/presence-checks/{check['id']}/confirm", "bob", {})

    context, page, errors = _page(browser, live, "alice")
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("body[data-ready='1']")
    presence = page.locator("#ed-presence-body tr[data-code='C500111001']")
    presence.wait_for(timeout=5000)
    assert [c.strip() for c in presence.locator("td").all_inner_texts()] == ["1", "0", "100.0%"]
    walked = page.locator("#ed-patrol-body tr[data-person='dave']")
    assert "赵伟" in walked.inner_text()
    assert [c.strip() for c in walked.locator("td").all_inner_texts()][:1] == ["1"]
    assert walked.locator("td").nth(3).inner_text() == "1"  # one finding

    page.get_by_role("link", name="巡查记录").click()
    page.wait_for_selector("body[data-ready='1']")
    row = page.locator(f"#pl-body tr[data-patrol='{patrol['id']}']")
    assert "赵伟" in row.inner_text() and "北山社区第1网格" in row.inner_text()
    assert "共 1 次巡查" in page.locator("#pl-count").inner_text()
    row.get_by_role("button", name="查看 赵伟").click()
    page.locator("#pl-findings").get_by_text(finding["number"]).wait_for(timeout=5000)
    points = page.locator("svg.pl-track polyline").get_attribute("points")
    assert points is not None and len(points.split()) == 4
    # another person's code: nothing
    page.locator("#pl-person").fill("frank")
    page.get_by_role("button", name="查询").click()
    page.locator("#pl-body", has_text="暂无巡查记录").wait_for(timeout=5000)
    assert not errors, errors
    context.close()
