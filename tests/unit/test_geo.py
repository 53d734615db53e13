"""Area codes, GeoJSON validation, point location and GCJ-02."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box, mapping

from shuzhi.adapters.geo import GridIndex, gcj02_to_wgs84, parse_area_collection, to_wgs84, wgs84_to_gcj02
from shuzhi.domain.areas import AreaLevel, AreaRef, chain, validate_code


@pytest.mark.parametrize(
    ("level", "code", "parent", "ok"),
    [
        (AreaLevel.CITY, "500000", None, True),
        (AreaLevel.DISTRICT, "500111", "500000", True),
        (AreaLevel.DISTRICT, "510111", "500000", False),  # another province
        (AreaLevel.TOWN, "500111001", "500111", True),
        (AreaLevel.TOWN, "500112001", "500111", False),  # not under its parent
        (AreaLevel.TOWN, "50011100", "500111", False),  # 8 digits
        (AreaLevel.VILLAGE, "500111001002", "500111001", True),
        (AreaLevel.VILLAGE, "500111001000", "500111001", False),  # sequence 000
        (AreaLevel.GRID, "500111001002003", "500111001002", True),
        (AreaLevel.GRID, "50011100100200A", "500111001002", False),
        (AreaLevel.GRID, "500111001002003", None, False),
    ],
)
def test_codes(level: AreaLevel, code: str, parent: str | None, ok: bool) -> None:
    assert (validate_code(level, code, parent) is None) is ok


def test_chain_and_levels() -> None:
    refs = {r.code: r for r in [
        AreaRef("500000", "重庆市", AreaLevel.CITY, None),
        AreaRef("500111", "大足区", AreaLevel.DISTRICT, "500000"),
        AreaRef("500111001", "龙岗街道", AreaLevel.TOWN, "500111"),
    ]}
    assert [r.code for r in chain("500111001", refs)] == ["500000", "500111", "500111001"]
    assert chain("999", refs) == []
    assert AreaLevel.TOWN.parent is AreaLevel.DISTRICT and AreaLevel.GRID.child is None


def _feature(code: str, level: str, parent: str | None, geom: dict[str, Any], name: str = "x") -> dict[str, Any]:
    return {"type": "Feature", "geometry": geom,
            "properties": {"code": code, "name": name, "level": level, "parent_code": parent}}


def _fc(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _box(*b: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in mapping(box(*b))["coordinates"][0]]]}


BASE = [
    _feature("500000", "city", None, _box(105.0, 29.0, 107.0, 31.0)),
    _feature("500111", "district", "500000", _box(105.6, 29.6, 105.9, 29.9)),
    _feature("500111001", "town", "500111", _box(105.70, 29.70, 105.72, 29.72)),
    _feature("500111001001", "village", "500111001", _box(105.70, 29.70, 105.71, 29.71)),
]


def _errors(*extra: dict[str, Any]) -> dict[int, str]:
    _, errors = parse_area_collection(_fc(*BASE, *extra))
    return {e.index: e.reason for e in errors}


def test_valid_tree_is_ordered_parent_first() -> None:
    shuffled = list(reversed(BASE))
    good, errors = parse_area_collection(_fc(*shuffled))
    assert errors == [] and [f.code for f in good] == ["500000", "500111", "500111001", "500111001001"]


def test_unclosed_ring_is_reported() -> None:
    ring = [[105.70, 29.70], [105.705, 29.70], [105.705, 29.705], [105.70, 29.705]]
    errs = _errors(_feature("500111001001001", "grid", "500111001001", {"type": "Polygon", "coordinates": [ring]}))
    assert "not closed" in errs[4]


def test_bowtie_is_invalid_with_the_reason() -> None:
    ring = [[105.700, 29.700], [105.705, 29.705], [105.705, 29.700], [105.700, 29.705], [105.700, 29.700]]
    errs = _errors(_feature("500111001001001", "grid", "500111001001", {"type": "Polygon", "coordinates": [ring]}))
    assert "invalid geometry" in errs[4] and "Self-intersection" in errs[4]


def test_duplicate_missing_parent_bad_code_all_reported_at_once() -> None:
    errs = _errors(
        _feature("500111001001001", "grid", "500111001001", _box(105.700, 29.700, 105.705, 29.705)),
        _feature("500111001001001", "grid", "500111001001", _box(105.705, 29.700, 105.71, 29.705)),
        _feature("500111001009001", "grid", "500111001009", _box(105.700, 29.700, 105.705, 29.705)),
        _feature("5001110010010", "grid", "500111001001", _box(105.700, 29.700, 105.705, 29.705)),
        _feature("500111001001002", "gridd", "500111001001", _box(105.700, 29.700, 105.705, 29.705)),
    )
    assert set(errs) == {5, 6, 7, 8}
    assert "duplicate code: also feature 5" in errs[5]
    assert "parent 500111001009 is neither in the file nor stored" in errs[6]
    assert "15 digits" in errs[7]
    assert "'level' must be one of" in errs[8]


def test_child_within_parent_up_to_the_tolerance() -> None:
    metre = 1 / 111_320 / math.cos(math.radians(29.7))
    slightly = _feature("500111001001001", "grid", "500111001001", _box(105.700, 29.700, 105.71 + 5 * metre, 29.705))
    far = _feature("500111001001002", "grid", "500111001001", _box(105.700, 29.705, 105.71 + 500 * metre, 29.71))
    errs = _errors(slightly, far)
    assert 4 not in errs
    assert "outside its parent 500111001001 by more than 20 m" in errs[5]


def test_parent_may_already_be_stored() -> None:
    parent = box(105.70, 29.70, 105.71, 29.71)
    good, errors = parse_area_collection(
        _fc(_feature("500111001001001", "grid", "500111001001", _box(105.70, 29.70, 105.705, 29.705))),
        existing={"500111001001": (AreaLevel.VILLAGE, parent)})
    assert errors == [] and good[0].code == "500111001001001"
    _, errors = parse_area_collection(
        _fc(_feature("500111001001001", "grid", "500111001", _box(105.70, 29.70, 105.705, 29.705))),
        existing={"500111001": (AreaLevel.TOWN, parent)})
    assert "is a town, not a village" in errors[0].reason


def test_grid_index_inside_hole_border_outside() -> None:
    ring = box(0, 0, 10, 10)
    with_hole = ring.difference(box(4, 4, 6, 6))
    index = GridIndex([("B", box(10, 0, 20, 10)), ("A", with_hole), ("H", box(4, 4, 6, 6))])
    assert index.locate(1, 1) == "A"
    assert index.locate(5, 5) == "H"  # inside A's hole: the hole's own grid
    assert index.locate(10, 5) == "A"  # shared border: lowest code, every time
    assert index.locate(30, 30) is None
    assert index.locate_many([1, 5, 10, 30, 15], [1, 5, 5, 30, 5]) == ["A", "H", "A", None, "B"]


def test_grid_index_empty_hole() -> None:
    index = GridIndex([("A", box(0, 0, 10, 10).difference(box(4, 4, 6, 6)))])
    assert index.locate(5, 5) is None


def test_gcj02_known_offset_and_inverse() -> None:
    g = wgs84_to_gcj02(116.397, 39.908)  # Tiananmen: the offset is a few hundred metres
    assert 0.004 < g[0] - 116.397 < 0.008 and 0.0005 < g[1] - 39.908 < 0.002
    w = gcj02_to_wgs84(*g)
    assert abs(w[0] - 116.397) < 1e-9 and abs(w[1] - 39.908) < 1e-9
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # outside China: unchanged


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_gcj02_round_trip_within_a_centimetre(lon: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    metres = math.hypot((back[0] - lon) * 111_320 * math.cos(math.radians(lat)), (back[1] - lat) * 110_540)
    assert metres < 0.01


@pytest.mark.parametrize(("lon", "lat", "crs"), [(math.nan, 30, "wgs84"), (181, 30, "wgs84"),
                                                 (105, math.inf, "gcj02"), (105, 30, "bd09")])
def test_bad_coordinates_are_refused(lon: float, lat: float, crs: str) -> None:
    with pytest.raises(ValueError):
        to_wgs84(lon, lat, crs)
