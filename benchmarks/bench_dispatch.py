"""Dispatch decision time: the service path on PostgreSQL (2,000 stored rules, 62,000 grids), and the pure function.

Figure (issue #16, dispatch decision): p99 of ``services.dispatching.decide_for_event`` — the rules as
the service compiles and caches them from ``dispatch_rules``, the event's facts read from its stored
row, the units from the process's compiled directory (``CompiledDirectory``, checked against the
database's change stamps: one row read per decision) — on PostgreSQL with 2,000 stored rules and
62,000 grids, each event decided in its own session as auto-dispatch does. Goal ≤ 2 ms p99. The
directory's build time and the memory it holds are recorded beside the figure.
The pure function (``domain.rules.decide`` over an in-memory directory) keeps its own line.

Service setup (database ``bench_dispatch``, reused while its fingerprint — schema head, grids, rules,
events, seed — matches): the demo district imported through the real importers, grown by SQL to 62,000
grids with their grid teams; 2,000 rules of the shapes a centre writes over the district's classes,
towns, villages and departments; ``--events`` stored events spread over the grids and classes.

Pure setup (in memory, seeded): one district of 20 towns × 10 villages × 10 grids = 2,000 grids, each with a
grid team; 200 village committees, 20 town centres, 30 district departments; 200 event classes in 10
major classes, each in one department's duties and a fifth of them also in the grassroots lists.
2,000 rules of the shapes a centre writes: by class (+ urgency, keywords), by town or village area
(+ major class), by source and time of day, and a few with no indexable test at all (regex, or-trees).
Run: ``.venv/bin/python benchmarks/bench_dispatch.py [--rules 2000] [--grids 62000] [--events 5000] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _district import ADMIN_URL, fill_events, fresh_district, grow_grids, plain, url_for
from _prepared import explain, fingerprint, mark, matches
from _results import finish, record
from shuzhi.domain.conditions import SOURCES, URGENCIES, EventFacts
from shuzhi.domain.dispatch import Candidate
from shuzhi.domain.rules import MemoryDirectory, Rule, RuleSet, decide

FACT_FIELDS = ("event_class", "major_class", "source", "request_type", "urgency", "area_path", "area_level",
               "title", "description", "received_at", "is_working_time")
WORDS = ["井盖", "垃圾", "漏水", "路灯", "占道", "噪音", "积水", "树木", "广告", "施工", "油烟", "停车"]


District = tuple[MemoryDirectory, list[tuple[str, str]], list[str], dict[str, str], list[str], list[str]]


def build_district(rng: random.Random) -> District:
    """Units and duties of one synthetic district; returns the directory, grid (path, level) pairs,
    class codes, class → major code, town codes and village codes."""
    units: list[Candidate] = []
    uid = 0

    def unit(code: str, kind: str, level: str, path: str) -> None:
        nonlocal uid
        uid += 1
        units.append(Candidate(uid, code, kind, level, path))

    district = "/500000/500111/"
    unit("C500111", "centre", "district", district)
    departments = [f"D500111-{i:02d}" for i in range(30)]
    for d in departments:
        unit(d, "department", "district", district)
    grids: list[tuple[str, str]] = []
    towns, villages = [], []
    grassroots_units: list[str] = []
    for t in range(1, 21):
        town = f"500111{t:03d}"
        towns.append(town)
        town_path = f"{district}{town}/"
        unit(f"C{town}", "centre", "town", town_path)
        grassroots_units.append(f"C{town}")
        for v in range(1, 11):
            village = f"{town}{v:03d}"
            villages.append(village)
            village_path = f"{town_path}{village}/"
            unit(f"V{village}", "village", "village", village_path)
            grassroots_units.append(f"V{village}")
            for g in range(1, 11):
                grid = f"{village}{g:03d}"
                grid_path = f"{village_path}{grid}/"
                unit(f"G{grid}", "grid", "grid", grid_path)
                grassroots_units.append(f"G{grid}")
                grids.append((grid_path, "grid"))
    classes = [f"{m:02d}{n:02d}" for m in range(1, 11) for n in range(1, 21)]
    major_of = {c: c[:2] for c in classes}
    duties: dict[str, list[str]] = {}
    for i, cls in enumerate(classes):
        duties[cls] = [departments[i % len(departments)]]
        if i % 5 == 0:  # small matters the grassroots hold themselves (乡镇履职清单)
            duties[cls] += grassroots_units
    return MemoryDirectory(units, duties), grids, classes, major_of, towns, villages


def build_rules(rng: random.Random, n: int, classes: list[str], towns: list[str], villages: list[str]
                ) -> list[Rule]:
    rules: list[Rule] = []
    departments = [f"D500111-{i:02d}" for i in range(30)]
    for i in range(n):
        shape = rng.random()
        condition: dict[str, Any]
        targets: dict[str, Any]
        if shape < 0.60:
            parts: list[dict[str, Any]] = [{"field": "event_class", "op": "in",
                                            "value": rng.sample(classes, rng.randint(1, 3))}]
            if rng.random() < 0.5:
                parts.append({"field": "urgency", "op": "gte", "value": rng.choice(URGENCIES)})
            if rng.random() < 0.4:
                parts.append({"field": "text", "op": "contains_any", "value": rng.sample(WORDS, 2)})
            condition = {"and": parts}
            targets = {"lead": rng.choice(departments), "assist": [{"responsible": True, "level": "town"}]}
        elif shape < 0.85:
            area = rng.choice(towns) if rng.random() < 0.5 else rng.choice(villages)
            condition = {"and": [{"field": "area", "op": "within", "value": area},
                                 {"field": "major_class", "op": "in",
                                  "value": [f"{rng.randint(1, 10):02d}"]}]}
            targets = {"lead": rng.choice([{"kind": "grid"}, {"responsible": True, "level": "town"}])}
        elif shape < 0.97:
            condition = {"and": [{"field": "source", "op": "eq", "value": rng.choice(SOURCES)},
                                 {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
                                 {"not": {"field": "is_working_time", "op": "eq", "value": True}}]}
            targets = {"lead": {"kind": "centre", "level": "district"}}
        else:
            # Nothing to index on: tried for every event, the worst case a centre can write.
            regex = f"{rng.choice(WORDS)}.{{0,6}}[0-9]+号"
            condition = {"or": [{"field": "text", "op": "regex", "value": regex},
                                {"and": [{"field": "urgency", "op": "eq", "value": "critical"},
                                         {"field": "weekday", "op": "in", "value": [6, 7]}]}]}
            targets = {"lead": rng.choice(departments)}
        rules.append(Rule(code=f"R{i:05d}", name=f"rule {i}", priority=rng.randint(1, 1000),
                          condition=condition, targets=targets))
    return rules


def build_events(rng: random.Random, n: int, grids: list[tuple[str, str]], classes: list[str],
                 major_of: dict[str, str]) -> list[EventFacts]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for _ in range(n):
        cls = rng.choice(classes)
        path, level = rng.choice(grids)
        at = start + timedelta(minutes=rng.randint(0, 525_600))
        out.append(EventFacts(
            event_class=cls, major_class=major_of[cls], source=rng.choice(SOURCES),
            request_type=rng.choice(["consult", "complain", "help", "suggest", "report"]),
            urgency=rng.choices(URGENCIES, weights=[80, 15, 5])[0], area_path=path, area_level=level,
            title=f"{rng.choice(WORDS)}问题" + (f"{rng.randint(1, 99)}号" if rng.random() < 0.05 else ""),
            description="".join(rng.sample(WORDS, 2)),
            received_at=at, is_working_time=9 <= (at.hour + 8) % 24 < 18 and at.weekday() < 5,
        ))
    return out


DB = os.environ.get("SHUZHI_BENCH_DISPATCH_DB", "bench_dispatch")
SEED = 20240613


def stored_rules(rng: random.Random, n: int, db: str) -> list[Rule]:
    """``n`` rules of the shapes :func:`build_rules` makes, over the stored district's vocabulary."""
    with psycopg.connect(plain(url_for(db))) as conn:
        classes = [r[0] for r in conn.execute("SELECT code FROM event_classes ORDER BY code")]
        majors = sorted({r[0] for r in conn.execute("SELECT major_code FROM event_classes")})
        towns = [r[0] for r in conn.execute("SELECT code FROM areas WHERE level='town' ORDER BY code")]
        villages = [r[0] for r in conn.execute("SELECT code FROM areas WHERE level='village' ORDER BY code")]
        departments = [r[0] for r in conn.execute("SELECT code FROM units WHERE kind='department' ORDER BY code")]
    rules = build_rules(rng, n, classes, towns, villages)
    out = []
    for r in rules:  # the synthetic names → the district's own codes
        text = json.dumps([r.condition, r.targets], ensure_ascii=False)
        for k in range(30):
            text = text.replace(f'"D500111-{k:02d}"', json.dumps(departments[k % len(departments)]))
        for k in range(1, 11):
            text = text.replace(f'"{k:02d}"]', json.dumps(majors[(k - 1) % len(majors)]) + "]")
        condition, targets = json.loads(text)
        out.append(Rule(code=r.code, name=r.name, priority=r.priority, condition=condition, targets=targets))
    return out


