"""Where a run responds, and when a trigger is the same situation as an open run."""

from __future__ import annotations

from shuzhi.domain.plans import district_of, overlaps, response_reach

TOWN_A = "/500000/500111/500111001/"
GRID_A = "/500000/500111/500111001/500111001001/500111001001001/"
TOWN_B = "/500000/500111/500111002/"
OTHER_DISTRICT_TOWN = "/500000/500112/500112001/"


def test_the_district_of_an_area() -> None:
    assert district_of(GRID_A) == "/500000/500111/"
    assert district_of("/500000/500111/") == "/500000/500111/"
    assert district_of("/500000/") == "/500000/"


def test_areas_overlap_when_one_contains_the_other() -> None:
    assert overlaps({TOWN_A}, {GRID_A}) and overlaps({GRID_A}, {TOWN_A})
    assert not overlaps({TOWN_A}, {TOWN_B})
    assert overlaps({TOWN_A, TOWN_B}, {TOWN_B})


def test_a_warning_reaches_its_whole_district_and_no_further() -> None:
    storm = response_reach({TOWN_A}, district_wide=True)
    assert storm == {"/500000/500111/"}
    assert overlaps(storm, response_reach({TOWN_B}, district_wide=True))
    assert overlaps(storm, {GRID_A})
    assert not overlaps(storm, response_reach({OTHER_DISTRICT_TOWN}, district_wide=True))
    assert response_reach({TOWN_A, GRID_A}, district_wide=False) == {TOWN_A, GRID_A}
