"""The city's vital signs in a real browser (issue #22): the cockpit's first screen shows the sectors'
five colours, and the vital-signs page opens the tree down to an indicator and its series history.

The river gauge WL-A (town A, tests/sensing_data.py) crosses the orange level: sector 设施运行 turns
orange on bob's cockpit (town A) and stays free of it on frank's (town B).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.sensing.risk_points import import_risk_points
from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Live, sign_in
from tests.integration.test_warnings import RIVER
from tests.sensing_data import load_sensing, reading, rows

pytestmark = pytest.mark.browser


def _sensing(live: Live) -> UnitOfWork:
    uow = UnitOfWork(live.factory)
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})
    now = datetime.now(UTC)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (now - timedelta(minutes=1)).isoformat(), 3.1, device="WL-A"),
                         reading("MANHOLE_OPEN", (now - timedelta(minutes=1)).isoformat(), 0, device="MH-A1"),
                         reading("OUTAGES", (now - timedelta(minutes=1)).isoformat(), 0, area="500111001")])
    return uow


def _map_layer(page: Any) -> Any:
    """The risk layer as drawn: per state series, its points' [lon, lat] (one large-mode series a state)."""
    return page.evaluate("""() => { const o = echarts.getInstanceByDom(document.getElementById('map')).getOption();
        const risk = {};
        for (const x of o.series.filter((x) => String(x.id).startsWith('risk-'))) {
          const pts = [];
          for (let i = 0; i < x.data.length; i += 2) pts.push([x.data[i], x.data[i + 1]]);
          if (pts.length) risk[x.name] = pts;
        }
        return { risk, areas: o.series.filter((x) => x.type === 'map').length }; }""")


def test_the_risk_points_are_a_layer_of_the_cockpit_map_in_their_state(live: Live, browser: Any) -> None:
    uow = _sensing(live)
    point = {"code": "YL-001", "name": "北山路下穿道", "kind": "易涝点", "grade": "较大", "area_code": "500111001",
             "lon": "105.708", "lat": "29.706", "responsible_unit_code": "C500111001", "devices": "WL-A"}
    other_point = {**point, "code": "YL-002", "devices": "", "lon": "105.7041", "lat": "29.7012"}
    assert not import_risk_points(uow, rows(point, other_point), SYSTEM).errors
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")
    page.wait_for_selector("body[data-risk-points='2']", timeout=5000)
    # drawn: ECharts finished the layer (bench_vital_signs.py times the map to this marker)
    page.wait_for_selector("body[data-risk-layer='drawn']", state="attached", timeout=5000)
    assert page.evaluate("window.__riskLayerDrawnAt") > 0
    drawn = {"warning": [[105.708, 29.706]], "normal": [[105.7041, 29.7012]]}
    assert _map_layer(page) == {"risk": drawn, "areas": 1}
    # the map is rebuilt (a town's cockpit offers its grids only, drawn again on a click): the layer
    # comes back with it
    page.locator("[data-level='auto']").click()
    page.locator("[data-level='auto'][aria-pressed='true']").wait_for()
    page.wait_for_timeout(300)
    assert _map_layer(page)["risk"] == drawn
    # the compact layer holds no name: a click on a diamond opens the point's page, which has them all
    x, y = page.evaluate("""() => { const c = echarts.getInstanceByDom(document.getElementById('map'));
        const [px, py] = c.convertToPixel({ geoIndex: 0 }, [105.7041, 29.7012]);
        const r = document.getElementById('map').getBoundingClientRect(); return [r.left + px, r.top + py]; }""")
    page.mouse.move(x, y)
    # the tooltip comes from the compact arrays: code, kind and state
    page.wait_for_function(
        "() => [...document.querySelectorAll('#map div')].some((d) => d.textContent.includes('YL-002易涝点 · 正常'))",
        timeout=5000)
    page.mouse.click(x, y)
    page.wait_for_url("**/risk-points?code=YL-002", timeout=5000)
    assert not errors, errors
    # town B's map has no layer of town A's points
    other = browser.new_page(viewport={"width": 1920, "height": 1080})
    sign_in(other, live.base, "frank")
    other.wait_for_selector("body[data-risk-points='0']", timeout=5000)