def prepare_service_db(args: argparse.Namespace) -> dict[str, Any]:
    fp = fingerprint("dispatch", grids=args.grids, rules=args.rules, events=args.events, seed=SEED)
    print(explain(ADMIN_URL, url_for(DB), fp), flush=True)
    if matches(ADMIN_URL, url_for(DB), fp):
        return fp
    fresh_district(DB)
    grow_grids(DB, args.grids)
    rules = stored_rules(random.Random(SEED), args.rules, DB)
    with psycopg.connect(plain(url_for(DB))) as conn, conn.cursor() as cur:
        for r in rules:
            doc = {"code": r.code, "name": r.name, "priority": r.priority, "condition": r.condition,
                   "targets": r.targets, "level": None, "enabled": True}
            cur.execute(
                "INSERT INTO dispatch_rules (code, name, priority, condition, targets, level, enabled, version, "
                "created_by, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, NULL, true, 1, 'bench', now(), now()) "
                "RETURNING id", (r.code, r.name, r.priority, Json(r.condition), Json(r.targets)))
            rid = cur.fetchone()[0]  # type: ignore[index]
            cur.execute(
                "INSERT INTO dispatch_rule_versions (rule_id, rule_code, version, change, snapshot, changed_by, "
                "changed_at) VALUES (%s, %s, 1, 'create', %s, 'bench', now())", (rid, r.code, Json(doc)))
        conn.commit()
    fill_events(DB, args.events, prefix="D", minutes_apart=37)
    mark(ADMIN_URL, url_for(DB), fp)
    return fp


