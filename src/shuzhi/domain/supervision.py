"""Supervision rules (督查督办): when a task is reminded, declared overdue, urged, carded and escalated.

Sources: the issue's defaults and the domain brief §4 — reminders at 70 % and 90 % of the allowed time,
overdue at 100 %, an automatic urging notice (催办) "the day after a missed deadline", a yellow card
after 1 working day overdue, a red card and the public list (通报) after 5 more working days. Every
threshold is data (:class:`SupervisionRules`), checked when it is built.

A task's supervision is a *plan*: the steps still to come, each with the instant it falls due and the
deadline it is about. The plan is recomputed whenever the task changes (accepted, extended,
suspended, urged …) and the durable scheduler only pops steps off it, so the calendar arithmetic runs
once per change, never in a sweep. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shuzhi.domain.calendar import WorkingCalendar
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.time_limits import LimitUnit, TimeLimit


class StepKind(StrEnum):
    REMIND = "remind"  # 临期提醒
    OVERDUE = "overdue"  # 超期
    URGE = "urge"  # 自动催办
    YELLOW_CARD = "yellow_card"  # 黄牌
    RED_CARD = "red_card"  # 红牌（通报）
    ACCEPT_TIMEOUT = "accept_timeout"  # 超时未签收 → 上报
    READ_REMIND = "read_remind"  # 抄送临期未阅提醒
    READ_OVERDUE = "read_overdue"  # 抄送逾期未阅


@dataclass(frozen=True)
class SupervisionRules:
    """Thresholds, as data. ``remind_at`` are fractions of the allowed time (0 < f < 1, increasing);
    ``yellow_after_wd`` working days overdue give a yellow card, ``red_after_wd`` more a red one."""

    remind_at: tuple[float, ...] = (0.7, 0.9)
    yellow_after_wd: float = 1.0
    red_after_wd: float = 5.0
    urge_next_working_day: bool = True
    escalate_unaccepted: bool = True
    #: The read deadline of a copy (抄送阅知时限) in working hours, when its class sets none ("read" stage);
    #: None: copies have no read deadline unless their class gives one.
    read_within_wh: float | None = 7.0  # one working day of the default office hours

    def __post_init__(self) -> None:
        fractions = tuple(float(f) for f in self.remind_at)
        for i, f in enumerate(fractions):
            if not 0 < f < 1:
                raise ValueError(f"remind_at[{i}]: {f} must be between 0 and 1 (a fraction of the allowed time)")
        if list(fractions) != sorted(set(fractions)):
            raise ValueError("remind_at: fractions must be increasing and distinct")
        if len(fractions) > 5:
            raise ValueError("remind_at: at most 5 reminders")
        for name in ("yellow_after_wd", "red_after_wd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 250:
                raise ValueError(f"{name}: {value!r} must be a number of working days between 0 and 250")
        read = self.read_within_wh
        if read is not None and (isinstance(read, bool) or not isinstance(read, int | float) or not 0 < read <= 2000):
            raise ValueError(f"read_within_wh: {read!r} must be a number of working hours between 0 and 2000 "
                             "(or null: no read deadline)")
        object.__setattr__(self, "remind_at", fractions)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SupervisionRules:
        """Read ``{"remind_at": [0.7, 0.9], "yellow_after_wd": 1, …}``; unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise ValueError("supervision rules must be an object")
        known = {"remind_at", "yellow_after_wd", "red_after_wd", "urge_next_working_day", "escalate_unaccepted",
                 "read_within_wh"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown setting (known: {', '.join(sorted(known))})")
        kwargs: dict[str, Any] = dict(data)
        if "remind_at" in kwargs:
            if not isinstance(kwargs["remind_at"], list | tuple) or any(
                isinstance(f, bool) or not isinstance(f, int | float) for f in kwargs["remind_at"]
            ):
                raise ValueError("remind_at: give a list of fractions such as [0.7, 0.9]")
            kwargs["remind_at"] = tuple(kwargs["remind_at"])
        for flag in ("urge_next_working_day", "escalate_unaccepted"):
            if flag in kwargs and not isinstance(kwargs[flag], bool):
                raise ValueError(f"{flag}: true or false")
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, Any]:
        return {"remind_at": list(self.remind_at), "yellow_after_wd": self.yellow_after_wd,
                "red_after_wd": self.red_after_wd, "urge_next_working_day": self.urge_next_working_day,
                "escalate_unaccepted": self.escalate_unaccepted, "read_within_wh": self.read_within_wh}


