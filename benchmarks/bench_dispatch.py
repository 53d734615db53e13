"""Dispatch decision time with 2,000 rules and 2,000 grids.

Figure (issue: Dispatch): ≤ 1 ms per event for :func:`shuzhi.domain.rules.decide` — the rules
compiled and indexed once (as the service caches them), the units in a :class:`MemoryDirectory`.

Setup (in memory, seeded): one district of 20 towns × 10 villages × 10 grids = 2,000 grids, each with a
grid team; 200 village committees, 20 town centres, 30 district departments; 200 event classes in 10
major classes, each in one department's duties and a fifth of them also in the grassroots lists.
2,000 rules of the shapes a centre writes: by class (+ urgency, keywords), by town or village area
(+ major class), by source and time of day, and a few with no indexable test at all (regex, or-trees).
Then ≥ 10,000 random events are decided one by one; the mean, median and 99th percentile are reported.
Run: ``.venv/bin/python benchmarks/bench_dispatch.py [--rules 2000] [--events 20000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=2000)
    ap.add_argument("--events", type=int, default=20_000)
    args = ap.parse_args()
    rng = random.Random(20240613)
    directory, grids, classes, major_of, towns, villages = build_district(rng)
    rules = build_rules(rng, args.rules, classes, towns, villages)
    t0 = time.perf_counter()
    rule_set = RuleSet(rules)
    compile_ms = (time.perf_counter() - t0) * 1000
    assert not rule_set.broken and len(rule_set) == args.rules
    events = build_events(rng, args.events, grids, classes, major_of)
    for f in events[:500]:  # warm caches
        decide(rule_set, f, directory)
    times: list[float] = []
    by_rule = fallback = 0
    t_all = time.perf_counter()
    for f in events:
        t = time.perf_counter_ns()
        d = decide(rule_set, f, directory)
        times.append((time.perf_counter_ns() - t) / 1e6)
        if d.rule is not None:
            by_rule += 1
        elif d.lead is not None:
            fallback += 1
    total_ms = (time.perf_counter() - t_all) * 1000
    # The slow path: a class no rule names, so every area, source and unindexed rule is tested and the
    # grid principle decides in the end.
    unnamed = [EventFacts(**{**{k: getattr(f, k) for k in FACT_FIELDS}, "event_class": "9999",
                             "major_class": "99"}) for f in events[:5000]]
    t_miss = time.perf_counter()
    for f in unnamed:
        decide(rule_set, f, directory)
    miss_mean = (time.perf_counter() - t_miss) * 1000 / len(unnamed)
    mean = total_ms / len(events)
    times.sort()
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
    print(f"{len(rules)} rules compiled in {compile_ms:.0f} ms; {len(events)} events: mean {mean:.3f} ms, "
          f"p50 {p50:.3f} ms, p99 {p99:.3f} ms; by rule {by_rule}, grid principle {fallback}; "
          f"class named by no rule: mean {miss_mean:.3f} ms")
    record("dispatch_decision_ms", round(mean, 4), "ms", 1.0, "lower", rules=len(rules), grids=len(grids),
           events=len(events), p50_ms=round(p50, 4), p99_ms=round(p99, 4), compile_ms=round(compile_ms, 1),
           decided_by_rule=by_rule, decided_by_grid_principle=fallback,
           unnamed_class_mean_ms=round(miss_mean, 4))


if __name__ == "__main__":
    main()
