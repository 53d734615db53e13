"""The centre's reports and their rhythm: 日报、周调度、月盘点, and the periods the seeds score in —
每月通报 (the monthly bulletin), 季度通报, 半年小结 and 年度考评 — each over its own scoring window and,
for the four scored ones, compared with the window just before it (totals, and per area, unit and
responsible leader: score, place and rates with their movement).

Pure: which window a report covers, and the comparison of two sets of figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shuzhi.domain.periods import PeriodKind


@dataclass(frozen=True)
class ReportKind:
    code: str
    period: PeriodKind
    title: str
    #: scored against the previous window (每月通报/季度/半年/年度): the comparison tables and the leaders'
    compared: bool = False


REPORT_KINDS: dict[str, ReportKind] = {k.code: k for k in (
    ReportKind("daily", PeriodKind.DAY, "日报"),
    ReportKind("weekly", PeriodKind.WEEK, "周调度报告"),
    ReportKind("monthly", PeriodKind.MONTH, "月度盘点"),
    ReportKind("bulletin", PeriodKind.MONTH, "每月通报", compared=True),
    ReportKind("quarterly", PeriodKind.QUARTER, "季度通报", compared=True),
    ReportKind("half_year", PeriodKind.HALF, "半年小结", compared=True),
    ReportKind("annual", PeriodKind.YEAR, "年度考评", compared=True),
)}


def delta(now: float | int | None, before: float | int | None) -> float | None:
    """Now less before; None when either side has no figure (a rate with nothing due)."""
    if now is None or before is None:
        return None
    return round(float(now) - float(before), 4)


@dataclass(frozen=True)
class Compared:
    """One figure this window and the last, and how far it moved."""

    name: str
    now: float | int | None
    before: float | int | None

    @property
    def change(self) -> float | None:
        return delta(self.now, self.before)


def compare_totals(now: Mapping[str, Any], before: Mapping[str, Any], names: Iterable[str]) -> list[Compared]:
    """The named figures of two windows side by side."""
    return [Compared(n, now.get(n), before.get(n)) for n in names]


def movement_text(rank: int | None, previous_rank: int | None) -> str:
    """A place's movement as a bulletin writes it: ↑2, ↓1, 持平, 新上榜."""
    if rank is None:
        return "—"
    if previous_rank is None:
        return "新上榜"
    moved = previous_rank - rank
    return "持平" if moved == 0 else (f"↑{moved}" if moved > 0 else f"↓{-moved}")


def change_text(change: float | None, *, rate: bool = False) -> str:
    """A change as printed: rates in percentage points (+3.2个百分点), counts and scores signed."""
    if change is None:
        return "—"
    if rate:
        return f"{change * 100:+.1f}个百分点"
    return f"{change:+g}" if float(change).is_integer() else f"{change:+.2f}"
