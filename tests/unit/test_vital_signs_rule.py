"""The vital-sign rule (domain/vital_signs.py): an indicator's colour from its facts, the roll-up
(worst-of with thresholds), and the rule document checked with every problem at its path."""

from __future__ import annotations

from typing import Any

import pytest

from shuzhi.domain import vital_signs as vs

DEFAULT = vs.default_rule()


def rule(**doc: Any) -> vs.VitalRule:
    parsed, problems = vs.parse_rule(doc)
    assert parsed is not None, problems
    return parsed


@pytest.mark.parametrize(("facts", "colour", "reasons"), [
    (vs.IndicatorFacts(realtime=True, series=3), "green", ()),
    (vs.IndicatorFacts(realtime=True, series=3, firing={"yellow": 1, "red": 1}), "red",
     ("warning.red", "warning.yellow")),
    (vs.IndicatorFacts(realtime=True, series=3, pending=2), "blue", ("pending",)),
    (vs.IndicatorFacts(realtime=True, series=0), "yellow", ("no_data",)),
    (vs.IndicatorFacts(realtime=False, series=0), "green", ()),
    (vs.IndicatorFacts(realtime=True, series=10, stale=1), "yellow", ("stale",)),
    (vs.IndicatorFacts(realtime=True, series=10, stale=5), "orange", ("stale",)),
    (vs.IndicatorFacts(realtime=True, series=10, stale=5, firing={"blue": 1}), "orange", ("stale", "warning.blue")),
])
def test_an_indicator_takes_the_worst_of_its_warnings_pending_readings_and_data(
        facts: vs.IndicatorFacts, colour: str, reasons: tuple[str, ...]) -> None:
    assert vs.indicator_colour(facts, DEFAULT) == vs.Verdict(colour, reasons)


def test_a_city_can_map_warning_levels_to_other_colours_and_ignore_pending_readings() -> None:
    r = rule(warning_colours={"blue": "green", "yellow": "blue"}, pending_colour=None)
    assert vs.indicator_colour(vs.IndicatorFacts(realtime=True, series=1, firing={"blue": 2}, pending=1), r) == \
        vs.Verdict("green", ())
    assert vs.indicator_colour(vs.IndicatorFacts(realtime=True, series=1, firing={"yellow": 1}), r).colour == "blue"


def test_worst_of_is_the_default_roll_up_and_nodes_without_indicators_do_not_count() -> None:
    assert vs.rollup_colour(["green", "red", None], DEFAULT) == "red"
    assert vs.rollup_colour(["green", "green"], DEFAULT) == "green"
    assert vs.rollup_colour([None, None], DEFAULT) is None
    assert vs.rollup_colour([], DEFAULT) is None


def test_thresholds_let_one_bad_child_lower_a_node_only_so_far() -> None:
    r = rule(rollup={"red": {"min_count": 2}, "orange": {"min_share": 0.5}})
    assert vs.rollup_colour(["red", "green", "green"], r) == "yellow"  # 1 red: not red; 1/3 < 50 %: not orange
    assert vs.rollup_colour(["red", "green"], r) == "orange"
    assert vs.rollup_colour(["red", "red", "green"], r) == "red"


@pytest.mark.parametrize(("doc", "path"), [
    ([], "$"),
    ({"colours": {}}, "$.colours"),
    ({"warning_colours": {"purple": "red"}}, "$.warning_colours.purple"),
    ({"warning_colours": {"red": "pink"}}, "$.warning_colours.red"),
    ({"warning_colours": {"yellow": "red", "red": "yellow"}}, "$.warning_colours"),
    ({"pending_colour": 3}, "$.pending_colour"),
    ({"stale_after": 0.5}, "$.stale_after"),
    ({"stale_after": True}, "$.stale_after"),
    ({"stale_colours": "orange"}, "$.stale_colours"),
    ({"stale_colours": [{"min_share": 0, "colour": "yellow"}]}, "$.stale_colours[0].min_share"),
    ({"stale_colours": [{"min_share": 2, "colour": "yellow"}]}, "$.stale_colours[0].min_share"),
    ({"stale_colours": [{"share": 0.2, "colour": "yellow"}]}, "$.stale_colours[0]"),
    ({"stale_colours": [{"min_share": 0.2, "colour": "yellow"}, {"min_share": 0.1, "colour": "red"}]},
     "$.stale_colours[1]"),
    ({"rollup": {"green": {}}}, "$.rollup.green"),
    ({"rollup": {"red": {"min_count": 1.5}}}, "$.rollup.red.min_count"),
    ({"rollup": {"red": {"min_share": -0.1}}}, "$.rollup.red.min_share"),
    ({"rollup": {"red": {"min_count": 1, "at_least": 2}}}, "$.rollup.red"),
])
def test_a_bad_rule_is_refused_with_the_path_of_the_problem(doc: Any, path: str) -> None:
    parsed, problems = vs.parse_rule(doc)
    assert parsed is None
    assert path in [p.path for p in problems], problems


def test_the_default_rule_is_valid_and_an_empty_document_means_the_default() -> None:
    assert vs.parse_rule(vs.DEFAULT_RULE)[0] == vs.parse_rule({})[0] == DEFAULT
