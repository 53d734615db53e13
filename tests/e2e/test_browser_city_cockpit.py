"""The city's cockpit drills from the city to a grid in a real browser (issue #25's "the city demo runs
and its cockpit drills from the city to a grid"), on a small city built by the city demo's generator
(2 districts × 3 towns × 2 villages × 2 grids). The city's leader sees the districts on the map, opens
one (the address names it), a town from the map, a grid from the map, and comes back with the browser's
back button; the first district's leader cannot open the second district's cockpit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, Event
from shuzhi.config import Settings
from shuzhi.demo.accounts import DEMO_PASSWORD
from shuzhi.demo.city import CityShape, build_city
from shuzhi.domain.events import OPEN_EVENT_STATES
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services.security.passwords import set_password
from tests.e2e.conftest import _free_port, sign_in

pytestmark = pytest.mark.browser

SMALL = CityShape(districts=2, towns_per_district=3, villages_per_town=(2, 2), grids_per_village=(2,))
OPEN = sorted(s.value for s in OPEN_EVENT_STATES)


@pytest.fixture
def city(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[str]:
    """The small city, served as ``shuzhi demo --scale city`` serves it (demo mode: the named accounts'
    demo password needs no change first)."""
    import uvicorn

    build_city(session_factory, shape=SMALL, seed=1, days=2, events_per_day=300, now=datetime.now(UTC))
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://", demo_mode=True))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _open_in(s: Session, path: str) -> int:
    return s.scalar(select(func.count(Event.id)).where(Event.area_path.startswith(path), Event.state.in_(OPEN))) or 0


def _ready(page: Any, level: str, code: str) -> None:
    page.wait_for_selector(f"body[data-cockpit-level='{level}'][data-cockpit-area='{code}'][data-ready='1']")


def _map_areas(page: Any) -> list[str]:
    return page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('map')).getOption()
        .series.find((x) => x.type === 'map').data.map((d) => d.name)""")


def _click_map(page: Any, code: str, lon: float, lat: float) -> None:
    """Click the map at a point and wait for the area's cockpit to open. Panels that appear after the
    first screen resize the map under the pointer, so a click that landed before they settled is made
    again."""
    for _attempt in range(3):
        x, y = page.evaluate("""([lon, lat]) => {
        const c = echarts.getInstanceByDom(document.getElementById('map'));
        const [px, py] = c.convertToPixel({ geoIndex: 0 }, [lon, lat]);
        const r = document.getElementById('map').getBoundingClientRect(); return [r.left + px, r.top + py]; }""",
                             [lon, lat])
        page.mouse.click(x, y)
        try:
            page.wait_for_url(f"**/?area={code}", timeout=5000)
            return
        except Exception:
            continue
    raise AssertionError(f"a click on the map did not open {code}")


def _inside(boundary: dict[str, Any]) -> tuple[float, float]:
    """A point well inside a rectangle and off its centre (where the grid's events are drawn as markers,
    whose click opens the event instead)."""
    xs = [p[0] for p in boundary["coordinates"][0]]
    ys = [p[1] for p in boundary["coordinates"][0]]
    return min(xs) + (max(xs) - min(xs)) * 0.25, min(ys) + (max(ys) - min(ys)) * 0.25


def test_the_city_leader_drills_from_the_city_to_a_grid_and_back(
        city: str, browser: Any, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        districts = s.execute(select(Area.code, Area.path).where(Area.level == "district").order_by(Area.code)).all()
        district, d_path = districts[0]
        town, t_path, t_boundary = s.execute(select(Area.code, Area.path, Area.boundary).where(
            Area.level == "town", Area.path.startswith(d_path)).order_by(Area.code)).first()
        grid, g_path, g_boundary = s.execute(select(Area.code, Area.path, Area.boundary).where(
            Area.level == "grid", Area.path.startswith(t_path)).order_by(Area.code)).first()
        open_in = {code: _open_in(s, path) for code, path in
                   ((district, d_path), (town, t_path), (grid, g_path))}
        city_open = _open_in(s, "/")
        town_grids = sorted(s.scalars(select(Area.code).where(Area.level == "grid", Area.path.startswith(t_path))))
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, city, "leader.city", DEMO_PASSWORD)

    # the city: its two districts on the map and in the ranking, not its towns
    _ready(page, "city", "500000")
    assert sorted(_map_areas(page)) == [c for c, _ in districts]
    assert page.locator("#counter-open [data-value]").inner_text() == str(city_open)
    assert page.locator("#map-title").inner_text().startswith("区域态势 · 重庆市")
    assert page.locator("#map-back").is_hidden()

    # a district, from the ranking: its own cockpit, named in the address
    page.locator(f"#rank li[data-code='{district}'] a").click()
    _ready(page, "district", district)
    assert page.url.endswith(f"/?area={district}")
    assert len(_map_areas(page)) == 3
    assert page.locator("#counter-open [data-value]").inner_text() == str(open_in[district])
    assert page.locator("#cockpit-crumbs a[data-code='500000']").count() == 1

    # a town, from the map: its grids
    _click_map(page, town, *_inside(t_boundary))
    _ready(page, "town", town)
    assert page.url.endswith(f"/?area={town}")
    assert sorted(_map_areas(page)) == town_grids
    assert page.locator("#counter-open [data-value]").inner_text() == str(open_in[town])

    # a grid, from the map: the grid itself and its figures
    _click_map(page, grid, *_inside(g_boundary))
    _ready(page, "grid", grid)
    assert _map_areas(page) == [grid]
    assert page.locator("#counter-open [data-value]").inner_text() == str(open_in[grid])
    assert page.locator("#map-back").is_visible()

    # the browser's back button: the town again; the breadcrumb: the city
    page.go_back()
    _ready(page, "town", town)
    page.locator("#cockpit-crumbs a[data-code='500000']").click()
    _ready(page, "city", "500000")
    assert not errors, errors
    context.close()


def test_a_district_leader_cannot_open_another_district(
        city: str, browser: Any, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        first, second = s.scalars(select(Area.code).where(Area.level == "district").order_by(Area.code)).all()
        # only the named accounts have the demo password; this test wants the first district's leader
        set_password(s, f"leader.{first}", DEMO_PASSWORD, must_change=False)
        s.commit()
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    sign_in(page, city, f"leader.{first}", DEMO_PASSWORD)
    _ready(page, "district", first)
    assert page.locator("#cockpit-crumbs a").count() == 0  # the city above is a name, not a link
    page.goto(f"{city}/?area={second}")
    page.wait_for_selector("body[data-cockpit-error='404']")
    assert "不在您的权限范围内" in page.locator("#cockpit-error").inner_text()
    assert page.locator("#counter-open [data-value]").inner_text() == "—"
    context.close()
