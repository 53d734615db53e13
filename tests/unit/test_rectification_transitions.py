"""The rectification loop of a risk point (整改闭环, issue #22), row by row: every pair the table allows,
every pair it forbids, and random walks that keep the loop's promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain import labels
from shuzhi.domain import risk_points as rp
from shuzhi.domain.risk_points import RECT_TRANSITIONS, RectAction, RectState, next_rect_state

ROWS = sorted(RECT_TRANSITIONS.items(), key=lambda kv: (kv[0][0].value, kv[0][1].value))
FORBIDDEN = [(s, a) for s in RectState for a in RectAction if (s, a) not in RECT_TRANSITIONS]


@pytest.mark.parametrize(("pair", "after"), ROWS, ids=[f"{s.value}-{a.value}" for (s, a), _ in ROWS])
def test_each_allowed_step(pair: tuple[RectState, RectAction], after: RectState) -> None:
    assert next_rect_state(*pair) is after


@pytest.mark.parametrize("pair", FORBIDDEN, ids=[f"{s.value}-{a.value}" for s, a in FORBIDDEN])
def test_each_forbidden_step_is_refused(pair: tuple[RectState, RectAction]) -> None:
    with pytest.raises(rp.IllegalRectification):
        next_rect_state(*pair)


def test_closed_rectifications_take_no_step_and_every_line_has_a_label() -> None:
    for closed in (RectState.VERIFIED, RectState.CANCELLED):
        assert not [a for (s, a) in RECT_TRANSITIONS if s is closed]
    for line in rp.RECT_LINES.values():
        assert line in labels.TIMELINE_ACTIONS, line


@given(st.lists(st.sampled_from(list(RectAction)), max_size=30))
def test_a_random_walk_is_verified_only_after_being_reported_done(actions: list[RectAction]) -> None:
    state, was_done = RectState.FOUND, False
    for action in actions:
        try:
            after = next_rect_state(state, action)
        except rp.IllegalRectification:
            continue
        if after is RectState.VERIFIED:
            assert state is RectState.DONE and was_done
        was_done = after is RectState.DONE or (was_done and after is not RectState.IN_PROGRESS)
        state = after
    assert state in RectState


def test_the_clock() -> None:
    now = datetime(2026, 6, 15, 2, tzinfo=UTC)
    soon = now + timedelta(days=1)
    assert rp.rect_clock(RectState.FOUND, None, soon, now) is None
    assert rp.rect_clock(RectState.IN_PROGRESS, now + timedelta(days=3), soon, now) == "running"
    assert rp.rect_clock(RectState.IN_PROGRESS, now + timedelta(hours=20), soon, now) == "due_soon"
    assert rp.rect_clock(RectState.IN_PROGRESS, now, soon, now) == "overdue"
    assert rp.rect_clock(RectState.DONE, now - timedelta(days=1), soon, now) is None


def test_nearest_within_a_radius() -> None:
    # 0.01° of latitude is about 1,112 m
    assert 1100 < rp.distance_m(105.7, 29.7, 105.7, 29.71) < 1125
    cands = [(105.7, 29.71, "far"), (105.7, 29.702, "near"), (106.0, 29.7, "out")]
    found = rp.nearest(105.7, 29.7, cands, 3000)
    assert found is not None and found[0] == "near" and 200 < found[1] < 250
    assert rp.nearest(105.7, 29.7, cands, 100) is None