def test_the_cockpit_opens_on_the_sectors_colours_and_the_tree_goes_down_to_the_series(
        live: Live, browser: Any) -> None:
    _sensing(live)
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")
    page.wait_for_selector("body[data-ready='1']")
    sector = page.locator("#vitals-panel .vital-sector[data-code='S2']")
    sector.wait_for(timeout=5000)
    assert sector.get_attribute("data-colour") == "orange"
    assert "设施运行" in sector.inner_text() and "橙色" in sector.inner_text()
    # on the first screen, above the map, without scrolling
    box, map_box = page.locator("#vitals-panel").bounding_box(), page.locator("#map").bounding_box()
    assert box is not None and map_box is not None and box["y"] + box["height"] <= map_box["y"] + 1
    assert box["y"] + box["height"] <= 1080
    colour = page.eval_on_selector("#vitals-panel .vital-sector[data-code='S2'] .vital-dot",
                                   "e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(255, 122, 69)"  # --orange

    sector.locator("a").click()
    page.wait_for_selector("body[data-ready='1']")
    assert page.url.endswith("/vital-signs#vital-S2")
    runway = page.locator("#vital-S2\\.R1")
    assert runway.get_attribute("data-colour") == "orange"
    assert "大足区水务公司" not in runway.inner_text()  # no lead unit named in this tree
    runway.locator("summary").first.click()
    page.locator("#vital-S2\\.R1\\.1 > details > summary").click()
    leaf = page.locator(".vital-leaf[data-code='RIVER_LEVEL']")
    assert leaf.get_attribute("data-colour") == "orange"
    assert "橙色预警 1 个" in leaf.inner_text()
    leaf.locator("a").click()
    page.wait_for_url("**/indicators?code=RIVER_LEVEL")
    page.wait_for_selector("#latest-body tr")
    assert "河道水位" in page.locator("#ind-title").inner_text()
    assert not errors, errors

    # town B's cockpit: its sector is not orange (the gauge is town A's)
    other = browser.new_page(viewport={"width": 1920, "height": 1080})
    sign_in(other, live.base, "frank")
    other.wait_for_selector("body[data-ready='1']")
    theirs = other.locator("#vitals-panel .vital-sector[data-code='S2']")
    theirs.wait_for(timeout=5000)
    assert theirs.get_attribute("data-colour") not in ("orange", "red")


def test_a_grid_worker_records_a_check_on_a_risk_point_from_the_phone(live: Live, browser: Any) -> None:
    from tests.e2e.test_browser_phone import _phone

    uow = UnitOfWork(live.factory)
    load_sensing(uow)
    point = {"code": "WY-001", "name": "北山危岩", "kind": "危岩", "grade": "一般", "area_code": "500111001001001",
             "lon": "105.703", "lat": "29.703", "responsible_unit_code": "G500111001001001",
             "patrol_frequency": "1d"}
    other = {**point, "code": "WY-002", "name": "五星危岩", "area_code": "500111002001001",
             "responsible_unit_code": "C500111002", "lon": "105.725"}
    assert not import_risk_points(uow, rows(point, other), SYSTEM).errors
    context, page, errors = _phone(live, browser)
    page.locator(".ph-tabs button[data-tab='patrol']").click()
    page.wait_for_selector("#risk-list[data-ready='1']")
    item = page.locator("#risk-list li[data-code='WY-001']")
    assert page.locator("#risk-list li").count() == 1, "only the points of dave's grid"
    assert all(x in item.inner_text() for x in ("北山危岩", "危岩 · 正常", "待巡查", "尚未检查"))

    item.locator("button[data-result='abnormal']").click()
    item.locator("form button[type='submit']").click()
    assert item.locator(".ph-error").inner_text() == "请填写异常情况"
    item.locator("textarea").fill("坡面有新裂缝")
    # the list drawn again (the tab clicked once more) keeps the open form and what was written in it
    page.locator(".ph-tabs button[data-tab='patrol']").click()
    page.wait_for_selector("#risk-list[data-ready='1']")
    assert item.locator("textarea").input_value() == "坡面有新裂缝"
    item.locator("form button[type='submit']").click()
    page.locator("#risk-list li[data-code='WY-001']", has_text="上次检查").wait_for()
    assert "上次检查" in page.locator("#risk-list li[data-code='WY-001']").inner_text()
    assert not errors, errors
    context.close()
    [check] = live.call("GET", "/api/risk-points/WY-001", "bob")["checks"]
    assert (check["result"], check["note"], check["actor"]) == ("abnormal", "坡面有新裂缝", "赵伟(dave)")


def test_the_duty_officer_switches_on_the_flood_season_layer_of_the_cockpit_map(live: Live, browser: Any) -> None:
    uow = _sensing(live)  # the river gauge WL-A reads 3.1 (orange)
    point = {"code": "YL-001", "name": "北山路下穿道", "kind": "易涝点", "grade": "较大", "area_code": "500111001",
             "lon": "105.708", "lat": "29.706", "responsible_unit_code": "C500111001", "devices": "WL-A"}
    rock = {**point, "code": "WY-001", "name": "危岩一号", "kind": "危岩", "devices": "", "lon": "105.7041"}
    assert not import_risk_points(uow, rows(point, rock), SYSTEM).errors
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "bob")
    page.wait_for_selector("body[data-risk-layer='drawn']", state="attached", timeout=5000)
    toggle = page.locator("#flood-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    assert page.evaluate("document.body.dataset.floodPoints") is None, "off until switched on"
    toggle.click()
    page.wait_for_selector("body[data-flood-points='1']", state="attached", timeout=5000)
    assert toggle.get_attribute("aria-pressed") == "true"
    flood = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('map')).getOption().series
        .find((x) => x.id === 'flood').data.map((d) => [d.flood.code, d.flood.state, d.flood.water_level.value])""")
    assert flood == [["YL-001", "warning", 3.1]], "the 易涝点 only, with its nearest water level"
    # its tooltip names the figures; a click opens the point's page
    x, y = page.evaluate("""() => { const c = echarts.getInstanceByDom(document.getElementById('map'));
        const [px, py] = c.convertToPixel({ geoIndex: 0 }, [105.708, 29.706]);
        const r = document.getElementById('map').getBoundingClientRect(); return [r.left + px, r.top + py]; }""")
    page.mouse.move(x, y)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#map div')].some((d) => d.textContent.includes('河道水位：3.10'))",
        timeout=5000)
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "false"
    assert page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('map')).getOption().series
        .find((x) => x.id === 'flood').data.length""") == 0
    toggle.click()
    page.wait_for_selector("body[data-flood-points='1']", state="attached", timeout=5000)
    page.mouse.move(x + 1, y)
    page.mouse.click(x, y)
    page.wait_for_url("**/risk-points?code=YL-001", timeout=5000)
    assert not errors, errors
