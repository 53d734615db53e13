"""Point → grid with 62,000 grids (all of Chongqing's grids), against Shapely's own STRtree as the anchor.

Figure (issue #16, point → grid): the service's index (``GridIndex``, what ``services.geo_index``
builds from the stored boundaries) answers a point in ≤ 1.5× the time of a plain ``shapely.STRtree``
query on the same polygons, measured in the same run, rounds interleaved. Also recorded: the time to
build the index and the memory it holds at 62,000 grids.

Grids: a Voronoi tessellation of random seeds over 105.3–107.5 E, 28.9–30.7 N, each border cut into
short segments and bent by one smooth displacement field, so that neighbours still share their borders
exactly and each grid has hundreds of vertices (like surveyed grid boundaries, not squares).
5 % of the points fall outside every grid (outside the city's bounds), which costs the tree a full miss.

Run: ``.venv/bin/python benchmarks/bench_geo.py [--grids 62000] [--points 200000] [--repeat 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, box

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record, rss_mb
from shuzhi.adapters.geo import GridIndex

BOUNDS = (105.3, 28.9, 107.5, 30.7)
SEED = 3
OUTSIDE_SHARE = 0.05


def _bend(coords: np.ndarray, cell: float) -> np.ndarray:
    """One smooth displacement field for every vertex: shared borders stay shared, rings stay simple
    (the field's slope stays below 1, so no border folds over itself)."""
    x, y = coords[:, 0], coords[:, 1]
    wave, amp = 0.5 * cell, 0.035 * cell
    k = 2 * np.pi / wave
    dx = amp * (np.sin(k * y + 1.3) + 0.5 * np.sin(2.3 * k * x + 0.4 * k * y))
    dy = amp * (np.sin(k * x + 0.7) + 0.5 * np.sin(2.1 * k * y - 0.3 * k * x))
    return np.column_stack([x + dx, y + dy])


def build(n: int, seed: int = SEED, vertices: int = 200) -> list[tuple[str, shapely.Geometry]]:
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(BOUNDS[0], BOUNDS[2], n), rng.uniform(BOUNDS[1], BOUNDS[3], n)])
    area = box(*BOUNDS)
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=area)
    polys = shapely.intersection(np.array(cells.geoms), area)
    cell = float(np.sqrt(area.area / n))
    # a typical cell's perimeter is ~4 × its side: segments of perimeter / vertices
    polys = shapely.segmentize(polys, max_segment_length=4 * cell / vertices)
    polys = shapely.transform(polys, lambda c: _bend(c, cell))
    return [(f"{500000000000000 + i:015d}", p) for i, p in enumerate(polys)]


def points(count: int, seed: int) -> list[tuple[float, float]]:
    """Uniform points in the bounds, and 5 % outside every grid (a band beyond the city's edge)."""
    rng = np.random.default_rng(seed)
    outside = int(count * OUTSIDE_SHARE)
    inside = count - outside
    xs = list(rng.uniform(BOUNDS[0] + 0.01, BOUNDS[2] - 0.01, inside))
    ys = list(rng.uniform(BOUNDS[1] + 0.01, BOUNDS[3] - 0.01, inside))
    xs += list(rng.uniform(BOUNDS[2] + 0.05, BOUNDS[2] + 0.5, outside))
    ys += list(rng.uniform(BOUNDS[1], BOUNDS[3], outside))
    order = rng.permutation(count)
    return [(float(xs[i]), float(ys[i])) for i in order]


class Anchor:
    """Shapely's own STRtree over the same polygons, queried the plain way (lowest index on a border)."""

    def __init__(self, geoms: list[shapely.Geometry]) -> None:
        self.tree = shapely.STRtree(np.array(geoms, dtype=object))

    def locate(self, lon: float, lat: float) -> int | None:
        hits = self.tree.query(Point(lon, lat), predicate="intersects")
        return int(hits.min()) if len(hits) else None


