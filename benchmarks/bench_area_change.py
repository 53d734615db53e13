"""Re-indexing 62,000 grids after a boundary change, with point → grid lookups served throughout.

Figure (issue #20, areas that change): a boundary moved between two neighbouring grids through the
service (``services.area_changes.apply``: new versions, old ones retired, the change logged) is followed
by a rebuild of the point → grid index from the stored boundaries of every grid valid now, built beside
the index in use and swapped in (``services.geo_index.rebuild``). The figure is the rebuild's time, from
reading the boundaries to the swap (target ≤ 10 s). Meanwhile a lookup loop on another thread asks
``geo_index.grid_index(session).locate`` for random points inside the city, as intake does; recorded:
how many lookups were answered during the rebuild, the longest one (max latency) and how many failed.

Grids: the bent Voronoi tessellation of ``bench_geo.py`` (neighbours share borders exactly, ~200
vertices each), stored in a fresh SQLite file (or the PostgreSQL database of ``--database-url``).

Run: ``.venv/bin/python benchmarks/bench_area_change.py [--grids 62000] [--rounds 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record
from bench_geo import BOUNDS, build
from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.adapters.db.tables import Area, Base
from shuzhi.services import area_changes, geo_index
from shuzhi.services.actors import SYSTEM
from shuzhi.services.areas import json_safe
from shuzhi.services.bootstrap import bootstrap
from shuzhi.services.unit_of_work import UnitOfWork

CITY, DISTRICT, TOWN = "500000", "500111", "500111001"
#: Grids per village: a village's grid codes are its own and a 3-digit sequence, and a change needs
#: free sequences for the new versions.
PER_VILLAGE = 990


def village_of(k: int) -> str:
    return f"{TOWN}{k // PER_VILLAGE + 1:03d}"


def store(url: str, shapes: list[shapely.Geometry]) -> list[tuple[str, shapely.Geometry]]:
    """The city → district → town chain, villages of 990 grids each, and the grids; returns the grids
    with their codes."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC) - timedelta(hours=1)  # stored a while ago, as a city's grids are
    whole = json_safe(mapping(box(*BOUNDS)))
    grids = [(f"{village_of(k)}{k % PER_VILLAGE + 1:03d}", g) for k, g in enumerate(shapes)]
    with engine.begin() as conn:
        path = "/"
        for i, (code, level) in enumerate(((CITY, "city"), (DISTRICT, "district"), (TOWN, "town"))):
            path = f"{path}{code}/"
            conn.execute(insert(Area).values(id=i + 1, code=code, name=code, level=level, parent_id=i or None,
                                             path=path, boundary=whole, created_at=now, updated_at=now))
        villages = sorted({village_of(k) for k in range(len(shapes))})
        ids = {v: 100 + n for n, v in enumerate(villages)}
        conn.execute(insert(Area), [{"id": ids[v], "code": v, "name": v, "level": "village", "parent_id": 3,
                                     "path": f"{path}{v}/", "boundary": whole, "created_at": now,
                                     "updated_at": now} for v in villages])
        rows = [{"id": 10_000 + k, "code": code, "name": f"网格{k}", "level": "grid", "parent_id": ids[code[:12]],
                 "path": f"{path}{code[:12]}/{code}/", "boundary": json_safe(mapping(g)), "centroid_lon": None,
                 "centroid_lat": None, "created_at": now, "updated_at": now} for k, (code, g) in enumerate(grids)]
        for start in range(0, len(rows), 2000):
            conn.execute(insert(Area), rows[start:start + 2000])
        if engine.dialect.name == "postgresql":  # the ids above were given: the sequence goes on after them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('areas', 'id'), (SELECT max(id) FROM areas))"))
    engine.dispose()
    return grids


def neighbours(grids: list[tuple[str, shapely.Geometry]], rng: random.Random) -> tuple[int, int]:
    """Two grids of one village that share a border (a boundary moves between neighbours)."""
    tree = shapely.STRtree(np.array([g for _, g in grids], dtype=object))
    while True:
        a = rng.randrange(len(grids))
        hits = [int(h) for h in tree.query(grids[a][1], predicate="touches")
                if int(h) != a and grids[int(h)][0][:12] == grids[a][0][:12]]
        if hits:
            return a, hits[0]


