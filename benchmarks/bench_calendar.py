"""Deadline computation on the working calendar (pure Python, no database).

Figures: microseconds per ``deadline()`` call for a typical 5-working-day limit started at random
moments of 2024–2026 (target ≤ 100 µs: a batch of 10,000 new tasks then costs under a second), and
for a 250-working-day limit (about a year of days walked; target ≤ 5 ms) — the walk is per day, so
the cost grows with the days spanned, not with minutes.
Run: ``.venv/bin/python benchmarks/bench_calendar.py [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record
from shuzhi.domain.calendar import WorkingCalendar
from shuzhi.domain.time_limits import TimeLimit


def per_call_us(calendar: WorkingCalendar, limit: TimeLimit, starts: list[datetime]) -> float:
    t0 = time.perf_counter()
    for start in starts:
        calendar.deadline(start, limit)
    return (time.perf_counter() - t0) / len(starts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 calls, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.repeat = 2_000, 2
    rng = random.Random(1361)
    origin, span = datetime(2024, 1, 1, tzinfo=UTC), 3 * 365 * 24 * 3600
    starts = [origin + timedelta(seconds=rng.randrange(span)) for _ in range(args.calls)]
    calendar = WorkingCalendar()
    per_call_us(calendar, TimeLimit.parse("5wd"), starts[:200])  # warm-up
    short = [per_call_us(calendar, TimeLimit.parse("5wd"), starts) for _ in range(args.repeat)]
    record("calendar_deadline_5wd", statistics.median(short), "µs/call", 100, "lower", samples=short,
           volume={"calls": args.calls, "seed": 1361}, database=None)
    few = starts[: max(1, args.calls // 100)]
    long = [per_call_us(calendar, TimeLimit.parse("250wd"), few) / 1000 for _ in range(args.repeat)]
    record("calendar_deadline_250wd", statistics.median(long), "ms/call", 5, "lower", samples=long,
           volume={"calls": len(few), "seed": 1361}, database=None)


if __name__ == "__main__":
    main()
    sys.exit(finish())
