"""Activating a contingency plan that creates 500 tasks across 27 towns and 40 departments.

Figure (issue 6: Plans): ≤ 2 s on PostgreSQL for one activation — resolving every role, registering
the run's event, and dispatching every task with its deadlines and timeline lines in one transaction.

Setup: a dedicated database ``bench_plans`` on the local PostgreSQL (created if missing), the demo
district imported through the real importers (27 towns, 40 departments), and one template: one task
for each of the 40 departments (``unit:<code>``), 17 tasks for the town centre of every affected
town (17 × 27 = 459) and one for the district centre — 500 tasks for the affected area 大足区.
Each repetition activates it afresh (manually, so each run registers its own event) and, outside
the timed part, stands the run down — an active run of the template would otherwise be joined by the
next activation (one response per situation) instead of starting a new one. The median and the worst
of the repetitions are reported, with the CPU time of this process per activation (load-independent).
Figure (issue #16): the cold first activation is the figure (a fresh process); the warm repetitions
are kept beside it. With ``--city-towns 1031`` a second database (``bench_plans_city``, reused while its
fingerprint matches) holds the district grown by SQL to 1,031 towns, each with its town centre, and a
template of ``--city-tasks-per-town`` tasks per town (~20,000 tasks) is activated once over all of them
while ``--storm`` processes register events through ``services.intake`` as fast as they can (an event
storm); goal ≤ 20 s.
Run: ``.venv/bin/python benchmarks/bench_plan_activation.py [--quick] [--repeat 5] [--city-towns 1031]
[--prepare-only]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _district import ADMIN_URL as _ADMIN
from _district import fresh_district, grow_towns, url_for
from _prepared import explain, fingerprint, mark, matches
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = "bench_plans"
URL = f"postgresql+psycopg://postgres@localhost/{DB}"


def prepare(reuse: bool = True) -> Any:
    """The demo district in ``bench_plans``: reused while its fingerprint (schema head, seed) matches,
    rebuilt through the real importers otherwise; returns a session factory."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory

    fp = fingerprint("plans", seed=1)
    print(explain(ADMIN_URL, URL, fp), flush=True)
    if not matches(ADMIN_URL, URL, fp):
        fresh_district(DB, 1)
        mark(ADMIN_URL, URL, fp)
    return make_session_factory(make_engine(URL))


def template(town_tasks: int, departments: list[str]) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = [
        {"key": f"dept-{i:02d}", "title": f"部门任务{i}", "role": f"unit:{code}", "instruction": "按预案职责落实",
         "deadline": "4h"} for i, code in enumerate(departments)]
    tasks += [{"key": f"town-{i:02d}", "title": f"镇街任务{i}", "role": "town_centre", "instruction": "落实属地责任",
               "deadline": "1wd" if i % 2 else "2h", "checklist": ["到岗", "回报"]} for i in range(town_tasks)]
    tasks.append({"key": "district", "title": "区中心统筹", "role": "district_centre", "instruction": "统筹调度",
                  "deadline": "1h"})
    return {"code": f"bench-{town_tasks}", "name": "基准测试预案", "trigger": {"kind": "manual"},
            "confirmation": "auto", "event": {"urgency": "critical"}, "accept_within": "0.5h", "tasks": tasks}


CITY_DB = "bench_plans_city"


def storm(stop: Any, counter: Any) -> None:
    """Events registered through the intake service as fast as one process can, until ``stop`` is set."""
    import random

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.bootstrap import bootstrap
    from shuzhi.services.commands import SubmitEvent
    from shuzhi.services.intake import submit_event
    from shuzhi.services.unit_of_work import UnitOfWork

    bootstrap()  # a spawned process: wired like the server it stands for
    factory = make_session_factory(make_engine(url_for(CITY_DB)))
    with psycopg.connect(url_for(CITY_DB).replace("+psycopg", "")) as conn:
        points = conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level = 'grid' "
                              "AND centroid_lon IS NOT NULL").fetchall()
    with factory() as s:
        actor = resolve_actor(s, "duty.district")
    rng = random.Random(os.getpid())
    while not stop.is_set():
        lon, lat = rng.choice(points)
        submit_event(UnitOfWork(factory), SubmitEvent(source="hotline", title="暴雨积水", lon=lon, lat=lat), actor)
        with counter.get_lock():
            counter.value += 1


