"""The cockpit shows both flows (抄送知悉 vs 流转处置) with their counts and timeliness, in a real browser.

alice, the district duty officer, copies two notices to town A and the water bureau and dispatches one
case; the cockpit's flows panel shows 2 notices and 1 case, 67 % of the events copied for information.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Live, sign_in

pytestmark = pytest.mark.browser


def test_the_cockpit_shows_the_notify_and_the_handle_flows(live: Live, browser: Any) -> None:
    for _ in range(2):
        ev = live.submit(source="legacy_system", request_type=None, event_class_code="9001", title="停水通知")
        live.call("POST", f"/api/events/{ev['number']}/notify", "alice",
                  {"unit_codes": ["C500111001", "D500111-SWJ"]})
    case = live.submit(title="井盖破损")
    live.call("POST", f"/api/events/{case['number']}/dispatch", "alice",
              {"units": [{"unit_code": "D500111-CGJ", "role": "lead"}], "reason": "派遣"})
    page = browser.new_page(bypass_csp=True, viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.wait_for_selector("body[data-ready='1']")
    panel = page.locator("#flows-panel")
    panel.wait_for(state="visible", timeout=10000)
    assert "抄送知悉与流转处置" in panel.inner_text()
    assert "抄送知悉占比 66.7%" in panel.inner_text()
    notify = [c.strip() for c in page.locator("#flows .flow-notify td").all_inner_texts()]
    handle = [c.strip() for c in page.locator("#flows .flow-handle td").all_inner_texts()]
    assert notify[:3] == ["2", "4", "0"] and handle[:2] == ["1", "1"]
    assert not errors
