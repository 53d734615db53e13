"""Dispatch rules: every operator, every validation problem at its exact path, laws of the tree,
and decisions over a small directory (a district with two towns, a department and a grid team)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuzhi.domain.conditions import (
    FIELDS,
    SOURCES,
    URGENCIES,
    EventFacts,
    InvalidRule,
    Vocabulary,
    evaluate,
    explain,
    validate_condition,
)
from shuzhi.domain.dispatch import Candidate
from shuzhi.domain.rules import MemoryDirectory, Rule, RuleSet, decide, validate_targets

CST = timezone(timedelta(hours=8))
GRID_A1 = "/500000/500111/500111001/500111001001/500111001001001/"
GRID_A2 = "/500000/500111/500111001/500111001001/500111001001002/"
GRID_B1 = "/500000/500111/500111002/500111002001/500111002001001/"


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def facts(**kw: Any) -> EventFacts:
    base: dict[str, Any] = {
        "event_class": "0101", "major_class": "01", "source": "hotline", "request_type": "complain",
        "urgency": "urgent", "area_path": GRID_A1, "area_level": "grid", "title": "北山路井盖破损",
        "description": "夜间有响声 Loose cover", "received_at": datetime(2024, 6, 13, 10, 30, tzinfo=CST),
        "is_working_time": True,
    }
    base.update(kw)
    return EventFacts(**base)


# --- operators -----------------------------------------------------------------------------------

OPERATOR_CASES = [
    (leaf("event_class", "eq", "0101"), {}, True),
    (leaf("event_class", "eq", "0201"), {}, False),
    (leaf("event_class", "in", ["0201", "0101"]), {}, True),
    (leaf("event_class", "in", ["0201"]), {}, False),
    (leaf("event_class", "eq", "0101"), {"event_class": None}, False),
    (leaf("major_class", "eq", "01"), {}, True),
    (leaf("major_class", "in", ["02", "03"]), {}, False),
    (leaf("source", "eq", "hotline"), {}, True),
    (leaf("source", "in", ["grid_patrol", "sensor_warning"]), {}, False),
    (leaf("request_type", "eq", "complain"), {}, True),
    (leaf("request_type", "in", ["help", "consult"]), {}, False),
    (leaf("request_type", "eq", "complain"), {"request_type": None}, False),
    (leaf("urgency", "eq", "urgent"), {}, True),
    (leaf("urgency", "in", ["normal", "critical"]), {}, False),
    (leaf("urgency", "gte", "urgent"), {}, True),
    (leaf("urgency", "gte", "critical"), {}, False),
    (leaf("urgency", "gte", "normal"), {"urgency": "normal"}, True),
    (leaf("urgency", "lte", "urgent"), {}, True),
    (leaf("urgency", "lte", "normal"), {}, False),
    (leaf("urgency", "lte", "critical"), {"urgency": None}, False),
    (leaf("area", "within", "500111001"), {}, True),
    (leaf("area", "within", "500111002"), {}, False),
    (leaf("area", "within", ["500111002", "500111001001"]), {}, True),
    (leaf("area", "within", "500111001001001"), {}, True),  # an area is within itself
    (leaf("area", "within", "500111"), {"area_path": None}, False),
    (leaf("area_level", "eq", "grid"), {}, True),
    (leaf("area_level", "in", ["town", "village"]), {}, False),
    (leaf("text", "contains_any", ["垃圾", "井盖"]), {}, True),
    (leaf("text", "contains_any", ["垃圾", "漏水"]), {}, False),
    (leaf("text", "contains_any", ["LOOSE"]), {}, True),  # case-insensitive
    (leaf("text", "contains_all", ["井盖", "响声"]), {}, True),  # title and description both count
    (leaf("text", "contains_all", ["井盖", "漏水"]), {}, False),
    (leaf("text", "regex", r"[东南西北]山路"), {}, True),
    (leaf("text", "regex", r"^夜间"), {}, False),
    (leaf("text", "regex", r"(?m)^夜间"), {}, True),
    (leaf("time_of_day", "between", ["09:00", "12:00"]), {}, True),
    (leaf("time_of_day", "between", ["10:31", "12:00"]), {}, False),
    (leaf("time_of_day", "between", ["22:00", "06:00"]), {}, False),
    (leaf("time_of_day", "between", ["22:00", "06:00"]),
     {"received_at": datetime(2024, 6, 13, 23, 15, tzinfo=CST)}, True),
    (leaf("time_of_day", "between", ["22:00", "06:00"]),
     {"received_at": datetime(2024, 6, 13, 5, 59, tzinfo=CST)}, True),
    (leaf("time_of_day", "between", ["22:00", "06:00"]),
     {"received_at": datetime(2024, 6, 13, 6, 0, tzinfo=CST)}, False),  # the end is not included
    # 15:30 UTC is 23:30 in Asia/Shanghai
    (leaf("time_of_day", "between", ["22:00", "06:00"]),
     {"received_at": datetime(2024, 6, 13, 15, 30, tzinfo=UTC)}, True),
    (leaf("time_of_day", "between", ["09:00", "18:00"]), {"received_at": None}, False),
    (leaf("weekday", "in", [4]), {}, True),  # 2024-06-13 was a Thursday
    (leaf("weekday", "in", [6, 7]), {}, False),
    # Friday 23:30 UTC is already Saturday in Shanghai
    (leaf("weekday", "in", [6]), {"received_at": datetime(2024, 6, 14, 23, 30, tzinfo=UTC)}, True),
    (leaf("is_working_time", "eq", True), {}, True),
    (leaf("is_working_time", "eq", False), {}, False),
    (leaf("is_working_time", "eq", False), {"is_working_time": None}, False),
]


@pytest.mark.parametrize(("tree", "changes", "expected"), OPERATOR_CASES)
def test_operator(tree: dict[str, Any], changes: dict[str, Any], expected: bool) -> None:
    assert validate_condition(tree) == []
    assert evaluate(tree, facts(**changes)) is expected


def test_every_field_and_operator_has_a_case() -> None:
    covered = {(t["field"], t["op"]) for t, _, _ in OPERATOR_CASES}
    assert covered == {(f, op) for f, spec in FIELDS.items() for op in spec.ops}


def test_sources_are_the_intake_sources() -> None:
    from shuzhi.services.commands import RequestType, Source

    assert set(SOURCES) == {s.value for s in Source}
    assert set(FIELDS["request_type"].choices) == {r.value for r in RequestType}
    assert URGENCIES == ("normal", "urgent", "critical")


# --- validation ----------------------------------------------------------------------------------

PROBLEM_CASES = [
    # (tree, path, code)
    ([], "$", "wrong_type"),
    ({}, "$", "empty"),
    ({"and": []}, "$.and", "empty"),
    ({"or": []}, "$.or", "empty"),
    ({"and": {"field": "source"}}, "$.and", "wrong_type"),
    ({"and": [leaf("source", "eq", "hotline")], "or": []}, "$.or", "unknown_key"),
    ({"and": [leaf("source", "eq", "hotline"), leaf("colour", "eq", "red")]}, "$.and[1].field",
     "unknown_field"),
    ({"and": [leaf("source", "eq", "hotline"), 3]}, "$.and[1]", "wrong_type"),
    ({"field": "source", "op": "eq"}, "$.value", "missing"),
    ({"field": "source", "op": "eq", "value": "hotline", "weight": 2}, "$.weight", "unknown_key"),
    (leaf("source", "gte", "hotline"), "$.op", "op_not_allowed"),
    (leaf("event_class", "contains_any", ["01"]), "$.op", "op_not_allowed"),
    (leaf("area", "eq", "500111"), "$.op", "op_not_allowed"),
    (leaf("weekday", "eq", 1), "$.op", "op_not_allowed"),
    (leaf("event_class", "eq", 101), "$.value", "wrong_type"),
    (leaf("event_class", "in", "0101"), "$.value", "wrong_type"),
    (leaf("event_class", "in", []), "$.value", "empty"),
    (leaf("event_class", "in", ["0101", 7]), "$.value[1]", "wrong_type"),
    (leaf("source", "eq", "fax"), "$.value", "unknown_value"),
    (leaf("source", "in", ["hotline", "fax"]), "$.value[1]", "unknown_value"),
    (leaf("urgency", "gte", "high"), "$.value", "unknown_value"),
    (leaf("area_level", "eq", "province"), "$.value", "unknown_value"),
    (leaf("request_type", "eq", True), "$.value", "wrong_type"),
    (leaf("area", "within", "5001"), "$.value", "bad_value"),
    (leaf("area", "within", ["500111", 500112]), "$.value[1]", "wrong_type"),
    (leaf("text", "contains_any", "井盖"), "$.value", "wrong_type"),
    (leaf("text", "contains_all", ["井盖", ""]), "$.value[1]", "empty"),
    (leaf("text", "regex", "(unclosed"), "$.value", "bad_regex"),
    (leaf("text", "regex", r"(井盖)\1"), "$.value", "bad_regex"),  # a back-reference needs backtracking
    (leaf("text", "regex", "井盖(?!已修)"), "$.value", "bad_regex"),  # so does a look-around
    (leaf("text", "regex", "x" * 201), "$.value", "bad_regex"),
    (leaf("text", "regex", 5), "$.value", "wrong_type"),
    (leaf("time_of_day", "between", ["22:00"]), "$.value", "wrong_type"),
    (leaf("time_of_day", "between", ["22:00", "24:30"]), "$.value[1]", "bad_time"),
    (leaf("time_of_day", "between", ["9:00", "12:00"]), "$.value[0]", "bad_time"),
    (leaf("time_of_day", "between", ["08:00", "08:00"]), "$.value", "bad_time"),
    (leaf("weekday", "in", [1, 8]), "$.value[1]", "unknown_value"),
    (leaf("weekday", "in", [True]), "$.value[0]", "wrong_type"),
    (leaf("is_working_time", "eq", "yes"), "$.value", "wrong_type"),
    ({"not": {"or": [leaf("source", "eq", "hotline"), {"and": [leaf("urgency", "in", ["hot"])]}]}},
     "$.not.or[1].and[0].value[0]", "unknown_value"),
]


@pytest.mark.parametrize(("tree", "path", "code"), PROBLEM_CASES)
def test_problem_is_named_at_its_path(tree: Any, path: str, code: str) -> None:
    problems = validate_condition(tree)
    assert [(p.path, p.code) for p in problems] == [(path, code)], problems
    assert problems[0].message


@pytest.mark.parametrize("pattern", ["(a|aa)+$", "(a+)+$", r"(\w+\s?)+$", "(x*)*y"])
def test_a_pattern_that_backtracks_exponentially_matches_in_linear_time(pattern: str) -> None:
    """A rule author's slow pattern can never stall the process: RE2 runs it in linear time.

    (Python's ``re`` needs about 2^n steps for these on n ``a``s and a mismatch at the end.)"""
    import threading
    import time

    tree = leaf("text", "regex", pattern)
    assert validate_condition(tree) == []
    text = "a" * 5000 + "!"
    result: list[bool] = []
    started = time.perf_counter()
    worker = threading.Thread(target=lambda: result.append(evaluate(tree, facts(title=text, description=text))),
                              daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert result == [False] and time.perf_counter() - started < 5


def test_every_problem_is_listed_not_just_the_first() -> None:
    tree = {"and": [leaf("colour", "eq", "red"), leaf("source", "gte", "x"), {"or": []},
                    leaf("time_of_day", "between", ["25:00", "xx"])]}
    assert [p.path for p in validate_condition(tree)] == [
        "$.and[0].field", "$.and[1].op", "$.and[2].or", "$.and[3].value[0]", "$.and[3].value[1]"]


def test_paths_take_a_prefix_and_codes_a_vocabulary() -> None:
    tree = {"and": [leaf("event_class", "in", ["0101", "9999"]), leaf("area", "within", "500199")]}
    vocab = Vocabulary(event_classes={"0101"}, areas={"500111"})
    problems = validate_condition(tree, path="$.condition", vocabulary=vocab)
    assert [(p.path, p.code) for p in problems] == [
        ("$.condition.and[0].value[1]", "unknown_value"), ("$.condition.and[1].value", "unknown_value")]


def test_depth_and_size_are_bounded() -> None:
    deep: dict[str, Any] = leaf("source", "eq", "hotline")
    for _ in range(20):
        deep = {"not": deep}
    assert {p.code for p in validate_condition(deep)} == {"too_deep"}
    wide = {"or": [leaf("source", "eq", "hotline")] * 400}
    assert [p.code for p in validate_condition(wide)] == ["too_large"]


@pytest.mark.parametrize(("targets", "path", "code"), [
    ({"assist": []}, "$.targets.lead", "missing"),
    ({"lead": 5}, "$.targets.lead", "wrong_type"),
    ({"lead": {"kind": "team"}}, "$.targets.lead.kind", "unknown_value"),
    ({"lead": {"responsible": True, "level": "province"}}, "$.targets.lead.level", "unknown_value"),
    ({"lead": {"level": "town"}}, "$.targets.lead", "missing"),
    ({"lead": {"unit": "D1", "kind": "grid"}}, "$.targets.lead.kind", "unknown_key"),
    ({"lead": "D1", "assist": [{"kind": "grid", "near": 1}]}, "$.targets.assist[0].near", "unknown_key"),
    ({"lead": "D1", "assist": "D2"}, "$.targets.assist", "wrong_type"),
    ({"lead": "D1", "cc": []}, "$.targets.cc", "unknown_key"),
])
def test_target_problems(targets: Any, path: str, code: str) -> None:
    assert [(p.path, p.code) for p in validate_targets(targets)] == [(path, code)]


def test_evaluating_an_invalid_tree_is_refused() -> None:
    with pytest.raises(InvalidRule, match=r"\$\.op"):
        evaluate(leaf("source", "gte", "hotline"), facts())


# --- laws (hypothesis) ---------------------------------------------------------------------------

CLASSES = ["0101", "0201", "0301"]
AREAS = ["500000", "500111", "500111001", "500111002", "500111001001", "500111001001001"]
TIMES = ["00:00", "06:00", "09:30", "12:00", "18:00", "22:00", "23:59"]
WORDS = ["井盖", "垃圾", "漏水", "路灯", "a", "B"]


def _one_or_many(values: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(st.tuples(st.just("eq"), st.sampled_from(values)),
                     st.tuples(st.just("in"), st.lists(st.sampled_from(values), min_size=1, max_size=3)))


def _leaf(field: str, ops: st.SearchStrategy[tuple[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return ops.map(lambda ov: leaf(field, ov[0], ov[1]))


LEAVES = st.one_of(
    _leaf("event_class", _one_or_many(CLASSES)),
    _leaf("major_class", _one_or_many(["01", "02", "03"])),
    _leaf("source", _one_or_many(list(SOURCES))),
    _leaf("request_type", _one_or_many(["consult", "complain", "help", "suggest", "report"])),
    _leaf("urgency", st.one_of(_one_or_many(list(URGENCIES)),
                               st.tuples(st.sampled_from(["gte", "lte"]), st.sampled_from(URGENCIES)))),
    _leaf("area", st.one_of(st.sampled_from(AREAS), st.lists(st.sampled_from(AREAS), min_size=1, max_size=3))
          .map(lambda v: ("within", v))),
    _leaf("area_level", _one_or_many(["city", "district", "town", "village", "grid"])),
    _leaf("text", st.one_of(
        st.tuples(st.sampled_from(["contains_any", "contains_all"]),
                  st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)),
        st.tuples(st.just("regex"), st.sampled_from(["井盖|垃圾", "^路", "[0-9]+号", "(?i)b"])))),
    _leaf("time_of_day", st.lists(st.sampled_from(TIMES), min_size=2, max_size=2, unique=True)
          .map(lambda v: ("between", v))),
    _leaf("weekday", st.lists(st.integers(1, 7), min_size=1, max_size=7).map(lambda v: ("in", v))),
    _leaf("is_working_time", st.booleans().map(lambda v: ("eq", v))),
)
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4).map(lambda c: {"and": c}),
        st.lists(children, min_size=1, max_size=4).map(lambda c: {"or": c}),
        children.map(lambda c: {"not": c}),
    ),
    max_leaves=12,
)
FACTS = st.builds(
    EventFacts,
    event_class=st.none() | st.sampled_from(CLASSES),
    major_class=st.none() | st.sampled_from(["01", "02"]),
    source=st.none() | st.sampled_from(SOURCES),
    request_type=st.none() | st.sampled_from(["consult", "complain", "help"]),
    urgency=st.none() | st.sampled_from(URGENCIES),
    area_path=st.none() | st.sampled_from([GRID_A1, GRID_A2, GRID_B1, "/500000/500111/"]),
    area_level=st.none() | st.sampled_from(["grid", "town", "district"]),
    title=st.lists(st.sampled_from([*WORDS, "路", "12号"]), max_size=4).map("".join),
    description=st.text(max_size=20),
    received_at=st.none() | st.datetimes(timezones=st.just(UTC)),
    is_working_time=st.none() | st.booleans(),
)


@given(TREES, FACTS)
def test_generated_trees_are_valid_and_not_negates(tree: dict[str, Any], f: EventFacts) -> None:
    assert validate_condition(tree) == []
    assert evaluate({"not": tree}, f) == (not evaluate(tree, f))


@given(TREES, TREES, FACTS)
def test_and_or_laws(a: dict[str, Any], b: dict[str, Any], f: EventFacts) -> None:
    va, vb = evaluate(a, f), evaluate(b, f)
    assert evaluate({"and": [a, b]}, f) == (va and vb) == evaluate({"and": [b, a]}, f)
    assert evaluate({"or": [a, b]}, f) == (va or vb) == evaluate({"or": [b, a]}, f)
    assert evaluate({"and": [a]}, f) == va == evaluate({"or": [a, a]}, f)
    # De Morgan
    assert evaluate({"not": {"and": [a, b]}}, f) == evaluate({"or": [{"not": a}, {"not": b}]}, f)
    assert evaluate({"not": {"or": [a, b]}}, f) == evaluate({"and": [{"not": a}, {"not": b}]}, f)


@given(TREES, FACTS)
def test_explanations_hold_on_their_own(tree: dict[str, Any], f: EventFacts) -> None:
    why = explain(tree, f)
    assert bool(why) == evaluate(tree, f)
    for part in why:
        assert evaluate(part, f)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 9) | st.sampled_from(
        ["eq", "in", "gte", "within", "between", "regex", "contains_any", "source", "urgency", "area",
         "text", "weekday", "time_of_day", "hotline", "urgent", "500111", "22:00", "(", "x", ""]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["and", "or", "not", "field", "op", "value", "extra"]), children, max_size=4),
    max_leaves=15,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH, FACTS)
