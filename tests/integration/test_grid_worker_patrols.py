"""dave, the grid worker of grid A-1, walks his grid, records the track and reports what he finds from his
phone; bob (town A's centre) reads dave's patrols; frank (town B) does not see them; bad input is a 4xx
with the field named.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories import World
from tests.integration.conftest import Api

T0 = datetime.now(UTC) - timedelta(minutes=30)


def _pt(lon: float, lat: float, seconds: float) -> dict[str, Any]:
    return {"lon": lon, "lat": lat, "at": (T0 + timedelta(seconds=seconds)).isoformat()}


def _start(api: Api) -> dict[str, Any]:
    return api.post("/api/patrols", "dave", {"point": _pt(105.702, 29.702, 0)}, status=201)  # type: ignore[no-any-return]


def test_a_patrol_records_its_track_duration_and_distance(api: Api, world: World) -> None:
    p = _start(api)
    assert p["running"] and p["point_count"] == 1 and p["area_code"] == "500111001001001"
    # a retried start answers the running patrol, not a second one
    again = api.post("/api/patrols", "dave", {}, status=200)
    assert again["id"] == p["id"]
    # ~111 m north in 100 s, then ~96 m east in 100 s
    after = api.post(f"/api/patrols/{p['id']}/points", "dave",
                     {"points": [_pt(105.702, 29.703, 100), _pt(105.703, 29.703, 200)]})
    assert after["point_count"] == 3 and 200 < after["distance_m"] < 215
    done = api.post(f"/api/patrols/{p['id']}/stop", "dave", {"points": [_pt(105.703, 29.704, 300)]})
    assert not done["running"] and done["point_count"] == 4 and 310 < done["distance_m"] < 330
    assert done["duration_s"] >= 300
    assert done["track"]["type"] == "LineString" and len(done["track"]["coordinates"]) == 4
    timed = api.get(f"/api/patrols/{p['id']}", who="dave", params={"points": "true"})["points"]
    assert [t["at"][:19] for t in timed] == [(T0 + timedelta(seconds=s)).isoformat()[:19] for s in (0, 100, 200, 300)]
    # its start and end are in the audit log, with who and when
    audit = api.get("/api/audit", who="audrey", params={"object": f"patrol:{p['id']}"})
    assert {e["action"] for e in audit if e["object"] == f"patrol:{p['id']}"} == {"patrol.start", "patrol.stop"}
    # an ended patrol takes no more points
    r = api.post(f"/api/patrols/{p['id']}/points", "dave", {"points": [_pt(105.703, 29.704, 400)]}, status=409)
    assert r["field"] == "patrol_id"


def test_bad_points_are_refused_with_the_field_named(api: Api, world: World) -> None:
    p = _start(api)
    url = f"/api/patrols/{p['id']}/points"
    # outside dave's grid (in grid A-2)
    r = api.post(url, "dave", {"points": [_pt(105.702, 29.703, 60), _pt(*World.A2, 2000)]}, status=422)
    assert r["field"] == "points[1].lon" and r["details"]["code"] == "outside_area"
    # out of order
    r = api.post(url, "dave", {"points": [_pt(105.702, 29.703, 60), _pt(105.702, 29.7031, 50)]}, status=422)
    assert r["field"] == "points[1].at" and r["details"]["code"] == "out_of_order"
    # 1 km in 10 s: 360 km/h
    r = api.post(url, "dave", {"points": [_pt(105.7025, 29.7015, 60), _pt(105.7025, 29.7095, 70)]}, status=422)
    assert r["field"] == "points[1]" and r["details"]["code"] == "too_fast"
    # from the future, and not a time at all
    r = api.post(url, "dave", {"points": [_pt(105.702, 29.703, 3600 * 3)]}, status=422)
    assert r["field"] == "points[0].at" and r["details"]["code"] == "future"
    r = api.post(url, "dave", {"points": [{"lon": 105.702, "lat": 29.703, "at": "gestern"}]}, status=422)
    assert r["field"] == "points[0].at"
    # nothing of it was kept
    assert api.get(f"/api/patrols/{p['id']}", who="dave")["point_count"] == 1


def test_findings_on_patrol_are_grid_patrol_events_in_the_worker_grid(api: Api, world: World) -> None:
    p = _start(api)
    made = api.post("/api/phone/findings", "dave",
                    {"patrol_id": p["id"], "event_class_code": "0201", "description": "路边暴露垃圾一堆",
                     "lon": 105.7021, "lat": 29.7021}, status=201, headers={"Idempotency-Key": "draft-1"})
    # the phone retried after a lost answer: the same event
    again = api.post("/api/phone/findings", "dave",
                     {"patrol_id": p["id"], "event_class_code": "0201", "description": "路边暴露垃圾一堆",
                      "lon": 105.7021, "lat": 29.7021}, status=200, headers={"Idempotency-Key": "draft-1"})
    assert again["number"] == made["number"]
    event = api.get(f"/api/events/{made['number']}", who="dave")
    assert event["source"] == "grid_patrol" and event["area_chain"][-1] == "500111001001001"
    # by hand: no GPS, the grid picked
    by_hand = api.post("/api/phone/findings", "dave", {"event_class_code": "0101", "area_code": "500111001001001"},
                       status=201)
    assert api.get(f"/api/events/{by_hand['number']}", who="dave")["title"] == "井盖破损"
    # the photo goes with it (dave acts on the event of his own grid)
    from tests.integration.test_route_scopes import PNG

    api.request("POST", f"/api/events/{made['number']}/attachments", "dave", 201,
                files={"file": ("现场.png", PNG, "image/png")})
    detail = api.get(f"/api/patrols/{p['id']}", who="dave")
    assert [f["number"] for f in detail["finding_events"]] == [made["number"]] and detail["findings"] == 1


def test_bad_findings_are_refused_at_the_field(api: Api, world: World) -> None:
    outside = api.post("/api/phone/findings", "dave", {"event_class_code": "0201", "lon": World.B1[0],
                                                       "lat": World.B1[1]}, status=422)
    assert outside["field"] == "lon" and outside["details"]["code"] == "outside_area"
    other_grid = api.post("/api/phone/findings", "dave", {"event_class_code": "0201",
                                                          "area_code": "500111002001001"}, status=422)
    assert other_grid["field"] == "area_code"
    assert api.post("/api/phone/findings", "dave", {}, status=422)["field"] == "event_class_code"
    assert api.post("/api/phone/findings", "dave", {"event_class_code": "nope"}, status=422)["field"] == \
        "event_class_code"
    assert api.post("/api/phone/findings", "dave", {"event_class_code": "0201", "lon": 105.702},
                    status=422)["field"] == "lat"
    assert api.post("/api/phone/findings", "dave", {"description": "x" * 501}, status=422)["field"] == \
        "description"
    assert api.post("/api/phone/findings", "dave", {"event_class_code": "0201", "patrol_id": 999999},
                    status=422)["field"] == "patrol_id"


def test_a_huge_photo_is_refused_naming_the_file(api: Api, world: World) -> None:
    made = api.post("/api/phone/findings", "dave", {"event_class_code": "0201", "lon": 105.7021, "lat": 29.7021},
                    status=201)
    limit = api.client.app.state.settings.max_attachment_bytes
    from tests.integration.test_route_scopes import PNG

    r = api.client.post(f"/api/events/{made['number']}/attachments", headers=api.headers("dave"),
                        files={"file": ("大.png", PNG + b"\0" * limit, "image/png")})
    assert 400 <= r.status_code < 500 and r.json()["field"] == "file"


def test_who_sees_and_writes_which_patrol(api: Api, world: World) -> None:
    p = _start(api)
    # bob (town A's centre) reads dave's patrols, cannot write them
    assert [x["id"] for x in api.get("/api/patrols", who="bob")] == [p["id"]]
    assert api.get(f"/api/patrols/{p['id']}", who="bob")["person_code"] == "dave"
    api.post(f"/api/patrols/{p['id']}/stop", "bob", {}, status=403)
    # frank (town B) does not see it, worded like a missing one
    assert api.get("/api/patrols", who="frank") == []
    missing = api.get("/api/patrols/999999", who="frank", status=404)
    seen = api.get(f"/api/patrols/{p['id']}", who="frank", status=404)
    assert seen["detail"].replace(str(p["id"]), "N") == missing["detail"].replace("999999", "N")
    # a handler without patrol rights: 403
    api.get("/api/patrols", who="carol", status=403)
    api.post("/api/patrols", "carol", {}, status=403)


def test_the_phone_home_and_the_verifications_mark_own_cases(api: Api, world: World) -> None:
    home = api.get("/api/phone/home", who="dave")
    assert home["area"]["code"] == "500111001001001" and home["grids"] == [
        {"code": "500111001001001", "name": "北山社区第1网格"}]
    assert home["running"] is None and home["can_patrol"]
    assert {c["code"] for c in home["classes"]} >= {"0101", "0201"} and "9001" not in {
        c["code"] for c in home["classes"]}
    # dave's grid handles 0201: dispatched to his unit, he reports back, so someone else verifies it
    made = api.post("/api/phone/findings", "dave", {"event_class_code": "0201", "lon": 105.7021, "lat": 29.7021},
                    status=201)
    ev = api.post(f"/api/events/{made['number']}/dispatch", "bob",
                  {"units": [{"unit_code": "G500111001001001", "role": "lead"}]})
    task = api.task(ev, "G500111001001001")
    api.post(f"/api/events/{made['number']}/tasks/{task['id']}/accept", "dave", {})
    api.post(f"/api/events/{made['number']}/tasks/{task['id']}/report-back", "dave", {"result": "已清理"})
    mine = {v["number"]: v for v in api.get("/api/phone/verifications", who="dave")}
    assert mine[made["number"]]["own"] is True
    api.post(f"/api/events/{made['number']}/verify", "dave", {"passed": True}, status=403)
    theirs = {v["number"]: v for v in api.get("/api/phone/verifications", who="bob")}
    assert theirs[made["number"]]["own"] is False
    home = api.get("/api/phone/home", who="dave")
    assert home["classes"][0]["code"] == "0201" and home["classes"][0]["uses"] == 1


def test_evaluation_counts_each_grid_worker_s_patrols(api: Api, world: World) -> None:
    p = _start(api)
    api.post(f"/api/patrols/{p['id']}/points", "dave", {"points": [_pt(105.702, 29.703, 600)]})
    api.post("/api/phone/findings", "dave", {"patrol_id": p["id"], "event_class_code": "0201",
                                             "lon": 105.7021, "lat": 29.7021}, status=201)
    api.post(f"/api/patrols/{p['id']}/stop", "dave", {})
    period = T0.astimezone(UTC).strftime("%Y-%m")
    rows = {r["code"]: r for r in api.get("/api/evaluation/people", who="bob", params={"period": period})["people"]}
    fig = rows["dave"]["patrol"]
    assert fig["patrols"] == 1 and fig["findings"] == 1 and fig["findings_per_patrol"] == 1.0
    assert 0.1 < fig["km"] < 0.13 and fig["hours"] >= 0.16
    # town B's centre sees none of it
    other = api.get("/api/evaluation/people", who="frank", params={"period": period})["people"]
    assert "dave" not in {r["code"] for r in other}


def test_the_phone_page_is_small_and_loads_no_charts(api: Api) -> None:
    import re

    page = api.client.get("/m")
    assert page.status_code == 200 and "echarts" not in page.text and "script-src 'self'" in \
        page.headers["content-security-policy"]
    assert len(page.content) < 20_000, len(page.content)  # only the phone's own messages
    js = api.client.get("/static/js/phone.js").text
    assert re.findall(r'from "\./([\w.]+)"', js) == ["core.js"] and "import(" not in js
    core = api.client.get("/static/js/core.js").text
    assert len(js.encode()) + len(core.encode()) < 45_000


def test_a_long_track_is_simplified_for_drawing_but_measured_in_full(api: Api, world: World) -> None:
    p = _start(api)
    # 600 points a metre apart (1 m/s), straight north: drawn as a line of 2 points, measured as 600 m
    step = 1 / 111_195
    for batch in range(2):
        pts = [_pt(105.702, 29.702 + (batch * 300 + i) * step, batch * 300 + i) for i in range(1, 301)]
        api.post(f"/api/patrols/{p['id']}/points", "dave", {"points": pts})
    full = api.get(f"/api/patrols/{p['id']}", who="dave", params={"points": "true"})
    assert full["point_count"] == 601 and len(full["points"]) == 601 and 595 < full["distance_m"] < 605
    assert len(full["track"]["coordinates"]) == 2
    assert "points" not in api.get(f"/api/patrols/{p['id']}", who="dave")
