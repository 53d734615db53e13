"""A warning that rises raises its event's urgency, and the open tasks' deadlines follow the new
urgency's limits (counted from the raise, never later than they were); the supervision clock follows.

The river gauge WL-A sits in town A; its event goes to erin's water company (class 0301). T0 is a
Saturday, 10:00 in Shanghai: working-time limits would start on Monday, calendar hours run at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_supervision import SupervisionClock
from shuzhi.services.actors import SYSTEM
from shuzhi.services.calendars import set_office_hours
from shuzhi.services.plans import templates as plan_templates
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.test_plan_runs import template
from tests.integration.test_warnings import RIVER, T0, feed, sensed

assert sensed is not None


def moves(sf: sessionmaker[Session], task_id: int) -> list[dict[str, Any]]:
    with sf() as s:
        return [dict(e.payload, reason=e.reason) for e in s.scalars(
            select(TimelineEntry).where(TimelineEntry.task_id == task_id, TimelineEntry.action == "task.deadline_moved")
            .order_by(TimelineEntry.id))]


def test_a_rising_warning_tightens_the_open_tasks_deadlines(sensed: World, uow: UnitOfWork,
                                                            session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    feed(uow, [(0, 1.0), (10, 2.6)])  # yellow: an event, dispatched, normal urgency (accept 2wh, handle 5wd)
    with session_factory() as s:
        [task] = s.scalars(select(Task)).all()
        normal = (task.accept_due_at, task.handle_due_at)
        clock_before = s.get(SupervisionClock, task.id)
        assert clock_before is not None
        first_due = clock_before.next_due_at
    assert normal[0] is not None and normal[0] > T0 + timedelta(days=1)  # Monday: working hours only

    feed(uow, [(20, 3.6)])  # red: critical — accept 0.5h and handle 4h, calendar time, from the raise
    raised_at = T0 + timedelta(minutes=20)
    with session_factory() as s:
        task = s.scalars(select(Task)).one()
        assert task.accept_due_at == raised_at + timedelta(minutes=30)
        assert task.handle_due_at == raised_at + timedelta(hours=4)
        clock = s.get(SupervisionClock, task.id)
        assert clock is not None and clock.next_due_at < first_due
        assert clock.next_due_at <= task.accept_due_at  # the clock runs on the new deadlines
        assert s.scalars(select(Event)).one().urgency == "critical"
        task_id = task.id
    [line] = moves(session_factory, task_id)
    assert line["why"] == "urgency" and (line["from_urgency"], line["to_urgency"]) == ("normal", "critical")
    assert datetime.fromisoformat(line["from"]) == normal[1]
    assert datetime.fromisoformat(line["to"]) == raised_at + timedelta(hours=4)
    assert datetime.fromisoformat(line["accept_to"]) == raised_at + timedelta(minutes=30)
    assert line["reason"] == "预警升为红色"

    # a calendar change afterwards keeps the tightened dates (they are moved deadlines, not the class's)
    set_office_hours(uow, SYSTEM, "C500111", "08:30-12:00,14:00-17:30", now=raised_at + timedelta(minutes=5))
    with session_factory() as s:
        task = s.get(Task, task_id)
        assert task is not None and task.handle_due_at == raised_at + timedelta(hours=4)
        assert task.accept_due_at == raised_at + timedelta(minutes=30)


def test_a_rise_keeps_a_chosen_date_and_a_plan_s_own_limits(sensed: World, uow: UnitOfWork,
                                                            session_factory: sessionmaker[Session]) -> None:
    wc.create_rule(uow, SYSTEM, RIVER)
    plan_templates.save_template(uow, template(trigger={"kind": "warning", "indicators": ["RIVER_LEVEL"],
                                               "at_least": "orange"}), SYSTEM)
    feed(uow, [(0, 3.1)])  # orange: urgent (accept 1wh, handle 1wd); the plan starts under the same event
    chosen = T0 + timedelta(days=2)
    with session_factory() as s:
        tasks = {t.unit.code: t for t in s.scalars(select(Task))}
        assert {"D500111-SWJ", "C500111001", "D500111-CGJ"} <= set(tasks)
        plan_due = {code: t.handle_due_at for code, t in tasks.items() if code != "D500111-SWJ"}
        water = tasks["D500111-SWJ"]
        # a leader set the water company a date by hand (督办): a chosen date stays whatever the urgency does
        water.handle_due_at = chosen
        s.add(TimelineEntry(event_id=water.event_id, task_id=water.id, at=T0, actor="grace",
                            action="task.deadline_moved", payload={"to": chosen.isoformat(), "why": "urge"}))
        s.commit()
        water_id = water.id
    feed(uow, [(10, 3.7)])  # red: critical
    with session_factory() as s:
        tasks = {t.unit.code: t for t in s.scalars(select(Task))}
        assert tasks["D500111-SWJ"].handle_due_at == chosen
        assert tasks["D500111-SWJ"].accept_due_at == T0 + timedelta(minutes=10, hours=0.5)  # not signed for yet
        assert {code: t.handle_due_at for code, t in tasks.items() if code != "D500111-SWJ"} == plan_due
    [line] = moves(session_factory, water_id)[1:]
    assert "to" not in line and line["accept_to"]
