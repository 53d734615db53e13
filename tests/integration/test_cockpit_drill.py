"""The cockpit drills down the area tree (issue #25: "its cockpit drills from the city to a grid"): the
administrator's cockpit opens on the city and shows its districts; grace, the district leader, sees her
district's towns and opens town A, whose cockpit shows its grids and only its own figures; bob, town A's
duty officer, cannot open town B's cockpit nor the district's — not found, like an area that does not
exist."""

from __future__ import annotations

import pytest

from tests.factories import World
from tests.integration.conftest import Api

TOWN_A, TOWN_B = "500111001", "500111002"
GRID_A1, GRID_A2 = "500111001001001", "500111001001002"


@pytest.fixture
def events(api: Api, world: World) -> None:
    for point in (World.A1, World.A1, World.A2, World.B1):
        api.submit(lon=point[0], lat=point[1])


def _load(api: Api, who: str, area: str | None = None) -> dict[str, int]:
    params = {"level": "auto", **({"parent_code": area} if area else {})}
    return {a["code"]: a["open"] for a in api.get("/api/cockpit/area-load", who=who, params=params)}


def test_the_city_cockpit_shows_districts_and_a_district_its_towns(api: Api, events: None) -> None:
    city = api.get("/api/cockpit/focus", who="admin")
    assert (city["code"], city["level"], city["child_level"], city["up"]) == ("500000", "city", "district", None)
    assert _load(api, "admin") == {"500111": 4}
    layer = api.get("/api/cockpit/map-layer", who="admin", params={"level": "auto"})
    assert [f["properties"]["code"] for f in layer["features"]] == ["500111"]

    grace = api.get("/api/cockpit/focus", who="grace")
    assert (grace["code"], grace["child_level"], grace["up"]) == ("500111", "town", None)
    # the city above her is a name on the breadcrumb, not a link
    assert [(c["code"], c["visible"]) for c in grace["crumbs"]] == [("500000", False), ("500111", True)]
    assert _load(api, "grace") == {TOWN_A: 3, TOWN_B: 1}


def test_a_town_opened_from_above_shows_its_grids_and_only_its_own_figures(api: Api, events: None) -> None:
    town = api.get("/api/cockpit/focus", who="grace", params={"area": TOWN_A})
    assert (town["level"], town["child_level"], town["up"]) == ("town", "grid", "500111")
    assert [c["name"] for c in town["crumbs"]] == ["重庆市", "大足区", "龙岗街道"]
    assert _load(api, "grace", TOWN_A) == {GRID_A1: 2, GRID_A2: 1}
    layer = api.get("/api/cockpit/map-layer", who="grace", params={"level": "auto", "within": TOWN_A})
    assert sorted(f["properties"]["code"] for f in layer["features"]) == [GRID_A1, GRID_A2]
    assert api.get("/api/cockpit/summary", who="grace")["open"] == 4
    assert api.get("/api/cockpit/summary", who="grace", params={"area": TOWN_A})["open"] == 3
    assert api.get("/api/cockpit/summary", who="grace", params={"area": TOWN_B})["open"] == 1
    assert len(api.get("/api/cockpit/markers", who="grace", params={"area": TOWN_B})) == 1
    assert sum(api.get("/api/cockpit/breakdowns", who="grace", params={"area": TOWN_A})["by_state"].values()) == 3
    assert api.get("/api/cockpit/flows", who="grace", params={"area": TOWN_B})["handle"]["events"] == 1
    feed = api.get("/api/live/feed", who="grace", params={"area": TOWN_B})
    assert len({i["number"] for i in feed}) == 1  # town B's one event, not the district's four


def test_a_grid_cockpit_shows_the_grid_itself(api: Api, events: None) -> None:
    grid = api.get("/api/cockpit/focus", who="bob", params={"area": GRID_A1})
    assert (grid["level"], grid["child_level"], grid["up"]) == ("grid", "grid", "500111001001")
    assert _load(api, "bob", GRID_A1) == {GRID_A1: 2}
    assert api.get("/api/cockpit/summary", who="bob", params={"area": GRID_A1})["open"] == 2


def test_a_town_officer_cannot_open_another_town_nor_the_district(api: Api, events: None) -> None:
    bob = api.get("/api/cockpit/focus", who="bob")
    assert (bob["code"], bob["child_level"], bob["up"]) == (TOWN_A, "grid", None)
    for other in (TOWN_B, "500111", "500000", "999999"):
        api.get("/api/cockpit/focus", who="bob", status=404, params={"area": other})
        api.get("/api/cockpit/summary", who="bob", status=404, params={"area": other})
        api.get("/api/cockpit/breakdowns", who="bob", status=404, params={"area": other})
        api.get("/api/cockpit/markers", who="bob", status=404, params={"area": other})
        api.get("/api/live/feed", who="bob", status=404, params={"area": other})
        api.get("/api/cockpit/area-load", who="bob", status=404, params={"level": "auto", "parent_code": other})
        api.get("/api/cockpit/map-layer", who="bob", status=404, params={"level": "auto", "within": other})
    api.get("/api/live/stream", who="bob", status=404, params={"area": TOWN_B, "timeout": 1})
