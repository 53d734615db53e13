"""Collection governance (采集治理, issue #22): is every indicator reporting as often as it should?

Plain formulas over counts the services read; no database, no clock.

**Per indicator**, against its expected reporting frequency (``frequency_s``):

====================  ==========================================================================
expected series       where it should be measured: its active devices, or else the areas of its level
                      inside its listed areas (all areas of that level when none is listed)
reporting series      series with a newest reading (``reading_latest``)
coverage              reporting / expected (覆盖率); more series than expected counts as full
stale series          reporting series whose newest reading is older than ``stale_after`` × frequency
                      (the vital-sign rule's ``stale_after``: the same cut-off colours the tree)
readings / expected   readings received in the window against ``series × window / frequency``;
                      the shortfall is the **gaps** (缺报); completeness = readings / expected, at most 1
late                  readings stored more than ``max(frequency, LATE_GRACE)`` after their own time (迟报)
rejected              readings refused at ingest (unknown area, bad value, out of scope …) naming it
====================  ==========================================================================

**The staleness alarm** (实时性): a real-time indicator whose threshold rules grade no silence of their
own gets a ``no_data`` condition at ``stale_after`` × frequency, at :data:`NO_DATA_LEVEL` — through the
ordinary warning path (:func:`with_staleness`), so a silent series raises a warning that the periodic
check grades and the next reading ends; the warning notifies the indicator's owner. Never silence.

**The online plan** (成熟一批、上线一批): which indicators come online when, in batches; an indicator is
online from the day its first reading is seen (or the day given). :func:`plan_progress` gives planned
vs online by date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from shuzhi.domain.thresholds import LEVEL_RANK, LEVELS, Condition, ThresholdRule

#: A reading is late when it arrives later than its own time plus its frequency, and at least this.
LATE_GRACE_S = 300
#: The level of the staleness alarm a real-time indicator gets when its rules grade no silence.
NO_DATA_LEVEL = "blue"
#: The code prefix of the rule made for an indicator that has none (never stored).
STALENESS_RULE_PREFIX = "STALE."
BATCH_NAME = re.compile(r"^.{1,60}$")


def is_late(at: datetime, received_at: datetime, frequency_s: int) -> bool:
    return (received_at - at).total_seconds() > max(frequency_s, LATE_GRACE_S)


def stale_after_s(frequency_s: int, stale_after: float) -> float:
    return frequency_s * stale_after


def ratio(n: float, d: float) -> float | None:
    return None if d <= 0 else n / d


@dataclass(frozen=True, slots=True)
class Quality:
    """What was counted for one indicator (or summed over several: a source system, a lead unit)."""

    indicators: int = 1
    expected_series: int = 0
    reporting_series: int = 0
    stale_series: int = 0
    readings: int = 0
    expected_readings: float = 0.0
    late: int = 0
    rejected: int = 0
    duplicate: int = 0

    def __add__(self, other: Quality) -> Quality:
        a, b = self, other
        return Quality(a.indicators + b.indicators, a.expected_series + b.expected_series,
                       a.reporting_series + b.reporting_series, a.stale_series + b.stale_series,
                       a.readings + b.readings, a.expected_readings + b.expected_readings, a.late + b.late,
                       a.rejected + b.rejected, a.duplicate + b.duplicate)

    def as_tuple(self) -> tuple[float, ...]:
        return (self.indicators, self.expected_series, self.reporting_series, self.stale_series, self.readings,
                self.expected_readings, self.late, self.rejected, self.duplicate)

    @property
    def coverage(self) -> float | None:
        r = ratio(min(self.reporting_series, self.expected_series), self.expected_series)
        return r

    @property
    def freshness(self) -> float | None:
        return ratio(self.reporting_series - self.stale_series, self.reporting_series)

    @property
    def completeness(self) -> float | None:
        r = ratio(self.readings, self.expected_readings)
        return None if r is None else min(1.0, r)

    @property
    def gaps(self) -> int:
        return max(0, round(self.expected_readings - self.readings))

    @property
    def late_rate(self) -> float | None:
        return ratio(self.late, self.readings)

    @property
    def rejected_rate(self) -> float | None:
        return ratio(self.rejected, self.readings + self.rejected)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"indicators": self.indicators, "expected_series": self.expected_series,
                "reporting_series": self.reporting_series, "stale_series": self.stale_series,
                "readings": self.readings, "expected_readings": round(self.expected_readings),
                "gaps": self.gaps, "late": self.late, "rejected": self.rejected, "duplicate": self.duplicate,
                "coverage": self.coverage, "freshness": self.freshness, "completeness": self.completeness,
                "late_rate": self.late_rate, "rejected_rate": self.rejected_rate}


def indicator_quality(*, expected_series: int, reporting_series: int, stale_series: int, readings: int,
                      frequency_s: int, window_s: float, late: int = 0, rejected: int = 0,
                      duplicate: int = 0) -> Quality:
    """One indicator's quality over a window of ``window_s`` seconds; the expected readings count every
    expected series (or, when more series report than expected, those)."""
    series = max(expected_series, reporting_series)
    expected = series * window_s / frequency_s if frequency_s > 0 else 0.0
    return Quality(1, expected_series, reporting_series, stale_series, readings, expected, late, rejected, duplicate)


def total(items: Iterable[Quality]) -> Quality:
    out = Quality(indicators=0)
    for q in items:
        out = out + q
    return out


# --- the staleness alarm --------------------------------------------------------------------------------


def staleness_condition(frequency_s: int, stale_after: float, level: str = NO_DATA_LEVEL) -> Condition:
    bounds: list[timedelta | None] = [None] * len(LEVELS)
    bounds[LEVEL_RANK[level]] = timedelta(seconds=stale_after_s(frequency_s, stale_after))
    return Condition(kind="no_data", op="above", bounds=tuple(bounds))


def with_staleness(rules: Sequence[ThresholdRule], realtime: Mapping[str, int], stale_after: float,
                   level: str = NO_DATA_LEVEL) -> list[ThresholdRule]:
    """The rules, each real-time indicator's (``realtime``: code → frequency in seconds) given the
    staleness alarm where it grades no silence of its own; a real-time indicator with no enabled default
    rule gets one of its own (``STALE.<code>``, no value bounds, no actions). A rule that grades silence
    (its ``no_data`` condition) is the installation's choice and stays as written."""
    out: list[ThresholdRule] = []
    has_default: set[str] = set()
    for r in rules:
        freq = realtime.get(r.indicator)
        if r.enabled and r.area_path is None:
            has_default.add(r.indicator)
        if freq is None or r.no_data_conditions or not r.enabled:
            out.append(r)
            continue
        out.append(replace(r, conditions=(*r.conditions, staleness_condition(freq, stale_after, level))))
    for code, freq in sorted(realtime.items()):
        if code not in has_default:
            out.append(ThresholdRule(code=f"{STALENESS_RULE_PREFIX}{code}", indicator=code, name="数据中断",
                                     conditions=(staleness_condition(freq, stale_after, level),)))
    return out