def city_wide(args: argparse.Namespace) -> None:
    """One activation over 1,031 towns (~20,000 tasks) during an event storm."""
    import multiprocessing as mp

    from sqlalchemy import select

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Area, Unit
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.plans import activation as plan_activation
    from shuzhi.services.plans import runs as plan_runs
    from shuzhi.services.plans import templates as plan_templates
    from shuzhi.services.unit_of_work import UnitOfWork

    fp = fingerprint("plans_city", towns=args.city_towns, seed=1)
    print(explain(_ADMIN, url_for(CITY_DB), fp), flush=True)
    if not matches(_ADMIN, url_for(CITY_DB), fp):
        fresh_district(CITY_DB)
        grow_towns(CITY_DB, args.city_towns)
        mark(_ADMIN, url_for(CITY_DB), fp)
    engine = make_engine(url_for(CITY_DB))
    factory = make_session_factory(engine)
    with factory() as s:
        # the district's departments (a town's boards are departments too, and have their own tasks below)
        departments = sorted(s.scalars(select(Unit.code).where(Unit.kind == "department",
                                                               Unit.level == "district")))
        # the towns of the district the plan is started in (the demo has a thin neighbour since #22)
        towns = s.query(Unit.id).join(Area, Area.id == Unit.area_id).filter(
            Unit.kind == "centre", Unit.level == "town", Area.path.like("/500000/500111/%")).count()
    doc = template(args.city_tasks_per_town, departments)
    doc["code"] = f"city-{args.city_tasks_per_town}"
    plan_templates.save_template(UnitOfWork(factory), doc, SYSTEM)
    for run in plan_runs.list_runs(UnitOfWork(factory), SYSTEM, state="active", limit=500):
        if run.template_code == doc["code"]:
            plan_runs.stand_down(UnitOfWork(factory), run.id, plan_runs.StandDown(reason="基准测试"), SYSTEM)
    expected = len(departments) + args.city_tasks_per_town * towns + 1
    ctx = mp.get_context("spawn")
    stop, counter = ctx.Event(), ctx.Value("q", 0)
    procs = [ctx.Process(target=storm, args=(stop, counter), daemon=True) for _ in range(args.storm)]
    for proc in procs:
        proc.start()
    while args.storm and counter.value < 20:  # the storm is on before the plan starts
        time.sleep(0.2)
    before, t0 = counter.value, time.perf_counter()
    try:
        done = plan_activation.activate_manual(
            UnitOfWork(factory), doc["code"], plan_activation.Activate(area_codes=["500111"]), SYSTEM)
        took = time.perf_counter() - t0
        during = counter.value - before
    finally:
        stop.set()
        for proc in procs:
            proc.join(60)
    if not done.created or done.tasks != expected:
        raise SystemExit(f"expected a new run with {expected} tasks, got {done}")
    plan_runs.stand_down(UnitOfWork(factory), done.run_id, plan_runs.StandDown(reason="基准测试"), SYSTEM)
    engine.dispose()
    print(f"city-wide: {done.tasks:,} tasks over {towns:,} towns in {took:.1f} s; {during} events registered "
          f"meanwhile by {args.storm} storm processes ({during / took:.0f}/s)", flush=True)
    record("plan_activation_city_s", round(took, 2), "s", 20.0, "lower", database=url_for(CITY_DB),
           volume={"tasks": done.tasks, "towns": towns, "departments": len(departments), "storm_processes": args.storm,
                   "events_during_activation": during, "scale": "city (1,031 towns grown by SQL in one district)"},
           storm_events_per_s=round(during / took, 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 tasks per town instead of 17 (smoke run)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="keep the seeded database of the previous run")
    ap.add_argument("--prepare-only", action="store_true", help="build the database and stop")
    ap.add_argument("--city-towns", type=int, default=0, help="also activate over this many towns (city-wide)")
    ap.add_argument("--city-tasks-per-town", type=int, default=19)
    ap.add_argument("--storm", type=int, default=2, help="processes registering events during the city run")
    args = ap.parse_args()
    if args.quick and args.city_towns:
        args.city_towns, args.city_tasks_per_town = 100, 3
    from sqlalchemy import select

    from shuzhi.adapters.db.tables import Area, Unit
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.plans import activation as plan_activation
    from shuzhi.services.plans import runs as plan_runs
    from shuzhi.services.plans import templates as plan_templates
    from shuzhi.services.unit_of_work import UnitOfWork

    factory = prepare(args.reuse)
    if args.prepare_only:
        return
    with factory() as s:
        # the district's departments (a town's boards are departments too, and have their own tasks below)
        departments = sorted(s.scalars(select(Unit.code).where(Unit.kind == "department",
                                                               Unit.level == "district")))
        # the towns of the district the plan is started in (the demo has a thin neighbour since #22)
        towns = s.query(Unit.id).join(Area, Area.id == Unit.area_id).filter(
            Unit.kind == "centre", Unit.level == "town", Area.path.like("/500000/500111/%")).count()
    town_tasks = 3 if args.quick else 17
    doc = template(town_tasks, departments)
    plan_templates.save_template(UnitOfWork(factory), doc, SYSTEM)
    expected = len(departments) + town_tasks * towns + 1
    # a run left active by an interrupted earlier run would be joined, not started
    for run in plan_runs.list_runs(UnitOfWork(factory), SYSTEM, state="active", limit=500):
        if run.template_code == doc["code"]:
            plan_runs.stand_down(UnitOfWork(factory), run.id, plan_runs.StandDown(reason="基准测试"), SYSTEM)
    times, cpu = [], []
    for _ in range(args.repeat + 1):  # the first warms caches and the connection pool
        started, cpu_started = time.perf_counter(), time.process_time()
        done = plan_activation.activate_manual(
            UnitOfWork(factory), doc["code"], plan_activation.Activate(area_codes=["500111"]), SYSTEM)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        if not done.created or done.tasks != expected:
            raise SystemExit(f"expected a new run with {expected} tasks, got {done}")
        plan_runs.stand_down(UnitOfWork(factory), done.run_id, plan_runs.StandDown(reason="基准测试"), SYSTEM)
    # the cold first activation (fresh process, caches empty) is the figure; the warm ones beside it
    cold = times[0]
    runs = times[1:]
    median, worst = statistics.median(runs), max(runs)
    cpu_median = statistics.median(cpu[1:])
    load = os.getloadavg()[0]
    print(f"{expected} tasks ({towns} towns, {len(departments)} departments): median {median:.3f} s, "
          f"worst {worst:.3f} s, first {times[0]:.3f} s; CPU of this process {cpu_median:.3f} s; load {load:.2f}")
    record("plan_activation_500_tasks_s", round(cold, 3), "s", 2.0, "lower", database=URL,
           samples=[round(x, 3) for x in times],
           volume={"tasks": expected, "towns": towns, "departments": len(departments), "repeats": args.repeat,
                   "scale": "district"},
           cold_s=round(cold, 3), warm_median_s=round(median, 3), warm_worst_s=round(worst, 3),
           cold_cpu_s=round(cpu[0], 3), warm_cpu_s=round(cpu_median, 3), load_1m=round(load, 2),
           note="value: the first (cold) activation after the process started; samples: cold then warm runs")
    if args.city_towns:
        city_wide(args)


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