def rules_for(rule_sets: Iterable[tuple[str | None, SupervisionRules]], area_path: str | None) -> SupervisionRules:
    """The thresholds that govern a task in ``area_path`` (its event's area): those of the deepest area
    at or above it that set its own (a town's, else the district's …), else the installation-wide ones
    (``None``), else the defaults. A town's thresholds never govern another town's tasks."""
    best: tuple[int, SupervisionRules] | None = None
    for path, rules in rule_sets:
        if path is None:
            depth = 0
        elif area_path is not None and area_path.startswith(path):
            depth = len(path)
        else:
            continue
        if best is None or depth > best[0]:
            best = (depth, rules)
    return best[1] if best is not None else SupervisionRules()


_STEP_NAMES = frozenset(k.value for k in StepKind)
_REMIND = StepKind.REMIND.value
_REMIND_PREFIX = _REMIND + "_"
_ACCEPT_TIMEOUT = StepKind.ACCEPT_TIMEOUT.value


def remind_step(fraction: float) -> str:
    """``remind_70`` for 0.7: the step's name carries its threshold, so two thresholds never collide."""
    return f"{StepKind.REMIND.value}_{round(fraction * 100)}"


@dataclass(frozen=True)
class PlannedStep:
    step: str
    due_at: datetime
    #: The deadline the step is about; with the task and the step it is the step's unique key.
    deadline: datetime

    def __post_init__(self) -> None:
        # refuse an unknown step name when the step is built; a set look-up, not the enum's, because
        # the sweep builds one step per due row
        if (_REMIND if self.step.startswith(_REMIND_PREFIX) else self.step) not in _STEP_NAMES:
            raise ValueError(f"{self.step!r} is not a supervision step")

    @property
    def kind(self) -> StepKind:
        return StepKind(self.step.split("_")[0]) if self.step.startswith("remind_") else StepKind(self.step)

    def key(self) -> tuple[str, datetime]:
        return (self.step, self.deadline)


@dataclass(frozen=True)
class TaskClock:
    """What the plan needs to know about a task."""

    state: TaskState
    role: TaskRole
    dispatched_at: datetime
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    #: The unit of the class's handle limit (working time or calendar hours); None = working hours.
    handle_unit: LimitUnit | None
    #: When the task last changed: reminders whose moment had already passed then are not planned.
    since: datetime
    done: frozenset[tuple[str, datetime]] = field(default=frozenset())
    #: A copy's read deadline (抄送阅知时限), counted on working time like any other.
    read_due_at: datetime | None = None


RUNNING = frozenset({TaskState.DISPATCHED, TaskState.ACCEPTED, TaskState.EXTENSION_REQUESTED})


def fraction_point(cal: WorkingCalendar, start: datetime, due: datetime, fraction: float,
                   unit: LimitUnit | None) -> datetime | None:
    """The instant at which ``fraction`` of the time allowed from ``start`` to ``due`` has passed.

    Working time when the limit is in working time (nights, weekends and holidays do not count),
    calendar time for calendar-hour limits. None when no time at all was allowed.
    """
    if unit is LimitUnit.CALENDAR_HOURS:
        total = (due - start).total_seconds()
        return start + timedelta(seconds=total * fraction) if total > 0 else None
    total = cal.working_seconds_between(start, due)
    if total <= 0:
        return None
    return cal.deadline(start, TimeLimit(total * fraction / 3600, LimitUnit.WORKING_HOURS))


