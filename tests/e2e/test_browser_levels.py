"""一贯到底 in a real browser (issue #22): the city's leader opens the level view on the city, clicks down to
the district, a town, a village and a grid, and climbs back up along the breadcrumb; at the town the town's
own cockpit shows its boards, patrol coverage and the grid worker walking now. bob, town A's duty officer,
sees his town and below only: the areas above him are plain text, and town B is not found.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.services.actors import forget_people
from shuzhi.services.security.passwords import hash_password, set_password
from tests.e2e.conftest import PASSWORD, Live, sign_in
from tests.factories import World

pytestmark = pytest.mark.browser


def _page(browser: Any, live: Live, who: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script("window.__shuzhiCountsPollMs = 60000;")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, who)
    return context, page, errors


def _level(page: Any, code: str) -> None:
    page.wait_for_selector(f"body[data-level-ready='{code}']")


def test_the_city_drills_down_to_a_grid_and_back_up_and_a_town_sees_only_its_own(live: Live, browser: Any) -> None:
    with live.factory() as s:
        city = s.scalars(select(Unit).where(Unit.code == "C500000")).one()
        s.add(Person(code="mayor", name="市领导", phone="13800138001", unit_id=city.id, role="leader"))
        s.flush()
        set_password(s, "mayor", PASSWORD, must_change=False, password_hash=hash_password(PASSWORD))
        s.commit()
    forget_people()
    live.call("POST", "/api/towns/500111001/boards", "admin")
    for point in (World.A1, World.A1, World.A2, World.B1):
        live.submit(lon=point[0], lat=point[1], title="<b>井盖</b>破损")
    start = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    live.call("POST", "/api/patrols", "dave", {"point": {"lon": 105.702, "lat": 29.702, "at": start}}, status=201)

    context, page, errors = _page(browser, live, "mayor")
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_role("link", name="一贯到底").first.click()
    _level(page, "500000")
    assert page.locator("#level-open [data-value]").inner_text() == "4"
    assert page.locator("#crumbs [aria-current='page']").inner_text().startswith("重庆市")
    # the map of the city's districts draws
    page.wait_for_function("document.querySelector('#levels-map canvas') !== null")

    page.get_by_role("link", name="进入大足区").click()
    _level(page, "500111")
    assert page.url.endswith("/levels?area=500111")
    rows = page.locator("#levels-children tr")
    assert rows.count() == 2
    assert page.locator("#levels-children tr[data-code='500111001'] td").first.inner_text() == "3"

    page.get_by_role("link", name="进入龙岗街道").click()
    _level(page, "500111001")
    page.wait_for_selector("body[data-town-ready='500111001']")
    boards = page.locator("#town-boards").inner_text()
    assert "党的建设" in boards and "平安法治" in boards
    assert "1/2" in page.locator("#town-coverage-share").inner_text()
    assert page.locator("#town-workers [data-person='dave']").count() == 1
    # the cross-level panel comes after the level's own panels
    page.wait_for_selector("#levels-cross h3")

    page.get_by_role("link", name="进入北山社区").click()
    _level(page, "500111001001")
    page.locator("#levels-children a.level-down[data-code='500111001001001']").click()
    _level(page, "500111001001001")
    assert page.locator("#level-open [data-value]").inner_text() == "2"
    assert page.locator("#levels-children a.level-down").count() == 0  # a grid is the last level
    assert page.locator(".town-panel:not([hidden])").count() == 0

    # back up: the breadcrumb to the district, the browser's back button to the grid again
    page.locator("#crumbs a[data-code='500111']").click()
    _level(page, "500111")
    page.go_back()
    _level(page, "500111001001001")
    page.locator("#crumbs a[data-code='500000']").click()
    _level(page, "500000")
    # a title with markup is text on the map's tooltip data, never an element
    assert page.locator("b:has-text('井盖')").count() == 0
    assert not errors, errors
    context.close()

    context, page, errors = _page(browser, live, "bob")
    # his cockpit carries the town's own panel, drawn after the first screen
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#town-cockpit-panel:not([hidden])")
    assert page.locator("#town-cockpit-panel tbody tr").count() == 5  # the centre and its four boards
    assert "50%" in page.locator("#town-cockpit-summary").inner_text()
    assert page.locator("#town-cockpit-link").get_attribute("href") == "/levels?area=500111001"
    assert page.locator("#rank").is_hidden()  # it stands where the ranking of one town stood: no new row
    page.goto(f"{live.base}/levels")
    _level(page, "500111001")
    assert page.locator("#level-open [data-value]").inner_text() == "3"
    # the levels above are named, not opened
    assert page.locator("#crumbs a").count() == 0
    assert "大足区" in page.locator("#crumbs").inner_text()
    page.goto(f"{live.base}/levels?area=500111002")
    page.wait_for_selector("#levels-error:not([hidden])")
    assert "不在您的权限范围内" in page.locator("#levels-error").inner_text()
    page.goto(f"{live.base}/levels?area=500111")
    page.wait_for_selector("#levels-error:not([hidden])")
    assert not errors, errors
    context.close()
