"""The demo district: counts, valid non-overlapping boundaries, codes, duties, determinism."""

from __future__ import annotations

import csv
import io
from collections import Counter
from functools import cache

from shapely import STRtree
from shapely.geometry import shape

from shuzhi.adapters.geo import parse_area_collection
from shuzhi.demo.district import DemoDistrict, build_district
from shuzhi.demo.history import build_history


@cache
def district() -> DemoDistrict:
    return build_district(1)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_counts() -> None:
    features = district().areas_geojson["features"]
    levels = Counter(f["properties"]["level"] for f in features if f["properties"]["code"].startswith("500111"))
    assert levels["town"] == 27 and 250 <= levels["village"] <= 350 and levels["grid"] >= 2000
    classes = _rows(district().event_classes_csv)
    assert len(classes) >= 80 and len({c["major_code"] for c in classes}) >= 8
    units = _rows(district().units_csv)
    assert sum(u["kind"] == "department" for u in units) >= 35
    roles = {p["role"] for p in _rows(district().people_csv)}
    assert roles == {"administrator", "duty_officer", "dispatcher", "handler", "grid_worker", "leader", "auditor",
                     "integrator"}


def test_tree_passes_the_importers_validation() -> None:
    good, errors = parse_area_collection(district().areas_geojson, tolerance_m=1.0)
    assert errors == [] and len(good) == len(district().areas_geojson["features"])


def test_grids_do_not_overlap() -> None:
    grids = [shape(f["geometry"]) for f in district().areas_geojson["features"] if f["properties"]["level"] == "grid"]
    tree = STRtree(grids)
    overlap = 0.0
    left, right = tree.query(grids, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            overlap += grids[i].intersection(grids[j]).area
    total = sum(g.area for g in grids)
    # only floating-point slivers of the overlay along shared borders remain (well under a metre wide)
    assert overlap / total < 2e-5


def test_every_handle_class_has_a_responsible_department() -> None:
    units = _rows(district().units_csv)
    dept_duties = {c for u in units if u["kind"] == "department" for c in u["duties"].split(";") if c}
    handle = {c["code"] for c in _rows(district().event_classes_csv) if c["default_mode"] == "handle"}
    assert handle <= dept_duties


def test_demo_accounts_exist() -> None:
    codes = {p["code"] for p in _rows(district().people_csv)}
    assert {"admin", "duty.district", "duty.longgang", "duty.tangxiang", "leader.district", "handler.cgj",
            "handler.slj", "grid.longgang01", "auditor", "integrator"} <= codes


def test_deterministic_for_a_seed() -> None:
    again = build_district(1)
    assert again.units_csv == district().units_csv and again.areas_geojson == district().areas_geojson
    assert build_district(2).people_csv != district().people_csv


def test_history_uses_real_people_and_responsible_units() -> None:
    from datetime import UTC, datetime

    d = district()
    people = {p["code"] for p in d.people}
    duties = {u["code"]: set(u["duties"].split(";")) for u in _rows(d.units_csv)}
    scripts = build_history(d, datetime(2025, 6, 2, tzinfo=UTC), 14, seed=1)
    actions = Counter()
    for i, s in enumerate(scripts):
        assert s.intake["actor"] in people
        times = [st.at for st in s.steps]
        assert times == sorted(times) and all(t >= s.at for t in times)
        for st in s.steps:
            actions[st.action] += 1
            assert st.actor in people, st
            if st.action == "merge":
                assert st.params["master_index"] < i
    wanted = {"dispatch", "accept", "return", "report_back", "verify", "rework", "close", "callback",
              "request_extension", "approve_extension", "deny_extension", "suspend", "resume", "read", "merge",
              "cancel", "reclassify", "self_handle", "notify"}
    assert wanted <= set(actions), wanted - set(actions)
    first_dispatch = [st for s in scripts for st in s.steps if st.action == "dispatch"]
    assert sum(st.params["units"][0]["unit_code"] in duties for st in first_dispatch) == len(first_dispatch)
    assert build_history(d, datetime(2025, 6, 2, tzinfo=UTC), 2, seed=1) == build_history(
        d, datetime(2025, 6, 2, tzinfo=UTC), 2, seed=1)
