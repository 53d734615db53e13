"""The city's vital signs by sector and runway (issue #22): five colours from warnings, pending
readings and stale data, rolled up the tree by a rule that is data, in the reader's scope.

The tree is tests/sensing_data.py: sector S2 设施运行 → runway S2.R1 水务 → 防汛 → RIVER_LEVEL (per
town, gauge WL-A in town A) and OUTAGES (per town, town A only); runway S2.R2 市政设施 → 窨井盖 →
MANHOLE_OPEN (per grid, sensor MH-A1 in grid A-1). alice is the district's, bob town A's, frank
town B's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.services.actors import SYSTEM, resolve_actor
from shuzhi.services.sensing import vital_signs as vsv
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing.indicators import export_indicators, import_indicators
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_warnings import NOW, RIVER, T0, feed
from tests.sensing_data import INDICATORS, load_sensing, reading, rows


def _tree(uow: UnitOfWork, sf: sessionmaker[Session], who: str, **kw: Any) -> dict[str, dict[str, Any]]:
    """Every node and indicator of the reader's tree by code."""
    with sf() as s:
        actor = resolve_actor(s, who)
    out: dict[str, dict[str, Any]] = {}

    def walk(n: dict[str, Any]) -> None:
        out[n["code"]] = n
        for c in n.get("children", []):
            walk(c)

    for sector in vsv.vital_signs(uow, actor, **kw)["sectors"]:
        walk(sector)
    return out


def _fresh(uow: UnitOfWork) -> None:
    """Fresh readings for every series the test world expects, so that only what a test adds is amiss."""
    ingest(uow, SYSTEM, [reading("MANHOLE_OPEN", (NOW - timedelta(minutes=1)).isoformat(), 0, device="MH-A1"),
                         reading("OUTAGES", (NOW - timedelta(minutes=1)).isoformat(), 0, area="500111001"),
                         reading("RIVER_LEVEL", (NOW - timedelta(minutes=1)).isoformat(), 1.0,
                                 area="500111002")], now=NOW)


def test_a_firing_warning_colours_its_indicator_runway_and_sector_for_those_who_see_it(
        world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})
    _fresh(uow)
    feed(uow, [(0, 1.0)])
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=2)).isoformat(), 1.0, device="WL-A")],
           now=NOW)
    calm = _tree(uow, session_factory, "alice", now=NOW)
    assert [calm[c]["colour"] for c in ("S2", "S2.R1", "S2.R1.1", "RIVER_LEVEL", "S2.R2")] == ["green"] * 5

    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=1)).isoformat(), 3.1, device="WL-A")],
           now=NOW)  # orange in town A, fires at once
    for who in ("alice", "bob"):
        t = _tree(uow, session_factory, who, now=NOW)
        assert t["RIVER_LEVEL"]["colour"] == "orange" and t["RIVER_LEVEL"]["reasons"] == ["warning.orange"]
        assert t["RIVER_LEVEL"]["firing"]["orange"] == 1
        assert (t["S2.R1.1"]["colour"], t["S2.R1"]["colour"], t["S2"]["colour"]) == ("orange",) * 3
        assert t["S2.R2"]["colour"] == "green"
        assert t["S2"]["counts"]["orange"] == 1
    # town B's reader: the gauge is not his; his own river series is fresh and calm, but no manhole
    # sensor reports from his grids — which he is told, not shown as green
    theirs = _tree(uow, session_factory, "frank", now=NOW)
    assert (theirs["RIVER_LEVEL"]["colour"], theirs["S2.R1"]["colour"]) == ("green", "green")
    assert (theirs["MANHOLE_OPEN"]["reasons"], theirs["S2"]["colour"]) == (["no_data"], "yellow")
    assert "OUTAGES" not in theirs, "measured in town A only: not in town B's tree"
    # the cockpit's depth: sectors only, with their colour
    [sector] = vsv.vital_signs(uow, resolve_actor(session_factory(), "bob"), depth="sector", now=NOW)["sectors"]
    assert (sector["code"], sector["colour"], sector["children"]) == ("S2", "orange", [])


def test_a_reading_out_of_band_shows_before_its_warning_fires(
        world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "for": "30m", "actions": {}})
    _fresh(uow)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=1)).isoformat(), 3.6, device="WL-A")],
           now=NOW)
    t = _tree(uow, session_factory, "bob", now=NOW)
    assert (t["RIVER_LEVEL"]["colour"], t["RIVER_LEVEL"]["reasons"], t["RIVER_LEVEL"]["pending"]) == \
        ("blue", ["pending"], 1)
    assert t["S2"]["colour"] == "blue"


def test_stale_or_missing_data_of_a_realtime_indicator_is_never_green(
        world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    load_sensing(uow)
    # nothing has reported yet: every real-time indicator has no data
    t = _tree(uow, session_factory, "bob", now=NOW)
    assert {t[c]["colour"] for c in ("RIVER_LEVEL", "OUTAGES", "MANHOLE_OPEN")} == {"yellow"}
    assert t["MANHOLE_OPEN"]["reasons"] == ["no_data"]

    _fresh(uow)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=1)).isoformat(), 1.0, device="WL-A")],
           now=NOW)
    assert _tree(uow, session_factory, "bob", now=NOW)["S2"]["colour"] == "green"
    # an hour later the 5-minute river gauge (3 intervals = 15 min) and the 1-minute manhole sensor
    # are stale; the hourly outage count is not
    later = _tree(uow, session_factory, "bob", now=NOW + timedelta(hours=1))
    assert (later["RIVER_LEVEL"]["colour"], later["RIVER_LEVEL"]["stale"], later["RIVER_LEVEL"]["series"]) == \
        ("orange", 1, 1)
    assert later["MANHOLE_OPEN"]["reasons"] == ["stale"]
    assert later["OUTAGES"]["colour"] == "green"
    # half an hour later the district sees both river series (towns A and B) stale
    district = _tree(uow, session_factory, "alice", now=NOW + timedelta(minutes=30))
    assert (district["RIVER_LEVEL"]["stale"], district["RIVER_LEVEL"]["series"]) == (2, 2)


