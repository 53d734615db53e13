"""The duty desk's rules as tables: handover and on-post check states (one case per row, one per forbidden
pair), the log entry's checks, who is superior, and the on-post figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain import duty_desk as dd
from shuzhi.domain.duty_desk import CheckAction, CheckState, HandoverAction, HandoverState

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(("state", "action", "after"), [(s, a, t) for (s, a), t in dd.HANDOVER_TRANSITIONS.items()])
def test_handover_rows(state: HandoverState, action: HandoverAction, after: HandoverState) -> None:
    assert dd.next_handover_state(state, action) is after


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in HandoverState for a in HandoverAction
                                               if (s, a) not in dd.HANDOVER_TRANSITIONS])
def test_a_decided_handover_is_final(state: HandoverState, action: HandoverAction) -> None:
    assert state is not HandoverState.OFFERED
    with pytest.raises(dd.IllegalTransition):
        dd.next_handover_state(state, action)


@pytest.mark.parametrize(("state", "action", "after"), [(s, a, t) for (s, a), t in dd.CHECK_TRANSITIONS.items()])
def test_check_rows(state: CheckState, action: CheckAction, after: CheckState) -> None:
    assert dd.next_check_state(state, action) is after


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in CheckState for a in CheckAction
                                               if (s, a) not in dd.CHECK_TRANSITIONS])
def test_a_missed_check_is_never_confirmed_and_a_confirmed_one_never_missed(state: CheckState,
                                                                            action: CheckAction) -> None:
    with pytest.raises(dd.IllegalTransition):
        dd.next_check_state(state, action)


@given(st.lists(st.sampled_from(list(CheckAction)), max_size=6))
def test_a_check_is_decided_at_most_once(actions: list[CheckAction]) -> None:
    state, changes = CheckState.PENDING, 0
    for a in actions:
        try:
            state = dd.next_check_state(state, a)
            changes += 1
        except dd.IllegalTransition:
            pass
    assert changes <= 1 and (changes == 0) == (state is CheckState.PENDING)


def test_log_entries_are_checked_at_their_fields() -> None:
    assert dd.check_log_entry("call", "群众来电", NOW - timedelta(hours=1), NOW) == []
    assert [p.field for p in dd.check_log_entry("gossip", "x", NOW, NOW)] == ["kind"]
    assert [p.field for p in dd.check_log_entry("call", "  ", NOW, NOW)] == ["content"]
    assert [p.field for p in dd.check_log_entry("call", "x" * (dd.MAX_TEXT + 1), NOW, NOW)] == ["content"]
    assert [p.field for p in dd.check_log_entry("call", "x", NOW + timedelta(hours=1), NOW)] == ["occurred_at"]
    assert [p.field for p in dd.check_log_entry("call", "x", NOW - timedelta(days=8), NOW)] == ["occurred_at"]
    assert [p.field for p in dd.check_log_entry("call", "x", NOW.replace(tzinfo=None), NOW)] == ["occurred_at"]
    # written up a few minutes late, or with a clock a minute fast: fine
    assert dd.check_log_entry("call", "x", NOW + timedelta(minutes=1), NOW) == []
    # the messages are shown on the page as they are: in Chinese
    assert all(re.search(r"[\u4e00-\u9fff]", p.message)
               for p in dd.check_log_entry("gossip", "", NOW + timedelta(hours=1), NOW))


def test_handover_and_check_limits() -> None:
    assert [p.field for p in dd.check_handover(1, 1, "")] == ["to_person_code"]
    assert dd.check_handover(1, 2, "交接") == []
    assert [p.field for p in dd.check_handover(1, 2, "x" * (dd.MAX_TEXT + 1))] == ["note"]
    assert dd.check_minutes(dd.MIN_CHECK_MINUTES) == dd.check_minutes(dd.MAX_CHECK_MINUTES) == []
    assert [p.field for p in dd.check_minutes(0)] == [p.field for p in dd.check_minutes(121)] == ["minutes"]


def test_only_a_centre_above_is_superior() -> None:
    assert dd.is_superior("/500000/500111/", "/500000/500111/500111001/")
    assert not dd.is_superior("/500000/500111/", "/500000/500111/")  # not itself
    assert not dd.is_superior("/500000/500111/500111001/", "/500000/500111/500111002/")  # not a sibling
    assert not dd.is_superior("/500000/500111/500111001/", "/500000/500111/")  # not upward


def test_on_time_outcome_and_rate() -> None:
    due = NOW + timedelta(minutes=10)
    assert dd.check_outcome(CheckState.CONFIRMED, NOW, due) is True
    assert dd.check_outcome(CheckState.CONFIRMED, due + timedelta(seconds=1), due) is False
    assert dd.check_outcome(CheckState.MISSED, None, due) is False
    assert dd.check_outcome(CheckState.PENDING, None, due) is None
    assert dd.presence_rates({"presence_checks": 4, "presence_on_time": 3}) == {"presence_on_time_rate": 0.75}
    assert dd.presence_rates({}) == {"presence_on_time_rate": None}


def test_the_demo_desk_history_obeys_the_rules() -> None:
    from shuzhi.demo.district import build_district
    from shuzhi.demo.duty import centre_staff, desk_records

    district = build_district(1)
    staff = centre_staff(district)
    ids = {p["code"]: i for i, p in enumerate(district.people, start=1)}
    units = {c: i for i, c in enumerate(staff, start=1)}
    now = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)
    logs, handovers = desk_records(staff, ids, units, datetime(2025, 6, 1).date(), 4, now)
    assert logs and handovers
    for e in logs:
        assert e.occurred_at < now
        assert dd.check_log_entry(e.kind, e.content, e.occurred_at, e.occurred_at) == []
    for h in handovers:
        assert h.offered_at < now and dd.check_handover(h.from_person_id, h.to_person_id, h.note) == []
    # a centre's day: the four kinds of entry, in order
    first = [e for e in logs if e.unit_id == min(units.values())][:4]
    assert [e.kind for e in first] == [k.value for k in (dd.LogKind.INSTRUCTION_RECEIVED, dd.LogKind.INSTRUCTION_GIVEN,
                                                           dd.LogKind.CALL, dd.LogKind.NOTABLE_EVENT)]