def _time_per_point(fn, pts: list[tuple[float, float]]) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for lon, lat in pts:
        fn(lon, lat)
    return (time.perf_counter() - t0) / len(pts) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--grids", type=int, default=62_000)
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--vertices", type=int, default=200, help="vertices per grid boundary, about")
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds of index and anchor")
    ap.add_argument("--quick", action="store_true", help="2,000 grids, 20,000 points, 2 rounds")
    args = ap.parse_args()
    if args.quick:
        args.grids, args.points, args.repeat = 2_000, 20_000, 2
    t0 = time.perf_counter()
    grids = sorted(build(args.grids, vertices=args.vertices), key=lambda g: g[0])
    made_s = time.perf_counter() - t0
    vertex_counts = shapely.get_num_coordinates(np.array([g for _, g in grids], dtype=object))
    invalid = int((~shapely.is_valid(np.array([g for _, g in grids], dtype=object))).sum())
    print(f"{len(grids):,} grids in {made_s:.1f} s; vertices per grid median {int(np.median(vertex_counts))} "
          f"(min {vertex_counts.min()}, max {vertex_counts.max()}); invalid {invalid}", flush=True)
    assert invalid == 0, "the bent tessellation must stay valid"

    gc.collect()
    before = rss_mb(os.getpid()) or {"rss_mb": 0.0}
    t0 = time.perf_counter()
    index = GridIndex(grids)
    build_s = time.perf_counter() - t0
    gc.collect()
    after = rss_mb(os.getpid()) or {"rss_mb": 0.0}
    index_mb = round(after["rss_mb"] - before["rss_mb"], 1)
    t0 = time.perf_counter()
    anchor = Anchor([g for _, g in grids])
    anchor_build_s = time.perf_counter() - t0
    print(f"index built in {build_s:.2f} s (+{index_mb} MB resident); anchor STRtree in {anchor_build_s:.2f} s",
          flush=True)

    pts = points(args.points, seed=5)
    # same answers: the index's code is the anchor's lowest-index hit (codes are sorted the same way)
    for lon, lat in pts[:2000]:
        a = anchor.locate(lon, lat)
        assert index.locate(lon, lat) == (grids[a][0] if a is not None else None)
    outside = sum(index.locate(lon, lat) is None for lon, lat in pts)
    for lon, lat in pts[:2000]:  # warm up both
        index.locate(lon, lat)
        anchor.locate(lon, lat)
    ours: list[float] = []
    theirs: list[float] = []
    for r in range(args.repeat):
        # alternate which goes first, so that drift on a shared machine favours neither
        pair = [("index", index.locate), ("anchor", anchor.locate)]
        for which, fn in (pair if r % 2 == 0 else pair[::-1]):
            (ours if which == "index" else theirs).append(_time_per_point(fn, pts))
        print(f"  round {r + 1}: index {ours[-1]:.2f} µs, anchor {theirs[-1]:.2f} µs per point", flush=True)
    ratios = [o / t for o, t in zip(ours, theirs, strict=True)]
    volume = {"grids": len(grids), "vertices_per_grid_median": int(np.median(vertex_counts)),
              "points": len(pts), "points_outside": outside, "rounds": args.repeat, "seed": SEED}
    record("geo_locate_vs_strtree_ratio", round(statistics.median(ratios), 3), "×", 1.5, "lower",
           samples=[round(x, 3) for x in ratios], volume=volume, database=None,
           ratio={"numerator": {"label": "GridIndex.locate", "value": round(statistics.median(ours), 2), "unit": "µs"},
                  "denominator": {"label": "shapely.STRtree.query", "value": round(statistics.median(theirs), 2),
                                  "unit": "µs"}})
    record("geo_locate_us_per_point", round(statistics.median(ours), 2), "µs", None, "lower",
           samples=[round(x, 2) for x in ours], volume=volume, database=None)
    record("geo_index_build_s", round(build_s, 2), "s", None, "lower", volume=volume, database=None,
           anchor_build_s=round(anchor_build_s, 2))
    record("geo_index_memory_mb", index_mb, "MB", None, "lower", volume=volume, database=None,
           note="resident memory added by building the index (prepared geometries and the tree), "
                "over the polygons themselves", polygons_rss_mb=before["rss_mb"])


if __name__ == "__main__":
    main()
    sys.exit(finish())
