"""The duty roster (排班): who is on duty at a centre, and when.

A centre on 7×24 duty (7x24小时常态化值班制度) keeps a roster of **shifts**: a person, a role and a
half-open span ``[starts_at, ends_at)`` in UTC. Two roles are on every roster a centre sends upward:

- ``leader_on_duty`` (带班领导) — the leader who answers for the shift; one at a time per centre;
- ``officer`` (值班员) — the officers at the desk; any number at once.

The rules (checked before a shift is stored, so a roster never holds a contradiction):

- a shift ends after it starts and lasts at most :data:`MAX_SHIFT` (a 24-hour shift plus handover);
- nobody is on two shifts at once, at this centre or any other (a person cannot sit at two desks);
- a centre has at most one leader on duty at any moment (带班领导 is one person by definition).

Spans are half-open, so the 08:30 handover of a 24-hour roster (08:30 → 08:30 next day) joins one
shift to the next without an overlap and without a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
#: The longest shift a roster may hold: 24 hours of duty and the handover on both ends.
MAX_SHIFT = timedelta(hours=26)
#: The handover time of a day-per-row roster when the centre names none (local time).
DEFAULT_HANDOVER = time(8, 30)


class DutyRole(StrEnum):
    LEADER_ON_DUTY = "leader_on_duty"
    OFFICER = "officer"


ROLE_LABELS: dict[DutyRole, str] = {DutyRole.LEADER_ON_DUTY: "带班领导", DutyRole.OFFICER: "值班员"}


@dataclass(frozen=True)
class Shift:
    """One person's shift at one unit; ``id`` is ``None`` until stored."""

    unit_id: int
    person_id: int
    role: DutyRole
    starts_at: datetime
    ends_at: datetime
    id: int | None = None

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def overlaps(self, other: Shift) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclass(frozen=True)
class Problem:
    """Why a shift cannot be stored: the field at fault and the message (Chinese, shown to users)."""

    field: str
    message: str
    #: The stored shift it clashes with, if any.
    clash_id: int | None = None


def _local(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def check_shift(shift: Shift, others: Iterable[Shift]) -> list[Problem]:
    """Every rule ``shift`` breaks against the stored ``others`` (the shift itself, by id, is skipped).

    ``others`` must hold at least the stored shifts of the same person and of the same unit that
    overlap the new span; more is harmless.
    """
    problems: list[Problem] = []
    if shift.starts_at.tzinfo is None or shift.ends_at.tzinfo is None:
        problems.append(Problem("starts_at", "时间须带时区（UTC 或 +08:00）"))
        return problems
    if shift.ends_at <= shift.starts_at:
        problems.append(Problem("ends_at", "结束时间须晚于开始时间"))
        return problems
    if shift.ends_at - shift.starts_at > MAX_SHIFT:
        hours = int(MAX_SHIFT.total_seconds() // 3600)
        problems.append(Problem("ends_at", f"一个班次最长 {hours} 小时"))
    for other in others:
        if other.id is not None and other.id == shift.id:
            continue
        if not shift.overlaps(other):
            continue
        span = f"{_local(other.starts_at)}—{_local(other.ends_at)}"
        if other.person_id == shift.person_id:
            problems.append(Problem("person", f"此人在 {span} 已有班次，不能同时值两个班", other.id))
        elif (other.unit_id == shift.unit_id and shift.role is DutyRole.LEADER_ON_DUTY
              and other.role is DutyRole.LEADER_ON_DUTY):
            problems.append(Problem("role", f"{span} 已有带班领导，同一时间只能有一名带班领导", other.id))
    return problems


@dataclass(frozen=True)
class OnDuty:
    """Who is on duty at one unit at one moment (each list in start order)."""

    leaders: tuple[Shift, ...]
    officers: tuple[Shift, ...]

    @property
    def anyone(self) -> bool:
        return bool(self.leaders or self.officers)


def on_duty(shifts: Iterable[Shift], at: datetime) -> OnDuty:
    """The shifts covering ``at``, split by role."""
    live = sorted((s for s in shifts if s.covers(at)), key=lambda s: (s.starts_at, s.person_id))
    return OnDuty(tuple(s for s in live if s.role is DutyRole.LEADER_ON_DUTY),
                  tuple(s for s in live if s.role is DutyRole.OFFICER))


def gaps(shifts: Iterable[Shift], start: datetime, end: datetime,
         role: DutyRole = DutyRole.OFFICER) -> list[tuple[datetime, datetime]]:
    """The spans of ``[start, end)`` with nobody of ``role`` on duty — holes in a 7×24 roster."""
    spans = sorted((max(s.starts_at, start), min(s.ends_at, end)) for s in shifts
                   if s.role is role and s.starts_at < end and s.ends_at > start)
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    for a, b in spans:
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        out.append((cursor, end))
    return out


def day_span(day: date, handover: time = DEFAULT_HANDOVER) -> tuple[datetime, datetime]:
    """The UTC span of the 24-hour shift a day-per-row roster means by ``day``: from the local
    handover time that day to the same time the next day."""
    start = datetime.combine(day, handover, tzinfo=LOCAL)
    end = datetime.combine(day + timedelta(days=1), handover, tzinfo=LOCAL)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))
