"""The views people wait for, over HTTP on PostgreSQL, as a scoped person: p95 of each.

Figures (issue #16, views people wait for; goal ≤ 300 ms p95 each):

- the run board of a plan run with 5,000 tasks (``GET /api/plan-runs/{id}``), as the district's duty officer:
  counts over all 5,000 and the first page of 200 tasks, as the plans page asks (the rest on demand);
- an event with 500 timeline entries: the event and its timeline (``GET /api/events/{n}`` + ``/timeline``);
- the events list filtered (state) and sorted (newest first) over 1,000,000 stored events, as a town
  centre's person (scoped to the town) — ``GET /api/events?state=handling&sort=-received_at``;
- a person's inbox holding 10,000 items (``GET /api/inbox``), as that person;
- the evaluation of the district for the month: the requests the evaluation page makes (the five-colour
  map by area, the rankings by unit), one after the other, as the district's duty officer.

Each view is asked once right after the server starts (``cold_ms``), then ``--requests`` times; the
figure is the p95 of those. The resident memory of the largest API worker (``/proc``) is recorded after
the views (goal for a worker: ≤ 400 MB at city scale; this is the district scale).

Setup (database ``bench_views``, reused while its fingerprint — schema head, volumes, seed — matches):
the demo district imported through the real importers; ``--events`` events by one set-based INSERT;
a plan template with one task per department and enough per town to reach ``--tasks``, activated through
the service (``plan_activation.activate_manual``); ``--timeline`` timeline entries on one event; ``--inbox``
notifications to one town person; the evaluation roll-ups rebuilt (``refresh_rollups``).
Run: ``.venv/bin/python benchmarks/bench_views.py [--tasks 5000] [--timeline 500] [--events 1000000]
[--inbox 10000] [--requests 40] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
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
from _district import ADMIN_URL, fill_events, fresh_district, plain, url_for  # noqa: E402
from _prepared import explain, fingerprint, mark, matches  # noqa: E402
from _results import finish, record, tree_rss_mb  # noqa: E402

DB = os.environ.get("SHUZHI_BENCH_VIEWS_DB", "bench_views")
SEED = 1
DUTY = "duty.district"


def _town_person() -> tuple[str, int, str]:
    """A person of a town centre: (code, id, town area code)."""
    with psycopg.connect(plain(url_for(DB))) as conn:
        row = conn.execute(
            "SELECT p.code, p.id, a.code FROM people p JOIN units u ON u.id = p.unit_id "
            "JOIN areas a ON a.id = u.area_id WHERE u.kind = 'centre' AND u.level = 'town' AND p.active "
            "ORDER BY a.code, p.code LIMIT 1").fetchone()
    assert row is not None, "the demo district has town centre staff"
    return str(row[0]), int(row[1]), str(row[2])


def _plan_run(tasks: int) -> tuple[int, int]:
    """Activate a template reaching ``tasks`` tasks over the district; returns (run id, its tasks)."""
    from sqlalchemy import select

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Unit
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.plans import activation as plan_activation
    from shuzhi.services.plans import templates as plan_templates
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url_for(DB))
    factory = make_session_factory(engine)
    with factory() as s:
        departments = sorted(s.scalars(select(Unit.code).where(Unit.kind == "department")))
        towns = s.query(Unit.id).filter(Unit.kind == "centre", Unit.level == "town").count()
    per_town = max(1, -(-(tasks - len(departments) - 1) // towns))
    doc: dict[str, Any] = {
        "code": f"views-{tasks}", "name": "大面积防汛基准预案", "trigger": {"kind": "manual"}, "confirmation": "auto",
        "event": {"urgency": "critical"}, "accept_within": "0.5h",
        "tasks": [{"key": f"dept-{i:02d}", "title": f"部门任务{i}", "role": f"unit:{code}",
                   "instruction": "按预案职责落实", "deadline": "4h"} for i, code in enumerate(departments)]
        + [{"key": f"town-{i:03d}", "title": f"镇街任务{i}", "role": "town_centre", "instruction": "落实属地责任",
            "deadline": "1wd" if i % 2 else "2h", "checklist": ["到岗", "回报"]} for i in range(per_town)]
        + [{"key": "district", "title": "区中心统筹", "role": "district_centre", "instruction": "统筹调度",
            "deadline": "1h"}]}
    plan_templates.save_template(UnitOfWork(factory), doc, SYSTEM)
    t0 = time.perf_counter()
    done = plan_activation.activate_manual(
            UnitOfWork(factory), doc["code"], plan_activation.Activate(area_codes=["500111"]), SYSTEM)
    print(f"plan run {done.run_id}: {done.tasks} tasks activated in {time.perf_counter() - t0:.1f} s", flush=True)
    engine.dispose()
    return done.run_id, done.tasks


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    fp = fingerprint("views", tasks=args.tasks, timeline=args.timeline, events=args.events, inbox=args.inbox,
                     seed=SEED)
    print(explain(ADMIN_URL, url_for(DB), fp), flush=True)
    if matches(ADMIN_URL, url_for(DB), fp):
        return fp
    fresh_district(DB, SEED)
    t0 = time.perf_counter()
    fill_events(DB, args.events, prefix="V", minutes_apart=1)
    print(f"{args.events:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
    _plan_run(args.tasks)
    person, person_id, _town = _town_person()
    with psycopg.connect(plain(url_for(DB)), autocommit=True) as conn:
        event_id = conn.execute("SELECT id FROM events WHERE number LIKE '500111-V-%%' ORDER BY id DESC LIMIT 1"
                                ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            """INSERT INTO timeline_entries (event_id, task_id, at, actor_id, actor, action, from_state, to_state,
                                             reason, payload)
               SELECT %s, NULL, now() - ((%s - s) || ' minutes')::interval, NULL, 'duty.district',
                      (ARRAY['urged','note','reminded','extension_asked'])[1 + s %% 4], NULL, NULL,
                      '第' || s || '次督办：请加快处置并回报进展', '{}'::json
               FROM generate_series(1, %s) AS s""", (event_id, args.timeline, args.timeline))
        unit_id = conn.execute("SELECT unit_id FROM people WHERE id = %s", (person_id,)).fetchone()[0]  # type: ignore[index]
        conn.execute(
            """INSERT INTO notifications (person_id, unit_id, event_id, task_id, kind, title, body, payload, created_at,
                                          read_at, read_by)
               SELECT %s, %s, NULL, NULL, (ARRAY['task_assigned','reminder','overdue','urge'])[1 + s %% 4],
                      '待办事项 ' || s, '请在时限内处理', '{}'::json, now() - ((%s - s) || ' minutes')::interval,
                      CASE WHEN s %% 3 = 0 THEN now() END, CASE WHEN s %% 3 = 0 THEN %s END
               FROM generate_series(1, %s) AS s""", (person_id, unit_id, args.inbox, person, args.inbox))
        conn.execute("ANALYZE")
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.rollups import refresh_rollups
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url_for(DB))
    t0 = time.perf_counter()
    refresh_rollups(UnitOfWork(make_session_factory(engine)), datetime.now(UTC), full=True)
    engine.dispose()
    print(f"roll-ups rebuilt in {time.perf_counter() - t0:.0f} s", flush=True)
    mark(ADMIN_URL, url_for(DB), fp)
    return fp


def _token(person: str) -> str:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.security.tokens import mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    engine = make_engine(url_for(DB))
    try:
        return mint_token_for(UnitOfWork(make_session_factory(engine)), person, name="bench-views")
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--tasks", type=int, default=5000)
    ap.add_argument("--timeline", type=int, default=500)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--inbox", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=40, help="timed requests per view after the cold one")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true",
                    help="500 tasks, 100 entries, 20,000 events, 1,000 items, 5 requests")
    args = ap.parse_args()
    if args.quick:
        args.tasks, args.timeline, args.events, args.inbox, args.requests = 500, 100, 20_000, 1000, 5
    prepare(args)
    person, _pid, _town = _town_person()
    with psycopg.connect(plain(url_for(DB))) as conn:
        run_id, run_tasks = conn.execute(
            "SELECT r.id, count(t.task_id) FROM plan_runs r JOIN plan_run_steps t ON t.run_id = r.id "
            "GROUP BY r.id ORDER BY count(t.id) DESC LIMIT 1").fetchone()  # type: ignore[misc]
        number, entries = conn.execute(
            "SELECT e.number, count(*) FROM timeline_entries t JOIN events e ON e.id = t.event_id "
            "WHERE e.number LIKE '500111-V-%%' GROUP BY e.number ORDER BY count(*) DESC LIMIT 1").fetchone()  # type: ignore[misc]
        stored = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]
        inbox_items = int(conn.execute("SELECT count(*) FROM notifications n JOIN people p ON p.id = n.person_id "
                                       "WHERE p.code = %s", (person,)).fetchone()[0])  # type: ignore[index]
    month = datetime.now(UTC).strftime("%Y-%m")
    duty, handler = {"Authorization": f"Bearer {_token(DUTY)}"}, {"Authorization": f"Bearer {_token(person)}"}
    views: dict[str, tuple[dict[str, str], list[str]]] = {
        "views_run_board_p95_ms": (duty, [f"/api/plan-runs/{run_id}"]),
        "views_event_page_p95_ms": (duty, [f"/api/events/{number}", f"/api/events/{number}/timeline"]),
        "views_events_list_p95_ms": (handler, ["/api/events?state=handling&sort=-received_at&limit=50"]),
        "views_inbox_p95_ms": (handler, ["/api/inbox?limit=50"]),
        # what the evaluation page (web/static/js/evaluation.js) asks for a district and a month
        "views_evaluation_page_p95_ms": (duty, [
            f"/api/evaluation/colour-map?period={month}&by=area&area=500111",
            f"/api/evaluation/rankings?period={month}&by=unit&area=500111"]),
    }
    port = _free_port()
    env = {**os.environ, "SHUZHI_DATABASE_URL": url_for(DB)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "shuzhi.entrypoints.api.app:create_app", "--factory", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-access-log",
         "--timeout-worker-healthcheck", "120"], env=env)
    results: dict[str, dict[str, Any]] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API did not start")
                time.sleep(0.5)
            for name, (headers, paths) in views.items():
                times, sizes = [], 0
                for i in range(args.requests + 1):
                    t0 = time.perf_counter()
                    for path in paths:
                        r = client.get(path, headers=headers)
                        if r.status_code != 200:
                            raise SystemExit(f"{name}: GET {path} answered {r.status_code}: {r.text[:300]}")
                        sizes += len(r.content) if i == 0 else 0
                    times.append((time.perf_counter() - t0) * 1000)
                timed = times[1:]
                results[name] = {"cold_ms": round(times[0], 1), "samples": [round(x, 1) for x in timed],
                                 "p95": round(_p95(timed), 1), "bytes": sizes, "paths": paths}
                print(f"{name}: cold {times[0]:.0f} ms, p50 {statistics.median(timed):.0f} ms, "
                      f"p95 {_p95(timed):.0f} ms, {sizes:,} bytes", flush=True)
        memory = tree_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    volume = {"events_stored": stored, "run_tasks": run_tasks, "timeline_entries": entries,
              "inbox_items": inbox_items, "scale": "district", "seed": SEED}
    scoped = {"views_run_board_p95_ms": DUTY, "views_event_page_p95_ms": DUTY, "views_events_list_p95_ms": person,
              "views_inbox_p95_ms": person, "views_evaluation_page_p95_ms": DUTY}
    for name, got in results.items():
        record(name, got["p95"], "ms", 300, "lower", samples=got["samples"], database=url_for(DB), volume=volume,
               cold_ms=got["cold_ms"], response_bytes=got["bytes"], requests=got["paths"], person=scoped[name],
               workers=args.workers)
    record("memory_api_worker_views_mb", memory["largest_peak_mb"], "MB", 400, "lower", database=url_for(DB),
           volume=volume, processes=memory["processes"], rss_now_mb=memory["largest_rss_mb"],
           note="peak resident memory (VmHWM) of the largest API worker after the views; district scale")


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
