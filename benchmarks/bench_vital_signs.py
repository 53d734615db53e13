"""Vital signs after a reading, and the risk map in Chromium, on PostgreSQL at a district's full size.

Figures (issue #22, "Done when"):

- ``vital_signs_after_reading_ms``: a reading is sent through the ingest service over HTTP
  (``POST /api/readings``, a connected system's key; stored, graded by its threshold rule, a warning
  fires or resolves in the same transaction), then the district's duty officer asks
  ``GET /api/vital-signs?depth=runway`` (the sector and runway states) until its runway's and sector's
  counts show the indicator's new colour. Time from sending the reading to that answer; p95 over
  ``--probes`` probes, each on one of 20 probe indicators, alternately turning it red and back to green
  (0.2–0.5 s apart). Target ≤ 1,000 ms.
- ``vital_signs_get_p95_ms``: the plain ``GET /api/vital-signs`` (the whole tree, as the /vital-signs page
  asks) as the duty officer, p95 of ``--requests``; p50 and the cockpit's ``?depth=sector`` beside it.
- ``vital_signs_sql_statements``: the SQL statements one ``vital_signs`` call asks (in process, same
  database, same person), with its in-process time.
- ``risk_map_draw_ms``: Chromium (``/usr/bin/chromium``, Playwright) opens the cockpit as the duty officer
  in a fresh context (nothing cached), network throttled as ``bench_cockpit.py`` does, and waits for the
  risk-point layer to be on the map (the page sets ``body[data-risk-layer='drawn']`` and
  ``window.__riskLayerDrawnAt`` when ECharts has finished drawing it). Time from navigation start;
  p95 over ``--loads`` loads (the first load after the server starts is reported apart). Target ≤ 2,000 ms.

Setup (database ``bench_vital_signs``, reused while its fingerprint — schema head, volumes, seed —
matches; ``_prepared.py``): the demo district imported through the real importers (``_district.py``),
grown to ``--grids`` grids; an indicator tree of ``--indicators`` indicators in the demo's 7 sectors (its
33 runways and 51 sub-runways, widened to 8 runways a sector and 6 sub-runways a runway), imported
through ``import_indicators`` with lead units; one threshold rule per indicator (``import_rules``);
``--series`` newest readings (``reading_latest``, set-based SQL) — a district-level indicator one series,
a town-level one per town, a village-level one in up to 40 villages, a grid-level one over the grids
(the rest of the budget) — ``--stale-share`` of them older than their indicator's staleness cut-off;
``--warning-share`` of the series with an open warning (80 % firing: blue 40 %, yellow 30 %, orange 20 %,
red 10 %; 20 % pending); ``--risk-points`` risk points over the grids imported through
``import_risk_points`` (each watched by up to two series of its grid, so their states follow the
warnings), 1 % of them under rectification (``mark_rectification``). At every run the newest readings
are moved forward by the time since they were written, so a reused database is as fresh as a new one.

Run: ``.venv/bin/python benchmarks/bench_vital_signs.py [--grids 62000] [--indicators 4700]
[--series 200000] [--risk-points 20000] [--probes 200] [--requests 40] [--loads 5] [--quick]``
(``--quick``: 2,000 grids, 400 indicators, 5,000 series, 1,000 points, 10 probes, 5 requests, 2 loads;
``--prepare-only`` builds the database and stops).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _district import ADMIN_URL, fresh_district, grow_grids, plain, url_for  # noqa: E402
from _prepared import explain, fingerprint, mark, matches  # noqa: E402
from _results import finish, record  # noqa: E402

DB = os.environ.get("SHUZHI_BENCH_VITAL_SIGNS_DB", "bench_vital_signs")
SEED = 22
LAYOUT = 3  # bump when the generated tree, series, warnings or points change shape (rebuilds the database)
DUTY = "duty.district"
PASSWORD = "bench-password-123"
PROBES = 20  # probe indicators (grid level, one series each, no warning of their own at the start)
RUNWAYS_PER_SECTOR, SUBS_PER_RUNWAY = 8, 6
FREQUENCIES = ("5m", "15m", "1h", "1h", "1d")
LEVEL_BY_TENTH = ("district", "town", "town", "town", "village", "grid", "grid", "grid", "grid", "grid")
VILLAGES_EACH = 40
#: A reading at or above ``red`` turns the indicator red; the stored series sit between 0 and 70.
RULE_LEVELS = {"blue": 80.0, "yellow": 90.0, "orange": 95.0, "red": 99.0}


# --- preparing ---------------------------------------------------------------------------------------


def _tree() -> list[tuple[tuple[str, str], tuple[str, str], tuple[str, str]]]:
    """Every sub-runway as (sector, runway, sub-runway): the demo's, widened to a district's breadth."""
    from shuzhi.demo.sensing import parse_tree

    specs = parse_tree()
    sectors: dict[tuple[str, str], dict[tuple[str, str], list[tuple[str, str]]]] = {}
    for s in specs:
        subs = sectors.setdefault(s.sector, {}).setdefault(s.runway, [])
        if s.sub_runway not in subs:
            subs.append(s.sub_runway)
    out: list[tuple[tuple[str, str], tuple[str, str], tuple[str, str]]] = []
    for sector, runways in sectors.items():
        for r in range(len(runways), RUNWAYS_PER_SECTOR):
            runways[(f"{sector[0]}.B{r + 1:02d}", f"{sector[1]}跑道{r + 1}")] = []
        for runway, subs in runways.items():
            for k in range(len(subs), SUBS_PER_RUNWAY):
                subs.append((f"{runway[0]}.B{k + 1:02d}", f"{runway[1]}子跑道{k + 1}"))
            out.extend((sector, runway, sub) for sub in subs)
    return out


def indicator_rows(total: int, departments: list[str]) -> list[dict[str, str]]:
    """The indicator file: ``total`` indicators spread over the sub-runways, the first ``PROBES`` at grid level."""
    subs = _tree()
    step = next(k for k in range(7, len(subs) + 8) if math.gcd(k, len(subs)) == 1)
    rows = []
    for i in range(total):
        sector, runway, sub = subs[(i * step) % len(subs)]  # neighbours land in different sub-runways
        level = "grid" if i < PROBES else LEVEL_BY_TENTH[i % 10]
        freq = "5m" if i < PROBES else FREQUENCIES[i % len(FREQUENCIES)]
        owner = departments[i % len(departments)]
        rows.append({
            "sector_code": sector[0], "sector_name": sector[1], "runway_code": runway[0], "runway_name": runway[1],
            "sub_runway_code": sub[0], "sub_runway_name": sub[1], "code": f"VS{i:05d}", "name": f"{sub[1]}指标{i}",
            "unit": "", "value_type": "number", "frequency": freq, "source_system": "基准", "owner_unit_code": owner,
            "level": level, "areas": "500111", "realtime": "否" if freq == "1d" else "是", "warning": "是",
            "traceable": "是", "evaluable": "是" if i % 3 == 0 else "否", "retention_days": "", "description": "",
            "sector_lead_unit_code": "C500111",
            "runway_lead_unit_code": departments[sum(map(ord, runway[0])) % len(departments)],
            "__row__": str(i + 2)})
    return rows


def fill_series(conn: psycopg.Connection[Any], series: int, stale_share: float) -> int:
    """``series`` newest readings, placed by each indicator's level; returns how many were stored."""
    count = dict(conn.execute("SELECT level, count(*) FROM indicators GROUP BY level").fetchall())
    towns = int(conn.execute("SELECT count(*) FROM areas WHERE level = 'town'").fetchone()[0])  # type: ignore[index]
    villages = min(VILLAGES_EACH, int(conn.execute(
        "SELECT count(*) FROM areas WHERE level = 'village'").fetchone()[0]))  # type: ignore[index]
    fixed = count.get("district", 0) + count.get("town", 0) * towns + count.get("village", 0) * villages
    grid_each = max(1, (series - fixed) // max(1, count.get("grid", 0) - PROBES))
    conn.execute("SELECT setseed(0.22)")
    # stale: older than stale_after (3) × the indicator's frequency; fresh: within one frequency
    at = ("now() - make_interval(secs => i.frequency_s * CASE WHEN random() < %(stale)s "
          "THEN 3.5 + random() ELSE random() END)")
    common = ("WITH a_ AS (SELECT id, code, level, row_number() OVER (PARTITION BY level ORDER BY id) - 1 AS rn, "
              "count(*) OVER (PARTITION BY level) AS n FROM areas), "
              "i_ AS (SELECT id, level, frequency_s, row_number() OVER (PARTITION BY level ORDER BY id) - 1 AS rn "
              "FROM indicators) ")
    conn.execute(common + f"""
        INSERT INTO reading_latest (indicator_id, series_key, area_id, at, value)
        SELECT i.id, a.code, a.id, {at}, round((random() * 70)::numeric, 2)
        FROM i_ i JOIN a_ a ON a.level = i.level
        WHERE i.level IN ('district', 'town') OR (i.level = 'village' AND a.rn < %(villages)s)
        ON CONFLICT DO NOTHING""", {"stale": stale_share, "villages": villages})
    # the probes: one fresh series each, in distinct grids; the other grid indicators spread over the grids
    # (the modulus is a scalar, not a column of a_, so that the join is a hash join: with a.n it was a
    # nested loop of 200,000 series × 62,000 grids)
    conn.execute(common + f"""
        INSERT INTO reading_latest (indicator_id, series_key, area_id, at, value)
        SELECT i.id, a.code, a.id, {at}, round((random() * 70)::numeric, 2)
        FROM i_ i CROSS JOIN generate_series(0, %(each)s - 1) AS s
        JOIN a_ a ON a.level = 'grid'
            AND a.rn = (i.rn * 7919 + s * 104729) %% (SELECT count(*) FROM areas WHERE level = 'grid')
        WHERE i.level = 'grid' AND i.rn >= %(probes)s
        ON CONFLICT DO NOTHING""", {"stale": stale_share, "each": grid_each, "probes": PROBES})
    # the probes go through the ingest service, which accepts a reading only in the indicator's listed areas
    # (the district 500111): their grids are the district's, not its thin neighbour's (500151, since #22)
    conn.execute(common + """, g AS (SELECT id, code, row_number() OVER (ORDER BY id) - 1 AS rn FROM areas
                                   WHERE level = 'grid' AND path LIKE '/500000/500111/%%')
        INSERT INTO reading_latest (indicator_id, series_key, area_id, at, value)
        SELECT i.id, a.code, a.id, now(), 10.0
        FROM i_ i JOIN g a ON a.rn = (i.rn * 3001) %% (SELECT count(*) FROM g)
        WHERE i.level = 'grid' AND i.rn < %(probes)s""", {"probes": PROBES})
    return int(conn.execute("SELECT count(*) FROM reading_latest").fetchone()[0])  # type: ignore[index]


def fill_warnings(conn: psycopg.Connection[Any], share: float) -> int:
    """Open warnings on ``share`` of the series (never the probes'); returns how many are open."""
    conn.execute("SELECT setseed(0.23)")
    conn.execute("""
        WITH w AS (SELECT r.indicator_id, r.series_key, r.value, i.code AS indicator_code, a.code AS area_code,
                          a.path, random() AS pick, random() AS lv
                   FROM reading_latest r JOIN indicators i ON i.id = r.indicator_id
                   JOIN areas a ON a.id = r.area_id
                   WHERE i.code >= %(first)s)
        INSERT INTO warnings (episode_key, open_key, indicator_id, indicator_code, series_key, area_code, area_path,
                              rule_code, state, level, peak_level, started_at, fired_at, last_value,
                              last_reading_at, notified, updated_at, version)
        SELECT 'bench|' || indicator_id || '|' || series_key, indicator_id || '|' || series_key, indicator_id,
               indicator_code, series_key, area_code, path, 'VS-' || indicator_code,
               CASE WHEN pick < %(share)s * 0.2 THEN 'pending' ELSE 'firing' END,
               CASE WHEN lv < 0.4 THEN 'blue' WHEN lv < 0.7 THEN 'yellow' WHEN lv < 0.9 THEN 'orange' ELSE 'red' END,
               CASE WHEN lv < 0.4 THEN 'blue' WHEN lv < 0.7 THEN 'yellow' WHEN lv < 0.9 THEN 'orange' ELSE 'red' END,
               now() - interval '2 hours',
               CASE WHEN pick < %(share)s * 0.2 THEN NULL ELSE now() - interval '1 hour' END,
               value, now() - interval '5 minutes', false, now(), 1
        FROM w WHERE pick < %(share)s""", {"share": share, "first": f"VS{PROBES:05d}"})
    return int(conn.execute("SELECT count(*) FROM warnings WHERE state IN ('pending', 'firing')"
                            ).fetchone()[0])  # type: ignore[index]


def risk_point_rows(conn: psycopg.Connection[Any], total: int) -> list[dict[str, str]]:
    """``total`` points over the grids: 70 % in grids with series (watched by up to two of them)."""
    from shuzhi.domain.risk_points import DEFAULT_KINDS

    rng = random.Random(SEED)
    grids = conn.execute(
        "SELECT a.code, a.centroid_lon, a.centroid_lat, coalesce((SELECT u.code FROM units u WHERE u.area_id = a.id "
        "ORDER BY u.id LIMIT 1), 'C500111') FROM areas a WHERE a.level = 'grid' ORDER BY a.code").fetchall()
    watched: dict[str, list[str]] = {}
    for code, key in conn.execute(
            "SELECT i.code, r.series_key FROM reading_latest r JOIN indicators i ON i.id = r.indicator_id "
            "WHERE i.level = 'grid' AND i.code >= %s ORDER BY 1, 2", (f"VS{PROBES:05d}",)):
        watched.setdefault(key, []).append(f"{code}@{key}")
    with_series = [g for g in grids if g[0] in watched]
    rows = []
    for i in range(total):
        near = with_series and rng.random() < 0.7
        g = with_series[i % len(with_series)] if near else grids[rng.randrange(len(grids))]
        kind = DEFAULT_KINDS[i % len(DEFAULT_KINDS)][0]
        lon = (g[1] or 105.7) + rng.uniform(-0.01, 0.01)
        lat = (g[2] or 29.7) + rng.uniform(-0.01, 0.01)
        rows.append({"code": f"RP{i:06d}", "name": f"风险点{i}", "kind": kind,
                     "grade": ("重大", "较大", "一般", "低")[i % 4],
                     "area_code": g[0], "lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "responsible_unit_code": g[3],
                     "responsible_person": f"责任人{i % 97}", "responsible_phone": "", "patrol_frequency": "7d",
                     "devices": "", "series": ";".join(watched.get(g[0], [])[:2]), "description": "",
                     "__row__": str(i + 2)})
    return rows


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    fp = fingerprint("vital_signs", grids=args.grids, indicators=args.indicators, series=args.series,
                     stale_share=args.stale_share, warning_share=args.warning_share, risk_points=args.risk_points,
                     seed=SEED, layout=LAYOUT)
    print(explain(ADMIN_URL, url_for(DB), fp), flush=True)
    if matches(ADMIN_URL, url_for(DB), fp):
        return fp
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.security.passwords import set_password
    from shuzhi.services.sensing import risk_points, warning_config
    from shuzhi.services.sensing.indicators import import_indicators
    from shuzhi.services.unit_of_work import UnitOfWork

    fresh_district(DB, SEED)
    print(f"grids: {grow_grids(DB, args.grids):,}", flush=True)
    engine = make_engine(url_for(DB))
    factory = make_session_factory(engine)
    with psycopg.connect(plain(url_for(DB)), autocommit=True) as conn:
        departments = [r[0] for r in conn.execute(
            "SELECT code FROM units WHERE kind = 'department' AND level = 'district' ORDER BY code")]
    t0 = time.perf_counter()
    rows = indicator_rows(args.indicators, departments)
    report = import_indicators(UnitOfWork(factory), rows, SYSTEM)
    assert not report.errors, report.errors[:5]
    rules = [{"code": f"VS-{r['code']}", "indicator": r["code"],
              "conditions": [{"kind": "value", "op": "above", "levels": RULE_LEVELS}]} for r in rows]
    warning_config.import_rules(UnitOfWork(factory), SYSTEM, json.dumps(rules).encode(), "rules.json")
    print(f"{len(rows):,} indicators and their rules imported in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    with psycopg.connect(plain(url_for(DB)), autocommit=True) as conn:
        stored = fill_series(conn, args.series, args.stale_share)
        open_warnings = fill_warnings(conn, args.warning_share)
        conn.execute("ANALYZE")
        points = risk_point_rows(conn, args.risk_points)
    print(f"{stored:,} newest readings, {open_warnings:,} open warnings in {time.perf_counter() - t0:.0f} s",
          flush=True)
    t0 = time.perf_counter()
    report = risk_points.import_risk_points(UnitOfWork(factory), points, SYSTEM)
    assert not report.errors, report.errors[:5]
    for p in points[::100]:
        risk_points.mark_rectification(UnitOfWork(factory), SYSTEM, p["code"], active=True, reason="基准：整改中")
    print(f"{len(points):,} risk points imported in {time.perf_counter() - t0:.0f} s", flush=True)
    with factory() as s:
        set_password(s, DUTY, PASSWORD, must_change=False)
        s.commit()
    engine.dispose()
    with psycopg.connect(plain(url_for(DB)), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    mark(ADMIN_URL, url_for(DB), fp)
    return fp


def freshen() -> None:
    """Move the stored newest readings forward by the time since they were written (the probes' excepted),
    so that a reused database has the same share of stale series as a new one."""
    with psycopg.connect(plain(url_for(DB)), autocommit=True) as conn:
        conn.execute("""
            UPDATE reading_latest SET at = at + (now() - (SELECT max(at) FROM reading_latest r
                                                          JOIN indicators i ON i.id = r.indicator_id
                                                          WHERE i.code >= %(first)s))
            WHERE indicator_id IN (SELECT id FROM indicators WHERE code >= %(first)s)""",
                     {"first": f"VS{PROBES:05d}"})
        conn.execute("VACUUM ANALYZE reading_latest")


# --- measuring ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _credentials() -> tuple[str, str]:
    """A bearer token of the duty officer and a write key of a connected system (made per run)."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.security.tokens import NewApiKey, create_api_key, mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url_for(DB))
    factory = make_session_factory(engine)
    try:
        token = mint_token_for(UnitOfWork(factory), DUTY, name="bench-vital-signs")
        key, _ = create_api_key(UnitOfWork(factory), SYSTEM,
                                NewApiKey(name="bench-vital-signs", write=True, expires_in_days=1))
        return token, key
    finally:
        engine.dispose()


def _probes() -> list[tuple[str, str, str, str]]:
    """(indicator, grid, runway code, sector code) of each probe indicator."""
    with psycopg.connect(plain(url_for(DB))) as conn:
        return [(str(a), str(b), str(c), str(d)) for a, b, c, d in conn.execute(
            "SELECT i.code, r.series_key, rw.code, se.code FROM indicators i "
            "JOIN reading_latest r ON r.indicator_id = i.id JOIN indicator_nodes sub ON sub.id = i.sub_runway_id "
            "JOIN indicator_nodes rw ON rw.id = sub.parent_id JOIN indicator_nodes se ON se.id = rw.parent_id "
            "WHERE i.code < %s ORDER BY i.code", (f"VS{PROBES:05d}",))]


def _red_counts(tree: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for sector in tree["sectors"]:
        out[sector["code"]] = sector["counts"]["red"]
        for runway in sector["children"]:
            out[runway["code"]] = runway["counts"]["red"]
    return out


def after_reading(client: httpx.Client, token: str, key: str, probes: int) -> dict[str, Any]:
    """Reading sent → the sector/runway states show it (see the module docstring)."""
    duty = {"Authorization": f"Bearer {token}"}
    system = {"X-API-Key": key}
    series = _probes()

    def send(indicator: str, grid: str, value: float) -> float:
        t0 = time.perf_counter()
        r = client.post("/api/readings", headers=system, json=[
            {"indicator": indicator, "area": grid, "at": datetime.now(UTC).isoformat(), "value": value}])
        got = r.json() if r.status_code == 200 else {}
        if got.get("accepted") != 1:
            raise SystemExit(f"the probe reading was not stored: {r.status_code} {r.text[:300]}")
        return (time.perf_counter() - t0) * 1000

    def states() -> dict[str, int]:
        r = client.get("/api/vital-signs?depth=runway", headers=duty)
        if r.status_code != 200:
            raise SystemExit(f"GET /api/vital-signs answered {r.status_code}: {r.text[:300]}")
        return _red_counts(r.json())

    for indicator, grid, _rw, _se in series:  # every probe green (a previous run may have left one red)
        send(indicator, grid, 10.0)
    base = states()
    red = {s[0]: False for s in series}
    rng = random.Random(SEED)
    samples, ingest_ms, polls = [], [], []
    for n in range(probes):
        indicator, grid, runway, sector = series[n % len(series)]
        red[indicator] = not red[indicator]
        want_rw = base[runway] + sum(red[s[0]] for s in series if s[2] == runway)
        want_se = base[sector] + sum(red[s[0]] for s in series if s[3] == sector)
        t0 = time.perf_counter()
        ingest_ms.append(send(indicator, grid, 100.0 if red[indicator] else 10.0))
        asked = 0
        while True:
            got = states()
            asked += 1
            if got[runway] == want_rw and got[sector] == want_se:
                break
            if time.perf_counter() - t0 > 30:
                raise SystemExit(f"probe {n}: {indicator} not reflected after 30 s ({got[runway]} ≠ {want_rw})")
        samples.append((time.perf_counter() - t0) * 1000)
        polls.append(asked)
        time.sleep(rng.uniform(0.2, 0.5))
    for indicator, grid, _rw, _se in series:  # leave them green
        if red[indicator]:
            send(indicator, grid, 10.0)
    return {"samples": samples, "ingest_ms": ingest_ms, "polls": polls}


def plain_gets(client: httpx.Client, token: str, requests: int) -> dict[str, dict[str, Any]]:
    duty = {"Authorization": f"Bearer {token}"}
    out = {}
    for label, path in (("tree", "/api/vital-signs"), ("sector", "/api/vital-signs?depth=sector")):
        times, size = [], 0
        for _ in range(requests + 1):
            t0 = time.perf_counter()
            r = client.get(path, headers=duty)
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"GET {path} answered {r.status_code}: {r.text[:300]}")
            size = len(r.content)
        timed = times[1:]
        out[label] = {"cold_ms": round(times[0], 1), "samples": [round(x, 1) for x in timed],
                      "p50": round(statistics.median(timed), 1), "p95": round(_p95(timed), 1), "bytes": size,
                      "path": path}
        print(f"GET {path}: cold {times[0]:.0f} ms, p50 {statistics.median(timed):.0f} ms, p95 {_p95(timed):.0f} ms, "
              f"{size:,} bytes", flush=True)
    return out


def statements() -> dict[str, Any]:
    """The SQL statements of one ``vital_signs`` call for the duty officer, in process; its time (median of 3)
    and the top of a profile of one call."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import event

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.sensing.vital_signs import vital_signs
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url_for(DB))
    factory = make_session_factory(engine)
    with factory() as s:
        actor = resolve_actor(s, DUTY)
    vital_signs(UnitOfWork(factory), actor)  # warm: the first call pays the imports and the pool
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        vital_signs(UnitOfWork(factory), actor)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        vital_signs(UnitOfWork(factory), actor)
        times.append((time.perf_counter() - t0) * 1000)
    prof = cProfile.Profile()
    prof.enable()
    vital_signs(UnitOfWork(factory), actor)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(12)
    engine.dispose()
    print(f"vital_signs in process: {len(seen)} statements, {statistics.median(times):.0f} ms (median of 3)",
          flush=True)
    print("\n".join(buf.getvalue().splitlines()[:30]), flush=True)
    return {"statements": len(seen), "service_ms": round(statistics.median(times), 1)}


def risk_map(base: str, loads: int, mbit: float, latency_ms: float) -> dict[str, list[float]]:
    """Per load, a fresh browser context signed in as the duty officer: ms from navigation start to the
    risk layer drawn, the layer's answer (request → response end, bytes), and the points on the map."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"drawn": [], "api": [], "api_end": [], "kb": [], "points": [], "ready": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        for _ in range(loads):
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            signed_in = context.request.post(f"{base}/api/auth/login", data={"code": DUTY, "password": PASSWORD})
            assert signed_in.ok, signed_in.text()
            page = context.new_page()
            if mbit > 0:
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", {
                    "offline": False, "latency": latency_ms,
                    "downloadThroughput": mbit * 1e6 / 8, "uploadThroughput": mbit * 1e6 / 8})
            page.goto(f"{base}/")
            page.wait_for_selector("body[data-risk-layer='drawn']", state="attached", timeout=120_000)
            out["drawn"].append(float(page.evaluate("window.__riskLayerDrawnAt")))
            out["ready"].append(float(page.evaluate("window.__cockpitReadyAt")))
            out["points"].append(float(page.evaluate("Number(document.body.dataset.riskPoints)")))
            entry = page.evaluate("(() => { const e = performance.getEntriesByType('resource')"
                                  ".find((x) => /\\/api\\/(cockpit\\/risk-layer|risk-points)/.test(x.name)); "
                                  "return e ? [e.responseEnd - e.requestStart, e.responseEnd, e.encodedBodySize] : "
                                  "[0, 0, 0]; })()")
            out["api"].append(float(entry[0]))
            out["api_end"].append(float(entry[1]))
            out["kb"].append(float(entry[2]) / 1024)
            context.close()
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--grids", type=int, default=62_000)
    ap.add_argument("--indicators", type=int, default=4_700)
    ap.add_argument("--series", type=int, default=200_000)
    ap.add_argument("--stale-share", type=float, default=0.02)
    ap.add_argument("--warning-share", type=float, default=0.01)
    ap.add_argument("--risk-points", type=int, default=20_000)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--requests", type=int, default=40, help="timed plain GETs after the cold one")
    ap.add_argument("--loads", type=int, default=5, help="browser loads of the cockpit after the first")
    ap.add_argument("--mbit", type=float, default=20.0, help="network throttled to this (0: none)")
    ap.add_argument("--latency-ms", type=float, default=40.0, help="latency added per request")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--prepare-only", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="2,000 grids, 400 indicators, 5,000 series, 1,000 points, 10 probes, 5 requests, 2 loads")
    args = ap.parse_args()
    if args.quick:
        args.grids, args.indicators, args.series, args.risk_points = 2_000, 400, 5_000, 1_000
        args.probes, args.requests, args.loads = 10, 5, 2
    prepare(args)
    if args.prepare_only:
        return
    freshen()
    with psycopg.connect(plain(url_for(DB))) as conn:
        def one(q: str) -> int:
            return int(conn.execute(q).fetchone()[0])  # type: ignore[index]

        volume = {"grids": one("SELECT count(*) FROM areas WHERE level = 'grid'"),
                  "indicators": one("SELECT count(*) FROM indicators"),
                  "sectors": one("SELECT count(*) FROM indicator_nodes WHERE kind = 'sector'"),
                  "runways": one("SELECT count(*) FROM indicator_nodes WHERE kind = 'runway'"),
                  "sub_runways": one("SELECT count(*) FROM indicator_nodes WHERE kind = 'sub_runway'"),
                  "newest_readings": one("SELECT count(*) FROM reading_latest"),
                  "open_warnings": one("SELECT count(*) FROM warnings WHERE state IN ('pending', 'firing')"),
                  "risk_points": one("SELECT count(*) FROM risk_points WHERE active"),
                  "engine": "postgresql", "scale": "district", "seed": SEED}
    print(f"volume: {volume}", flush=True)
    sql = statements()
    token, key = _credentials()
    port = _free_port()
    env = {**os.environ, "SHUZHI_DATABASE_URL": url_for(DB)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "shuzhi.entrypoints.api.app:create_app", "--factory", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-access-log",
         "--timeout-worker-healthcheck", "120"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API did not start")
                time.sleep(0.5)
            gets = plain_gets(client, token, args.requests)
            probed = after_reading(client, token, key, args.probes)
        drawn = risk_map(base, args.loads + 1, args.mbit, args.latency_ms)
    finally:
        server.terminate()
        server.wait(30)
    s = probed["samples"]
    print(f"after a reading: p50 {statistics.median(s):.0f} ms, p95 {_p95(s):.0f} ms, max {max(s):.0f} ms; ingest "
          f"p50 {statistics.median(probed['ingest_ms']):.0f} ms; GETs per probe {max(probed['polls'])} at most",
          flush=True)
    record("vital_signs_after_reading_ms", round(_p95(s), 1), "ms", 1000, "lower", samples=[round(x, 1) for x in s],
           database=url_for(DB), volume=volume, person=DUTY, workers=args.workers,
           p50_ms=round(statistics.median(s), 1), ingest_p50_ms=round(statistics.median(probed["ingest_ms"]), 1),
           gets_per_probe_max=max(probed["polls"]), request="POST /api/readings → GET /api/vital-signs?depth=runway",
           note="a probe turns one grid-level indicator red (or back to green) through its threshold rule; the "
                "time runs until its runway's and sector's red counts show it")
    tree = gets["tree"]
    record("vital_signs_get_p95_ms", tree["p95"], "ms", None, "lower", samples=tree["samples"], database=url_for(DB),
           volume=volume, person=DUTY, workers=args.workers, p50_ms=tree["p50"], cold_ms=tree["cold_ms"],
           response_bytes=tree["bytes"], sector_p50_ms=gets["sector"]["p50"], sector_p95_ms=gets["sector"]["p95"],
           sector_bytes=gets["sector"]["bytes"], request=tree["path"])
    record("vital_signs_sql_statements", sql["statements"], "statements", None, "lower", database=url_for(DB),
           volume=volume, person=DUTY, service_ms=sql["service_ms"])
    first, rest = drawn["drawn"][0], drawn["drawn"][1:]
    print(f"risk layer drawn: first load {first:.0f} ms; then {[round(x) for x in rest]} ms; first screen "
          f"{[round(x) for x in drawn['ready']]} ms; /api/risk-points {[round(x) for x in drawn['api']]} ms, "
          f"{statistics.median(drawn['kb']):.0f} kB; {statistics.median(drawn['points']):.0f} points", flush=True)
    network = f"{args.mbit:g} Mbit/s, +{args.latency_ms:g} ms" if args.mbit > 0 else "not throttled"
    record("risk_map_draw_ms", round(_p95(rest), 0), "ms", 2000, "lower", samples=[round(x) for x in rest],
           database=url_for(DB), volume={**volume, "network": network, "loads": len(rest)}, person=DUTY,
           first_load_ms=round(first), points_drawn=statistics.median(drawn["points"]),
           first_screen_median_ms=round(statistics.median(drawn["ready"][1:])),
           api_median_ms=round(statistics.median(drawn["api"][1:])),
           api_response_end_median_ms=round(statistics.median(drawn["api_end"][1:])),
           api_kb=round(statistics.median(drawn["kb"])),
           ready="body[data-risk-layer='drawn']: ECharts 'finished' after the layer's setOption (cockpit.js)")


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