def service_path(args: argparse.Namespace) -> None:
    """p99 of ``decide_for_event`` on the stored district, each event in its own session."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Event
    from shuzhi.services.dispatching.deciding import decide_for_event, rule_set
    from shuzhi.services.dispatching.directory import CompiledDirectory
    from shuzhi.services.unit_of_work import UnitOfWork

    prepare_service_db(args)
    from sqlalchemy import event as sa_event

    engine = make_engine(url_for(DB))
    factory = make_session_factory(engine)
    statements = [0]

    @sa_event.listens_for(engine, "after_cursor_execute")
    def _count(*_a: Any) -> None:
        statements[0] += 1

    with psycopg.connect(plain(url_for(DB))) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]
        grids = int(conn.execute("SELECT count(*) FROM areas WHERE level='grid'").fetchone()[0])  # type: ignore[index]
        n_rules = int(conn.execute("SELECT count(*) FROM dispatch_rules WHERE enabled").fetchone()[0])  # type: ignore[index]
    random.Random(SEED).shuffle(ids)
    with UnitOfWork(factory) as uow:
        t0 = time.perf_counter()
        compiled = rule_set(uow.session)
        compile_ms = (time.perf_counter() - t0) * 1000
        assert not compiled.broken, f"stored rules that do not compile: {compiled.broken[:3]}"
        tracemalloc.start()
        t0 = time.perf_counter()
        built = CompiledDirectory.load(uow.session)
        directory_ms = (time.perf_counter() - t0) * 1000
        directory_mb = tracemalloc.get_traced_memory()[0] / 2**20  # what the built directory still holds
        tracemalloc.stop()
        del built
    rounds: list[list[float]] = []
    sent: list[int] = []  # SQL statements each decision sent
    by_rule = 0
    for r in range(args.repeat):
        times: list[float] = []
        for k, event_id in enumerate(ids):
            with UnitOfWork(factory) as uow:
                ev = uow.session.get(Event, event_id)
                before = statements[0]
                t = time.perf_counter_ns()
                d = decide_for_event(uow.session, ev)  # type: ignore[arg-type]
                if k >= 200 or r > 0:  # the first round's first events warm the caches
                    times.append((time.perf_counter_ns() - t) / 1e6)
                    sent.append(statements[0] - before)
                by_rule += r == 0 and d.rule is not None
        times.sort()
        rounds.append(times)
        print(f"  service round {r + 1}: p50 {statistics.median(times):.3f} ms, "
              f"p99 {times[int(len(times) * 0.99)]:.3f} ms over {len(times)} decisions", flush=True)
    engine.dispose()
    p99s = [t[int(len(t) * 0.99)] for t in rounds]
    everything = sorted(x for t in rounds for x in t)
    record("dispatch_decision_service_p99_ms", round(statistics.median(p99s), 4), "ms", 2.0, "lower",
           samples=[round(x, 4) for x in p99s], database=url_for(DB),
           volume={"rules_stored": n_rules, "grids": grids, "events_stored": len(ids), "seed": SEED,
                   "rounds": args.repeat},
           p50_ms=round(statistics.median(everything), 4), max_ms=round(everything[-1], 3),
           compile_ms=round(compile_ms, 1), directory_build_ms=round(directory_ms, 1),
           directory_mb=round(directory_mb, 1), decided_by_rule=by_rule, decisions=len(everything),
           statements_per_decision={"mean": round(statistics.fmean(sent), 2), "max": max(sent)},
           what="decide_for_event(session, stored event): facts, change stamps, cached rule set and compiled units")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=2000)
    ap.add_argument("--grids", type=int, default=62_000)
    ap.add_argument("--events", type=int, default=5000, help="stored events the service path decides")
    ap.add_argument("--pure-events", type=int, default=20_000, help="events the pure function decides")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="200 rules, 3,000 grids, 500 events, 1 round")
    args = ap.parse_args()
    if args.quick:
        args.rules, args.grids, args.events, args.pure_events, args.repeat = 200, 3000, 500, 2000, 1
    pure_function(args)
    service_path(args)


def pure_function(args: argparse.Namespace) -> None:
    rng = random.Random(SEED)
    directory, grids, classes, major_of, towns, villages = build_district(rng)
    rules = build_rules(rng, args.rules, classes, towns, villages)
    t0 = time.perf_counter()
    rule_set = RuleSet(rules)
    compile_ms = (time.perf_counter() - t0) * 1000
    assert not rule_set.broken and len(rule_set) == args.rules
    events = build_events(rng, args.pure_events, grids, classes, major_of)
    for f in events[:500]:  # warm caches
        decide(rule_set, f, directory)
    times: list[float] = []
    by_rule = fallback = 0
    for f in events:
        t = time.perf_counter_ns()
        d = decide(rule_set, f, directory)
        times.append((time.perf_counter_ns() - t) / 1e6)
        if d.rule is not None:
            by_rule += 1
        elif d.lead is not None:
            fallback += 1
    # The slow path: a class no rule names, so every area, source and unindexed rule is tested and the
    # grid principle decides in the end.
    unnamed = [EventFacts(**{**{k: getattr(f, k) for k in FACT_FIELDS}, "event_class": "9999",
                             "major_class": "99"}) for f in events[:5000]]
    t_miss = time.perf_counter()
    for f in unnamed:
        decide(rule_set, f, directory)
    miss_mean = (time.perf_counter() - t_miss) * 1000 / len(unnamed)
    mean = statistics.fmean(times)
    times.sort()
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
    print(f"pure: {len(rules)} rules compiled in {compile_ms:.0f} ms; {len(events)} events: mean {mean:.3f} ms, "
          f"p50 {p50:.3f} ms, p99 {p99:.3f} ms; by rule {by_rule}, grid principle {fallback}; "
          f"class named by no rule: mean {miss_mean:.3f} ms")
    record("dispatch_decision_pure_p99_ms", round(p99, 4), "ms", None, "lower", database=None,
           volume={"rules": len(rules), "grids": len(grids), "events": len(events), "seed": SEED},
           mean_ms=round(mean, 4), p50_ms=round(p50, 4), compile_ms=round(compile_ms, 1),
           decided_by_rule=by_rule, decided_by_grid_principle=fallback, unnamed_class_mean_ms=round(miss_mean, 4))


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
