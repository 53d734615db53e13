"""Supervision after a calendar change: the clock follows the recomputed deadline, reminders already
sent are not sent again, and reminders whose moment now lies ahead wait for it (both engines).

alice (district duty officer) dispatches on Monday 28 December 2026 10:00 Beijing time to city
management (城管), carol accepts at once; 2027 is provisional (Monday–Friday) until the administrator
enters New Year's Day (1–3 January) — which moves the 5-working-day deadline from Monday 4 to
Tuesday 5 January.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Task, TimelineEntry
from shuzhi.adapters.db.tables_supervision import SupervisionClock, SupervisionStep
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services import calendars, handling, intake, task_handling
from shuzhi.services import commands as c
from shuzhi.services.actors import resolve_actor
from shuzhi.services.supervision import sweep
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World

MONDAY = datetime(2026, 12, 28, 10, tzinfo=SHANGHAI).astimezone(UTC)
OLD_DUE = datetime(2027, 1, 4, 10, tzinfo=SHANGHAI).astimezone(UTC)
NEW_DUE = datetime(2027, 1, 5, 10, tzinfo=SHANGHAI).astimezone(UTC)


def _accepted(sf: sessionmaker[Session]) -> tuple[str, int]:
    with sf() as s:
        alice, carol = resolve_actor(s, "alice"), resolve_actor(s, "carol")
    number = intake.submit_event(UnitOfWork(sf), c.SubmitEvent(
        source="hotline", request_type="complain", event_class_code="0101", title="井盖破损",
        lon=World.A1[0], lat=World.A1[1]), alice, now=MONDAY).number
    ev = handling.dispatch(UnitOfWork(sf), number, c.Dispatch(units=[c.UnitAssignment(unit_code="D500111-CGJ")]),
                           alice, now=MONDAY)
    task_id = ev.tasks[-1].id
    task_handling.accept_task(UnitOfWork(sf), number, task_id, c.OptionalReason(), carol, now=MONDAY)
    return number, task_id


def _clock(sf: sessionmaker[Session], task_id: int) -> SupervisionClock:
    with sf() as s:
        row = s.get(SupervisionClock, task_id)
        assert row is not None
        return row


def _steps(sf: sessionmaker[Session], task_id: int) -> list[tuple[str, datetime]]:
    with sf() as s:
        return [(st, d.astimezone(UTC)) for st, d in s.execute(
            select(SupervisionStep.step, SupervisionStep.deadline).where(SupervisionStep.task_id == task_id)
            .order_by(SupervisionStep.id))]


def _enter_new_year(sf: sessionmaker[Session], at: datetime) -> int:
    with sf() as s:
        admin = resolve_actor(s, "admin")
    change = calendars.put_year(UnitOfWork(sf), admin, 2027, ["2027-01-01", "2027-01-02", "2027-01-03"], [],
                                "国办发明电〔2026〕9号", now=at)
    return change.recomputed_tasks


def test_a_reminder_sent_before_the_recompute_is_not_sent_again(session_factory: sessionmaker[Session],
                                                                 world: World) -> None:
    sf = session_factory
    _, task_id = _accepted(sf)
    with sf() as s:
        assert s.get(Task, task_id).handle_due_at.astimezone(UTC) == OLD_DUE  # type: ignore[union-attr]
    # 70 % of 35 working hours is Thursday 31 December 15:30 on either calendar (1 January is after it)
    thursday_evening = datetime(2026, 12, 31, 16, tzinfo=SHANGHAI)
    assert sweep(lambda: UnitOfWork(sf), thursday_evening).by_step == {"remind_70": 1}
    # under the provisional calendar the 90 % reminder would be on Friday 1 January 15:30
    assert _clock(sf, task_id).next_due_at == datetime(2027, 1, 1, 15, 30, tzinfo=SHANGHAI)

    assert _enter_new_year(sf, datetime(2026, 12, 31, 17, tzinfo=SHANGHAI)) == 1
    with sf() as s:
        assert s.get(Task, task_id).handle_due_at.astimezone(UTC) == NEW_DUE  # type: ignore[union-attr]
    # the clock follows the new deadline: the 90 % reminder moves to Monday 4 January 15:30
    clock = _clock(sf, task_id)
    assert clock.next_due_at == datetime(2027, 1, 4, 15, 30, tzinfo=SHANGHAI)
    assert [p[0] for p in clock.plan] == ["remind_90", "overdue", "urge", "yellow_card", "red_card"]
    assert all(datetime.fromisoformat(p[2]) == NEW_DUE for p in clock.plan)

    # nothing fires at once (the holiday weekend passes quietly), and the 70 % reminder never again
    assert sweep(lambda: UnitOfWork(sf), datetime(2026, 12, 31, 17, 1, tzinfo=SHANGHAI)).steps == 0
    assert sweep(lambda: UnitOfWork(sf), datetime(2027, 1, 4, 15, tzinfo=SHANGHAI)).steps == 0
    assert sweep(lambda: UnitOfWork(sf), datetime(2027, 1, 4, 15, 31, tzinfo=SHANGHAI)).by_step == {"remind_90": 1}
    # overdue at the new deadline, not the old one
    assert sweep(lambda: UnitOfWork(sf), datetime(2027, 1, 5, 9, 59, tzinfo=SHANGHAI)).steps == 0
    assert sweep(lambda: UnitOfWork(sf), datetime(2027, 1, 5, 10, 1, tzinfo=SHANGHAI)).by_step == {"overdue": 1}
    steps = _steps(sf, task_id)
    assert [s for s, _ in steps] == ["remind_70", "remind_90", "overdue"]
    # the step sent before the change now counts for the recomputed deadline (same task, same limit)
    assert {d for _, d in steps} == {NEW_DUE}
    with sf() as s:
        reminders = s.scalars(select(TimelineEntry.action).where(
            TimelineEntry.task_id == task_id, TimelineEntry.action == "supervision.remind")).all()
    assert len(reminders) == 2


def test_reminders_whose_moment_moved_ahead_wait_for_it(session_factory: sessionmaker[Session],
                                                         world: World) -> None:
    """Entered on Friday 1 January at 16:00, after the provisional 90 % moment (15:30) passed unswept
    (the worker was down): with the holiday entered that moment is Monday's, so nothing is sent at once."""
    sf = session_factory
    _, task_id = _accepted(sf)
    assert sweep(lambda: UnitOfWork(sf), datetime(2026, 12, 31, 16, tzinfo=SHANGHAI)).by_step == {"remind_70": 1}
    friday = datetime(2027, 1, 1, 16, tzinfo=SHANGHAI)
    assert _enter_new_year(sf, friday) == 1
    assert _clock(sf, task_id).next_due_at == datetime(2027, 1, 4, 15, 30, tzinfo=SHANGHAI)
    assert sweep(lambda: UnitOfWork(sf), friday + timedelta(minutes=1)).steps == 0
    assert sweep(lambda: UnitOfWork(sf), datetime(2027, 1, 4, 15, 31, tzinfo=SHANGHAI)).by_step == {"remind_90": 1}
    assert [s for s, _ in _steps(sf, task_id)] == ["remind_70", "remind_90"]


def test_a_deadline_a_person_set_still_starts_a_fresh_set_of_steps(session_factory: sessionmaker[Session],
                                                                    world: World) -> None:
    """Only a recomputation carries the steps over: a deadline a person set (an approved extension; an
    urge may only shorten a deadline) is a new deadline, and its reminders come again."""
    sf = session_factory
    number, task_id = _accepted(sf)
    assert sweep(lambda: UnitOfWork(sf), datetime(2026, 12, 31, 16, tzinfo=SHANGHAI)).by_step == {"remind_70": 1}
    with sf() as s:
        alice, carol = resolve_actor(s, "alice"), resolve_actor(s, "carol")
    at = datetime(2026, 12, 31, 17, tzinfo=SHANGHAI)
    task_handling.request_extension(UnitOfWork(sf), number, task_id, c.RequestExtension(
        until=datetime(2027, 1, 8, 18, tzinfo=SHANGHAI), reason="需协调供电部门"), carol, now=at)
    task_handling.decide_extension(UnitOfWork(sf), number, task_id, c.DecideExtension(approve=True), alice, now=at)
    assert [p[0] for p in _clock(sf, task_id).plan][:2] == ["remind_70", "remind_90"]
