"""Ledger rules without a database: free-form dates, merged headers, the mapping guess, unit matching,
custom columns, roll-up, colours, the bulletin's ranking and the reporting due times."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shuzhi.domain import ledger_clocks as lc
from shuzhi.domain import ledger_import as li
from shuzhi.domain import ledgers as d
from shuzhi.domain.calendar import DayTable, WorkingCalendar, YearCalendar
from shuzhi.domain.periods import Period, PeriodKind
from shuzhi.domain.supervision import SupervisionRules


@pytest.mark.parametrize(("text", "day"), [
    ("2024-06-30", date(2024, 6, 30)), ("2024/6/30", date(2024, 6, 30)), ("2024.6.3", date(2024, 6, 3)),
    ("2024年6月30日", date(2024, 6, 30)), ("20240630", date(2024, 6, 30)), ("2024年6月", date(2024, 6, 30)),
    ("2024年2月底", date(2024, 2, 29)), ("2024年6月中旬", date(2024, 6, 20)), ("2024年底", date(2024, 12, 31)),
    ("2024年第三季度", date(2024, 9, 30)), ("2024年上半年", date(2024, 6, 30)), ("45473", date(2024, 6, 30)),
    ("2024-06-30T00:00:00", date(2024, 6, 30)),
])
def test_free_form_dates(text: str, day: date) -> None:
    assert d.parse_loose_date(text) == day


@pytest.mark.parametrize("text", ["尽快", "长期坚持", "2024年13月", "2024-02-30", ""])
def test_what_is_not_a_date(text: str) -> None:
    assert d.parse_loose_date(text) is None


def test_merged_title_and_two_row_header_are_flattened() -> None:
    grid = [
        ["2026年改革项目台账"] * 6,
        ["序号", "改革任务", "责任单位", "责任单位", "完成时限", "备注"],
        ["序号", "改革任务", "牵头单位", "配合单位", "完成时限", "备注"],
        ["1", "推进改革", "区城管局", "区住建委", "2026年6月底", ""],
    ]
    header = li.detect_header(grid)
    assert header.names == ["序号", "改革任务", "责任单位/牵头单位", "责任单位/配合单位", "完成时限", "备注"]
    assert header.data_start == 3
    mapping = li.guess_mapping(header.names, {"remark": "备注"})
    assert mapping["改革任务"] == "title" and mapping["责任单位/牵头单位"] == "lead_unit"
    assert mapping["责任单位/配合单位"] == "assist_units" and mapping["完成时限"] == "time_limit"
    assert mapping["备注"] == "fields.remark" and mapping["序号"] == "code"


def test_unit_names_match_exactly_by_suffix_or_get_suggestions() -> None:
    m = li.UnitMatcher({"大足区城市管理局": 1, "大足区住房和城乡建设委员会": 2, "龙岗街道城市运行和治理中心": 3},
                       {"D-CGJ": 1}, {"区住建委": 2})
    assert m.match("大足区城市管理局") == (1, [])
    assert m.match("D-CGJ") == (1, [])
    assert m.match("区住建委") == (2, [])  # a confirmed alias
    assert m.match("城市管理局") == (1, [])  # the district's prefix left off
    found, suggestions = m.match("大足区城管局")
    assert found is None and suggestions[0] == "大足区城市管理局"


def test_custom_columns_are_checked_when_saved_and_values_coerced() -> None:
    cols = d.parse_columns([{"key": "funds", "label": "资金", "type": "number"},
                            {"key": "kind", "label": "类别", "type": "choice", "choices": ["经济", "民生"]},
                            {"key": "pilot", "label": "试点", "type": "bool"}])
    assert d.coerce_fields(cols, {"funds": "1,200", "kind": "民生", "pilot": "是"}) == {
        "funds": 1200, "kind": "民生", "pilot": True}
    with pytest.raises(d.LedgerError) as bad:
        d.coerce_fields(cols, {"funds": "很多"})
    assert bad.value.field == "fields.funds"
    with pytest.raises(d.LedgerError):
        d.parse_columns([{"key": "Bad Key", "label": "x"}])
    with pytest.raises(d.LedgerError):
        d.parse_columns([{"key": "c", "label": "x", "type": "choice"}])


def test_progress_rolls_up_and_colours_follow_the_facts() -> None:
    assert d.rollup_progress(10, [(60, True), (20, True), (100, False)]) == 40
    assert d.rollup_progress(35, []) == 35
    today = date(2026, 3, 20)
    f = d.ItemFacts(d.ItemState.IN_PROGRESS, date(2026, 3, 10), 50, date(2026, 1, 1), date(2026, 3, 1))
    assert d.colour(f, today, d.Schedule.MONTHLY) is d.Colour.RED
    stalled = d.ItemFacts(d.ItemState.IN_PROGRESS, date(2026, 12, 31), 50, date(2025, 10, 1), date(2025, 12, 1))
    assert d.colour(stalled, today, d.Schedule.WEEKLY) is d.Colour.ORANGE
    behind = d.ItemFacts(d.ItemState.IN_PROGRESS, date(2026, 4, 30), 10, date(2026, 1, 1), date(2026, 3, 15))
    assert d.colour(behind, today, d.Schedule.MONTHLY) is d.Colour.YELLOW
    assert d.colour(d.ItemFacts(d.ItemState.CLOSED, None, 100, today, None), today, d.Schedule.NONE) is d.Colour.BLUE


def test_ranking_shares_places_and_scores_count_missed_reports() -> None:
    good = d.UnitTally("A", "甲", items=2, reports_due=4, reports_on_time=4, progress_sum=120)
    late = d.UnitTally("B", "乙", items=2, reports_due=4, reports_on_time=2, progress_sum=120, overdue=1)
    same = d.UnitTally("C", "丙", items=2, reports_due=4, reports_on_time=4, progress_sum=120)
    ranked = d.rank([late, good, same])
    assert [(p, t.key) for p, t in ranked] == [(1, "C"), (1, "A"), (3, "B")]  # ties by name: 丙 before 甲
    assert late.score() == pytest.approx(40 * 0.5 + 40 + 20 * 0.6 - 2)


def test_a_weekly_report_is_due_at_the_close_of_the_last_working_day() -> None:
    # 2026: make Friday 2 October a holiday (National Day week) — the report falls due on no working day
    holidays = YearCalendar(2026, frozenset({date(2026, 10, d) for d in range(1, 9)}), frozenset())
    cal = WorkingCalendar(day_table=DayTable([holidays]))
    week = Period(PeriodKind.WEEK, date(2026, 9, 28), date(2026, 10, 4))
    assert lc.report_due(cal, week) == datetime(2026, 9, 30, 10, 0, tzinfo=UTC)  # Wednesday 18:00 Beijing
    steps = lc.report_steps(cal, SupervisionRules(), lc.report_due(cal, week))
    assert [s.step for s in steps] == ["remind", "missing", "urge", "escalate"]
    assert steps[2].due_at.date() == date(2026, 10, 9)  # the first working day after the holiday


def test_report_periods_of_the_seeds_and_their_previous_windows() -> None:
    h = d.period_window(d.ReportPeriod.HALF_YEAR, date(2026, 8, 1))
    assert (h.start, h.end) == (date(2026, 7, 1), date(2026, 12, 31))
    assert d.previous_window(d.ReportPeriod.HALF_YEAR, h).start == date(2026, 1, 1)
    q = d.period_window(d.ReportPeriod.QUARTERLY, date(2026, 2, 1))
    assert d.previous_window(d.ReportPeriod.QUARTERLY, q).label == "2025-Q4"
    assert d.window_title(d.ReportPeriod.HALF_YEAR, h) == "2026年下半年"
