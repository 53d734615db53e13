"""The cockpit's geometry (issue #22): nothing drawn outside its cell, whatever appears later.

bob is town A's duty officer: after his first screen the later panels appear (the sectors' strip, the
town's own cockpit, duty, flows); at 1600×1000 the map's canvas must stay inside its panel. A reader
of a city of 1,031 towns gets a load panel that is readable: the worst few with a search, never a
list taller than its cell.
"""

from __future__ import annotations

from typing import Any

import pytest

from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Live, sign_in
from tests.integration.test_warnings import RIVER
from tests.sensing_data import load_sensing

pytestmark = pytest.mark.browser

_BOXES = """(ids) => Object.fromEntries(ids.map((id) => { const e = document.querySelector(id);
  if (!e || e.hidden) return [id, null];
  const r = e.getBoundingClientRect(); return [id, [r.left, r.top, r.right, r.bottom]]; }))"""


def _inside(inner: list[float], outer: list[float], slack: float = 1.0) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def test_the_map_stays_in_its_cell_when_the_later_panels_appear_at_1600x1000(live: Live, browser: Any) -> None:
    load_sensing(UnitOfWork(live.factory))  # the sectors' strip appears after the first screen
    wc.create_rule(UnitOfWork(live.factory), SYSTEM, {**RIVER, "actions": {}})
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    sign_in(page, live.base, "bob")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#vitals-panel:not([hidden])", timeout=10_000)
    page.wait_for_selector("#town-cockpit-panel:not([hidden])", timeout=10_000)
    page.wait_for_timeout(700)  # let every late panel land and the charts follow
    boxes = page.evaluate(_BOXES, ["#map", "#map canvas", ".map-panel", ".cockpit", "#chart-trend canvas",
                                   "#chart-trend", "#vitals-panel", "#town-cockpit-panel"])
    assert _inside(boxes["#map canvas"], boxes[".map-panel"]), boxes
    assert _inside(boxes["#map canvas"], boxes["#map"]), boxes
    assert _inside(boxes["#chart-trend canvas"], boxes["#chart-trend"]), boxes
    # the page is the screen: nothing runs below it
    height = page.evaluate("window.innerHeight")
    for key in (".map-panel", "#vitals-panel", "#town-cockpit-panel"):
        assert boxes[key][3] <= height + 1, (key, boxes[key], height)
    # the map's panel does not overlap the panels that came later
    for key in ("#vitals-panel", "#town-cockpit-panel"):
        a, b = boxes[".map-panel"], boxes[key]
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (key, a, b)


def test_the_load_panel_of_a_thousand_towns_shows_the_worst_with_a_search(live: Live, browser: Any) -> None:
    from sqlalchemy import select

    from shuzhi.adapters.db.tables import Area

    with live.factory() as s:  # the district grown to 1,031 towns (rows only: no boundary, no people)
        district = s.scalar(select(Area).where(Area.code == "500111"))
        assert district is not None
        have = len(s.scalars(select(Area.code).where(Area.parent_id == district.id)).all())
        for i in range(have, 1031):
            code = f"5001119{i:05d}"
            s.add(Area(code=code, name=f"测试镇{i:04d}", level="town", parent_id=district.id,
                       path=f"{district.path}{code}/"))
        s.commit()
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    sign_in(page, live.base, "alice")
    page.wait_for_selector("body[data-ready='1']")
    rank = page.locator("#rank")
    panel = page.locator(".cockpit > section:nth-of-type(8)")
    page.wait_for_timeout(300)
    box, cell = rank.bounding_box(), panel.bounding_box()
    assert box is not None and cell is not None
    assert box["y"] + box["height"] <= cell["y"] + cell["height"] + 1, (box, cell)
    # a search finds any town among the 1,031 and keeps the list in its cell
    page.fill("#rank-search", "测试镇0777")
    page.locator("#rank li", has_text="测试镇0777").wait_for(timeout=3000)
    assert page.locator("#rank li").count() == 1
    page.fill("#rank-search", "")
    assert page.locator("#rank li").count() <= 10
    assert "1031" in page.locator("#rank-more").inner_text()
