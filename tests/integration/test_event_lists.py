"""Filters, sorting and cursor pagination of the event list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import World
from tests.integration.conftest import Api


def _seed(api: Api) -> list[str]:
    base = datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
    numbers = []
    points = [World.A1, World.A2, World.B1]
    for i in range(12):
        lon, lat = points[i % 3]
        cls = "0101" if i % 2 else "0201"
        ev = api.submit(lon=lon, lat=lat, event_class_code=cls, title=f"事件{i}",
                        received_at=(base + timedelta(minutes=i)).isoformat(),
                        source="hotline" if i < 6 else "grid_patrol")
        numbers.append(ev["number"])
    return numbers


def test_cursor_pages_cover_everything_once(api: Api, world: World) -> None:
    numbers = _seed(api)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict = {"limit": 5, "sort": "-received_at"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/events", params=params)
        seen += [e["number"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(numbers))
    asc = api.get("/api/events", params={"limit": 100, "sort": "received_at"})
    assert [e["number"] for e in asc["items"]] == numbers


def test_filters(api: Api, world: World) -> None:
    _seed(api)
    town_a = api.get("/api/events", params={"area_code": "500111001", "with_total": True})
    assert town_a["total"] == 8 and all(e["area_chain"][2] == "500111001" for e in town_a["items"])
    assert api.get("/api/events", params={"area_code": "500111002001001", "with_total": True})["total"] == 4
    assert api.get("/api/events", params={"event_class": "0101", "with_total": True})["total"] == 6
    assert api.get("/api/events", params={"major_class": "02", "with_total": True})["total"] == 6
    assert api.get("/api/events", params={"source": ["grid_patrol"], "with_total": True})["total"] == 6
    window = api.get("/api/events", params={"received_from": "2025-06-10T09:03:00+08:00",
                                            "received_to": "2025-06-10T09:06:00+08:00", "with_total": True})
    assert window["total"] == 3
    assert api.get("/api/events", params={"q": "事件1", "with_total": True})["total"] == 3  # 1, 10, 11
    assert api.get("/api/events", params={"state": ["closed"], "with_total": True})["total"] == 0


def test_bad_list_parameters_are_422(api: Api, world: World) -> None:
    assert api.get("/api/events", status=422, params={"sort": "title"})["field"] == "sort"
    assert api.get("/api/events", status=422, params={"cursor": "garbage!"})["field"] == "cursor"
    assert api.get("/api/events", status=422, params={"area_code": "999"})["field"] == "area_code"
    assert api.get("/api/events", status=422, params={"limit": 0})["field"] == "limit"
    assert api.get("/api/events", status=422, params={"received_from": "2025-06-10T00:00:00"})["field"] \
        == "received_from"
