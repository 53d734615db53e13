"""Threshold rules and the warning state machine (domain, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.domain.silences import (
    Inhibition,
    Matcher,
    Silence,
    WarningFacts,
    parse_inhibition,
    parse_matcher,
    suppression,
)
from shuzhi.domain.thresholds import (
    LEVEL_RANK,
    NONE,
    Change,
    RuleBook,
    Status,
    ThresholdRule,
    parse_duration,
    parse_rule,
)
from shuzhi.domain.warning_life import SeriesState, observe_reading, observe_tick, step

T0 = datetime(2026, 6, 13, 0, 0, tzinfo=UTC)
WATER = {"code": "WL", "indicator": "WATER", "conditions": [
    {"kind": "value", "op": "above", "levels": {"blue": 2.0, "yellow": 2.5, "orange": 3.0, "red": 3.5}}]}


def rule(**over: object) -> ThresholdRule:
    r, problems = parse_rule({**WATER, **over})
    assert r is not None, problems
    return r


def feed(r: ThresholdRule, values: list[tuple[int, float]]) -> tuple[SeriesState, list[tuple[int, Change, int]]]:
    state = SeriesState()
    out = []
    for minute, v in values:
        for t in observe_reading(state, r, T0 + timedelta(minutes=minute), v):
            out.append((minute, t.change, t.level))
    return state, out


# --- parsing and validation --------------------------------------------------------------------------


def test_a_rule_round_trips_through_its_document() -> None:
    doc = {**WATER, "name": "河道水位", "for": "5m", "keep_firing_for": "15m",
           "conditions": [*WATER["conditions"],  # type: ignore[misc]
                          {"kind": "rate", "op": "above", "window": "1h", "levels": {"orange": 0.5}},
                          {"kind": "no_data", "levels": {"blue": "30m", "yellow": "2h"}},
                          {"kind": "value", "op": "outside", "levels": {"yellow": [1, 9], "red": [0, 10]}}],
           "actions": {"orange": {"mode": "handle", "event_class": "0301", "urgency": "urgent", "dispatch": True}}}
    r = rule(**doc)
    again, problems = parse_rule(r.document())
    assert problems == [] and again is not None
    assert again.document() == r.document()
    assert r.action(LEVEL_RANK["orange"]).dispatch is True
    assert r.action(LEVEL_RANK["red"]).mode == "none"


@pytest.mark.parametrize(("doc", "path", "code"), [
    ({"conditions": [{"kind": "value", "op": "above", "levels": {"blue": 3, "red": 2}}]},
     "$.conditions[0].levels.red", "bad_order"),
    ({"conditions": [{"kind": "value", "op": "below", "levels": {"blue": 1, "red": 2}}]},
     "$.conditions[0].levels.red", "bad_order"),
    ({"conditions": [{"kind": "value", "op": "outside", "levels": {"blue": [0, 10], "red": [1, 9]}}]},
     "$.conditions[0].levels.red", "bad_order"),
    ({"conditions": [{"kind": "value", "op": "above", "levels": {"purple": 1}}]},
     "$.conditions[0].levels.purple", "unknown_value"),
    ({"conditions": [{"kind": "value", "op": "above", "levels": {"red": "high"}}]},
     "$.conditions[0].levels.red", "wrong_type"),
    ({"conditions": [{"kind": "value", "op": "above", "levels": {"red": float("nan")}}]},
     "$.conditions[0].levels.red", "bad_value"),
    ({"conditions": [{"kind": "rate", "op": "above", "levels": {"red": 1}}]},
     "$.conditions[0].window", "missing"),
    ({"conditions": [{"kind": "no_data", "levels": {"red": "soon"}}]},
     "$.conditions[0].levels.red", "wrong_type"),
    ({"conditions": [{"kind": "wave", "levels": {"red": 1}}]}, "$.conditions[0].kind", "unknown_value"),
    ({"conditions": []}, "$.conditions", "wrong_type"),
    ({"for": "-5m"}, "$.for", "wrong_type"),
    ({"area": "12"}, "$.area", "wrong_type"),
    ({"colour": "red"}, "$.colour", "unknown_key"),
    ({"actions": {"red": {"mode": "handle"}}}, "$.actions.red.event_class", "missing"),
    ({"actions": {"red": {"mode": "notify", "event_class": "0301", "dispatch": True}}},
     "$.actions.red.dispatch", "bad_value"),
    ({"actions": {"red": {"mode": "handle", "event_class": "0301", "urgency": "asap"}}},
     "$.actions.red.urgency", "unknown_value"),
])
def test_bad_rules_are_refused_with_the_path_of_the_bad_node(doc: dict[str, object], path: str, code: str) -> None:
    r, problems = parse_rule({**WATER, **doc})
    assert r is None
    assert (path, code) in [(p.path, p.code) for p in problems], problems


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration(60) == timedelta(minutes=1)
    for bad in ("5 minutes", -1, True, None):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_the_deepest_area_override_wins() -> None:
    default = rule(code="D")
    town = ThresholdRule(**{**_fields(rule(code="T", area="500111001")), "area_path": "/500000/500111/500111001/"})
    grid = ThresholdRule(**{**_fields(rule(code="G", area="500111001001001")),
                            "area_path": "/500000/500111/500111001/500111001001/500111001001001/"})
    book = RuleBook([grid, default, town])
    assert book.rule_for("WATER", "/500000/500111/500111001/500111001001/500111001001001/").code == "G"
    assert book.rule_for("WATER", "/500000/500111/500111001/500111001001/500111001001002/").code == "T"
    assert book.rule_for("WATER", "/500000/500111/500111002/").code == "D"
    assert book.rule_for("RAIN", "/500000/") is None


def _fields(r: ThresholdRule) -> dict[str, object]:
    return {k: getattr(r, k) for k in ("code", "indicator", "conditions", "for_", "keep_firing_for", "area",
                                         "actions", "name", "enabled")}


# --- grading -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "level"), [(1.9, NONE), (2.0, 0), (2.7, 1), (3.0, 2), (9.0, 3)])
def test_above_grades_into_four_levels(value: float, level: int) -> None:
    assert rule().grade_reading(value, T0) == level


def test_below_and_outside() -> None:
    low = rule(conditions=[{"kind": "value", "op": "below", "levels": {"yellow": 0.3, "red": 0.1}}])
    assert [low.grade_reading(v, T0) for v in (0.5, 0.3, 0.2, 0.05)] == [NONE, 1, 1, 3]
    band = rule(conditions=[{"kind": "value", "op": "outside", "levels": {"blue": [5, 8], "red": [2, 11]}}])
    assert [band.grade_reading(v, T0) for v in (6, 4.9, 8.1, 1, 12)] == [NONE, 0, 0, 3, 3]


def test_rate_of_change_over_a_window() -> None:
    r = rule(conditions=[{"kind": "rate", "op": "above", "window": "1h", "levels": {"orange": 0.5}}])
    hist = [(T0, 1.0), (T0 + timedelta(minutes=30), 1.2)]
    assert r.grade_reading(1.6, T0 + timedelta(minutes=50), hist) == 2
    # the reading from T0 is out of the window 70 minutes later: the change counts from 1.2 only
    assert r.grade_reading(1.6, T0 + timedelta(minutes=70), hist) == NONE
    assert r.grade_reading(5.0, T0, []) == NONE  # no earlier reading, no rate


# --- life of a warning ------------------------------------------------------------------------------------


def test_a_storm_climbs_from_blue_to_red_and_resolves() -> None:
    state, changes = feed(rule(), [(0, 1.0), (1, 2.1), (2, 2.6), (3, 3.1), (4, 3.6), (5, 2.2), (6, 1.0)])
    assert changes == [(1, Change.FIRED, 0), (2, Change.RAISED, 1), (3, Change.RAISED, 2),
                       (4, Change.RAISED, 3), (5, Change.LOWERED, 0), (6, Change.RESOLVED, NONE)]
    assert state.status is Status.INACTIVE


def test_for_keeps_a_warning_pending_until_the_level_has_held_long_enough() -> None:
    _, changes = feed(rule(**{"for": "10m"}), [(0, 2.6), (5, 2.6), (9, 2.7), (10, 2.8), (12, 3.6)])
    assert changes[0] == (0, Change.PENDING, 1)
    assert changes[1] == (10, Change.FIRED, 1)
    # red started at 12: it too must hold 10 minutes before it counts
    assert len(changes) == 2


def test_a_pending_warning_that_recovers_is_cleared_without_firing() -> None:
    _, changes = feed(rule(**{"for": "10m"}), [(0, 2.6), (5, 1.0)])
    assert changes == [(0, Change.PENDING, 1), (5, Change.CLEARED, NONE)]


def test_keep_firing_for_holds_the_level_through_a_short_dip() -> None:
    _, changes = feed(rule(keep_firing_for="15m"), [(0, 3.6), (5, 1.0), (10, 3.6), (20, 1.0), (30, 1.0)])
    assert changes == [(0, Change.FIRED, 3), (30, Change.RESOLVED, NONE)]


def test_late_readings_change_nothing() -> None:
    state, changes = feed(rule(), [(10, 3.6), (5, 1.0)])
    assert changes == [(10, Change.FIRED, 3)] and state.status is Status.FIRING


def test_no_data_fires_on_the_periodic_check_and_a_reading_ends_it() -> None:
    r = rule(conditions=[{"kind": "no_data", "levels": {"blue": "30m", "red": "2h"}}])
    state = SeriesState()
    assert observe_reading(state, r, T0, 1.0) == []
    assert observe_tick(state, r, T0 + timedelta(minutes=20)) == []
    assert [t.change for t in observe_tick(state, r, T0 + timedelta(minutes=31))] == [Change.FIRED]
    assert [(t.change, t.level) for t in observe_tick(state, r, T0 + timedelta(hours=3))] == [(Change.RAISED, 3)]
    assert [t.change for t in observe_reading(state, r, T0 + timedelta(hours=3, minutes=1), 1.0)] == [Change.RESOLVED]


# --- properties -------------------------------------------------------------------------------------------

ranks = st.integers(min_value=NONE, max_value=3)
gaps = st.integers(min_value=1, max_value=20)


@settings(max_examples=300, deadline=None)
@given(seq=st.lists(st.tuples(gaps, ranks), min_size=1, max_size=60),
       for_m=st.integers(0, 15), keep_m=st.integers(0, 15))
def test_life_of_a_warning_invariants(seq: list[tuple[int, int]], for_m: int, keep_m: int) -> None:
    r = rule(**{"for": f"{for_m}m", "keep_firing_for": f"{keep_m}m"})
    state = SeriesState()
    at = T0
    history: list[tuple[datetime, int]] = []
    status = Status.INACTIVE
    for gap, rank in seq:
        at += timedelta(minutes=gap)
        history.append((at, rank))
        for t in step(state, r, at, rank):
            # the transitions allowed from each status, and nothing else
            allowed = {Status.INACTIVE: {Change.PENDING, Change.FIRED},
                       Status.PENDING: {Change.FIRED, Change.CLEARED},
                       Status.FIRING: {Change.RAISED, Change.LOWERED, Change.RESOLVED}}[status]
            assert t.change in allowed
            status = {Change.PENDING: Status.PENDING, Change.FIRED: Status.FIRING, Change.RAISED: Status.FIRING,
                      Change.LOWERED: Status.FIRING, Change.RESOLVED: Status.INACTIVE,
                      Change.CLEARED: Status.INACTIVE}[t.change]
            if t.change in (Change.FIRED, Change.RAISED):
                # a level only becomes effective after holding without a break for `for`
                held_since = at
                for when, rk in reversed(history):
                    if rk < t.level:
                        break
                    held_since = when
                assert at - held_since >= r.for_
            if t.change is Change.RAISED:
                assert t.level > t.previous_level
            if t.change is Change.LOWERED:
                assert t.level < t.previous_level
        assert state.status is status
        assert (state.status is Status.FIRING) == (state.level != NONE and status is Status.FIRING)
        if state.status is Status.FIRING:
            # the firing level held within keep_firing_for (hysteresis never invents a level)
            assert any(rk >= state.level and at - when <= r.keep_firing_for for when, rk in history)


@settings(max_examples=200, deadline=None)
@given(seq=st.lists(st.tuples(gaps, ranks), min_size=1, max_size=60))
def test_without_for_and_hysteresis_the_level_is_the_grading(seq: list[tuple[int, int]]) -> None:
    r = rule()
    state = SeriesState()
    at = T0
    for gap, rank in seq:
        at += timedelta(minutes=gap)
        step(state, r, at, rank)
        assert state.level == rank
        assert state.status is (Status.FIRING if rank != NONE else Status.INACTIVE)


@settings(max_examples=200, deadline=None)
@given(bounds=st.lists(st.floats(-1e6, 1e6), min_size=4, max_size=4), x=st.floats(-2e6, 2e6))
def test_above_grading_is_monotonic(bounds: list[float], x: float) -> None:
    b = sorted(bounds)
    r = rule(conditions=[{"kind": "value", "op": "above", "levels": dict(zip(("blue", "yellow", "orange", "red"),
                                                                             b, strict=True))}])
    rank = r.grade_reading(x, T0)
    assert rank == max((i for i in range(4) if x >= b[i]), default=NONE)
    assert r.grade_reading(x + 1.0, T0) >= rank


# --- silences and inhibitions ------------------------------------------------------------------------------

PUMP = WarningFacts("PUMP", ("S", "R", "SR", "PUMP"), "P-1", "/500000/500111/500111001/", 2)
POWER = WarningFacts("POWER", ("S", "R2", "SR2", "POWER"), "500111001", "/500000/500111/500111001/", 1)


def test_a_silence_matches_by_lineage_area_level_and_time() -> None:
    m, problems = parse_matcher({"indicators": ["SR"], "area": "500111001", "levels": ["orange", "red"]})
    assert m is not None and not problems
    m = Matcher(m.indicators, m.series, m.area, "/500000/500111/500111001/", m.levels)
    s = Silence(1, T0, T0 + timedelta(hours=2), m)
    assert suppression(PUMP, T0 + timedelta(hours=1), [s], [], []) is not None
    assert suppression(PUMP, T0 + timedelta(hours=2), [s], [], []) is None  # the window has ended
    assert suppression(WarningFacts(**{**_facts(PUMP), "level": 0}), T0, [s], [], []) is None
    assert suppression(WarningFacts(**{**_facts(PUMP), "area_path": "/500000/500111/500111002/"}),
                       T0, [s], [], []) is None


def _facts(w: WarningFacts) -> dict[str, object]:
    return {k: getattr(w, k) for k in ("indicator", "lineage", "series_key", "area_path", "level")}


def test_an_upstream_power_outage_inhibits_the_pumps_it_feeds() -> None:
    rule_, problems = parse_inhibition({"code": "POWER-PUMPS", "source": {"indicators": ["POWER"]},
                                        "target": {"indicators": ["PUMP"]}, "min_level": "yellow"})
    assert rule_ is not None and not problems
    found = suppression(PUMP, T0, [], [rule_], [(7, POWER)])
    assert found is not None and found.by_warning == 7 and found.ref == "POWER-PUMPS"
    weak = WarningFacts(**{**_facts(POWER), "level": 0})
    assert suppression(PUMP, T0, [], [rule_], [(7, weak)]) is None
    elsewhere = WarningFacts(**{**_facts(POWER), "area_path": "/500000/500111/500111002/"})
    assert suppression(PUMP, T0, [], [rule_], [(7, elsewhere)]) is None
    assert isinstance(rule_, Inhibition)


def test_bad_inhibitions_name_their_paths() -> None:
    _, problems = parse_inhibition({"code": "X", "source": {"indicators": "POWER"}, "target": {}, "scope": "city"})
    paths = {p.path for p in problems}
    assert {"$.source.indicators", "$.target", "$.scope"} <= paths


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.tuples(gaps, st.floats(0, 5)), min_size=1, max_size=40),
       band=st.booleans(), for_m=st.integers(0, 10), keep_m=st.integers(0, 10))
def test_the_quiet_fast_path_agrees_with_the_full_evaluation(values: list[tuple[int, float]], band: bool,
                                                             for_m: int, keep_m: int) -> None:
    from shuzhi.domain.warning_life import observe_quiet

    conditions = ([{"kind": "value", "op": "outside", "levels": {"blue": [1.0, 3.0], "red": [0.5, 4.0]}}] if band
                  else WATER["conditions"])
    r = rule(conditions=conditions, **{"for": f"{for_m}m", "keep_firing_for": f"{keep_m}m"})
    fast, full = SeriesState(), SeriesState()
    at = T0
    for gap, v in values:
        at += timedelta(minutes=gap)
        if not observe_quiet(fast, r, at, v):
            fast_changes = [(t.change, t.level) for t in observe_reading(fast, r, at, v)]
        else:
            fast_changes = []
        assert fast_changes == [(t.change, t.level) for t in observe_reading(full, r, at, v)]
        assert (fast.status, fast.level, fast.streak_start, fast.reading_rank) == (
            full.status, full.level, full.streak_start, full.reading_rank)


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(st.tuples(gaps, st.floats(0, 5)), min_size=1, max_size=15), min_size=1, max_size=5),
       for_m=st.integers(0, 10), keep_m=st.integers(0, 10))
def test_a_quiet_run_per_series_agrees_with_reading_by_reading(batches: list[list[tuple[int, float]]], for_m: int,
                                                               keep_m: int) -> None:
    """What evaluation does per batch and series — take the quiet prefix at once, then grade the rest
    one by one — ends in the same state, with the same changes, as grading every reading."""
    from shuzhi.domain.warning_life import observe_quiet_run

    r = rule(**{"for": f"{for_m}m", "keep_firing_for": f"{keep_m}m"})
    fast, full = SeriesState(), SeriesState()
    at = T0
    for values in batches:
        points = []
        for gap, v in values:
            at += timedelta(minutes=gap)
            points.append((at, v))
        taken = observe_quiet_run(fast, r, points)
        fast_changes = [(t.change, t.level) for p in points[taken:] for t in observe_reading(fast, r, *p)]
        full_changes = [(t.change, t.level) for p in points for t in observe_reading(full, r, *p)]
        assert fast_changes == full_changes
        assert (fast.status, fast.level, fast.streak_start, fast.reading_rank, fast.last_at, fast.last_value) == (
            full.status, full.level, full.streak_start, full.reading_rank, full.last_at, full.last_value)
