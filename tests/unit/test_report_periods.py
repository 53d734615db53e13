"""The seeds' scored periods: half years as periods of their own (2024-H1), each report kind's window,
and the comparison with the previous window (每月通报 / 季度通报 / 半年小结 / 年度考评)."""

from __future__ import annotations

from datetime import date

import pytest

from shuzhi.domain import ledgers as d
from shuzhi.domain.periods import PeriodError, PeriodKind, of_kind, parse_period
from shuzhi.domain.report_kinds import REPORT_KINDS, change_text, compare_totals, movement_text


@pytest.mark.parametrize(("text", "start", "end", "title"), [
    ("2024-H1", date(2024, 1, 1), date(2024, 6, 30), "2024年上半年"),
    ("2024-h2", date(2024, 7, 1), date(2024, 12, 31), "2024年下半年"),
])
def test_a_half_year_is_a_period(text: str, start: date, end: date, title: str) -> None:
    p = parse_period(text)
    assert (p.kind, p.start, p.end, p.title, p.label) == (PeriodKind.HALF, start, end, title, text.upper())


def test_the_half_year_before_the_first_is_last_years_second() -> None:
    assert parse_period("2024-H1").previous().label == "2023-H2"
    assert parse_period("2024-H2").previous().label == "2024-H1"
    with pytest.raises(PeriodError):
        parse_period("2024-H3")


@pytest.mark.parametrize(("kind", "day", "label", "previous"), [
    ("bulletin", date(2024, 3, 15), "2024-03", "2024-02"),
    ("quarterly", date(2024, 1, 1), "2024-Q1", "2023-Q4"),
    ("half_year", date(2024, 6, 30), "2024-H1", "2023-H2"),
    ("annual", date(2024, 12, 31), "2024", "2023"),
])
def test_each_scored_report_has_its_window_and_is_compared(kind: str, day: date, label: str, previous: str) -> None:
    k = REPORT_KINDS[kind]
    window = of_kind(k.period, day)
    assert k.compared and window.label == label and window.previous().label == previous


def test_the_centres_rhythm_is_not_compared() -> None:
    assert not any(REPORT_KINDS[k].compared for k in ("daily", "weekly", "monthly"))


def test_the_ledger_bulletin_uses_the_same_half_years() -> None:
    w = d.period_window(d.ReportPeriod.HALF_YEAR, date(2026, 2, 1))
    assert w.label == "2026-H1" and d.previous_window(d.ReportPeriod.HALF_YEAR, w).label == "2025-H2"


def test_totals_compare_with_the_previous_window() -> None:
    cmp = {c.name: c for c in compare_totals({"received": 10, "closure_rate": 0.8},
                                             {"received": 7, "closure_rate": None}, ["received", "closure_rate"])}
    assert cmp["received"].change == 3 and cmp["closure_rate"].change is None


@pytest.mark.parametrize(("rank", "before", "text"), [(1, 3, "↑2"), (4, 3, "↓1"), (2, 2, "持平"), (5, None, "新上榜")])
def test_a_places_movement_in_words(rank: int, before: int | None, text: str) -> None:
    assert movement_text(rank, before) == text


def test_changes_are_printed_in_points() -> None:
    assert change_text(0.032, rate=True) == "+3.2个百分点"
    assert change_text(-0.1, rate=True) == "-10.0个百分点"
    assert change_text(3) == "+3" and change_text(-1.25) == "-1.25" and change_text(None) == "—"
