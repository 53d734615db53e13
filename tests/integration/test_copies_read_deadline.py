"""Unread copies (抄送未阅) run on a clock like any task: a read deadline on working time, a reminder
before it, *overdue* after it, the 及时知悉率 per unit in evaluation; the unit's inbox of copies; the
cockpit's two flows; automatic dispatch never turns a notify-only event into a case.

alice is the district's dispatcher, bob town A's duty officer, erin handles water affairs (水务局),
frank is town B's duty officer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, EventClass, Task, TimelineEntry
from shuzhi.adapters.db.tables_supervision import Notification, SupervisionClock
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services import commands as c
from shuzhi.services import evaluation, task_handling
from shuzhi.services import handling as h
from shuzhi.services.actors import SYSTEM, resolve_actor
from shuzhi.services.dispatching import deciding
from shuzhi.services.errors import Conflict
from shuzhi.services.intake import submit_event
from shuzhi.services.supervision import sweep
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

#: Monday 3 June 2024, 09:00 in Chongqing: the start of a working day.
T0 = datetime(2024, 6, 3, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)


def _uow(sf: sessionmaker[Session]) -> UnitOfWork:
    return UnitOfWork(sf)


def _notice(sf: sessionmaker[Session], at: datetime = T0, units: tuple[str, ...] = ("C500111001", "D500111-SWJ"),
            ) -> str:
    with sf() as s:
        alice = resolve_actor(s, "alice")
    body = c.SubmitEvent(source="legacy_system", event_class_code="9001", title="明日停水通知", lon=World.A1[0],
                         lat=World.A1[1])
    number = submit_event(_uow(sf), body, alice, now=at).number
    h.notify(_uow(sf), number, c.Notify(unit_codes=list(units)), alice, now=at)
    return number


def _tasks(sf: sessionmaker[Session], number: str) -> dict[str, Task]:
    with sf() as s:
        return {t.unit.code: t for t in h.load_event(s, number).tasks}


def test_a_copy_must_be_read_within_one_working_day_and_is_reminded_then_overdue(
        session_factory: sessionmaker[Session], world: World) -> None:
    sf = session_factory
    number = _notice(sf)
    tasks = _tasks(sf, number)
    # 7 working hours from Monday 09:00: 09–12 and 14–18 → Monday 18:00 (the default rules)
    due = datetime(2024, 6, 3, 18, 0, tzinfo=SHANGHAI)
    assert {code: t.read_due_at for code, t in tasks.items()} == {"C500111001": due, "D500111-SWJ": due}
    with sf() as s:
        clocks = {r.task_id: r for r in s.scalars(select(SupervisionClock))}
        assert set(clocks) == {t.id for t in tasks.values()}
        plan = clocks[tasks["C500111001"].id].plan
        # the reminder at 70 % of the working time (4.9 h: 09–12, then 14:00–15:54), overdue at the deadline
        assert [p[0] for p in plan] == ["read_remind", "read_overdue"]
        assert datetime.fromisoformat(plan[0][1]) == datetime(2024, 6, 3, 15, 54, tzinfo=SHANGHAI)
        created = s.scalars(select(TimelineEntry.payload).where(TimelineEntry.action == "task.create")).all()
        assert {p["read_due_at"] for p in created} == {due.astimezone(UTC).isoformat()}
    # erin reads hers in time: her clock goes
    with sf() as s:
        erin = resolve_actor(s, "erin")
    task_handling.read_task(_uow(sf), number, tasks["D500111-SWJ"].id, erin, now=T0 + timedelta(hours=2))
    with sf() as s:
        assert {r.task_id for r in s.scalars(select(SupervisionClock))} == {tasks["C500111001"].id}
    r = sweep(lambda: _uow(sf), datetime(2024, 6, 3, 16, 0, tzinfo=SHANGHAI))
    assert r.by_step == {"read_remind": 1}
    r = sweep(lambda: _uow(sf), datetime(2024, 6, 3, 18, 1, tzinfo=SHANGHAI))
    assert r.by_step == {"read_overdue": 1}
    with sf() as s:
        town_a = tasks["C500111001"].unit_id
        kinds = s.execute(select(Notification.unit_id, Notification.kind).where(
            Notification.task_id == tasks["C500111001"].id)).all()
        alice_unit = resolve_actor(s, "alice").unit_id
        # the town hears both; the copying centre hears of the late one
        assert sorted(kinds) == sorted([(town_a, "supervision.read_remind"), (town_a, "supervision.read_overdue"),
                                        (alice_unit, "supervision.read_overdue")])
        steps = s.scalars(select(TimelineEntry.action).where(TimelineEntry.task_id == tasks["C500111001"].id,
                                                             TimelineEntry.action.like("supervision.%"))
                              .order_by(TimelineEntry.at, TimelineEntry.id)).all()
        assert steps == ["supervision.read_remind", "supervision.read_overdue"]
        assert s.scalar(select(SupervisionClock).where(SupervisionClock.task_id == tasks["C500111001"].id)) is None


def test_the_class_read_limit_wins_over_the_rules(session_factory: sessionmaker[Session], world: World) -> None:
    with session_factory() as s:
        cls = s.scalar(select(EventClass).where(EventClass.code == "9001"))
        assert cls is not None
        cls.time_limits = {"normal": {"read": "2wh"}}
        s.commit()
    # Friday 17:00: one working hour that day, one on Monday morning
    friday = datetime(2024, 6, 7, 17, 0, tzinfo=SHANGHAI).astimezone(UTC)
    tasks = _tasks(session_factory, _notice(session_factory, at=friday, units=("C500111001",)))
    assert tasks["C500111001"].read_due_at == datetime(2024, 6, 11, 10, 0, tzinfo=SHANGHAI)  # Mon 10 June: 端午


def test_timely_acknowledgement_is_a_unit_figure_in_evaluation(session_factory: sessionmaker[Session],
                                                                world: World) -> None:
    sf = session_factory
    with sf() as s:
        bob, erin, grace = (resolve_actor(s, n) for n in ("bob", "erin", "grace"))
    late, on_time = _notice(sf), _notice(sf)
    first, second = _tasks(sf, late), _tasks(sf, on_time)
    task_handling.read_task(_uow(sf), on_time, second["C500111001"].id, bob, now=T0 + timedelta(hours=1))
    task_handling.read_task(_uow(sf), on_time, second["D500111-SWJ"].id, erin, now=T0 + timedelta(hours=1))
    task_handling.read_task(_uow(sf), late, first["C500111001"].id, bob, now=T0 + timedelta(days=2))
    # erin's first copy is still unread past its deadline
    ranking = evaluation.rankings(_uow(sf), grace, by="unit", area=None, period="2024-06")
    by_code = {r["code"]: r for r in ranking["ranking"]}
    assert (by_code["C500111001"]["copies_due"], by_code["C500111001"]["copies_read_on_time"]) == (2, 1)
    assert by_code["C500111001"]["copies_read_late"] == 1
    assert by_code["C500111001"]["timely_read_rate"] == pytest.approx(0.5)
    assert (by_code["D500111-SWJ"]["copies_unread_late"], by_code["D500111-SWJ"]["timely_read_rate"]) == (1, 0.5)
    # the figures grouped by unit carry it too
    figures = evaluation.figures(_uow(sf), grace, area=None, period="2024-06", group_by="unit")
    rates = {g["code"]: g["timely_read_rate"] for g in figures["groups"]}
    assert rates.get("C500111001") == pytest.approx(0.5)


def test_automatic_dispatch_copies_a_notify_only_event_and_never_makes_it_a_case(
        session_factory: sessionmaker[Session], world: World, api: Api) -> None:
    api.post("/api/dispatch-rules", "admin", {
        "code": "R-WATER", "name": "停水通知", "priority": 1,
        "condition": {"field": "event_class", "op": "eq", "value": "9001"},
        "targets": {"lead": "D500111-SWJ", "copy": ["C500111001"]}}, status=201)
    with session_factory() as s:
        alice = resolve_actor(s, "alice")
    body = c.SubmitEvent(source="legacy_system", event_class_code="9001", title="停水通知", lon=World.A1[0],
                         lat=World.A1[1])
    number = submit_event(_uow(session_factory), body, alice, now=T0).number
    # the path of the intake's and the warnings' automatic dispatch (in the caller's transaction)
    with session_factory() as s:
        event = h.load_event(s, number)
        deciding.apply_rules_in(s, event, SYSTEM, T0)
        s.commit()
    with session_factory() as s:
        event = h.load_event(s, number)
        assert (event.mode, event.state) == ("notify", "notifying")
        assert sorted((t.unit.code, t.role) for t in event.tasks) == [("C500111001", "notify"),
                                                                      ("D500111-SWJ", "notify")]
    # and a rule's lead unit handed to the dispatch itself is refused, not turned into a case
    number = submit_event(_uow(session_factory), body, alice, now=T0).number
    with session_factory() as s, pytest.raises(Conflict) as refused:
        h.dispatch_in(s, number, c.Dispatch(units=[c.UnitAssignment(unit_code="D500111-SWJ", role="lead")]),
                      SYSTEM, T0, automatic=True)
    assert refused.value.field == "mode"
    with session_factory() as s:
        assert s.scalar(select(Event.mode).where(Event.number == number)) == "notify"


def test_a_copy_goes_only_to_units_the_actor_may_address(api: Api, world: World) -> None:
    ev = api.submit(who="bob", event_class_code="9001", title="停电通知", source="legacy_system", request_type=None)
    err = api.post(f"/api/events/{ev['number']}/notify", "bob", {"unit_codes": ["C500111001", "C500111002"]},
                   status=422)
    assert err["field"] == "unit_codes[1]" and "C500111002" in err["detail"]
    # up its own chain is allowed: the town informs the district centre
    ev = api.post(f"/api/events/{ev['number']}/notify", "bob", {"unit_codes": ["C500111001", "C500111"]})
    assert ev["state"] == "notifying"


def _copy_to_town_a(api: Api, n: int) -> list[str]:
    numbers = []
    for _ in range(n):
        ev = api.submit(event_class_code="9001", title="停水通知", source="legacy_system", request_type=None)
        api.post(f"/api/events/{ev['number']}/notify", "alice", {"unit_codes": ["C500111001"]})
        numbers.append(ev["number"])
    return numbers


def test_the_units_inbox_of_copies_pages_newest_first_with_the_unread_count(api: Api, world: World) -> None:
    numbers = _copy_to_town_a(api, 5)
    page = api.get("/api/my/copies?limit=2", who="bob")
    assert page["unread"] == 5 and [i["number"] for i in page["items"]] == numbers[::-1][:2]
    assert all(i["read_due_at"] for i in page["items"])
    rest = api.get(f"/api/my/copies?limit=10&before_id={page['next_before_id']}", who="bob")
    assert [i["number"] for i in rest["items"]] == numbers[::-1][2:] and rest["next_before_id"] is None
    read = rest["items"][0]
    api.post(f"/api/events/{read['number']}/tasks/{read['task_id']}/read", "bob")
    assert api.get("/api/my/copies", who="bob")["unread"] == 4
    assert [i["number"] for i in api.get("/api/my/copies?unread=false", who="bob")["items"]] == [read["number"]]
    assert api.get("/api/my/copies", who="frank")["unread"] == 0  # another town's copies are not frank's
    err = api.get("/api/my/copies?limit=0", who="bob", status=422)
    assert "limit" in str(err)
    # the handler's workbench lists them after its tasks, with their read deadline
    mine = api.get("/api/my/tasks", who="bob")
    assert [t["number"] for t in mine if t["role"] == "notify"] == [n for n in numbers if n != read["number"]]
    assert all(t["read_due_at"] for t in mine if t["role"] == "notify")


def test_the_cockpit_shows_both_flows_with_their_timeliness(api: Api, world: World) -> None:
    _copy_to_town_a(api, 3)
    case = api.submit()
    api.post(f"/api/events/{case['number']}/dispatch", "alice",
             {"units": [{"unit_code": "D500111-CGJ", "role": "lead"}], "reason": "派遣"})
    flows: dict[str, Any] = api.get("/api/cockpit/flows?days=7")
    assert (flows["notify"]["events"], flows["notify"]["tasks"], flows["notify"]["done"]) == (3, 3, 0)
    assert (flows["handle"]["events"], flows["handle"]["tasks"]) == (1, 1)
    assert flows["notify_share"] == pytest.approx(0.75)
    assert api.get("/api/cockpit/flows?days=7", who="frank")["notify"]["events"] == 0
    err = api.get("/api/cockpit/flows?days=0", status=422)
    assert "days" in str(err)
