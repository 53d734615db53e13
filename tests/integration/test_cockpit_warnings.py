"""The cockpit's warnings and plans: counters in scope, warnings in the live feed, silences in scope,
the map layer's ETag.

alice is the district duty officer, bob town A's and frank town B's; the river gauge WL-A sits in town
A (tests/sensing_data.py), so its warnings are alice's and bob's, never frank's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shuzhi.services.actors import SYSTEM
from shuzhi.services.plans import templates as plan_templates
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_plan_runs import template
from tests.integration.test_warnings import RIVER, feed
from tests.sensing_data import load_sensing


def _counters(api: Api, who: str) -> tuple[int | None, int | None]:
    s = api.get("/api/cockpit/summary", who=who)
    return s["warnings_active"], s["plans_running"]


def test_active_warnings_and_running_plans_are_counted_in_scope(api: Api, world: World, uow: UnitOfWork) -> None:
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, RIVER)
    plan_templates.save_template(uow, template(), SYSTEM)
    assert _counters(api, "alice") == (0, 0)

    feed(uow, [(0, 1.0), (5, 3.1)])  # orange in town A: fires at once (no "for")
    run = api.post("/api/plans/storm/activate", "bob", {"area_codes": ["500111001"]}, status=201)
    assert _counters(api, "alice") == (1, 1)
    assert _counters(api, "bob") == (1, 1)
    assert _counters(api, "frank") == (0, 0)
    # the figure is the list it links to (/warnings?state=firing, the plans page's active runs)
    assert api.get("/api/warnings?state=firing", who="bob")["total"] == 1
    assert len(api.get("/api/plan-runs?state=active", who="bob")) == 1

    feed(uow, [(10, 1.0)])  # back below every level: resolved, no longer active
    api.post(f"/api/plan-runs/{run['run_id']}/stand-down", "alice", {"reason": "水位回落"})
    assert _counters(api, "alice") == (0, 0)


def test_a_warning_reaches_the_live_feed_in_scope(api: Api, world: World, uow: UnitOfWork) -> None:
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})  # no event: only the warning feed tells
    start = api.get("/api/live/warnings", who="alice")
    assert start == []
    feed(uow, [(0, 2.6)])
    [fired] = api.get("/api/live/warnings", who="alice")
    assert (fired["change"], fired["to_level"], fired["indicator_name"], fired["area_name"]) == \
        ("fired", "yellow", "河道水位", "龙岗街道")
    assert api.get("/api/live/warnings", who="frank") == []
    feed(uow, [(5, 3.2)])
    raised = api.get(f"/api/live/warnings?after_id={fired['id']}", who="bob")
    assert [(c["change"], c["to_level"]) for c in raised] == [("raised", "orange")]

    # the stream sends it as "event: warning" to a page that was there before it happened
    r = api.client.get(f"/api/live/stream?after_id=0&after_warning={fired['id']}&timeout=1&poll=0.2",
                       headers=api.headers("alice"))
    assert r.status_code == 200
    assert "event: warning" in r.text and '"change": "raised"' in r.text
    r = api.client.get(f"/api/live/stream?after_id=0&after_warning={fired['id']}&timeout=1&poll=0.2",
                       headers=api.headers("frank"))
    assert "event: warning" not in r.text

    # the map shows it where the gauge stands, in its level's colour; town B's map does not
    [marker] = api.get("/api/cockpit/warning-markers", who="alice")
    assert (marker["level"], marker["lon"], marker["lat"]) == ("orange", 105.71, 29.705)
    assert api.get("/api/cockpit/warning-markers", who="frank") == []

    # the list names the indicator and the area for people to read
    [item] = api.get("/api/warnings", who="bob")["items"]
    assert (item["indicator_name"], item["area_name"], item["level"]) == ("河道水位", "龙岗街道", "orange")


def test_silences_are_listed_and_ended_in_scope(api: Api, world: World, uow: UnitOfWork) -> None:
    load_sensing(uow)
    ends = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    river_in_a = {"indicators": ["RIVER_LEVEL"], "area": "500111001"}
    town_a = api.post("/api/warning-silences", "admin", {"matcher": river_in_a, "ends_at": ends, "comment": "龙岗施工"},
                      status=201)
    district = api.post("/api/warning-silences", "admin", {"matcher": {"area": "500111"}, "ends_at": ends,
                                                         "comment": "全区演练"}, status=201)
    seen = {who: {s["id"] for s in api.get("/api/warning-silences", who=who)} for who in ("alice", "bob", "frank")}
    assert seen["alice"] == seen["bob"] == {town_a["id"], district["id"]}
    assert seen["frank"] == {district["id"]}  # a district silence covers town B too; town A's is not his
    ended = api.request("DELETE", f"/api/warning-silences/{town_a['id']}", "admin")
    assert ended["active"] is False and ended["expired_by"].endswith("(admin)")
    assert {s["id"] for s in api.get("/api/warning-silences", who="alice")} == {district["id"]}


def test_the_map_layer_is_revalidated_by_its_etag(api: Api, world: World) -> None:
    first = api.client.get("/api/cockpit/map-layer?level=town", headers=api.headers("alice"))
    assert first.status_code == 200 and first.json()["type"] == "FeatureCollection"
    tag = first.headers["etag"]
    again = api.client.get("/api/cockpit/map-layer?level=town", headers={**api.headers("alice"), "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    # another scope is another layer, so another tag
    bobs = api.client.get("/api/cockpit/map-layer?level=town", headers={**api.headers("bob"), "If-None-Match": tag})
    assert bobs.status_code == 200 and bobs.headers["etag"] != tag