def test_validation_never_raises_and_a_valid_tree_never_raises_in_evaluate(tree: Any, f: EventFacts) -> None:
    problems = validate_condition(tree)
    if not problems:
        evaluate(tree, f)  # must not raise
    else:
        assert all(p.path.startswith("$") and p.message for p in problems)


# --- decisions -----------------------------------------------------------------------------------

UNITS = [
    Candidate(1, "C500111", "centre", "district", "/500000/500111/"),
    Candidate(2, "C500111001", "centre", "town", "/500000/500111/500111001/"),
    Candidate(3, "C500111002", "centre", "town", "/500000/500111/500111002/"),
    Candidate(4, "D500111-CGJ", "department", "district", "/500000/500111/"),
    Candidate(5, "D500111-SWJ", "department", "district", "/500000/500111/"),
    Candidate(6, "V500111001001", "village", "village", "/500000/500111/500111001/500111001001/"),
    Candidate(7, "G500111001001001", "grid", "grid", GRID_A1),
]
DUTIES = {"0101": ["D500111-CGJ"], "0201": ["C500111001", "C500111002", "D500111-CGJ", "G500111001001001"],
          "0301": ["D500111-SWJ"]}
DIRECTORY = MemoryDirectory(UNITS, DUTIES)


def rule(code: str, condition: dict[str, Any], lead: Any, *, priority: int = 100,
         assist: list[Any] | None = None, level: str | None = None, enabled: bool = True) -> Rule:
    return Rule(code=code, name=f"rule {code}", priority=priority, condition=condition,
                targets={"lead": lead, "assist": assist or []}, level=level, enabled=enabled)


