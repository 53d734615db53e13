"""The cockpit's aggregates, live feed and workbench lists: right numbers, limited to each person's scope.

alice is the district duty officer (sees everything in 大足区); bob the town-A (龙岗街道) duty officer;
frank the town-B (棠香街道) duty officer; carol handles city management; dave is grid A-1's worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import World
from tests.integration.conftest import Api

OPEN = ["registered", "notifying", "dispatched", "handling", "reported_back"]


def _dispatch(api: Api, number: str, unit: str = "D500111-CGJ") -> dict:
    return api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": unit}]})


def test_summary_counts_today_in_scope(api: Api, world: World) -> None:
    a1 = api.submit(title="北山井盖", lon=World.A1[0], lat=World.A1[1])
    api.submit(title="北山垃圾", event_class_code="0201", lon=World.A2[0], lat=World.A2[1])
    b1 = api.submit(title="五星井盖", lon=World.B1[0], lat=World.B1[1])
    # an old event: open, but not received today
    api.submit(title="旧事件", received_at=(datetime.now(UTC) - timedelta(days=3)).isoformat())
    _dispatch(api, a1["number"])
    _dispatch(api, b1["number"])

    district = api.get("/api/cockpit/summary", who="alice")
    assert district["received_today"] == 3
    assert district["dispatched_today"] == 2
    assert district["closed_today"] == 0
    assert district["open"] == 4
    assert district["awaiting_dispatch"] == 2
    assert district["overdue"] == 0
    # the warnings and plans parts count theirs (tests/integration/test_cockpit_warnings.py)
    assert district["warnings_active"] == 0 and district["plans_running"] == 0

    town_a = api.get("/api/cockpit/summary", who="bob")
    assert (town_a["received_today"], town_a["open"], town_a["dispatched_today"]) == (2, 3, 1)
    town_b = api.get("/api/cockpit/summary", who="frank")
    assert (town_b["received_today"], town_b["open"]) == (1, 1)


def test_overdue_counts_events_past_their_handling_deadline(api: Api, world: World) -> None:
    old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    ev = api.submit(title="拖了很久", received_at=old)
    _dispatch(api, ev["number"])
    fresh = api.submit(title="刚来的")
    _dispatch(api, fresh["number"])
    assert api.get("/api/cockpit/summary", who="alice")["overdue"] in (0, 1)
    # the deadline is counted from dispatch (now); move it into the past as time would
    from sqlalchemy import update

    from shuzhi.adapters.db.tables import Event, Task

    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        event_id = s.query(Event.id).filter(Event.number == ev["number"]).scalar()
        s.execute(update(Task).where(Task.event_id == event_id)
                  .values(handle_due_at=datetime.now(UTC) - timedelta(hours=1)))
        s.commit()
    assert api.get("/api/cockpit/summary", who="alice")["overdue"] == 1
    listed = api.get("/api/events", who="alice", params={"overdue": True, "with_total": True})
    assert [e["number"] for e in listed["items"]] == [ev["number"]]
    assert api.get("/api/cockpit/summary", who="frank")["overdue"] == 0


def test_area_load_rolls_up_to_towns_and_grids(api: Api, world: World) -> None:
    for point in (World.A1, World.A1, World.A2, World.B1):
        api.submit(lon=point[0], lat=point[1])
    closed = api.submit(lon=World.B1[0], lat=World.B1[1])
    api.post(f"/api/events/{closed['number']}/cancel", "alice", {"reason": "重复来电"})

    towns = {a["code"]: a["open"] for a in api.get("/api/cockpit/area-load", who="alice", params={"level": "town"})}
    assert towns == {"500111001": 3, "500111002": 1}
    grids = {a["code"]: a["open"] for a in api.get("/api/cockpit/area-load", who="alice",
                                                    params={"level": "grid", "parent_code": "500111001"})}
    assert grids == {"500111001001001": 2, "500111001001002": 1}
    # bob sees his town only
    assert [a["code"] for a in api.get("/api/cockpit/area-load", who="bob")] == ["500111001"]
    assert api.get("/api/cockpit/area-load", who="alice", status=422, params={"level": "moon"})["field"] == "level"


def test_map_layer_is_scoped_geojson(api: Api, world: World) -> None:
    layer = api.get("/api/cockpit/map-layer", who="alice", params={"level": "grid", "within": "500111001"})
    assert layer["type"] == "FeatureCollection"
    assert sorted(f["properties"]["code"] for f in layer["features"]) == ["500111001001001", "500111001001002"]
    assert all(f["geometry"]["type"] == "Polygon" for f in layer["features"])
    frank = api.get("/api/cockpit/map-layer", who="frank", params={"level": "grid"})
    assert [f["properties"]["code"] for f in frank["features"]] == ["500111002001001"]


def test_breakdowns_and_markers(api: Api, world: World) -> None:
    api.submit(title="甲", source="hotline")
    api.submit(title="乙", source="grid_patrol", event_class_code="0201")
    api.submit(title="丙", source="grid_patrol", event_class_code="0201")
    b = api.get("/api/cockpit/breakdowns", who="alice", params={"days": 7})
    assert len(b["days"]) == 7 and b["received_by_day"][-1] == 3 and sum(b["received_by_day"]) == 3
    assert b["by_source"] == {"hotline": 1, "grid_patrol": 2}
    assert b["by_state"] == {"registered": 3}
    assert [(c[0], c[2]) for c in b["by_major_class"]] == [("02", 2), ("01", 1)]
    markers = api.get("/api/cockpit/markers", who="alice")
    assert {m["title"] for m in markers} == {"甲", "乙", "丙"}
    assert api.get("/api/cockpit/breakdowns", who="alice", status=422, params={"days": 0})["field"] == "days"


def test_feed_returns_new_timeline_lines_in_scope(api: Api, world: World) -> None:
    a = api.submit(title="甲", lon=World.A1[0], lat=World.A1[1])
    first = api.get("/api/live/feed", who="alice")
    assert first and first[-1]["number"] == a["number"]
    last_id = first[-1]["id"]
    b = api.submit(title="<script>alert(1)</script>", lon=World.B1[0], lat=World.B1[1])
    new = api.get("/api/live/feed", who="alice", params={"after_id": last_id})
    assert [i["number"] for i in new] == [b["number"]]
    assert new[0]["title"] == "<script>alert(1)</script>"  # stored and returned as given; the page shows it as text
    assert api.get("/api/live/feed", who="bob", params={"after_id": last_id}) == []


def test_stream_sends_timeline_lines_as_server_sent_events(api: Api, world: World) -> None:
    a = api.submit(title="甲")
    first = api.get("/api/live/feed", who="alice")
    after = first[0]["id"] - 1
    with api.client.stream("GET", "/api/live/stream", headers=api.headers("alice"),
                           params={"after_id": after, "timeout": 1, "poll": 0.2}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    assert "event: hello" in body
    assert "event: timeline" in body and a["number"] in body
    assert f"id: {first[0]['id']}" in body


def test_my_tasks_and_verifications(api: Api, world: World) -> None:
    ev = api.submit(title="井盖缺失", lon=World.A1[0], lat=World.A1[1])
    _dispatch(api, ev["number"])
    mine = api.get("/api/my/tasks", who="carol")
    assert [(t["number"], t["task_state"]) for t in mine] == [(ev["number"], "dispatched")]
    assert set(mine[0]["allowed_actions"]) >= {"accept", "return"}
    assert api.get("/api/my/tasks", who="erin") == []
    task_id = mine[0]["task_id"]
    api.post(f"/api/events/{ev['number']}/tasks/{task_id}/accept", "carol")
    api.post(f"/api/events/{ev['number']}/tasks/{task_id}/report-back", "carol", {"result": "已更换井盖"})
    todo = api.get("/api/my/verifications", who="dave")
    assert [v["number"] for v in todo] == [ev["number"]]
    assert api.get("/api/my/verifications", who="frank") == []
    # a handler may not verify: 403 rather than an empty list
    api.get("/api/my/verifications", who="carol", status=403)


def test_pages_render_in_chinese_from_the_catalogue(api: Api, world: World) -> None:
    from shuzhi.entrypoints.web.messages_zh import MESSAGES

    for path in ["/", "/events", "/events/500111-20250101-000001", "/tasks", "/verify", "/admin", "/login",
                 "/warnings", "/indicators", "/plans", "/evaluation", "/town"]:
        r = api.client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert MESSAGES["nav.cockpit"] in r.text and 'lang="zh-CN"' in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert MESSAGES["common.empty"] in api.client.get("/plans").text
    # an event number in the URL is escaped into the page, never markup
    r = api.client.get("/events/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert "<img src=x" not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text


def test_scripts_and_styles_are_gzipped_for_a_browser_that_accepts_it(api: Api, world: World) -> None:
    plain = api.client.get("/static/js/cockpit.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    raw = api.client.get("/static/js/cockpit.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    packed = raw.headers
    assert packed["content-encoding"] == "gzip" and "Accept-Encoding" in packed["vary"]
    assert packed["content-type"] == plain.headers["content-type"]
    assert int(packed["content-length"]) < int(plain.headers["content-length"]) / 2
    assert raw.content == plain.content, "the same script, decoded by the client"
    assert packed["etag"] != plain.headers["etag"], "a cache must not answer one encoding with the other"
    again = api.client.get("/static/js/cockpit.js",
                           headers={"Accept-Encoding": "gzip", "If-None-Match": packed["etag"]})
    assert again.status_code == 304
    ranged = api.client.get("/static/js/cockpit.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers
    assert api.client.get("/static/js/nope.js", headers={"Accept-Encoding": "gzip"}).status_code == 404
