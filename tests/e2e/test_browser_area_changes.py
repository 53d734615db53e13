"""Areas that change in a real browser (issue #20): the district's administrator previews a grid split on
/area-changes — a line that misses the grid is refused at the boundary field, in Chinese — then a
good line: the preview lists what moves and nothing is written until he confirms; after it the change
is in the list and the open case lies in its new grid.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from shuzhi.adapters.db.tables import Area
from tests.e2e.conftest import Live, sign_in

pytestmark = pytest.mark.browser
N2 = "500111001001002"


def test_an_administrator_previews_a_split_then_applies_it(live: Live, browser: Any) -> None:
    ev = live.submit(lon=105.718, lat=29.705, title="东侧井盖")
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    context.add_init_script("window.__shuzhiCountsPollMs = 60000;")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "admin")
    page.goto(f"{live.base}/area-changes")
    page.wait_for_selector("body[data-ready='1']")
    form = page.locator("#area-change")
    form.locator("select[name=kind]").select_option("split")
    form.locator("input[name=area_codes]").fill(N2)
    form.locator("textarea[name=boundary]").fill(
        '{"type": "LineString", "coordinates": [[105.80, 29.69], [105.80, 29.72]]}')
    form.locator("textarea[name=reason]").fill("镇街申请拆分网格")
    page.locator("#area-preview").click()
    page.wait_for_function("() => document.querySelector('[data-field=boundary]').textContent.length > 0")
    assert "分割线" in page.locator("[data-field=boundary]").inner_text()
    assert page.locator("#area-apply").is_disabled()

    form.locator("textarea[name=boundary]").fill(
        '{"type": "LineString", "coordinates": [[105.715, 29.69], [105.715, 29.72]]}')
    page.locator("#area-preview").click()
    page.wait_for_selector(".area-counts")
    assert "案卷 1 件" in page.locator(".area-counts").inner_text()
    with live.factory() as s:  # the preview wrote nothing
        assert s.scalar(select(func.count(Area.id)).where(Area.valid_to.is_not(None))) == 0
    page.once("dialog", lambda d: d.accept())
    page.locator("#area-apply").click()
    page.wait_for_selector("#area-history td")
    assert "拆分网格" in page.locator("#area-history").inner_text()
    assert not errors, errors
    context.close()
    moved = live.call("GET", f"/api/events/{ev['number']}", "admin")
    assert moved["area_code"] != N2 and moved["area_code"].startswith("500111001001")
