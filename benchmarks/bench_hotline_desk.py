"""The desk's suggestion as the desk gets it: ``POST /api/events/suggest`` over HTTP on PostgreSQL.

``bench_hotline.py`` measures the model's own work in process. This script measures what the officer
waits for while registering a call: the API worker parses the request, finds the place in the area tree,
runs the active model (classes with their words), asks the dispatch rules for units, compares the text
with the recent open events of the same town (up to ``MAX_CANDIDATES``) for duplicates and looks for
repeats at the place — every database query included, as the district's duty officer (scoped).

Figure (issue #21; goal ≤ 100 ms p95 on this 2-core machine): ``hotline_desk_suggest_api_p95_ms``.

Setup (database ``bench_hotline_desk``, reused while its fingerprint — schema head, volumes, seed —
matches): the demo district through the real importers; ``--history`` closed events over the last year
and ``--open`` open events over the last three days, their words written by the demo's phrase book
(``services/hotline/phrase_book.py``) at the district's grids; the model trained from that history through the
service (``services/hotline/models.train``, what ``shuzhi model train`` does) and made active. The probes
are the hand-written evaluation texts (``data/hotline_eval.jsonl``, never seen in training) placed at
grids that hold open events, so the duplicate search has its full set of candidates.

Run: ``.venv/bin/python benchmarks/bench_hotline_desk.py [--history 20000] [--open 3000] [--requests 300]
[--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _district import ADMIN_URL, fresh_district, plain, url_for  # noqa: E402
from _prepared import explain, fingerprint, mark, matches  # noqa: E402
from _results import finish, is_quick, record, tree_rss_mb  # noqa: E402

DB = os.environ.get("SHUZHI_BENCH_HOTLINE_DB", "bench_hotline_desk")
SEED = 1
DUTY = "duty.district"
COLUMNS = ("number", "source", "title", "description", "lon", "lat", "area_id", "area_path", "urgency", "mode",
           "state", "owner_unit_id", "event_class_id", "self_handled", "rework_count", "return_count",
           "received_at", "closed_at", "updated_at", "version")


def _grids_and_classes(conn: psycopg.Connection[Any]) -> tuple[list[tuple[Any, ...]], dict[str, int], int]:
    grids = conn.execute("SELECT id, path, centroid_lon, centroid_lat, name FROM areas WHERE level = 'grid' "
                         "AND centroid_lon IS NOT NULL ORDER BY id").fetchall()
    classes = dict(conn.execute("SELECT code, id FROM event_classes").fetchall())
    owner = conn.execute("SELECT id FROM units WHERE kind = 'centre' AND level = 'district'").fetchone()
    assert grids and classes and owner, "the demo district is imported"
    return grids, classes, int(owner[0])


def _fill(history: int, open_now: int) -> None:
    """Closed history over a year and open events over three days, in words people use, by COPY."""
    from shuzhi.services.hotline.phrase_book import PHRASES, describe

    rng = random.Random(SEED)
    now = datetime.now(UTC)
    with psycopg.connect(plain(url_for(DB))) as conn:
        grids, class_ids, owner = _grids_and_classes(conn)
        codes = [c for c in PHRASES if c in class_ids]
        # open events crowd a few dozen grids, as a busy week does (the probes go there)
        busy = grids[: max(1, min(len(grids), 40))]
        with conn.cursor() as cur, cur.copy(f"COPY events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for i in range(history + open_now):
                is_open = i >= history
                grid = rng.choice(busy if is_open else grids)
                code = rng.choice(codes)
                text = describe(code, rng, grid[4])
                if is_open:
                    at = now - timedelta(minutes=rng.uniform(1, 3 * 24 * 60))
                    state, closed = rng.choice(("registered", "dispatched", "handling")), None
                else:
                    at = now - timedelta(days=rng.uniform(4, 365))
                    state, closed = "closed", at + timedelta(days=rng.uniform(0.2, 3))
                jitter_lon, jitter_lat = rng.uniform(-0.0008, 0.0008), rng.uniform(-0.0008, 0.0008)
                copy.write_row((f"500111-D-{i:09d}", "hotline", text[:30], text, grid[2] + jitter_lon,
                                grid[3] + jitter_lat, grid[0], grid[1], "normal", "handle", state, owner,
                                class_ids[code], False, 0, 0, at, closed, now, 1))
        conn.commit()
        conn.execute("ANALYZE events")


def _train() -> dict[str, Any]:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.hotline import models
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url_for(DB))
    try:
        v = models.train(UnitOfWork(make_session_factory(engine)), SYSTEM, note="bench_hotline_desk")
    finally:
        engine.dispose()
    return {"version": v.version, "examples": v.examples, "top1_held_out": v.metrics.get("top1")}


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    fp = fingerprint("hotline_desk", history=args.history, open=args.open, seed=SEED)
    print(explain(ADMIN_URL, url_for(DB), fp), flush=True)
    if matches(ADMIN_URL, url_for(DB), fp):
        return fp
    fresh_district(DB, SEED)
    t0 = time.perf_counter()
    _fill(args.history, args.open)
    print(f"{args.history:,} closed + {args.open:,} open events in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    model = _train()
    print(f"model {model} trained in {time.perf_counter() - t0:.0f} s", flush=True)
    mark(ADMIN_URL, url_for(DB), fp)
    return fp


def _token(person: str) -> str:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.security.tokens import mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url_for(DB))
    try:
        return mint_token_for(UnitOfWork(make_session_factory(engine)), person, name="bench-hotline-desk")
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _probes(n: int) -> list[dict[str, Any]]:
    """Hand-written evaluation texts at the busy grids (where the open events are)."""
    texts = [json.loads(line)["text"] for line in (HERE / "data" / "hotline_eval.jsonl").read_text().splitlines()
             if line.strip()]
    with psycopg.connect(plain(url_for(DB))) as conn:
        busy = conn.execute("SELECT a.centroid_lon, a.centroid_lat, count(*) FROM events e "
                            "JOIN areas a ON a.id = e.area_id WHERE e.state <> 'closed' "
                            "GROUP BY a.id ORDER BY count(*) DESC LIMIT 40").fetchall()
    rng = random.Random(SEED + 1)
    out = []
    for i in range(n):
        lon, lat, _ = rng.choice(busy)
        out.append({"text": texts[i % len(texts)], "lon": lon, "lat": lat})
    return out


def _p95(xs: list[float]) -> float:
    ordered = sorted(xs)
    return ordered[max(0, int(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=20_000, help="closed events the model learns from")
    parser.add_argument("--open", type=int, default=3_000, help="open events of the last three days")
    parser.add_argument("--requests", type=int, default=300, help="timed suggestions")
    parser.add_argument("--quick", action="store_true", help="smoke run: results-quick.json only")
    args = parser.parse_args()
    if is_quick():
        args.history, args.open, args.requests = min(args.history, 4_000), min(args.open, 600), 60
    prepare(args)
    probes = _probes(args.requests + 5)
    headers = {"Authorization": f"Bearer {_token(DUTY)}"}
    with psycopg.connect(plain(url_for(DB))) as conn:
        stored = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]
        still_open = int(conn.execute("SELECT count(*) FROM events WHERE state <> 'closed'").fetchone()[0])  # type: ignore[index]
    port = _free_port()
    env = {**os.environ, "SHUZHI_DATABASE_URL": url_for(DB)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "shuzhi.entrypoints.api.app:create_app", "--factory", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "--no-access-log"], env=env)
    times: list[float] = []
    duplicates = classes = 0
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
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
            for i, body in enumerate(probes):
                t0 = time.perf_counter()
                r = client.post("/api/events/suggest", json=body, headers=headers)
                took = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"POST /api/events/suggest answered {r.status_code}: {r.text[:300]}")
                if i >= 5:  # the first few load the model and warm the candidates' cache
                    times.append(took)
                    got = r.json()
                    duplicates += bool(got["duplicates"])
                    classes += len(got["classes"]) == 3
        memory = tree_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    p95 = _p95(times)
    print(f"suggest over HTTP: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, {len(times)} requests, "
          f"{duplicates} with duplicates, {classes} with three classes; worker {memory['largest_peak_mb']:.0f} MB",
          flush=True)
    record("hotline_desk_suggest_api_p95_ms", round(p95, 1), "ms", 100.0, "lower", samples=[round(x, 1) for x in times],
           p50_ms=round(statistics.median(times), 1), database=url_for(DB),
           volume={"events_stored": stored, "open_events": still_open, "requests": len(times), "seed": SEED},
           person=DUTY, with_duplicates=duplicates, with_three_classes=classes,
           api_worker_peak_mb=memory["largest_peak_mb"],
           scope="HTTP round trip of POST /api/events/suggest, one uvicorn worker, PostgreSQL, scoped person")


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