def test_the_first_rule_by_priority_decides_and_says_why() -> None:
    rules = [
        rule("R-late", leaf("event_class", "eq", "0101"), "D500111-SWJ", priority=50),
        rule("R-first", {"and": [leaf("event_class", "in", ["0101"]), leaf("urgency", "gte", "urgent"),
                                 {"or": [leaf("source", "eq", "grid_patrol"),
                                         leaf("text", "contains_any", ["井盖"])]},
                                 {"not": leaf("area", "within", "500111002")}]},
             "D500111-CGJ", priority=10, assist=["C500111001", "D500111-CGJ"]),
        rule("R-off", leaf("event_class", "eq", "0101"), "C500111", priority=1, enabled=False),
    ]
    d = decide(rules, facts(), DIRECTORY)
    assert d.lead is not None and d.lead.code == "D500111-CGJ"
    assert [a.code for a in d.assist] == ["C500111001"]  # the lead is not also its own assistant
    assert d.rule is not None and d.rule.code == "R-first" and not d.fallback
    assert list(d.why) == [leaf("event_class", "in", ["0101"]), leaf("urgency", "gte", "urgent"),
                           leaf("text", "contains_any", ["井盖"]),
                           {"not": leaf("area", "within", "500111002")}]
    assert d.payload()["rule"] == "R-first"


