"""The life of a warning (预警): one small state machine over a series' gradings.

**Warning life** (like Prometheus alerting rules, whose ``for`` and ``keep_firing_for`` these are):
a level *holds* at an evaluation when some condition grades the series at that level or above.  A
level becomes *effective* when it has held without a break for ``for``; once reached it stays
effective until it has not held for longer than ``keep_firing_for`` (hysteresis on recovery).  The
warning is ``pending`` while some level holds but none is effective yet, ``firing`` at the highest
effective level (which may rise or fall), and ``resolved`` when no level is effective any more —
that ends the episode; the next one is a new warning.  A pending warning whose levels stop holding
before any became effective is ``cleared`` (it never fired).

Between readings the last reading's value grading still holds (a value stands until replaced); the
no-data grading comes only from the periodic check and ends with the next reading.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shuzhi.domain.thresholds import LEVELS, NONE, Change, Status, ThresholdRule

# --- the state machine ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    change: Change
    at: datetime
    level: int  # NONE when resolved or cleared; the pending level while pending
    previous_level: int


@dataclass(slots=True)
class SeriesState:
    """What one series' evaluation remembers between readings (kept in memory; the stored warning is
    the source of truth for status and level)."""

    status: Status = Status.INACTIVE
    level: int = NONE
    started_at: datetime | None = None
    #: When the latest evaluation happened, and the grading of the latest reading.
    last_at: datetime | None = None
    reading_rank: int = NONE
    last_reading_at: datetime | None = None
    last_value: float | None = None
    #: Per level: start of the current unbroken stretch in which it holds, last time it held, and
    #: whether it became effective in this episode.
    streak_start: list[datetime | None] = field(default_factory=lambda: [None] * len(LEVELS))
    last_held: list[datetime | None] = field(default_factory=lambda: [None] * len(LEVELS))
    reached: list[bool] = field(default_factory=lambda: [False] * len(LEVELS))
    history: deque[tuple[datetime, float]] = field(default_factory=deque)

    def effective_level(self, at: datetime, rule: ThresholdRule) -> int:
        top = NONE
        for rank in range(len(LEVELS)):
            start, held = self.streak_start[rank], self.last_held[rank]
            if start is not None and at - start >= rule.for_:
                self.reached[rank] = True
                top = rank
            elif self.reached[rank] and held is not None and at - held <= rule.keep_firing_for:
                top = rank
            else:
                self.reached[rank] = False
        return top


def step(state: SeriesState, rule: ThresholdRule, at: datetime, rank: int) -> list[Transition]:
    """Evaluate a series at ``at`` when its grading is ``rank`` (NONE = no level holds).

    Times must not go backwards (the caller drops late readings).  Returns the transitions, in order
    (a resolve can be followed at once by the next episode's pending).
    """
    for r in range(len(LEVELS)):
        if rank >= r:
            if state.streak_start[r] is None:
                state.streak_start[r] = at
            state.last_held[r] = at
        else:
            state.streak_start[r] = None
    state.last_at = at
    top = state.effective_level(at, rule)
    out: list[Transition] = []
    if state.status is Status.FIRING:
        if top == NONE:
            out.append(Transition(Change.RESOLVED, at, NONE, state.level))
            state.status, state.level, state.started_at = Status.INACTIVE, NONE, None
            state.reached = [False] * len(LEVELS)
        elif top != state.level:
            out.append(Transition(Change.RAISED if top > state.level else Change.LOWERED, at, top, state.level))
            state.level = top
            return out
        else:
            return out
    if state.status is Status.PENDING:
        if top != NONE:
            out.append(Transition(Change.FIRED, at, top, NONE))
            state.status, state.level = Status.FIRING, top
        elif rank == NONE:
            out.append(Transition(Change.CLEARED, at, NONE, state.level))
            state.status, state.level, state.started_at = Status.INACTIVE, NONE, None
        else:
            state.level = max(state.level, rank)
        return out
    # inactive
    if top != NONE:
        state.started_at = at
        out.append(Transition(Change.FIRED, at, top, NONE))
        state.status, state.level = Status.FIRING, top
    elif rank != NONE:
        state.started_at = at
        out.append(Transition(Change.PENDING, at, rank, NONE))
        state.status, state.level = Status.PENDING, rank
    return out


def observe_reading(state: SeriesState, rule: ThresholdRule, at: datetime, value: float) -> list[Transition]:
    """A new reading of the series.  A reading older than the last evaluation changes nothing
    (it is stored, but warnings follow time forwards)."""
    if state.last_at is not None and at <= state.last_at:
        return []
    hist = state.history
    if rule.max_window:
        horizon = at - rule.max_window
        while hist and hist[0][0] < horizon:
            hist.popleft()
    rank = rule.grade_reading(value, at, hist)
    if rule.max_window:
        hist.append((at, value))
    state.reading_rank = rank
    state.last_reading_at = at
    state.last_value = value
    return step(state, rule, at, rank)


def observe_quiet(state: SeriesState, rule: ThresholdRule, at: datetime, value: float) -> bool:
    """The fast path of :func:`observe_reading` for the common case — a series with no warning and a
    value in the rule's quiet range: remember the reading and say True (nothing can change).  False
    means the caller must take the full path.  The result is the same as :func:`observe_reading`'s
    (a property test checks it)."""
    if (state.status is not Status.INACTIVE or not (rule.quiet_low < value < rule.quiet_high)
            or (state.last_at is not None and at <= state.last_at)):
        return False
    state.last_at = at
    state.reading_rank = NONE
    state.last_reading_at = at
    state.last_value = value
    if state.streak_start[0] is not None:
        state.streak_start = [None] * len(LEVELS)
    return True


def observe_quiet_run(state: SeriesState, rule: ThresholdRule, points: Sequence[tuple[datetime, float]]) -> int:
    """:func:`observe_quiet` over a series' new readings (oldest first) for as long as they stay quiet;
    returns how many it took — the caller takes the full path from there.  The state ends as if
    :func:`observe_quiet` had been called on each of them (only the newest one is remembered)."""
    if state.status is not Status.INACTIVE:
        return 0
    low, high = rule.quiet_low, rule.quiet_high
    last = state.last_at
    taken = 0
    for at, value in points:
        if not (low < value < high) or (last is not None and at <= last):
            break
        last = at
        taken += 1
    if taken:
        at, value = points[taken - 1]
        state.last_at = at
        state.reading_rank = NONE
        state.last_reading_at = at
        state.last_value = value
        if state.streak_start[0] is not None:
            state.streak_start = [None] * len(LEVELS)
    return taken


def observe_tick(state: SeriesState, rule: ThresholdRule, now: datetime) -> list[Transition]:
    """The periodic check: no-data grading, and ``for``/``keep_firing_for`` timers running out."""
    if state.last_at is not None and now <= state.last_at:
        return []
    rank = state.reading_rank
    if state.last_reading_at is not None:
        rank = max(rank, rule.grade_silence(now - state.last_reading_at))
    return step(state, rule, now, rank)
