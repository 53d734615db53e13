"""The rules of an area change (issue #20), without a database: what may be changed, the codes of the
new versions, and where a piece of open work goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shuzhi.domain import area_changes as d
from shuzhi.domain.areas import AreaLevel

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
V1 = d.AreaFacts("500111001001", AreaLevel.VILLAGE, "500111001", retired=False)
V2 = d.AreaFacts("500111001002", AreaLevel.VILLAGE, "500111001", retired=False)
VB = d.AreaFacts("500111002001", AreaLevel.VILLAGE, "500111002", retired=False)
G1 = d.AreaFacts("500111001001001", AreaLevel.GRID, "500111001001", retired=False)
OLD = d.AreaFacts("500111001003", AreaLevel.VILLAGE, "500111001", retired=True)
FOUND = {a.code: a for a in (V1, V2, VB, G1, OLD)}


def fields(kind: d.ChangeKind, codes: list[str], at: datetime = NOW) -> list[str]:
    return [p.field for p in d.check(kind, codes, FOUND, at, NOW)]


def test_two_villages_of_one_town_may_merge() -> None:
    assert fields(d.ChangeKind.MERGE, [V1.code, V2.code]) == []


@pytest.mark.parametrize(("kind", "codes", "field"), [
    (d.ChangeKind.MERGE, ["500111001001"], "area_codes"),  # one is not a merge
    (d.ChangeKind.MERGE, ["500111001001", "500111001009"], "area_codes"),  # unknown
    (d.ChangeKind.MERGE, ["500111001001", "500111001003"], "area_codes"),  # retired
    (d.ChangeKind.MERGE, ["500111001001", "500111001001001"], "area_codes"),  # levels differ
    (d.ChangeKind.MERGE, ["500111001001", "500111002001"], "area_codes"),  # two towns
    (d.ChangeKind.SPLIT, ["500111001001"], "area_codes"),  # a village is not split here
    (d.ChangeKind.MOVE_BOUNDARY, ["500111001001001"], "area_codes"),  # a boundary lies between two
])
def test_a_change_that_breaks_a_rule_names_the_field(kind: d.ChangeKind, codes: list[str], field: str) -> None:
    assert field in fields(kind, codes)


def test_the_change_date_is_now_or_at_most_a_week_back() -> None:
    assert fields(d.ChangeKind.MERGE, [V1.code, V2.code], NOW - timedelta(days=6)) == []
    assert fields(d.ChangeKind.MERGE, [V1.code, V2.code], NOW - timedelta(days=8)) == ["effective_at"]
    assert fields(d.ChangeKind.MERGE, [V1.code, V2.code], NOW + timedelta(days=1)) == ["effective_at"]


def test_new_codes_follow_every_code_ever_used_under_the_parent() -> None:
    taken = ["500111001001", "500111001002", "500111001007", "500111002001"]
    assert d.next_codes("500111001", taken, 2) == ["500111001008", "500111001009"]
    assert d.next_codes("500111001003", [], 1) == ["500111001003001"]
    with pytest.raises(ValueError):
        d.next_codes("500111001", ["500111001999"], 1)


def test_open_work_goes_by_its_point_else_to_the_named_successor() -> None:
    new = ["500111001001004", "500111001001005"]
    assert d.successor("500111001001005", "500111001001004", new) == ("500111001001005", "geometry")
    assert d.successor(None, "500111001001004", new) == ("500111001001004", "successor")
    assert d.successor("500111001001002", "500111001001004", new) == ("500111001001004", "successor")


def test_closed_and_final_events_stay_where_they_are() -> None:
    assert {s.value for s in d.REHOMED_EVENT_STATES} == {
        "registered", "notifying", "dispatched", "handling", "reported_back", "verified"}


# --- configuration naming a retired area -------------------------------------------------------------

RETIRED = {"/5/51/511/": "513", "/5/51/511/511001/": "513001", "/5/51/512/": "513"}
NEW_PATHS = {"513": "/5/51/513/", "513001": "/5/51/513/513001/"}


@pytest.mark.parametrize(("path", "expected"), [
    ("/5/51/511/", "/5/51/513/"),
    ("/5/51/511/511001/", "/5/51/513/513001/"),  # the deepest retired prefix decides
    ("/5/51/512/512009/", "/5/51/513/512009/"),  # below a retired area without its own successor: the tail stays
    ("/5/51/514/", None),
    ("/5/51/5110/", None),  # a prefix of the code is not the area
])
def test_a_path_goes_to_its_successor(path: str, expected: str | None) -> None:
    assert d.repoint_path(path, RETIRED, NEW_PATHS) == expected


def test_codes_and_conditions_keep_naming_the_same_ground() -> None:
    split = {"511001": {"511004", "511003"}, "512": {"513"}}
    assert d.repoint_codes(["511001", "512", "513", "600"], split) == ["511003", "511004", "513", "600"]
    tree = {"and": [{"field": "area", "op": "within", "value": "512"},
                    {"not": {"field": "area", "op": "within", "value": ["511001", "9"]}},
                    {"field": "event_class", "op": "eq", "value": "512"}]}
    assert d.repoint_condition(tree, split) == {
        "and": [{"field": "area", "op": "within", "value": "513"},
                {"not": {"field": "area", "op": "within", "value": ["511003", "511004", "9"]}},
                {"field": "event_class", "op": "eq", "value": "512"}]}
