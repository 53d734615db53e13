"""The ledger item's life, row by row: every allowed transition, every forbidden pair, and random walks
(hypothesis) that keep the invariants — a closed item was signed off from pending, reopening counts."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain.ledgers import (
    ACTIVE_STATES,
    ITEM_TRANSITIONS,
    IllegalItemTransition,
    ItemAction,
    ItemState,
    allowed_item_actions,
    next_item_state,
)


@pytest.mark.parametrize(("state", "action", "after"), [(s, a, t) for (s, a), t in ITEM_TRANSITIONS.items()])
def test_each_row_of_the_table(state: ItemState, action: ItemAction, after: ItemState) -> None:
    assert next_item_state(state, action) is after
    assert action in allowed_item_actions(state)


FORBIDDEN = [(s, a) for s, a in itertools.product(ItemState, ItemAction) if (s, a) not in ITEM_TRANSITIONS]


@pytest.mark.parametrize(("state", "action"), FORBIDDEN)
def test_each_forbidden_pair_is_refused(state: ItemState, action: ItemAction) -> None:
    with pytest.raises(IllegalItemTransition) as exc:
        next_item_state(state, action)
    assert state.value in str(exc.value) and action.value in str(exc.value)


def test_only_sign_off_closes_and_nothing_leaves_cancelled() -> None:
    into_closed = {(s, a) for (s, a), t in ITEM_TRANSITIONS.items() if t is ItemState.CLOSED}
    assert into_closed == {(ItemState.PENDING_SIGN_OFF, ItemAction.SIGN_OFF)}
    assert allowed_item_actions(ItemState.CANCELLED) == []
    assert allowed_item_actions(ItemState.CLOSED) == [ItemAction.REOPEN]


@given(st.lists(st.sampled_from(list(ItemAction)), max_size=40))
def test_random_walks_keep_the_invariants(actions: list[ItemAction]) -> None:
    state = ItemState.OPEN
    history = [state]
    reopened = 0
    for action in actions:
        try:
            after = next_item_state(state, action)
        except IllegalItemTransition:
            continue
        if after is ItemState.CLOSED:
            assert state is ItemState.PENDING_SIGN_OFF and action is ItemAction.SIGN_OFF
        if action is ItemAction.REOPEN:
            assert state is ItemState.CLOSED
            reopened += 1
        if state is ItemState.CANCELLED:
            pytest.fail("a cancelled item moved")
        state = after
        history.append(state)
    assert reopened == sum(1 for a, b in itertools.pairwise(history) if a is ItemState.CLOSED and b is not a)
    assert history[0] in ACTIVE_STATES
