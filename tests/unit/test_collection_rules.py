"""Collection governance's formulas (采集治理, issue #22): quality figures, lateness, the staleness alarm
added to real-time indicators' rules, and the online plan's progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shuzhi.domain import collection as col
from shuzhi.domain.thresholds import LEVEL_RANK, ThresholdRule, parse_rule


def test_quality_of_one_indicator_and_of_many() -> None:
    q = col.indicator_quality(expected_series=4, reporting_series=3, stale_series=1, readings=200,
                              frequency_s=300, window_s=86400, late=5, rejected=2)
    assert (q.coverage, q.freshness) == (0.75, 2 / 3)
    assert q.expected_readings == 4 * 288 and q.gaps == 4 * 288 - 200
    assert q.completeness == 200 / (4 * 288) and q.rejected_rate == 2 / 202
    # more series than expected is full coverage, and they are all expected to report
    extra = col.indicator_quality(expected_series=1, reporting_series=2, stale_series=0, readings=600,
                                  frequency_s=300, window_s=86400)
    assert extra.coverage == 1.0 and extra.expected_readings == 576 and extra.completeness == 1.0
    both = col.total([q, extra])
    assert (both.indicators, both.expected_series, both.reporting_series, both.late) == (2, 5, 5, 5)
    assert col.total([]).coverage is None, "nothing expected: no figure, not 0 %"


def test_a_reading_is_late_after_its_frequency_and_at_least_the_grace() -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    assert not col.is_late(at, at + timedelta(seconds=299), 30)
    assert col.is_late(at, at + timedelta(seconds=301), 30)
    assert not col.is_late(at, at + timedelta(minutes=50), 3600)
    assert col.is_late(at, at + timedelta(minutes=61), 3600)


def _rule(doc: dict[str, object]) -> ThresholdRule:
    rule, problems = parse_rule(doc)
    assert rule is not None, problems
    return rule


def test_the_staleness_alarm_is_added_where_no_rule_grades_silence() -> None:
    river = _rule({"code": "R", "indicator": "RIVER", "conditions": [
        {"kind": "value", "op": "above", "levels": {"yellow": 3}}]})
    own = _rule({"code": "P", "indicator": "PUMP", "conditions": [{"kind": "no_data", "levels": {"red": "1h"}}]})
    rules = col.with_staleness([river, own], {"RIVER": 300, "PUMP": 60, "RAIN": 3600}, 3)
    by = {r.indicator: r for r in rules}
    [alarm] = by["RIVER"].no_data_conditions
    assert alarm.bounds[LEVEL_RANK["blue"]] == timedelta(minutes=15) and by["RIVER"].value_conditions
    assert by["PUMP"] is own, "a rule that grades silence is the installation's choice"
    assert by["RAIN"].code == "STALE.RAIN" and by["RAIN"].grade_silence(timedelta(hours=3)) == LEVEL_RANK["blue"]
    assert by["RAIN"].grade_silence(timedelta(hours=2)) == -1
    # an indicator that is not real-time gets nothing
    assert col.with_staleness([river], {}, 3) == [river]


def test_the_plan_progress_by_date_and_batch() -> None:
    today = date(2026, 12, 7)
    entries = [col.PlanEntry("A", "一", date(2026, 11, 1), date(2026, 11, 3)),
               col.PlanEntry("B", "一", date(2026, 11, 1), None),
               col.PlanEntry("C", "二", date(2026, 12, 20), None)]
    p = col.plan_progress(entries, today)
    assert (p["planned"], p["due"], p["online"], p["overdue"]) == (3, 2, 1, 1)
    assert p["by_date"] == [{"date": "2026-11-01", "planned": 2, "online": 0},
                            {"date": "2026-11-03", "planned": 2, "online": 1},
                            {"date": "2026-12-07", "planned": 2, "online": 1},
                            {"date": "2026-12-20", "planned": 3, "online": 1}]
    assert [(b["batch"], b["planned"], b["online"], b["overdue"]) for b in p["batches"]] == [
        ("一", 2, 1, 1), ("二", 1, 0, 0)]
