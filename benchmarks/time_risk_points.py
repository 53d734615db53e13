"""Time the risk-point import and the map layer's read on PostgreSQL (issue #22), printed, not recorded.

Database ``SHUZHI_RISK_TIMING_DB`` (default ``riskfast_timing``): the demo district grown to ``--grids``
grids, then ``--points`` points imported through ``import_risk_points`` (each watched by up to two series
``<indicator>@<grid>``), imported again with a tenth changed, and ``list_points`` asked ``--reads`` times
as the system (whole district). Run: ``.venv/bin/python benchmarks/time_risk_points.py [--points 20000]
[--grids 2000] [--reads 5] [--reuse | --keep --prefix RQ]`` (``--reuse`` keeps the database and only reads;
``--keep`` keeps it and imports points coded ``--prefix``…).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _district import fresh_district, grow_grids, plain, url_for  # noqa: E402

DB = os.environ.get("SHUZHI_RISK_TIMING_DB", "riskfast_timing")


def point_rows(total: int, *, changed_every: int = 0, prefix: str = "RP") -> list[dict[str, str]]:
    from shuzhi.domain.risk_points import DEFAULT_KINDS

    rng = random.Random(22)
    with psycopg.connect(plain(url_for(DB)), autocommit=True) as conn:
        grids = conn.execute(
            "SELECT a.code, coalesce((SELECT u.code FROM units u WHERE u.area_id = a.id ORDER BY u.id LIMIT 1), "
            "'C500111') FROM areas a WHERE a.level = 'grid' ORDER BY a.code").fetchall()
        indicators = [r[0] for r in conn.execute("SELECT code FROM indicators ORDER BY code LIMIT 2")]
    rows = []
    for i in range(total):
        g = grids[rng.randrange(len(grids))]
        changed = changed_every and i % changed_every == 0
        rows.append({"code": f"{prefix}{i:06d}", "name": f"风险点{i}" + ("（改）" if changed else ""),
                     "kind": DEFAULT_KINDS[i % len(DEFAULT_KINDS)][0], "grade": ("重大", "较大", "一般", "低")[i % 4],
                     "area_code": g[0], "lon": f"{105.7 + rng.uniform(-0.1, 0.1):.6f}",
                     "lat": f"{29.7 + rng.uniform(-0.1, 0.1):.6f}", "responsible_unit_code": g[1],
                     "responsible_person": f"责任人{i % 97}", "responsible_phone": "", "patrol_frequency": "7d",
                     "devices": "", "series": ";".join(f"{ind}@{g[0]}" for ind in indicators[: i % 3]),
                     "description": "", "__row__": str(i + 2)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--grids", type=int, default=2_000)
    ap.add_argument("--reads", type=int, default=5)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--keep", action="store_true", help="reuse the database but import (the points' codes: --prefix)")
    ap.add_argument("--prefix", default="RP")
    args = ap.parse_args()
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing import risk_points
    from shuzhi.services.unit_of_work import UnitOfWork

    if not args.reuse and not args.keep:
        fresh_district(DB, 22)
        print(f"grids: {grow_grids(DB, args.grids):,}", flush=True)
    engine = make_engine(url_for(DB))
    factory = make_session_factory(engine)
    print(f"load average before: {os.getloadavg()}", flush=True)
    if not args.reuse:
        rows = point_rows(args.points, prefix=args.prefix)
        t0 = time.perf_counter()
        report: Any = risk_points.import_risk_points(UnitOfWork(factory), rows, SYSTEM)
        assert not report.errors, report.errors[:5]
        print(f"first import of {len(rows):,} points: {time.perf_counter() - t0:.1f} s "
              f"(created {report.created}, updated {report.updated}, unchanged {report.unchanged}); "
              f"load average {os.getloadavg()}", flush=True)
        rows = point_rows(args.points, changed_every=10, prefix=args.prefix)
        t0 = time.perf_counter()
        report = risk_points.import_risk_points(UnitOfWork(factory), rows, SYSTEM)
        assert not report.errors, report.errors[:5]
        print(f"re-import, a tenth changed: {time.perf_counter() - t0:.1f} s "
              f"(created {report.created}, updated {report.updated}, unchanged {report.unchanged}); "
              f"load average {os.getloadavg()}", flush=True)
    times = []
    for _ in range(args.reads):
        t0 = time.perf_counter()
        got = risk_points.list_points(UnitOfWork(factory), SYSTEM)
        times.append(time.perf_counter() - t0)
    print(f"list_points ({len(got):,} points): {[round(t * 1000) for t in times]} ms, "
          f"best {min(times) * 1000:.0f} ms; load average {os.getloadavg()}", flush=True)
    engine.dispose()


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()
    main()
