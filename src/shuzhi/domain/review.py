"""Review (复盘): how long each stage took against its limit, who was late and by how much.

Rebuilt from the immutable timeline and the tasks' clocks (domain brief §6: "rebuild the timeline,
compare it with the limits, record lessons").  Pure computation, no I/O:

* **event stages** — the time the event spent in each state it passed through (受理 registered,
  派遣待签收 dispatched, 处置中 handling, 待核查 reported_back, 待结案 verified), summed over every visit
  (a rework returns it to *handling*), up to the moment it was closed;
* **task stages** — for each task, *accept* (dispatch → signed for) and *handle* (dispatch → reported
  back), both counted from dispatch as the catalogue's limits are (:class:`shuzhi.domain.time_limits.Stage`),
  against the limit the task was given (its due time − its dispatch time, after any approved extension);
* **lateness** — a stage finished after its due time is late by the difference; a stage never
  finished is measured to the moment the task ended (cancelled, returned) or to the review's end.

Durations are elapsed (calendar) seconds: a review shows how long people actually waited; whether a
deadline counted working hours only is already in the due time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

STAGE_LABELS = {"registered": "受理待派遣", "notifying": "抄送待阅", "dispatched": "派遣待签收",
                "handling": "处置中", "reported_back": "反馈待核查", "verified": "核查待结案"}
#: States after which the event's clock has stopped.
_END_STATES = {"closed", "called_back", "merged", "cancelled"}


@dataclass(frozen=True)
class Move:
    """One state change of the event from its timeline."""

    at: datetime
    to_state: str


@dataclass(frozen=True)
class TaskClock:
    task_id: int
    unit_code: str
    unit_name: str
    role: str
    state: str
    dispatched_at: datetime
    accept_due_at: datetime | None
    accepted_at: datetime | None
    handle_due_at: datetime | None
    reported_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class StageTime:
    stage: str
    seconds: float
    visits: int

    @property
    def label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


@dataclass(frozen=True)
class TaskStage:
    task_id: int
    unit_code: str
    unit_name: str
    stage: str  # accept | handle
    started_at: datetime
    finished_at: datetime | None
    seconds: float
    limit_seconds: float | None
    late_seconds: float  # 0 when on time or no limit

    @property
    def late(self) -> bool:
        return self.late_seconds > 0


def event_stages(moves: Sequence[Move], until: datetime) -> list[StageTime]:
    """Time per state, in the order first visited; the last open state counts up to ``until``."""
    order: list[str] = []
    seconds: dict[str, float] = {}
    visits: dict[str, int] = {}
    ordered = sorted(moves, key=lambda m: m.at)
    for i, move in enumerate(ordered):
        if move.to_state in _END_STATES:
            continue
        end = ordered[i + 1].at if i + 1 < len(ordered) else until
        if move.to_state not in seconds:
            order.append(move.to_state)
            seconds[move.to_state] = 0.0
            visits[move.to_state] = 0
        seconds[move.to_state] += max(0.0, (end - move.at).total_seconds())
        visits[move.to_state] += 1
    return [StageTime(s, seconds[s], visits[s]) for s in order]


def _stage(t: TaskClock, stage: str, due: datetime | None, done: datetime | None, until: datetime) -> TaskStage:
    finished = done
    measured_to = done or t.ended_at or until
    limit = (due - t.dispatched_at).total_seconds() if due is not None else None
    late = max(0.0, (measured_to - due).total_seconds()) if due is not None else 0.0
    return TaskStage(task_id=t.task_id, unit_code=t.unit_code, unit_name=t.unit_name, stage=stage,
                     started_at=t.dispatched_at, finished_at=finished,
                     seconds=max(0.0, (measured_to - t.dispatched_at).total_seconds()),
                     limit_seconds=limit, late_seconds=late)


def task_stages(tasks: Iterable[TaskClock], until: datetime) -> list[TaskStage]:
    """Accept and handle stage of every handling task (notify-only tasks have no limits)."""
    out: list[TaskStage] = []
    for t in tasks:
        if t.role == "notify":
            continue
        out.append(_stage(t, "accept", t.accept_due_at, t.accepted_at, until))
        out.append(_stage(t, "handle", t.handle_due_at, t.reported_at, until))
    return out


def late_units(stages: Iterable[TaskStage]) -> list[tuple[str, str, int, float]]:
    """(unit code, unit name, late stages, longest lateness in seconds), the latest first."""
    by_unit: dict[str, tuple[str, int, float]] = {}
    for s in stages:
        if not s.late:
            continue
        name, n, worst = by_unit.get(s.unit_code, (s.unit_name, 0, 0.0))
        by_unit[s.unit_code] = (name, n + 1, max(worst, s.late_seconds))
    rows = [(code, name, n, worst) for code, (name, n, worst) in by_unit.items()]
    return sorted(rows, key=lambda r: (-r[3], r[0]))


def format_duration(seconds: float | None) -> str:
    """``1天2小时5分`` — how a Chinese review reads a duration; None → ``—``."""
    if seconds is None:
        return "—"
    total = round(seconds / 60)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = ([f"{days}天"] if days else []) + ([f"{hours}小时"] if hours else []) + [f"{minutes}分"]
    if days and not minutes:
        parts.pop()
    return "".join(parts)


# What a review says, as the services build it and the exports (adapters/review_export.py) write it.


@dataclass(frozen=True)
class Line:
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    unit: str | None
    reason: str | None


@dataclass(frozen=True)
class StageRow:
    stage: str
    label: str
    seconds: float
    visits: int


@dataclass(frozen=True)
class TaskStageRow:
    task_id: int
    unit_code: str
    unit_name: str
    stage: str
    seconds: float
    limit_seconds: float | None
    late_seconds: float
    finished_at: datetime | None


@dataclass(frozen=True)
class LateRow:
    unit_code: str
    unit_name: str
    late_stages: int
    worst_late_seconds: float


@dataclass(frozen=True)
class Incident:
    """A return (退单) or a rework (返工)."""

    at: datetime
    unit: str | None
    reason: str | None


@dataclass(frozen=True)
class Notes:
    notes: str
    version: int
    updated_by: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class Review:
    kind: str  # event | run
    subject: str
    title: str
    event_number: str
    event_state: str
    plan_code: str | None
    plan_name: str | None
    started_at: datetime
    ended_at: datetime
    total_seconds: float
    tasks: int
    late_tasks: int
    timeline: list[Line]
    stages: list[StageRow]
    task_stages: list[TaskStageRow]
    late: list[LateRow]
    returns: list[Incident]
    reworks: list[Incident]
    notes: Notes
