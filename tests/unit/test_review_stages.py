"""Review arithmetic, checked against durations worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shuzhi.domain.review import Move, TaskClock, event_stages, format_duration, late_units, task_stages

T0 = datetime(2024, 6, 13, 1, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_event_stages_sum_every_visit_and_stop_at_close() -> None:
    moves = [Move(at(0), "registered"), Move(at(10), "dispatched"), Move(at(40), "handling"),
             Move(at(100), "reported_back"), Move(at(110), "handling"), Move(at(130), "reported_back"),
             Move(at(135), "verified"), Move(at(150), "closed")]
    stages = {s.stage: (s.seconds / 60, s.visits) for s in event_stages(moves, at(999))}
    # handling 40→100 and 110→130 = 60 + 20; reported_back 100→110 and 130→135 = 10 + 5
    assert stages == {"registered": (10, 1), "dispatched": (30, 1), "handling": (80, 2),
                      "reported_back": (15, 2), "verified": (15, 1)}


def test_task_stages_lateness_from_due_times() -> None:
    on_time = TaskClock(1, "U1", "甲", "lead", "verified", at(0), at(30), at(20), at(120), at(100), at(140))
    late = TaskClock(2, "U2", "乙", "lead", "verified", at(0), at(30), at(45), at(120), at(200), at(210))
    never = TaskClock(3, "U3", "丙", "assist", "cancelled", at(0), at(30), None, at(120), None, at(90))
    stages = task_stages([on_time, late, never], until=at(300))
    got = {(s.task_id, s.stage): (s.seconds / 60, s.limit_seconds / 60 if s.limit_seconds else None,
                                  s.late_seconds / 60) for s in stages}
    assert got == {
        (1, "accept"): (20, 30, 0), (1, "handle"): (100, 120, 0),
        (2, "accept"): (45, 30, 15), (2, "handle"): (200, 120, 80),
        # cancelled at 90 without signing: the accept stage ran 90 min, 60 past its due time
        (3, "accept"): (90, 30, 60), (3, "handle"): (90, 120, 0),
    }
    assert late_units(stages) == [("U2", "乙", 2, 80 * 60), ("U3", "丙", 1, 60 * 60)]


def test_format_duration() -> None:
    assert format_duration(None) == "—"
    assert format_duration(59) == "1分"
    assert format_duration(3600 * 26 + 300) == "1天2小时5分"
    assert format_duration(86400) == "1天"