def next_working_day_start(cal: WorkingCalendar, after: datetime) -> datetime:
    """The start of the first working interval on a local day after the day of ``after``."""
    local = after.astimezone(cal.tz)
    next_midnight = (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
    return cal.next_working_moment(next_midnight)


def handle_steps(cal: WorkingCalendar, rules: SupervisionRules, start: datetime, due: datetime,
                 unit: LimitUnit | None) -> list[PlannedStep]:
    """Every handling step of a task started at ``start`` and due at ``due``, in time order."""
    steps: list[PlannedStep] = []
    for f in rules.remind_at:
        at = fraction_point(cal, start, due, f, unit)
        if at is not None and at < due:
            steps.append(PlannedStep(remind_step(f), at, due))
    steps.append(PlannedStep(StepKind.OVERDUE.value, due, due))
    if rules.urge_next_working_day:
        steps.append(PlannedStep(StepKind.URGE.value, next_working_day_start(cal, due), due))
    yellow = cal.deadline(due, TimeLimit(rules.yellow_after_wd, LimitUnit.WORKING_DAYS))
    steps.append(PlannedStep(StepKind.YELLOW_CARD.value, yellow, due))
    red = cal.deadline(yellow, TimeLimit(rules.red_after_wd, LimitUnit.WORKING_DAYS))
    steps.append(PlannedStep(StepKind.RED_CARD.value, red, due))
    return sorted(steps, key=lambda s: (s.due_at, _ORDER.get(s.kind, 0)))


# Steps due at the same instant happen in escalating order (overdue before urge before the cards).
_ORDER = {StepKind.REMIND: 0, StepKind.OVERDUE: 1, StepKind.URGE: 2, StepKind.YELLOW_CARD: 3,
          StepKind.RED_CARD: 4, StepKind.ACCEPT_TIMEOUT: -1, StepKind.READ_REMIND: 0, StepKind.READ_OVERDUE: 1}


def read_steps(cal: WorkingCalendar, rules: SupervisionRules, start: datetime, due: datetime) -> list[PlannedStep]:
    """The steps of an unread copy (抄送未阅): one reminder at the first reminder fraction of the working
    time allowed, and *overdue* at the read deadline. A copy is information, not work: it gets no
    urging notice and no cards — what counts against the unit is the late acknowledgement itself, in
    the 及时知悉率 of the evaluation."""
    steps: list[PlannedStep] = []
    if rules.remind_at:
        at = fraction_point(cal, start, due, rules.remind_at[0], LimitUnit.WORKING_HOURS)
        if at is not None and at < due:
            steps.append(PlannedStep(StepKind.READ_REMIND.value, at, due))
    steps.append(PlannedStep(StepKind.READ_OVERDUE.value, due, due))
    return steps


def read_deadline(cal: WorkingCalendar, rules: SupervisionRules, start: datetime,
                  class_limit: TimeLimit | None) -> datetime | None:
    """When a copy sent at ``start`` must have been read: the class's read limit, else the rules' default
    (working hours), else none."""
    if class_limit is not None:
        return cal.deadline(start, class_limit)
    if rules.read_within_wh is None:
        return None
    return cal.deadline(start, TimeLimit(rules.read_within_wh, LimitUnit.WORKING_HOURS))


def plan(clock: TaskClock, rules: SupervisionRules, cal: WorkingCalendar) -> list[PlannedStep]:
    """The steps still to come for a task, in due order (empty when nothing is left to supervise).

    * an unread copy with a read deadline gets :func:`read_steps`; a read one, none;
    * tasks that are not running (suspended: the clock stops; reported back,
      verified, returned, cancelled, escalated: the work left the unit) have none;
    * a dispatched task not yet accepted is escalated when its accept deadline passes;
    * a running task with a handling deadline gets reminders, overdue, urge and the cards;
    * steps already done for the same deadline are left out, and so are reminders whose moment had
      already passed when the task last changed (a reminder about a past moment helps nobody; being
      overdue, by contrast, is a fact and is always recorded).
    """
    if clock.role is TaskRole.NOTIFY:
        if clock.state is not TaskState.NOTIFIED or clock.read_due_at is None:
            return []
        return [s for s in read_steps(cal, rules, clock.dispatched_at, clock.read_due_at)
                if s.key() not in clock.done and not (s.kind is StepKind.READ_REMIND and s.due_at < clock.since)]
    if clock.state not in RUNNING:
        return []
    steps: list[PlannedStep] = []
    if clock.state is TaskState.DISPATCHED and clock.accept_due_at is not None and rules.escalate_unaccepted:
        steps.append(PlannedStep(StepKind.ACCEPT_TIMEOUT.value, clock.accept_due_at, clock.accept_due_at))
    if clock.handle_due_at is not None:
        for s in handle_steps(cal, rules, clock.dispatched_at, clock.handle_due_at, clock.handle_unit):
            if s.kind is StepKind.REMIND and s.due_at < clock.since:
                continue
            steps.append(s)
    steps = [s for s in steps if s.key() not in clock.done]
    return sorted(steps, key=lambda s: (s.due_at, _ORDER.get(s.kind, 0)))


def due_now(steps: Sequence[PlannedStep], now: datetime) -> tuple[list[PlannedStep], list[PlannedStep]]:
    """Split a plan into the steps due at ``now`` (all of them, however late: a missed sweep catches up)
    and those still to come."""
    return [s for s in steps if s.due_at <= now], [s for s in steps if s.due_at > now]


def take_due(plan_rows: Sequence[Sequence[str]], now: datetime) -> tuple[list[PlannedStep], int]:
    """The due head of a stored plan (``[[step, due_at, deadline], …]`` in due order) and its length.

    The sweep's rule over rows as they come from the database: only the head is parsed (a plan is in
    due order, so parsing stops at the first step still to come), which keeps the cost per due row
    small. An accept timeout ends the head: when it escalates, the task leaves the unit and the steps
    after it no longer apply (they stay in the plan; if the task stays, the next sweep takes them).
    """
    due = [PlannedStep(step, at, deadline) for step, at, deadline in due_head(plan_rows, now)]
    return due, len(due)


def due_head(plan_rows: Sequence[Sequence[str]], now: datetime) -> list[tuple[str, datetime, datetime]]:
    """:func:`take_due` as plain ``(step, due_at, deadline)`` tuples, for the sweep's 10,000 rows a batch
    (a frozen dataclass per step costs more than the rest of the rule); step names are checked the same."""
    due: list[tuple[str, datetime, datetime]] = []
    fromiso = datetime.fromisoformat
    for step, due_at, deadline in plan_rows:
        at = fromiso(due_at)
        if at > now:
            break
        name = str(step)
        if (_REMIND if name.startswith(_REMIND_PREFIX) else name) not in _STEP_NAMES:
            raise ValueError(f"{name!r} is not a supervision step")
        due.append((name, at, fromiso(deadline)))
        if name == _ACCEPT_TIMEOUT:
            break
    return due


def plan_to_json(steps: Sequence[PlannedStep]) -> list[list[str]]:
    return [[s.step, s.due_at.isoformat(), s.deadline.isoformat()] for s in steps]


def plan_from_json(data: Sequence[Sequence[str]]) -> list[PlannedStep]:
    return [PlannedStep(str(s), datetime.fromisoformat(d), datetime.fromisoformat(dl)) for s, d, dl in data]


# --- escalation along the area tree ---------------------------------------------------------------


@dataclass(frozen=True)
class UnitRef:
    id: int
    kind: str  # centre|department|village|grid
    area_path: str


def escalation_target(unit: UnitRef, centres: Sequence[UnitRef]) -> UnitRef | None:
    """The centre one level up from ``unit`` along the area tree (grid/village → town centre → district
    centre → city centre): the nearest centre whose area contains the unit's area.

    A department answers to the centre of its own area (a district department to the district centre);
    a centre answers to the centre of a strictly larger area. None at the top of the tree.
    """
    best: UnitRef | None = None
    for c in centres:
        if c.id == unit.id or c.kind != "centre" or not unit.area_path.startswith(c.area_path):
            continue
        if unit.kind == "centre" and len(c.area_path) >= len(unit.area_path):
            continue
        if best is None or len(c.area_path) > len(best.area_path):
            best = c
    return best
