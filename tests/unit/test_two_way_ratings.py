"""政企双向评价 as data: each direction's dimensions, a 差评 says why, the figures."""

from __future__ import annotations

import pytest

from shuzhi.domain import two_way_ratings as tw
from shuzhi.domain.ratings import Grade, Level

ALL_GOOD = {d: "satisfied" for d in tw.DIMENSIONS[tw.Direction.ENTERPRISE]}


@pytest.mark.parametrize("direction", list(tw.Direction))
def test_every_dimension_of_the_direction_is_rated(direction: tw.Direction) -> None:
    levels = {d: "satisfied" for d in tw.DIMENSIONS[direction]}
    ok, problems = tw.check(direction, levels, "")
    assert problems == [] and ok is not None and ok.grade is Grade.GOOD
    del levels["overall"]
    assert tw.check(direction, levels, "")[1] == [("levels.overall", "「总体评价」 is not rated")]


def test_a_dimension_of_the_other_direction_is_refused() -> None:
    _, problems = tw.check(tw.Direction.ENTERPRISE, {**ALL_GOOD, "integrity": "satisfied"}, "")
    assert problems == [("levels.integrity", "not a dimension of a enterprise rating")]


def test_a_bad_rating_must_say_why_and_levels_are_checked() -> None:
    bad = {**ALL_GOOD, "overall": "very_dissatisfied"}
    assert tw.check(tw.Direction.ENTERPRISE, bad, "  ")[1] == [("comment", "a 差评 must say what was wrong")]
    assert tw.check(tw.Direction.ENTERPRISE, bad, "回复敷衍")[0] is not None
    assert tw.check(tw.Direction.ENTERPRISE, {**ALL_GOOD, "response": "great"}, "")[1][0][0] == "levels.response"
    assert tw.check(tw.Direction.ENTERPRISE, "x", "")[1] == [("levels", "must be an object of dimension → level")]


def test_figures_count_good_bad_and_the_average() -> None:
    f = tw.figure([Level.VERY_SATISFIED, Level.SATISFIED, Level.BASICALLY_SATISFIED, Level.DISSATISFIED])
    assert (f.ratings, f.good, f.bad, f.good_rate, f.average) == (4, 2, 1, 0.5, 3.5)
    empty = tw.figure([])
    assert (empty.ratings, empty.good_rate, empty.average) == (0, None, None)