def test_equal_priorities_go_by_code() -> None:
    rules = [rule("B", leaf("source", "eq", "hotline"), "D500111-SWJ"),
             rule("A", leaf("source", "eq", "hotline"), "D500111-CGJ")]
    assert decide(rules, facts(), DIRECTORY).rule.code == "A"  # type: ignore[union-attr]


def test_no_rule_falls_back_to_the_grid_principle_and_says_so() -> None:
    rules = [rule("R", leaf("event_class", "eq", "0301"), "D500111-SWJ")]
    d = decide(rules, facts(event_class="0201"), DIRECTORY)
    assert d.fallback and d.rule is None and d.lead is not None
    assert d.lead.code == "G500111001001001"  # the smallest area holding the duty: the grid team
    assert "grid principle" in d.message
    assert d.payload()["fallback"] == "grid_principle"


def test_nothing_to_fall_back_to() -> None:
    d = decide([], facts(event_class=None), DIRECTORY)
    assert d.lead is None and d.fallback and "no class" in d.message
    d = decide([], facts(event_class="0101", area_path=None), DIRECTORY)
    assert d.lead is None and "no place" in d.message


@pytest.mark.parametrize(("selector", "event", "expected"), [
    ({"responsible": True, "level": "town"}, {"event_class": "0201"}, "C500111001"),  # holds the duty
    ({"responsible": True, "level": "town"}, {"event_class": "0101"}, "C500111001"),  # the town's centre
    ({"responsible": True, "level": "town"}, {"event_class": "0201", "area_path": GRID_B1}, "C500111002"),
    ({"responsible": True, "level": "district"}, {"event_class": "0101"}, "D500111-CGJ"),
    ({"responsible": True}, {"event_class": "0201"}, "G500111001001001"),
    ({"kind": "grid"}, {"event_class": "0201"}, "G500111001001001"),
    ({"kind": "village"}, {"event_class": "0999"}, "V500111001001"),  # a class no department holds
    ({"kind": "centre", "level": "district"}, {}, "C500111"),
    ({"unit": "D500111-SWJ"}, {}, "D500111-SWJ"),
])
def test_selectors(selector: dict[str, Any], event: dict[str, Any], expected: str) -> None:
    d = decide([rule("R", leaf("source", "eq", "hotline"), selector)], facts(**event), DIRECTORY)
    assert d.rule is not None and d.lead is not None and d.lead.code == expected


