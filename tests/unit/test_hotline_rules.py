"""The pure rules of hotline intelligence: places, duplicate scores, repeats, units, figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shuzhi.domain import hotline as rules

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def test_places_and_towns_are_read_from_the_words() -> None:
    text = "龙岗街道北环路二中门口有个大坑，宝山小区也有"
    assert rules.towns(text) == {"龙岗"}
    assert {"北环路", "宝山小区"} <= rules.places(text)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("北环路路灯不亮", "龙岗街道北环路（加油站段）路灯不亮", 1.0),
    ("智凤宝山小区门口井盖坏了", "宝山小区外面井盖坏了", 1.0),
    ("北环路路灯不亮", "五星大道路灯不亮", 0.0),
    ("龙水镇路灯不亮", "邮亭镇路灯不亮", 0.0),
    ("路灯不亮", "五星大道路灯不亮", None),
])
def test_place_similarity(a: str, b: str, expected: float | None) -> None:
    assert rules.place_similarity(a, b) == expected


def test_the_same_problem_at_another_place_scores_below_the_threshold() -> None:
    same = rules.text_duplicate_score(0.6, 0.9, 1.0)
    elsewhere = rules.text_duplicate_score(0.6, 0.9, 0.0)
    other_problem = rules.text_duplicate_score(0.2, 0.05, 1.0)
    assert same >= rules.DUPLICATE_THRESHOLD > max(elsewhere, other_problem)
    assert rules.text_duplicate_score(0.6, 0.9, None) < same


def test_desk_score_falls_with_distance_and_time() -> None:
    near_now = rules.desk_duplicate_score(0.6, 0.9, None, 30.0, timedelta(hours=1))
    far_now = rules.desk_duplicate_score(0.6, 0.9, None, 800.0, timedelta(hours=1))
    near_old = rules.desk_duplicate_score(0.6, 0.9, None, 30.0, timedelta(days=20))
    assert near_now.score > near_old.score > 0
    assert near_now.score > far_now.score
    assert rules.nearness(rules.MAX_DISTANCE_M + 1) == 0.0
    # a measured distance wins over the places the texts name
    assert rules.desk_duplicate_score(0.6, 0.9, 0.0, 20.0, timedelta(0)).place == 1.0


def test_distance_is_in_metres() -> None:
    assert rules.distance_m(105.70, 29.70, 105.70, 29.701) == pytest.approx(111.2, abs=0.5)


def _past(**kw: object) -> rules.PastCase:
    base: dict[str, object] = {"event_id": 1, "number": "N1", "class_code": "0204",
                               "closed_at": NOW - timedelta(days=5), "lon": 105.70, "lat": 29.70,
                               "reporter_phone": "138-0013-8000"}
    base.update(kw)
    return rules.PastCase(**base)  # type: ignore[arg-type]


def test_repeat_same_caller_or_same_place_after_closure() -> None:
    assert rules.repeat_reasons("0204", 105.7003, 29.7003, "13800138000", NOW, _past()) == ["same_caller", "same_place"]
    assert rules.repeat_reasons("0108", 105.7003, 29.7003, None, NOW, _past()) == []  # another problem
    assert rules.repeat_reasons("0204", 105.72, 29.72, None, NOW, _past()) == []  # another place
    assert rules.repeat_reasons("0204", 105.70, 29.70, None, NOW, _past(closed_at=None)) == []  # still open
    old = _past(closed_at=NOW - timedelta(days=rules.REPEAT_WINDOW_DAYS + 1))
    assert rules.repeat_reasons("0204", 105.70, 29.70, "13800138000", NOW, old) == []


def test_units_add_up_class_probabilities() -> None:
    units = rules.units_from_classes([("0108", 0.6), ("0204", 0.3), ("1101", 0.1)],
                                     {"0108": {"CGJ": 1}, "0204": {"JTW": 3, "CGJ": 1}, "1101": {"G1": 1}})
    assert units[0][0] == "CGJ" and units[0][1] == pytest.approx(0.675)
    assert [u for u, _ in units] == ["CGJ", "JTW", "G1"]


def test_accuracy_pairs_and_confusions() -> None:
    acc = rules.accuracy(["a", "b", "c"], [["a", "b"], ["c", "a", "b"], ["a", "b", "d"]])
    assert (acc.top1, acc.top3) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    s = rules.pair_scores([True, True, False, False], [True, False, True, False])
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)
    assert rules.confusions(["a", "a", "b"], ["b", "b", "b"]) == [("a", "b", 2)]
    assert rules.per_class(["a", "a", "b"], ["a", "b", "b"]) == {"a": (1, 2), "b": (1, 1)}


def test_unusual_volumes_and_rising_topics() -> None:
    history = {"0108": [10, 12, 11, 9, 10], "0204": [1, 1, 1, 1], "1101": [3, 4]}
    found = rules.departures({"0108": 30, "0204": 2, "1101": 40}, history)
    assert [(d.code, d.direction) for d in found] == [("0108", "above")]  # 1101 lacks history, 0204 is noise
    assert rules.departures({"0108": 0}, history)[0].direction == "below"
    assert rules.rising({"a": 6, "b": 3, "c": 2}, {"a": 2, "b": 3}) == [("a", 6, 2)]