def is_staleness_rule(code: str) -> bool:
    return code.startswith(STALENESS_RULE_PREFIX)


# --- the online plan (成熟一批、上线一批) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanEntry:
    indicator_code: str
    batch: str
    planned_on: date
    online_on: date | None = None


def plan_progress(entries: Sequence[PlanEntry], today: date) -> dict[str, Any]:
    """Planned vs online, cumulative by date (every date on which something was planned or came online,
    and today), per batch, and the overdue ones (planned before today, not online)."""
    days = sorted({e.planned_on for e in entries} | {e.online_on for e in entries if e.online_on} | {today})
    by_date = [{"date": d.isoformat(), "planned": sum(1 for e in entries if e.planned_on <= d),
                "online": sum(1 for e in entries if e.online_on is not None and e.online_on <= d)} for d in days]
    batches: dict[str, dict[str, Any]] = {}
    for e in sorted(entries, key=lambda e: (e.planned_on, e.batch)):
        b = batches.setdefault(e.batch, {"batch": e.batch, "planned_on": e.planned_on.isoformat(), "planned": 0,
                                         "online": 0, "overdue": 0})
        b["planned"] += 1
        if e.online_on is not None:
            b["online"] += 1
        elif e.planned_on < today:
            b["overdue"] += 1
    online = sum(1 for e in entries if e.online_on is not None and e.online_on <= today)
    due = sum(1 for e in entries if e.planned_on <= today)
    return {"planned": len(entries), "due": due, "online": online,
            "online_share": ratio(online, len(entries)),
            "overdue": sum(1 for e in entries if e.online_on is None and e.planned_on < today),
            "by_date": by_date, "batches": list(batches.values())}