def test_rule_level_is_the_default_level_of_its_selectors() -> None:
    d = decide([rule("R", leaf("source", "eq", "hotline"), {"responsible": True}, level="town")],
               facts(event_class="0201"), DIRECTORY)
    assert d.lead is not None and d.lead.code == "C500111001"


def test_a_target_that_finds_no_unit_is_passed_over() -> None:
    rules = [rule("R-grid", leaf("event_class", "eq", "0201"), {"kind": "grid"}, priority=1),
             rule("R-town", leaf("event_class", "eq", "0201"), {"responsible": True, "level": "town"},
                  priority=2)]
    d = decide(rules, facts(event_class="0201", area_path=GRID_A2), DIRECTORY)  # grid A-2 has no team
    assert d.rule is not None and d.rule.code == "R-town"
    assert [(p.rule, "no active unit" in p.reason) for p in d.passed_over] == [("R-grid", True)]


def test_department_tasks_are_not_pushed_down() -> None:
    # 0101 (manhole covers) is the city-management bureau's duty; the grid team does not hold it
    d = decide([rule("R", leaf("event_class", "eq", "0101"), {"kind": "grid"})], facts(), DIRECTORY)
    assert d.fallback and d.lead is not None and d.lead.code == "D500111-CGJ"
    assert "not pushed down" in d.passed_over[0].reason
    # 0201 (exposed rubbish) is in the grid team's own duties, so it may go there
    d = decide([rule("R", leaf("event_class", "eq", "0201"), {"kind": "grid"})], facts(event_class="0201"),
               DIRECTORY)
    assert d.rule is not None and d.lead is not None and d.lead.code == "G500111001001001"


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TREES, min_size=1, max_size=25), st.lists(FACTS, min_size=1, max_size=10))
def test_the_index_never_hides_a_matching_rule(trees: list[dict[str, Any]], many: list[EventFacts]) -> None:
    rule_set = RuleSet(rule(f"R{i:03d}", t, "C500111", priority=i % 5) for i, t in enumerate(trees))
    for f in many:
        full = [cr.rule.code for cr in rule_set.rules if cr.test(f)]
        indexed = [cr.rule.code for cr in rule_set.candidates(f) if cr.test(f)]
        assert indexed == full


def test_a_stored_rule_that_no_longer_validates_is_skipped_not_fatal() -> None:
    rule_set = RuleSet([rule("BAD", leaf("source", "eq", "fax"), "C500111"),
                        rule("OK", leaf("source", "eq", "hotline"), "C500111")])
    assert list(rule_set.broken) == ["BAD"]
    assert decide(rule_set, facts(), DIRECTORY).rule.code == "OK"  # type: ignore[union-attr]