def test_the_rule_is_data_checked_at_the_field_and_audited(
        api: Api, world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    load_sensing(uow)
    wc.create_rule(uow, SYSTEM, {**RIVER, "actions": {}})
    _fresh(uow)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (NOW - timedelta(minutes=1)).isoformat(), 3.6, device="WL-A")],
           now=NOW)  # red
    assert _tree(uow, session_factory, "bob", now=NOW)["S2.R1"]["colour"] == "red"

    bad = api.request("PUT", "/api/vital-signs/rule", "admin", 422,
                      json={"document": {"rollup": {"red": {"min_count": 0}}}})
    assert bad["field"] == "rollup.red.min_count"
    bad = api.request("PUT", "/api/vital-signs/rule", "admin", 422,
                      json={"document": {"stale_colours": [{"min_share": 0.1, "colour": "yellow"},
                                                           {"min_share": 0.5, "colour": "orange"}]}})
    assert bad["field"] == "stale_colours[1]"
    api.request("PUT", "/api/vital-signs/rule", "bob", 403, json={"document": {}})

    # a runway turns red only when two of its sub-runways are red; one red one makes it orange
    rule = {"rollup": {"red": {"min_count": 2, "min_share": 0}}, "no_data_colour": None}
    saved = api.request("PUT", "/api/vital-signs/rule", "admin", json={"document": rule, "version": 0})
    assert saved["custom"] and saved["version"] == 1
    t = _tree(uow, session_factory, "bob", now=NOW)
    assert (t["S2.R1.1"]["colour"], t["S2.R1"]["colour"], t["S2"]["colour"]) == ("orange", "orange", "orange")
    assert t["RIVER_LEVEL"]["colour"] == "red"
    api.request("PUT", "/api/vital-signs/rule", "admin", 409, json={"document": rule, "version": 0})
    with session_factory() as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "vital_sign_rule.update")).all()
        assert entry.details["after"] == rule and entry.details["before"] is None

    api.request("PUT", "/api/vital-signs/rule", "admin", json={"document": None})
    assert api.get("/api/vital-signs/rule", who="bob")["custom"] is False
    assert _tree(uow, session_factory, "bob", now=NOW)["S2.R1"]["colour"] == "red"


def test_runways_and_sectors_get_their_lead_units_from_the_indicator_file(
        api: Api, world: World, uow: UnitOfWork) -> None:
    led = [{**r, "sector_lead_unit_code": "C500111", "runway_lead_unit_code": "D500111-SWJ"}
           if r["runway_code"] == "S2.R1" else r for r in INDICATORS]
    assert not import_indicators(uow, rows(*led), SYSTEM).errors
    clash = [{**led[0], "runway_lead_unit_code": "D500111-CGJ"}, {**led[2], "code": "OTHER"}]
    report = import_indicators(uow, rows(*clash), SYSTEM)
    assert [(e.row, e.column) for e in report.errors] == [(3, "runway_lead_unit_code")]
    unknown = import_indicators(uow, rows({**led[0], "sector_lead_unit_code": "NOPE"}), SYSTEM)
    assert [(e.column, e.value) for e in unknown.errors] == [("sector_lead_unit_code", "NOPE")]

    tree = api.get("/api/vital-signs", who="bob")
    [sector] = tree["sectors"]
    runways = {r["code"]: r for r in sector["children"]}
    assert (sector["lead_unit_code"], runways["S2.R1"]["lead_unit_name"], runways["S2.R2"]["lead_unit_code"]) == \
        ("C500111", "大足区水务公司", None)
    exported = {r["code"]: r for r in export_indicators(uow, SYSTEM)}
    assert exported["RIVER_LEVEL"]["runway_lead_unit_code"] == "D500111-SWJ"
    assert exported["MANHOLE_OPEN"]["runway_lead_unit_code"] == ""
    # a blank cell leaves the lead unit as it is: re-importing the first file changes nothing
    assert import_indicators(uow, rows(*INDICATORS), SYSTEM).updated == 0
    assert api.get("/api/vital-signs?depth=runway", who="bob")["sectors"][0]["lead_unit_code"] == "C500111"
    assert api.get("/api/vital-signs?depth=planet", who="bob", status=422)["field"] == "depth"


def test_the_colours_come_from_a_few_queries_whatever_the_number_of_indicators(
        world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    from sqlalchemy import event

    many = [{**INDICATORS[0], "code": f"RL{i:03d}", "name": f"水位{i}", "sub_runway_code": f"S2.R1.{i % 7}",
             "sub_runway_name": f"子跑道{i % 7}"} for i in range(150)]
    assert not import_indicators(uow, rows(*many), SYSTEM).errors
    ingest(uow, SYSTEM, [reading(f"RL{i:03d}", T0.isoformat(), 1.0, area="500111001") for i in range(150)],
           now=NOW)
    engine = session_factory.kw["bind"]
    statements: list[str] = []

    def count(*_a: Any) -> None:
        statements.append("x")

    with session_factory() as s:
        alice = resolve_actor(s, "alice")
    event.listen(engine, "before_cursor_execute", count)
    try:
        tree = vsv.vital_signs(uow, alice, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    [sector] = tree["sectors"]
    assert sector["colour"] == "orange" and sector["counts"]["orange"] == 150
    assert len(statements) <= 10, f"{len(statements)} statements for 150 indicators"
