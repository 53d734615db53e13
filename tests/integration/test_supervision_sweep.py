"""The durable sweep on both engines: steps on time, once each, in the timeline, inboxes and outbox.

alice (district duty officer) dispatches; carol handles city management (城管); dave is grid A-1's
worker; bob is the town-A duty officer. Times are explicit (a Monday in Asia/Shanghai), never "now".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_supervision import (
    Escalation,
    Notification,
    OutboxMessage,
    ScheduledJob,
    SupervisionClock,
    SupervisionStep,
)
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.time_limits import TimeLimit, Urgency
from shuzhi.services import commands as c
from shuzhi.services import handling, scheduler, task_handling
from shuzhi.services.actors import resolve_actor
from shuzhi.services.calendars import calendar_for
from shuzhi.services.intake import submit_event
from shuzhi.services.plans import coordination
from shuzhi.services.supervision import sweep
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World

T0 = datetime(2026, 11, 23, 10, tzinfo=SHANGHAI).astimezone(UTC)  # Monday 10:00


def _uow(sf: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return lambda: UnitOfWork(sf)


def _actor(sf: sessionmaker[Session], code: str):  # type: ignore[no-untyped-def]
    with sf() as s:
        return resolve_actor(s, code)


def _dispatched(sf: sessionmaker[Session], unit: str, cls: str = "0101", at: datetime = T0,
                point: tuple[float, float] = World.A1) -> tuple[str, int]:
    alice = _actor(sf, "alice")
    number = submit_event(UnitOfWork(sf), c.SubmitEvent(source="hotline", request_type="complain",
                                                        event_class_code=cls, title="井盖破损", lon=point[0],
                                                        lat=point[1], received_at=at), alice, now=at).number
    ev = handling.dispatch(UnitOfWork(sf), number, c.Dispatch(units=[c.UnitAssignment(unit_code=unit)]), alice,
                           now=at + timedelta(minutes=5))
    return number, ev.tasks[-1].id


def _steps(sf: sessionmaker[Session], task_id: int) -> list[str]:
    with sf() as s:
        return list(s.scalars(select(SupervisionStep.step).where(SupervisionStep.task_id == task_id)
                              .order_by(SupervisionStep.id)))


def _count(sf: sessionmaker[Session], model: type, *where: object) -> int:
    with sf() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_every_step_happens_once_on_time_and_is_recorded_everywhere(session_factory: sessionmaker[Session],
                                                                      world: World) -> None:
    sf = session_factory
    number, task_id = _dispatched(sf, "D500111-CGJ")
    carol = _actor(sf, "carol")
    task_handling.accept_task(UnitOfWork(sf), number, task_id, c.OptionalReason(), carol, now=T0 + timedelta(hours=1))

    assert sweep(_uow(sf), T0 + timedelta(hours=2)).steps == 0
    # Thursday 15:30 is 70 % of 5 working days from Monday 10:05 … the step is due a few minutes later
    assert sweep(_uow(sf), datetime(2026, 11, 26, 15, 30, tzinfo=SHANGHAI)).steps == 0
    r = sweep(_uow(sf), datetime(2026, 11, 26, 15, 40, tzinfo=SHANGHAI))
    assert r.by_step == {"remind_70": 1}
    # a long outage: the sweep two weeks later catches up every step that fell due, once
    r = sweep(_uow(sf), datetime(2026, 12, 10, 12, tzinfo=SHANGHAI))
    assert r.by_step == {"remind_90": 1, "overdue": 1, "urge": 1, "yellow_card": 1, "red_card": 1}
    assert sweep(_uow(sf), datetime(2026, 12, 31, tzinfo=SHANGHAI)).steps == 0
    assert _steps(sf, task_id) == ["remind_70", "remind_90", "overdue", "urge", "yellow_card", "red_card"]
    assert _count(sf, SupervisionClock, SupervisionClock.task_id == task_id) == 0

    with sf() as s:
        actions = list(s.scalars(select(TimelineEntry.action).where(TimelineEntry.task_id == task_id,
                                                                    TimelineEntry.action.like("supervision.%"))
                                 .order_by(TimelineEntry.id)))
    assert actions == ["supervision.remind", "supervision.remind", "supervision.overdue", "supervision.urge",
                       "supervision.yellow_card", "supervision.red_card"]
    # the unit gets every step; the dispatching centre also overdue and both cards
    cgj, district = world.units["D500111-CGJ"].id, world.units["C500111"].id
    assert _count(sf, Notification, Notification.unit_id == cgj, Notification.task_id == task_id) == 6
    assert _count(sf, Notification, Notification.unit_id == district, Notification.task_id == task_id) == 3
    assert _count(sf, OutboxMessage, OutboxMessage.topic.like("supervision.%")) == 6


def test_accept_timeout_escalates_to_the_town_centre(session_factory: sessionmaker[Session], world: World) -> None:
    sf = session_factory
    number, task_id = _dispatched(sf, "G500111001001001", cls="0201")
    assert sweep(_uow(sf), T0 + timedelta(hours=3)).steps == 0  # lunch break: 2 working hours end at 14:05
    r = sweep(_uow(sf), T0 + timedelta(hours=4, minutes=10))
    assert r.by_step == {"accept_timeout": 1}
    with sf() as s:
        esc = s.scalars(select(Escalation)).one()
        assert (esc.kind, esc.from_unit_id, esc.to_unit_id) == (
            "accept_timeout", world.units["G500111001001001"].id, world.units["C500111001"].id)
        entry = s.scalars(select(TimelineEntry).where(TimelineEntry.action == "supervision.escalate")).one()
        assert entry.payload["to_unit_id"] == world.units["C500111001"].id and "未签收" in (entry.reason or "")
    town = world.units["C500111001"].id
    town_inbox = _count(sf, Notification, Notification.unit_id == town)
    assert town_inbox == 1
    # the case rose: the grid's task ended as escalated, the event is the town centre's, back to be dispatched
    with sf() as s:
        task = s.get(Task, task_id)
        assert task is not None and task.state == "escalated" and "未签收" in (task.end_reason or "")
        event = s.scalars(select(Event).where(Event.number == number)).one()
        assert (event.owner_unit_id, event.state) == (town, "registered")
        tail = [(e.action, e.from_state, e.to_state) for e in s.scalars(
            select(TimelineEntry).where(TimelineEntry.event_id == event.id).order_by(TimelineEntry.id))][-3:]
    assert tail == [("supervision.escalate", None, None), ("task.escalate", "dispatched", "escalated"),
                    ("event.escalate", "dispatched", "registered")]
    assert _count(sf, SupervisionClock, SupervisionClock.task_id == task_id) == 0  # nothing left to supervise
    # no second escalation for the same deadline, and no reminder to a unit that no longer has the task
    assert sweep(_uow(sf), T0 + timedelta(days=30)).steps == 0
    # the town centre sees the case among its own
    owned = coordination.view(UnitOfWork(sf), "owned", _actor(sf, "bob"))
    assert number in [i.event_number for i in owned]


def test_reporting_back_and_suspension_stop_the_clock(session_factory: sessionmaker[Session], world: World) -> None:
    sf = session_factory
    carol, alice = _actor(sf, "carol"), _actor(sf, "alice")
    n1, t1 = _dispatched(sf, "D500111-CGJ")
    n2, t2 = _dispatched(sf, "D500111-CGJ")
    for n, t in ((n1, t1), (n2, t2)):
        task_handling.accept_task(UnitOfWork(sf), n, t, c.OptionalReason(), carol, now=T0 + timedelta(hours=1))
    task_handling.report_back(UnitOfWork(sf), n1, t1, c.ReportBack(result="已更换"), carol, now=T0 + timedelta(hours=2))
    task_handling.suspend_task(UnitOfWork(sf), n2, t2, c.WithReason(reason="等待天气好转"), alice,
                          now=T0 + timedelta(hours=2))
    assert _count(sf, SupervisionClock) == 0
    assert sweep(_uow(sf), T0 + timedelta(days=30)).steps == 0
    # resuming restarts the clock with a deadline moved by the suspended time
    task_handling.resume_task(UnitOfWork(sf), n2, t2, c.OptionalReason(), alice, now=T0 + timedelta(days=2))
    assert _count(sf, SupervisionClock, SupervisionClock.task_id == t2) == 1
    assert _count(sf, SupervisionClock, SupervisionClock.task_id == t1) == 0


def test_the_clock_carries_its_task_and_event_and_follows_a_reclassification(
        session_factory: sessionmaker[Session], world: World) -> None:
    """The sweep reads no task or event row: what it writes about them comes from the clock, which the
    flush hook keeps in step — here a reclassification that leaves the task where it is (城管 handles
    both classes): the next reminders go out under the new class."""
    sf = session_factory
    number, task_id = _dispatched(sf, "D500111-CGJ")
    task_handling.accept_task(UnitOfWork(sf), number, task_id, c.OptionalReason(), _actor(sf, "carol"),
                         now=T0 + timedelta(hours=1))
    cgj, district = world.units["D500111-CGJ"].id, world.units["C500111"].id
    with sf() as s:
        clock = s.get(SupervisionClock, task_id)
        assert clock is not None
        assert (clock.unit_id, clock.dispatched_by_unit_id, clock.event_number, clock.event_title) == (
            cgj, district, number, "井盖破损")
        assert clock.event_class_id == world.classes["0101"].id
        assert clock.area_path == s.scalar(select(Event.area_path).where(Event.number == number))
    handling.reclassify(UnitOfWork(sf), number, c.Reclassify(event_class_code="0201", reason="实为暴露垃圾"),
                        _actor(sf, "alice"), now=T0 + timedelta(hours=2))
    with sf() as s:
        assert s.scalar(select(Task.state).where(Task.id == task_id)) == "accepted"
        assert s.scalar(select(SupervisionClock.event_class_id).where(SupervisionClock.task_id == task_id)) == (
            world.classes["0201"].id)
    assert sweep(_uow(sf), datetime(2026, 12, 10, 12, tzinfo=SHANGHAI)).steps == 6
    with sf() as s:
        classes = set(s.scalars(select(OutboxMessage.class_code).where(OutboxMessage.topic.like("supervision.%"))))
        titles = list(s.scalars(select(Notification.title).where(Notification.task_id == task_id)))
        units = {u for u, in s.execute(select(Notification.unit_id).where(Notification.task_id == task_id))}
    assert classes == {"0201"}
    assert len(titles) == 9 and all(f"{number}（井盖破损）" in t for t in titles)
    assert units == {cgj, district}


def test_reclassifying_to_a_higher_urgency_brings_the_kept_tasks_deadlines_forward(
        session_factory: sessionmaker[Session], world: World) -> None:
    """Reclassification that keeps the task moves its deadline as an urgency raise does: the new
    limit (urgent: 1 working day) counted from the change, never later than it was; the reminders
    follow the new deadline."""
    sf = session_factory
    number, task_id = _dispatched(sf, "D500111-CGJ")
    task_handling.accept_task(UnitOfWork(sf), number, task_id, c.OptionalReason(), _actor(sf, "carol"),
                         now=T0 + timedelta(hours=1))
    with sf() as s:
        before = s.scalar(select(Task.handle_due_at).where(Task.id == task_id))
    at = T0 + timedelta(hours=2)
    cmd = c.Reclassify(event_class_code="0201", urgency=Urgency.URGENT, reason="暴露垃圾堆积，影响通行")
    handling.reclassify(UnitOfWork(sf), number, cmd, _actor(sf, "alice"), now=at)
    with sf() as s:
        task = s.get(Task, task_id)
        assert task is not None and task.state == "accepted"
        expected = calendar_for(s, task.unit_id).deadline(at, TimeLimit.parse("1wd"))
        assert before is not None and task.handle_due_at == expected < before
        line = s.scalars(select(TimelineEntry).where(TimelineEntry.task_id == task_id,
                                                     TimelineEntry.action == "task.deadline_moved")).one()
        assert line.reason == "重新分类：暴露垃圾堆积，影响通行"
        assert line.payload["why"] == "urgency" and line.payload["to_urgency"] == "urgent"
        next_due = s.scalar(select(SupervisionClock.next_due_at).where(SupervisionClock.task_id == task_id))
        assert next_due is not None and next_due < expected
    # the overdue notice comes at the new deadline, not at the old one
    r = sweep(_uow(sf), expected + timedelta(minutes=1))
    assert "overdue" in r.by_step


def test_a_stale_plan_cannot_repeat_a_step(session_factory: sessionmaker[Session], world: World) -> None:
    """What a retry after a crash or a racing worker would do: the unique key turns it into nothing."""
    sf = session_factory
    number, task_id = _dispatched(sf, "D500111-CGJ")
    task_handling.accept_task(UnitOfWork(sf), number, task_id, c.OptionalReason(), _actor(sf, "carol"),
                         now=T0 + timedelta(hours=1))
    with sf() as s:
        full_plan = s.scalar(select(SupervisionClock.plan).where(SupervisionClock.task_id == task_id))
    late = datetime(2026, 12, 1, 11, tzinfo=SHANGHAI)
    first = sweep(_uow(sf), late)
    assert first.steps == 5  # two reminders, overdue, urge, yellow card
    with sf() as s:  # put the whole original plan back, due now
        s.execute(update(SupervisionClock).where(SupervisionClock.task_id == task_id).values(
            plan=full_plan, next_due_at=T0))
        s.commit()
    again = sweep(_uow(sf), late)
    assert again.steps == 0
    assert len(_steps(sf, task_id)) == len(set(_steps(sf, task_id))) == 5
    assert _count(sf, TimelineEntry, TimelineEntry.action.like("supervision.%")) == 5


def test_a_failing_clock_is_pushed_forward_and_the_others_go_on(session_factory: sessionmaker[Session],
                                                                  world: World) -> None:
    sf = session_factory
    _, bad = _dispatched(sf, "D500111-CGJ")
    _, good = _dispatched(sf, "D500111-CGJ")
    with sf() as s:
        s.execute(update(SupervisionClock).where(SupervisionClock.task_id == bad).values(
            plan=[["no_such_step", T0.isoformat(), T0.isoformat()]], next_due_at=T0))
        s.commit()
    at = T0 + timedelta(hours=4, minutes=10)
    r = sweep(_uow(sf), at)
    assert r.failed == 1 and r.by_step == {"accept_timeout": 1}
    assert _steps(sf, good) == ["accept_timeout"] and _steps(sf, bad) == []
    with sf() as s:
        row = s.get(SupervisionClock, bad)
        assert row is not None and row.failures == 1 and "no_such_step" in (row.last_error or "")
        assert row.next_due_at > at  # not retried in a tight loop
    assert sweep(_uow(sf), at + timedelta(seconds=30)).failed == 0  # not due again yet


def test_periodic_jobs_run_once_per_due_time_and_back_off_on_failure(session_factory: sessionmaker[Session]) -> None:
    sf = session_factory
    runs: list[datetime] = []

    def flaky(_uow: object, now: datetime) -> None:
        runs.append(now)
        if len(runs) == 2:
            raise RuntimeError("report service down")

    job = scheduler.PeriodicJob("test.flaky", timedelta(minutes=5), flaky)
    saved = list(scheduler.PERIODIC_JOBS)
    scheduler.PERIODIC_JOBS[:] = [job]
    try:
        assert scheduler.run_due_jobs(_uow(sf), T0) == ["test.flaky"]
        assert scheduler.run_due_jobs(_uow(sf), T0 + timedelta(minutes=1)) == []  # not due: claimed already
        assert scheduler.run_due_jobs(_uow(sf), T0 + timedelta(minutes=5)) == []  # ran and failed
        with sf() as s:
            row = s.get(ScheduledJob, "test.flaky")
            assert row is not None and row.failures == 1 and "report service down" in (row.last_error or "")
            assert row.next_due_at > T0 + timedelta(minutes=10)  # backed off beyond its period
        assert scheduler.run_due_jobs(_uow(sf), T0 + timedelta(hours=2)) == ["test.flaky"]
        assert len(runs) == 3
    finally:
        scheduler.PERIODIC_JOBS[:] = saved
