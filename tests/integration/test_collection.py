"""Collection governance (采集治理, issue #22): what each indicator should report against what arrived, the
staleness alarm to the owner, the online plan, and the runway lead unit scored on its data.

alice is the district's dispatcher, bob town A's duty officer, frank town B's, admin the administrator;
erin works at the water company (D500111-SWJ), which owns the test tree's indicators and — here — leads
its runway 水务. The river gauge WL-A stands in town A (tests/sensing_data.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_notices import NoticeChain
from shuzhi.adapters.db.tables_sensing import IndicatorIntakeDay
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services import evaluation as ev
from shuzhi.services.actors import SYSTEM, resolve_actor
from shuzhi.services.evaluation_schemes import save_scheme
from shuzhi.services.sensing import collection, warning_checks
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing.indicators import import_indicators
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_warnings import RIVER
from tests.sensing_data import INDICATORS, load_sensing, reading, rows


def _led(uow: UnitOfWork, *, evaluable: bool = False) -> None:
    """The test tree, its runway 水务 led by the water company (and its indicators evaluable if asked)."""
    load_sensing(uow)
    led = [{**r, "runway_lead_unit_code": "D500111-SWJ" if r["runway_code"] == "S2.R1" else "",
            "evaluable": "是" if evaluable else "否"} for r in INDICATORS]
    report = import_indicators(uow, rows(*led), SYSTEM)
    assert not report.errors, report.errors


def _by(items: list[dict[str, Any]], key: str, value: Any) -> dict[str, Any]:
    return next(x for x in items if x[key] == value)


def test_each_indicator_is_counted_against_what_it_should_report(api: Api, world: World, uow: UnitOfWork,
                                                                  session_factory: sessionmaker[Session]) -> None:
    _led(uow)
    now = datetime.now(UTC).replace(microsecond=0)
    iso = lambda t: t.isoformat()  # noqa: E731
    got = ingest(uow, SYSTEM, [
        reading("RIVER_LEVEL", iso(now - timedelta(minutes=1)), 1.2, device="WL-A"),
        reading("RIVER_LEVEL", iso(now - timedelta(minutes=1)), 1.2, device="WL-A"),  # the same one again
        reading("RIVER_LEVEL", iso(now), "high", device="WL-A"),  # rejected: not a number
        reading("NOPE", iso(now), 1, area="500111001"),  # rejected, names no indicator there is
        # the town's outages, five hours old, arrive only now: late, and the series is stale (3 × 1 h)
        reading("OUTAGES", iso(now - timedelta(hours=5)), 2, area="500111001"),
    ], now=now)
    assert (got.accepted, got.duplicate, got.rejected) == (2, 1, 2)
    with session_factory() as s:
        days = {(d.indicator_id, d.day): (d.received, d.accepted, d.late, d.rejected, d.duplicate)
                for d in s.scalars(select(IndicatorIntakeDay))}
    today = now.astimezone(SHANGHAI).date()
    assert sorted(days.values()) == [(1, 1, 1, 0, 0), (3, 1, 0, 1, 1)]
    assert all(day == today for _, day in days)

    d = api.get("/api/collection?window_h=24", who="alice")
    river, outages, manholes = (_by(d["indicators"], "code", c) for c in ("RIVER_LEVEL", "OUTAGES", "MANHOLE_OPEN"))
    assert (river["expected_series"], river["reporting_series"], river["coverage"], river["stale_series"],
            river["rejected"], river["duplicate"], river["late"]) == (1, 1, 1.0, 0, 1, 1, 0)
    # every 5 minutes for a day is 288 readings; one came: the rest are gaps
    assert (river["readings"], river["expected_readings"], river["gaps"]) == (1, 288, 287)
    assert (outages["stale_series"], outages["freshness"], outages["late"]) == (1, 0.0, 1)
    assert (manholes["expected_series"], manholes["reporting_series"], manholes["coverage"]) == (1, 0, 0.0)
    assert d["indicators"][0]["code"] == "MANHOLE_OPEN", "the least covered first"
    assert d["totals"]["stale_series"] == 1 and d["totals"]["rejected"] == 1
    source = _by(d["sources"], "source_system", "水文监测平台")
    assert (source["indicators"], source["expected_series"], source["reporting_series"]) == (3, 3, 2)
    lead = _by(d["lead_units"], "unit_code", "D500111-SWJ")
    assert (lead["indicators"], lead["stale_series"]) == (2, 1)
    [stale] = d["stale_series"]
    assert (stale["indicator_code"], stale["series_key"], stale["owner_unit_code"], stale["warning_id"]) == \
        ("OUTAGES", "500111001", "D500111-SWJ", None)
    assert stale["silent_s"] >= 5 * 3600

    # frank (town B) sees neither town A's gauge nor its silent series
    b = api.get("/api/collection", who="frank")
    assert {x["code"] for x in b["indicators"]} <= {"MANHOLE_OPEN"}
    assert b["stale_series"] == []
    api.get("/api/collection?window_h=0", who="alice", status=422)


def test_a_silent_series_raises_a_no_data_warning_told_to_its_owner(api: Api, world: World, uow: UnitOfWork,
                                                                    session_factory: sessionmaker[Session]) -> None:
    _led(uow)
    now = datetime.now(UTC).replace(microsecond=0)
    # the river has a rule of its own without a no-data condition: the staleness alarm is added to it
    wc.create_rule(uow, SYSTEM, RIVER)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (now - timedelta(minutes=10)).isoformat(), 1.0, device="WL-A"),
                         reading("OUTAGES", (now - timedelta(minutes=170)).isoformat(), 0, area="500111001")],
           now=now - timedelta(minutes=5))
    warning_checks.check_no_data(uow, now)
    with session_factory() as s:
        assert s.scalars(select(IndicatorWarning)).all() == [], "10 min of a 5-min gauge, 170 of an hourly: not stale"
    later = now + timedelta(minutes=11)  # the gauge 21 min silent (> 15), the outages 181 min (> 180)
    warning_checks.check_no_data(uow, later)
    with session_factory() as s:
        fired = {(w.indicator_code, w.series_key): (w.state, w.level, w.rule_code)
                 for w in s.scalars(select(IndicatorWarning))}
        chains = {(c.kind, c.subject, c.unit_id) for c in s.scalars(select(NoticeChain))}
    assert fired == {("RIVER_LEVEL", "WL-A"): ("firing", "blue", RIVER["code"]),
                     ("OUTAGES", "500111001"): ("firing", "blue", "STALE.OUTAGES")}
    owner = world.units["D500111-SWJ"].id
    assert chains == {("warning.no_data", "no_data:RIVER_LEVEL:WL-A", owner),
                      ("warning.no_data", "no_data:OUTAGES:500111001", owner)}
    with session_factory() as s:
        alice = resolve_actor(s, "alice")
    stale = {x["indicator_code"]: x for x in collection.governance(uow, alice, now=later)["stale_series"]}
    assert stale["OUTAGES"]["warning_level"] == "blue"
    # the next reading ends it
    back = later + timedelta(minutes=1)
    ingest(uow, SYSTEM, [reading("OUTAGES", back.isoformat(), 0, area="500111001")], now=back)
    with session_factory() as s:
        w = s.scalar(select(IndicatorWarning).where(IndicatorWarning.indicator_code == "OUTAGES"))
        assert w is not None and w.state == "resolved"


def test_the_online_plan_shows_planned_against_online_by_date(api: Api, world: World, uow: UnitOfWork) -> None:
    _led(uow)
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", datetime.now(UTC).isoformat(), 1.0, device="WL-A")])
    plan = [{"indicator_code": "RIVER_LEVEL", "batch": "第一批", "planned_on": str(today - timedelta(days=10))},
            {"indicator_code": "OUTAGES", "batch": "第一批", "planned_on": str(today - timedelta(days=10)),
             "online_on": str(today - timedelta(days=8))},
            {"indicator_code": "MANHOLE_OPEN", "batch": "第二批", "planned_on": str(today - timedelta(days=1))},
            {"indicator_code": "BRIDGE_NEW", "batch": "第三批", "planned_on": str(today + timedelta(days=30))}]
    got = api.request("PUT", "/api/collection/plan", "admin", json={"entries": plan})
    assert (got["planned"], got["online"], got["overdue"], got["due"]) == (4, 2, 1, 3)
    batches = {b["batch"]: (b["planned"], b["online"], b["overdue"]) for b in got["batches"]}
    assert batches == {"第一批": (2, 2, 0), "第二批": (1, 0, 1), "第三批": (1, 0, 0)}
    by_date = {x["date"]: (x["planned"], x["online"]) for x in got["by_date"]}
    assert by_date[str(today - timedelta(days=8))] == (2, 1)
    assert by_date[str(today)] == (3, 2), "the river came online today: it had readings when planned"
    # the worker marks an indicator online once its first reading is seen
    ingest(uow, SYSTEM, [reading("MANHOLE_OPEN", datetime.now(UTC).isoformat(), 0, device="MH-A1")])
    assert collection.mark_online(uow) == 1
    assert api.get("/api/collection/plan", who="bob")["online"] == 3
    bad = api.request("PUT", "/api/collection/plan", "admin", 422,
                      json={"entries": [{**plan[0], "planned_on": "2026-13-40"}]})
    assert bad["field"] == "entries[0].planned_on"
    api.request("PUT", "/api/collection/plan", "bob", 403, json={"entries": plan})


def test_a_runway_lead_unit_is_scored_on_its_data_and_its_warnings(api: Api, world: World, uow: UnitOfWork,
                                                                   session_factory: sessionmaker[Session]) -> None:
    _led(uow, evaluable=True)
    wc.create_rule(uow, SYSTEM, RIVER)
    now = datetime.now(UTC).replace(microsecond=0)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (now - timedelta(minutes=2)).isoformat(), 3.2, device="WL-A")],
           now=now)
    with session_factory() as s:
        w = s.scalar(select(IndicatorWarning))
        assert w is not None and w.state == "firing"
    api.post(f"/api/warnings/{w.id}/ack", "alice", {"comment": "已通知水务公司"})
    scheme = {**_scheme(), "items": [{"rate": "data_coverage_rate", "weight": 50, "full_mark_at": 1, "zero_at": 0},
                                     {"rate": "warning_ack_on_time_rate", "weight": 50, "full_mark_at": 1,
                                      "zero_at": 0}]}
    save_scheme(uow, SYSTEM, "runways", "跑道考核", scheme, activate=True)
    with session_factory() as s:
        alice = resolve_actor(s, "alice")
    period = now.astimezone(SHANGHAI).date().isoformat()
    r = ev.rankings(uow, alice, by="unit", area=None, period=f"{period}..{period}")
    swj = _by(r["ranking"], "code", "D500111-SWJ")
    # RIVER_LEVEL (1 of 1 series) and OUTAGES (listed for town A, silent: 0 of 1); one warning, acknowledged
    assert (swj["runway_indicators"], swj["runway_series_expected"], swj["runway_series_reporting"]) == (2, 2, 1)
    assert (swj["data_coverage_rate"], swj["runway_warnings"], swj["warning_ack_on_time_rate"]) == (0.5, 1, 1.0)
    assert swj["score_items"]["data_coverage_rate"] == 25.0 and swj["score"] == 75.0
    # the page shows the same figures
    page = api.get(f"/api/evaluation/rankings?by=unit&period={period}..{period}", who="alice")
    assert _by(page["ranking"], "code", "D500111-SWJ")["data_coverage_rate"] == 0.5


def _scheme() -> dict[str, Any]:
    from shuzhi.domain.scoring import DEFAULT_SCHEME

    return dict(DEFAULT_SCHEME)
