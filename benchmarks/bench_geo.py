"""Point → grid resolution with 62,000 grids (the number of grids in all of Chongqing).

Figure (issue: Core): ≤ 50 µs per point for a single ``locate``; ``locate_many`` reported too.
Grids: a jittered Voronoi tessellation over 105.3–107.5 E, 28.9–30.7 N (irregular polygons, not squares).
Run: ``.venv/bin/python benchmarks/bench_geo.py``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, box

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record
from shuzhi.adapters.geo import GridIndex

GRIDS = 62_000
BOUNDS = (105.3, 28.9, 107.5, 30.7)


def build(n: int, seed: int = 3) -> list[tuple[str, shapely.Geometry]]:
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(BOUNDS[0], BOUNDS[2], n), rng.uniform(BOUNDS[1], BOUNDS[3], n)])
    area = box(*BOUNDS)
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=area)
    polys = shapely.intersection(np.array(cells.geoms), area)
    return [(f"{500000000000000 + i:015d}", p) for i, p in enumerate(polys)]


def main() -> None:
    t0 = time.perf_counter()
    grids = build(GRIDS)
    index = GridIndex(grids)
    print(f"built {len(grids)} grids and the index in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(5)
    points = [(rng.uniform(BOUNDS[0], BOUNDS[2]), rng.uniform(BOUNDS[1], BOUNDS[3])) for _ in range(30_000)]
    for lon, lat in points[:1000]:  # warm up
        index.locate(lon, lat)
    t0 = time.perf_counter()
    found = sum(index.locate(lon, lat) is not None for lon, lat in points)
    single = (time.perf_counter() - t0) / len(points) * 1e6
    assert found == len(points), "every point inside the bounds lies in a grid"
    many = [(rng.uniform(BOUNDS[0], BOUNDS[2]), rng.uniform(BOUNDS[1], BOUNDS[3])) for _ in range(100_000)]
    lons, lats = [p[0] for p in many], [p[1] for p in many]
    t0 = time.perf_counter()
    codes = index.locate_many(lons, lats)
    bulk = (time.perf_counter() - t0) / len(many) * 1e6
    assert all(c is not None for c in codes)
    # the vectorised path answers exactly what the single path answers
    assert codes[:2000] == [index.locate(lon, lat) for lon, lat in many[:2000]]
    record("geo_locate_us_per_point", round(single, 2), "µs", 50, "lower", grids=GRIDS, points=len(points))
    record("geo_locate_many_us_per_point", round(bulk, 2), "µs", 50, "lower", grids=GRIDS, points=len(many))


if __name__ == "__main__":
    main()