def lookup_loop(factory, inside: list[tuple[float, float]], stop: threading.Event,  # type: ignore[no-untyped-def]
                lookups: list[tuple[float, float]], errors: list[BaseException]) -> None:
    """Point → grid lookups until stopped, one session each as intake makes them; start and end of each."""
    k = 0
    while not stop.is_set():
        lon, lat = inside[k % len(inside)]
        k += 1
        t = time.perf_counter()
        try:
            with factory() as s:
                geo_index.grid_index(s).locate(lon, lat)
        except BaseException as exc:  # a failed lookup is part of the figure
            errors.append(exc)
        lookups.append((t, time.perf_counter()))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--grids", type=int, default=62_000)
    ap.add_argument("--rounds", type=int, default=3, help="boundary changes, each followed by a rebuild")
    ap.add_argument("--database-url", default="", help="PostgreSQL to store the grids in (default: a SQLite file)")
    ap.add_argument("--quick", action="store_true", help="2,000 grids, 2 rounds")
    args = ap.parse_args()
    if args.quick:
        args.grids, args.rounds = 2_000, 2
    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    tmp = tempfile.mkdtemp(prefix="bench_area_change_")
    url = args.database_url or f"sqlite:///{os.path.join(tmp, 'areas.db')}"
    t0 = time.perf_counter()
    grids = store(url, [g for _, g in build(args.grids)])
    print(f"{len(grids):,} grids stored in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})", flush=True)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as s:
        t = time.perf_counter()
        geo_index.grid_index(s)  # the index in use before the change
        full_build_s = time.perf_counter() - t
    rng = random.Random(7)
    inside = [(rng.uniform(BOUNDS[0] + 0.01, BOUNDS[2] - 0.01), rng.uniform(BOUNDS[1] + 0.01, BOUNDS[3] - 0.01))
              for _ in range(5000)]

    rebuild_s: list[float] = []
    apply_s: list[float] = []
    during_max_ms: list[float] = []
    during_counts: list[int] = []
    failed = 0
    for r in range(args.rounds):
        a, b = neighbours(grids, rng)
        ga, gb = grids[a][1], grids[b][1]
        grow = shapely.union_all([ga, gb.intersection(ga.buffer(float(np.sqrt(gb.area)) * 0.2))])
        lookups: list[tuple[float, float]] = []
        errors: list[BaseException] = []
        stop = threading.Event()

        worker = threading.Thread(target=lookup_loop, args=(factory, inside, stop, lookups, errors), daemon=True)
        worker.start()
        time.sleep(0.2)
        with factory() as s:
            codes = s.execute(select(Area.code).where(Area.code.in_([grids[a][0], grids[b][0]]))).scalars().all()
        assert len(codes) == 2
        body = area_changes.ChangeIn(kind="move_boundary", area_codes=[grids[a][0], grids[b][0]],
                                     boundary=json_safe(mapping(grow)), reason="benchmark: a boundary moves")
        old = dict(geo_index._cache)
        t = time.perf_counter()
        change = area_changes.apply(UnitOfWork(factory), body, SYSTEM)
        applied = time.perf_counter() - t
        # apply rebuilt this process's index; another process still holds the old one: put it back and
        # time the rebuild that process makes (read what changed, a new tree over every grid, swap)
        geo_index._cache.clear()
        geo_index._cache.update(old)
        with factory() as s:
            started = time.perf_counter()
            index = geo_index.rebuild(s)
            finished = time.perf_counter()
        with factory() as s:
            assert index is geo_index.grid_index(s) and len(index) == len(grids)
        time.sleep(0.2)
        stop.set()
        worker.join()
        new_a = change["successors"][grids[a][0]]
        grids[a] = (new_a, shape_of(factory, new_a))
        grids[b] = (change["successors"][grids[b][0]], shape_of(factory, change["successors"][grids[b][0]]))
        during = [(t1 - t0) * 1000 for t0, t1 in lookups if t0 >= started and t1 <= finished]
        rebuild_s.append(finished - started)
        apply_s.append(applied)
        during_counts.append(len(during))
        during_max_ms.append(max(((t1 - t0) * 1000 for t0, t1 in lookups), default=0.0))
        failed += len(errors)
        print(f"  round {r + 1}: apply {applied:.2f} s, rebuild {finished - started:.2f} s ({len(index):,} grids), "
              f"{len(during):,} lookups answered during it, longest lookup {during_max_ms[-1]:.1f} ms, "
              f"{len(errors)} failed", flush=True)
    engine.dispose()
    volume = {"grids": len(grids), "rounds": args.rounds, "engine": url.split(":")[0].split("+")[0]}
    database = args.database_url or None
    record("area_reindex_s", round(max(rebuild_s), 2), "s", 10.0, "lower", samples=[round(x, 2) for x in rebuild_s],
           volume=volume, database=database, apply_s=[round(x, 2) for x in apply_s],
           note="the slowest rebuild of the rounds: read every valid grid's boundary, build, swap")
    record("area_index_full_build_s", round(full_build_s, 2), "s", None, "lower", volume=volume, database=database,
           note="a process's first index, every boundary read and parsed (lookups wait for this one only)")
    record("area_reindex_lookup_max_ms", round(max(during_max_ms), 1), "ms", None, "lower",
           samples=[round(x, 1) for x in during_max_ms], volume=volume, database=database,
           lookups_during_rebuild=during_counts, lookups_failed=failed,
           note="the longest point → grid lookup of the loop that ran through the change and the rebuilds")
    if failed or not all(during_counts):
        print(f"lookups failed: {failed}; rounds with no lookup answered during the rebuild: "
              f"{sum(1 for c in during_counts if not c)}", file=sys.stderr)
        sys.exit(1)


def shape_of(factory, code: str) -> shapely.Geometry:  # type: ignore[no-untyped-def]
    from shapely.geometry import shape

    with factory() as s:
        return shape(s.execute(select(Area.boundary).where(Area.code == code)).scalar_one())


if __name__ == "__main__":
    main()
    sys.exit(finish())
