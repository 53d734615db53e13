"""A copy's read clock (抄送阅知时限) and its judgement for the 及时知悉率 — pure, row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.evaluation import copy_judgement, copy_rates
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.supervision import SupervisionRules, TaskClock, plan, read_deadline
from shuzhi.domain.time_limits import LimitUnit, Stage, TimeLimit, TimeLimits, Urgency
from shuzhi.services.deadlines import default_calendar

MON_9 = datetime(2024, 6, 3, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
DUE = datetime(2024, 6, 3, 18, 0, tzinfo=SHANGHAI).astimezone(UTC)


def _clock(state: TaskState = TaskState.NOTIFIED, due: datetime | None = DUE, since: datetime = MON_9,
           done: frozenset[tuple[str, datetime]] = frozenset()) -> TaskClock:
    return TaskClock(state=state, role=TaskRole.NOTIFY, dispatched_at=MON_9, accept_due_at=None, handle_due_at=None,
                     handle_unit=None, since=since, done=done, read_due_at=due)


def test_the_read_deadline_is_working_time_from_the_rules_or_the_class() -> None:
    cal = default_calendar()
    assert read_deadline(cal, SupervisionRules(), MON_9, None) == DUE
    assert read_deadline(cal, SupervisionRules(read_within_wh=None), MON_9, None) is None
    friday_17 = datetime(2024, 6, 7, 17, 0, tzinfo=SHANGHAI)
    # 7 working hours from Friday 17:00: 1 h on Friday, the Dragon Boat holiday on Monday 10 June, 6 h on Tuesday
    assert read_deadline(cal, SupervisionRules(), friday_17, None) == datetime(2024, 6, 11, 17, 0, tzinfo=SHANGHAI)
    assert read_deadline(cal, SupervisionRules(), MON_9, TimeLimit(2, LimitUnit.WORKING_HOURS)) == (
        datetime(2024, 6, 3, 11, 0, tzinfo=SHANGHAI))
    limits = TimeLimits.from_mapping({"normal": {"阅知": "4wh"}})
    assert limits.get(Urgency.NORMAL, Stage.READ) == TimeLimit(4, LimitUnit.WORKING_HOURS)


@pytest.mark.parametrize("bad", [0, -1, 2001, True, "8"])
def test_the_rules_read_deadline_is_checked(bad: object) -> None:
    with pytest.raises(ValueError, match="read_within_wh"):
        SupervisionRules.from_mapping({"read_within_wh": bad})


def test_an_unread_copy_is_reminded_then_overdue_and_a_read_one_has_no_steps() -> None:
    cal, rules = default_calendar(), SupervisionRules()
    steps = plan(_clock(), rules, cal)
    assert [(s.step, s.due_at) for s in steps] == [
        ("read_remind", datetime(2024, 6, 3, 15, 54, tzinfo=SHANGHAI)), ("read_overdue", DUE)]
    assert plan(_clock(state=TaskState.READ), rules, cal) == []
    assert plan(_clock(due=None), rules, cal) == []
    # a reminder whose moment passed when the copy last changed is skipped; overdue is always kept
    assert [s.step for s in plan(_clock(since=DUE - timedelta(minutes=1)), rules, cal)] == ["read_overdue"]
    assert plan(_clock(done=frozenset({("read_remind", DUE), ("read_overdue", DUE)})), rules, cal) == []


@pytest.mark.parametrize(("read_at", "now", "expected"), [
    (DUE - timedelta(hours=1), DUE + timedelta(days=1), "on_time"),
    (DUE, DUE + timedelta(days=1), "on_time"),
    (DUE + timedelta(seconds=1), DUE + timedelta(days=1), "late"),
    (None, DUE + timedelta(seconds=1), "unread_late"),
    (None, DUE, None),
])
def test_a_copy_counts_on_time_late_or_not_yet(read_at: datetime | None, now: datetime, expected: str | None) -> None:
    assert copy_judgement(DUE, read_at, now) == expected
    assert copy_judgement(None, read_at, now) is None


def test_the_timely_read_rate() -> None:
    assert copy_rates({"copies_due": 4, "copies_read_on_time": 3}) == {"timely_read_rate": 0.75}
    assert copy_rates({}) == {"timely_read_rate": None}
