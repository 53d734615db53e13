"""The rectification loop of a risk point (整改闭环, issue #22) and the flood-season view (汛期).

alice is the district's dispatcher (she may register points and carry rectifications), bob town A's duty
officer, frank town B's. Point YL-001 stands in town A at the river gauge WL-A (tests/sensing_data.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_sensing import RiskPointChange
from shuzhi.services.actors import SYSTEM
from shuzhi.services.sensing import rectification
from shuzhi.services.sensing import risk_points as rps
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_risk_points import POINT
from tests.sensing_data import load_sensing, reading, rows

# Monday 2026-06-15 10:00 in Shanghai: five working days run past the Dragon Boat Festival (Friday 19th,
# a holiday) and the weekend to Tuesday 2026-06-23
MONDAY = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


def _point(uow: UnitOfWork, **extra: str) -> None:
    load_sensing(uow)
    report = rps.import_risk_points(uow, rows({**POINT, **extra}), SYSTEM)
    assert not report.errors, report.errors


def _lines(session_factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with session_factory() as s:
        return [(c.action, c.reason) for c in s.scalars(select(RiskPointChange).order_by(RiskPointChange.id))]


def test_a_rectification_runs_found_measures_done_verified_on_the_timeline_and_the_map(
        api: Api, world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    _point(uow)
    base = "/api/risk-points/YL-001/rectifications"
    r = api.post(base, "alice", {"finding": "排水口被淤泥堵塞"})
    assert (r["state"], r["clock"], r["actions"]) == ("found", None, ["cancelled", "measures"])
    assert api.get("/api/risk-points?state=in_rectification", who="bob")[0]["code"] == "YL-001"
    api.post(base, "alice", {"finding": "again"}, status=422)  # one open rectification at a time
    step = f"{base}/{r['id']}"
    # bad steps: an action the table does not allow, a deadline out of range, a stale version
    assert api.post(step, "alice", {"action": "verified", "note": "x"}, status=422)["field"] == "action"
    assert api.post(step, "alice", {"action": "measures", "measures": "清淤", "working_days": 0},
                    status=422)["field"] == "working_days"
    assert api.post(step, "alice", {"action": "nope", "note": "x"}, status=422)["field"] == "action"
    r = api.post(step, "alice", {"action": "measures", "measures": "清淤并加装格栅", "working_days": 5,
                                 "version": r["version"]})
    assert (r["state"], r["working_days"], r["clock"]) == ("in_progress", 5, "running")
    api.post(step, "alice", {"action": "done", "note": "x", "version": r["version"] - 1}, status=409)
    r = api.post(step, "alice", {"action": "done", "note": "已清淤，格栅已装"})
    r = api.post(step, "alice", {"action": "rejected", "note": "格栅未固定"})
    assert (r["state"], r["done_at"]) == ("in_progress", None)
    r = api.post(step, "alice", {"action": "done", "note": "格栅已固定"})
    assert api.get("/api/rectifications", who="bob")[0]["state"] == "done"
    r = api.post(step, "alice", {"action": "verified", "note": "现场验收合格"})
    assert (r["state"], r["closed_by"][:2], r["actions"]) == ("verified", "王丽", [])
    point = api.get("/api/risk-points/YL-001", who="bob")
    assert point["state"] == "normal" and point["rectifications"][0]["state"] == "verified"
    assert [(x["action"], x["reason"]) for x in point["timeline"]] == [
        ("rectification.found", "排水口被淤泥堵塞"), ("rectification.measures", "清淤并加装格栅（5个工作日）"),
        ("rectification.done", "已清淤，格栅已装"), ("rectification.rejected", "格栅未固定"),
        ("rectification.done", "格栅已固定"), ("rectification.verified", "现场验收合格")]
    assert api.get("/api/rectifications", who="bob") == []
    # frank (town B) does not find the point; bob (duty officer) may read but not carry a rectification
    api.get("/api/risk-points/YL-001", who="frank", status=404)
    api.post(base, "bob", {"finding": "x"}, status=403)


def test_the_deadline_counts_working_days_and_the_sweep_reminds_then_marks_overdue(
        world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    _point(uow)
    with session_factory() as s:
        from shuzhi.services.actors import resolve_actor

        alice = resolve_actor(s, "alice")
    r = rectification.start(uow, alice, "YL-001", finding="护栏缺失", now=MONDAY)
    r = rectification.step(uow, alice, "YL-001", r["id"], "measures", measures="补装护栏", working_days=5, now=MONDAY)
    deadline = r["deadline_at"]
    assert deadline.astimezone(UTC).date() == datetime(2026, 6, 23).date(), "Mon + 5 working days, 端午 off"
    assert rectification.sweep(uow, MONDAY + timedelta(days=1)) == (0, 0)
    # the holiday is no working day: on Friday the 19th more than one working day is left
    assert rectification.sweep(uow, datetime(2026, 6, 19, 3, 0, tzinfo=UTC)) == (0, 0)
    # Monday the 22nd, 11:00: one working day left → reminded once
    monday = datetime(2026, 6, 22, 3, 0, tzinfo=UTC)
    assert rectification.sweep(uow, monday) == (1, 0)
    assert rectification.sweep(uow, monday + timedelta(minutes=5)) == (0, 0)
    assert [c["clock"] for c in rectification.list_open(uow, alice, now=monday)] == ["due_soon"]
    late = deadline + timedelta(minutes=1)
    assert rectification.sweep(uow, late) == (0, 1)
    assert rectification.sweep(uow, late + timedelta(hours=1)) == (0, 0)
    assert [c["point_code"] for c in rectification.list_open(uow, alice, clock="overdue", now=late)] == ["YL-001"]
    assert [a for a, _ in _lines(session_factory)] == [
        "rectification.found", "rectification.measures", "rectification.reminded", "rectification.overdue"]
    # both reached the responsible unit through the notices engine (its policies, its channels)
    from shuzhi.adapters.db.tables_notices import Notice, NoticeChain

    with session_factory() as s:
        chains = [(c.kind, c.unit_id, c.policy_code) for c in s.scalars(select(NoticeChain).order_by(NoticeChain.id))]
        notices = {(n.kind, n.channel) for n in s.scalars(select(Notice))}
        texts = [n.body for n in s.scalars(select(Notice).where(Notice.channel == "inapp").order_by(Notice.id))]
    unit = world.units["C500111001"].id
    assert chains == [("rectification.due", unit, "rectification-due"),
                      ("rectification.overdue", unit, "rectification-overdue")]
    assert {("rectification.due", "inapp"), ("rectification.overdue", "inapp")} <= notices
    assert "整改提醒YL-001" in texts[0] and "6月23日" in texts[0] and "整改逾期YL-001" in texts[-1]
    # new measures give a new deadline, and a new reminder when it comes near
    rectification.step(uow, alice, "YL-001", r["id"], "measures", measures="换用加高护栏", working_days=2, now=late)
    assert rectification.list_open(uow, alice, now=late)[0]["clock"] in ("running", "due_soon")


def test_the_flood_season_view_takes_the_nearest_series_within_the_radius(api: Api, world: World,
                                                                          uow: UnitOfWork) -> None:
    # the point stands 300 m from the gauge WL-A; the rainfall is the town's (its centroid) or attached
    _point(uow, lon="105.713", lat="29.705", series="RIVER_LEVEL@500111001")
    now = datetime.now(UTC).replace(microsecond=0)
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", (now - timedelta(minutes=1)).isoformat(), 2.1, device="WL-A")])
    got = api.get("/api/flood-season?radius_m=1000&rain=RIVER_LEVEL&level=RIVER_LEVEL&depth=", who="bob")
    [p] = got["points"]
    assert (p["code"], p["state"]) == ("YL-001", "normal")
    level = p["water_level"]
    assert (level["series_key"], level["value"], level["via"], level["stale"]) == ("WL-A", 2.1, "nearest", False)
    assert 250 <= level["distance_m"] <= 350
    assert "water_depth" not in p and got["counts"] == {"normal": 1}
    # 100 m is too short: the point's own watching series (the gauge attached to it) is taken instead,
    # said so; a measure with neither (no depth gauge) is None
    near = api.get("/api/flood-season?radius_m=100", who="bob")["points"][0]
    assert (near["water_level"]["series_key"], near["water_level"]["via"]) == ("WL-A", "attached")
    assert near["water_depth"] is None
    # frank (town B) sees no 易涝点; a bad radius or kind is refused
    assert api.get("/api/flood-season", who="frank")["points"] == []
    api.get("/api/flood-season?radius_m=0", who="bob", status=422)
    api.get("/api/flood-season?kind=volcano", who="bob", status=422)
