"""Eight events with outcomes worked out by hand check every figure and rate exactly (both engines).

The week of 3–7 June 2024 (Monday–Friday, working days; Monday 10 June is the Dragon Boat holiday);
class limits: accept 2 working hours, handle 5 working days (35 working hours, 09–12 and 14–18).
Judged at 20 June 12:00.  The expected numbers are derived in the comments, not computed by the code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.services import commands as c
from shuzhi.services import evaluation as ev
from shuzhi.services import evaluation_schemes, task_handling
from shuzhi.services import handling as h
from shuzhi.services.actors import resolve_actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.intake import submit_event
from shuzhi.services.rollups import apply_all_incrementally, rebuild_matches, recount, refresh_rollups, stored
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 20, 12, 0, tzinfo=SH)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 6, day, hour, minute, tzinfo=SH).astimezone(UTC)


def _play(factory: sessionmaker[Session], world: World) -> None:
    uow = lambda: UnitOfWork(factory)  # noqa: E731
    with factory() as s:
        alice, bob, carol, dave, erin = (resolve_actor(s, n) for n in ("alice", "bob", "carol", "dave", "erin"))

    def submit(day: int, hour: int, minute: int = 0, **kw: object) -> str:
        body = {"source": "hotline", "request_type": "complain", "event_class_code": "0101", "title": "井盖破损",
                "lon": World.A1[0], "lat": World.A1[1]}
        body.update(kw)
        return submit_event(uow(), c.SubmitEvent(**body), alice, now=at(day, hour, minute)).number

    def lead(unit: str) -> c.Dispatch:
        return c.Dispatch(units=[c.UnitAssignment(unit_code=unit)])

    def task_of(number: str, unit: str) -> int:
        with factory() as s:
            e = h.load_event(s, number)
            return [t.id for t in e.tasks if t.unit.code == unit and t.state not in ("returned", "cancelled",
                                                                                       "verified")][-1]

    ok = c.OptionalReason()
    # E1: on time everywhere, closed, satisfied.
    e1 = submit(3, 9)
    h.dispatch(uow(), e1, lead("D500111-CGJ"), alice, now=at(3, 9, 30))
    t = task_of(e1, "D500111-CGJ")
    task_handling.accept_task(uow(), e1, t, ok, carol, now=at(3, 10))
    task_handling.report_back(uow(), e1, t, c.ReportBack(result="已修复"), carol, now=at(4, 10))
    h.verify(uow(), e1, c.Verify(passed=True), alice, now=at(4, 11))
    h.close(uow(), e1, ok, alice, now=at(4, 11))
    h.callback(uow(), e1, c.Callback(satisfied=True), alice, now=at(5, 10))
    # E2: misrouted to water, returned, re-dispatched, accepted late, reworked once, closed.
    e2 = submit(3, 14)
    h.dispatch(uow(), e2, lead("D500111-SWJ"), alice, now=at(3, 14))
    task_handling.return_task(uow(), e2, task_of(e2, "D500111-SWJ"), c.WithReason(reason="非我单位职责"), erin,
                              now=at(3, 15))
    h.dispatch(uow(), e2, lead("D500111-CGJ"), alice, now=at(3, 15, 30))
    t = task_of(e2, "D500111-CGJ")
    task_handling.accept_task(uow(), e2, t, ok, carol, now=at(4, 9))
    task_handling.report_back(uow(), e2, t, c.ReportBack(result="已处理"), carol, now=at(5, 10))
    h.verify(uow(), e2, c.Verify(passed=False, reason="未修复"), alice, now=at(5, 11))
    task_handling.report_back(uow(), e2, t, c.ReportBack(result="已修复"), carol, now=at(6, 10))
    h.verify(uow(), e2, c.Verify(passed=True), alice, now=at(6, 11))
    h.close(uow(), e2, ok, alice, now=at(6, 11))
    # E3: never signed for; overdue by the judging time.
    e3 = submit(4, 9)
    h.dispatch(uow(), e3, lead("D500111-CGJ"), alice, now=at(4, 9))
    # E4: accepted, then suspended (挂起) for good: deferred.
    e4 = submit(5, 9)
    h.dispatch(uow(), e4, lead("D500111-CGJ"), alice, now=at(5, 9))
    t = task_of(e4, "D500111-CGJ")
    task_handling.accept_task(uow(), e4, t, ok, carol, now=at(5, 9, 30))
    task_handling.suspend_task(uow(), e4, t, c.WithReason(reason="等待天气"), alice, now=at(5, 10))
    # E5: a grid worker fixes it on the spot; closed and called back satisfied.
    e5 = submit(6, 10, source="grid_patrol", request_type="report")
    h.self_handle(uow(), e5, c.SelfHandle(result="已现场处置"), dave, now=at(6, 10))
    h.verify(uow(), e5, c.Verify(passed=True), bob, now=at(6, 11))
    h.close(uow(), e5, ok, bob, now=at(6, 11))
    h.callback(uow(), e5, c.Callback(satisfied=True), bob, now=at(7, 9))
    # E6: notify-only (抄送知悉), read.
    e6 = submit(7, 9, event_class_code="9001", title="停水通知")
    h.notify(uow(), e6, c.Notify(unit_codes=["C500111001"]), alice, now=at(7, 9))
    task_handling.read_task(uow(), e6, task_of(e6, "C500111001"), bob, now=at(7, 9, 30))
    # E7: cancelled as invalid.
    e7 = submit(7, 10)
    h.cancel(uow(), e7, c.WithReason(reason="无效报件"), alice, now=at(7, 10, 30))
    # E8: closed, called back dissatisfied, redone by a new task, closed again.
    e8 = submit(3, 9, event_class_code="0201", title="暴露垃圾")
    h.dispatch(uow(), e8, lead("D500111-CGJ"), alice, now=at(3, 9))
    t = task_of(e8, "D500111-CGJ")
    task_handling.accept_task(uow(), e8, t, ok, carol, now=at(3, 9))
    task_handling.report_back(uow(), e8, t, c.ReportBack(result="已清运"), carol, now=at(3, 10))
    h.verify(uow(), e8, c.Verify(passed=True), alice, now=at(3, 10, 30))
    h.close(uow(), e8, ok, alice, now=at(3, 10, 30))
    h.callback(uow(), e8, c.Callback(satisfied=False, comment="仍有垃圾"), alice, now=at(4, 9))
    t = task_of(e8, "D500111-CGJ")
    task_handling.accept_task(uow(), e8, t, ok, carol, now=at(4, 9, 30))
    task_handling.report_back(uow(), e8, t, c.ReportBack(result="已清运"), carol, now=at(4, 11))
    h.verify(uow(), e8, c.Verify(passed=True), alice, now=at(4, 11, 30))
    h.close(uow(), e8, ok, alice, now=at(4, 11, 30))


EXPECTED_JUNE = {
    "received": 8, "registered": 7,  # E7 cancelled
    "dispatched": 5, "dispatched_accurately": 4, "returned": 1,  # E1 E2 E3 E4 E8; E2 returned
    "self_handled": 1,  # E5
    "accepted_on_time": 5, "accepted_late": 2,  # E1 E4 E5 E8×2 / E2 (CGJ, next morning), E3 (never)
    "accepted": 6,
    "handled_on_time": 5, "handled_overdue": 1,  # E1 E2 E5 E8×2 / E3; E4 is suspended
    "task_reports": 5, "handled": 4, "reworked": 2,  # handled E1 E2 E5 E8; reworked E2 (verify) E8 (call-back)
    "due": 6, "deferred": 1, "due_closed": 4, "due_closed_on_time": 4, "closed": 4,
    "called_back": 3, "satisfied": 2,
}
EXPECTED_RATES = {
    "closure_rate": 4 / 5, "on_time_closure_rate": 4 / 5, "accurate_dispatch_rate": 4 / 5, "rework_rate": 2 / 4,
    "satisfaction_rate": 2 / 3, "accept_on_time_rate": 5 / 7, "on_time_handling_rate": 5 / 6,
    # accept: E1 0.5 h, E2 17.5 h (2.5 working), E4 0.5 h, E5 0, E8 0 and 0.5 h → 20 h (4 working) / 6
    "avg_accept_hours": 19 / 6, "avg_accept_work_hours": 4 / 6,
    # dispatch → report: E1 24.5 h (7.5 w), E2 66.5 h (17.5 w), E5 0, E8 1 h and 2 h → 94 h (28 w) / 5
    "avg_handle_hours": 94 / 5, "avg_handle_work_hours": 28 / 5,
}


@pytest.fixture
def played(session_factory: sessionmaker[Session], world: World) -> sessionmaker[Session]:
    _play(session_factory, world)
    refresh_rollups(UnitOfWork(session_factory), NOW)
    return session_factory


def _figures(factory: sessionmaker[Session], who: str = "alice", **kw: object) -> dict:
    with factory() as s:
        actor = resolve_actor(s, who)
    params = {"area": "500111", "period": "2024-06"}
    params.update(kw)
    return ev.figures(UnitOfWork(factory), actor, **params)


def test_every_figure_and_rate_of_june(played: sessionmaker[Session]) -> None:
    out = _figures(played)
    assert out["computed_from"] == "rollup"
    total = out["total"]
    for name, value in EXPECTED_JUNE.items():
        assert total[name] == value, name
    for name, value in EXPECTED_RATES.items():
        assert total[name] == pytest.approx(value), name


def test_village_figures_are_counted_directly_and_agree(played: sessionmaker[Session]) -> None:
    out = _figures(played, area="500111001001")
    assert out["computed_from"] == "direct"
    for name, value in EXPECTED_JUNE.items():
        assert out["total"][name] == value, name


def test_figures_fall_on_the_day_of_their_moment(played: sessionmaker[Session]) -> None:
    days = {g["key"]: g for g in _figures(played, group_by="day")["groups"]}
    # deadlines: E1 E2 E3 E8(redo) on Tue 11 June (after the holiday), E4 on the 12th, E5 on the 14th
    assert days["2024-06-11"]["due"] == 4
    assert days["2024-06-12"]["deferred"] == 1
    assert days["2024-06-14"]["due_closed_on_time"] == 1
    assert days["2024-06-07"]["handled_on_time"] == 1  # E8's first task, due Friday 18:00
    assert days["2024-06-03"]["received"] == 3 and days["2024-06-03"]["accepted_late"] == 1
    week = _figures(played, period="2024-W23")["total"]  # 3–9 June: no deadline of a due case falls in it
    assert week["received"] == 8 and week["due"] == 0 and week["closure_rate"] is None


def test_figures_per_unit(played: sessionmaker[Session]) -> None:
    units = {g["code"]: g for g in _figures(played, group_by="unit")["groups"]}
    cgj = units["D500111-CGJ"]
    assert (cgj["due"], cgj["deferred"], cgj["due_closed"]) == (5, 1, 3)
    assert (cgj["accepted_on_time"], cgj["accepted_late"], cgj["handled_overdue"]) == (4, 2, 1)
    grid = units["G500111001001001"]
    assert (grid["self_handled"], grid["due_closed_on_time"], grid["satisfied"]) == (1, 1, 1)
    assert units["C500111"]["received"] == 7 and units["C500111001"]["received"] == 1
    only = _figures(played, unit="D500111-CGJ")["total"]
    assert only["due"] == 5 and only["received"] == 0


def test_a_town_user_never_sees_another_town(played: sessionmaker[Session]) -> None:
    frank = _figures(played, who="frank")  # town B: all events are in town A
    assert frank["total"]["received"] == 0 and frank["total"]["due"] == 0
    bob = _figures(played, who="bob")
    assert bob["total"]["received"] == 8


def test_rollups_equal_a_recount(played: sessionmaker[Session]) -> None:
    with played() as s:
        assert stored(s) == recount(s, NOW)


def test_a_unit_kind_filter_counts_only_those_units_whatever_the_grouping(played: sessionmaker[Session]) -> None:
    per_unit = _figures(played, group_by="unit")
    departments = [g for g in per_unit["groups"] if g.get("kind") == "department"]
    assert departments and len(departments) < len(per_unit["groups"])
    expected = {m: sum(g[m] for g in departments) for m in ("received", "due", "handled_on_time")}
    for group_by in (None, "area", "class", "source"):
        kw = {"group_by": group_by} if group_by else {}
        total = _figures(played, unit_kind="department", **kw)["total"]
        assert {m: total[m] for m in expected} == expected, group_by
    only = _figures(played, group_by="unit", unit_kind="department")["groups"]
    assert sorted(g["code"] for g in only) == sorted(g["code"] for g in departments)


def test_rebuild_from_scratch_equals_the_incremental_rollups(played: sessionmaker[Session]) -> None:
    """On PostgreSQL the rebuild is the set-based SQL one: same facts, same sums, same figures."""
    before = _figures(played, group_by="unit")
    apply_all_incrementally(UnitOfWork(played), NOW)
    same, why = rebuild_matches(UnitOfWork(played), NOW)
    assert same, why
    assert _figures(played, group_by="unit") == before


def test_colour_map_and_rankings(played: sessionmaker[Session]) -> None:
    with played() as s:
        alice = resolve_actor(s, "alice")
    cmap = ev.colour_map(UnitOfWork(played), alice, area="500111", period="2024-06")
    towns = {i["code"]: i for i in cmap["items"]}
    assert set(towns) == {"500111001", "500111002"}
    assert towns["500111002"]["colour"] == "grey" and towns["500111002"]["score"] is None
    a = towns["500111001"]
    assert a["score"] is not None and a["colour"] in {b["colour"] for b in cmap["bands"]}
    ranks = ev.rankings(UnitOfWork(played), alice, area="500111", period="2024-06", unit_kind="department")
    assert [r["code"] for r in ranks["ranking"]] == ["D500111-CGJ"]
    assert ranks["ranking"][0]["movement"] is None  # May had nothing


def test_bad_input_names_the_problem(played: sessionmaker[Session]) -> None:
    with played() as s:
        alice = resolve_actor(s, "alice")
    with pytest.raises(NotFound) as e:
        ev.figures(UnitOfWork(played), alice, area="500111", period="2024-06", unit="NOPE")
    assert e.value.field == "unit"
    with pytest.raises(NotFound):
        ev.figures(UnitOfWork(played), alice, area="999999", period="2024-06")
    for bad in ("", "2024-06-30..2024-06-01", "2024-13", "June"):
        with pytest.raises(Invalid) as e:
            ev.figures(UnitOfWork(played), alice, area="500111", period=bad)
        assert e.value.field == "period"
    writer = alice.__class__(**{**alice.__dict__, "permissions": frozenset({"evaluation.write"})})
    with pytest.raises(Invalid) as e:
        evaluation_schemes.save_scheme(UnitOfWork(played), writer, "x", "x", {"items": [
            {"rate": "closure_rate", "weight": 60, "full_mark_at": 0.9, "zero_at": 0.5}]})
    assert "add up to 60" in e.value.message
