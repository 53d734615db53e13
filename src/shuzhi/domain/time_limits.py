"""Time limits (处置时限) of an event class: how long each stage of a task may take.

A limit is an amount in one of three units (domain brief §4):

* **working hours** (``4wh``, 工作小时) and **working days** (``5wd``, 工作日), counted on the official
  calendar with its make-up working days (see :mod:`shuzhi.domain.calendar`);
* **calendar hours** (``3h``, 小时), for emergencies, where the clock never stops — e.g. a burst water
  main that is not cordoned off must be cordoned within 3 hours, night or weekend.

Limits vary between cities and event classes, so they are data: each event class carries a mapping
``{urgency: {stage: "5wd"}}`` (typed in by administrators or imported from Excel), parsed and checked
here with messages a user can act on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from itertools import combinations
from types import MappingProxyType


class LimitUnit(StrEnum):
    WORKING_HOURS = "working_hours"  # 工作小时
    WORKING_DAYS = "working_days"  # 工作日
    CALENDAR_HOURS = "calendar_hours"  # 小时（自然时）

    @property
    def short(self) -> str:
        """The suffix of the short form (``wh``, ``wd``, ``h``)."""
        return _SHORT[self]


_SHORT: dict[LimitUnit, str] = {
    LimitUnit.WORKING_HOURS: "wh",
    LimitUnit.WORKING_DAYS: "wd",
    LimitUnit.CALENDAR_HOURS: "h",
}

# Suffixes as people write them in rules and spreadsheets. "个" is optional because Chinese rules say
# both "5工作日" and "5个工作日".
_SUFFIXES: dict[str, LimitUnit] = {
    "wh": LimitUnit.WORKING_HOURS,
    "wd": LimitUnit.WORKING_DAYS,
    "h": LimitUnit.CALENDAR_HOURS,
    "工作小时": LimitUnit.WORKING_HOURS,
    "工作日": LimitUnit.WORKING_DAYS,
    "小时": LimitUnit.CALENDAR_HOURS,
}
_PATTERN = re.compile(
    r"(?P<amount>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*个?\s*(?P<unit>"
    + "|".join(sorted(map(re.escape, _SUFFIXES), key=len, reverse=True))
    + r")"
)
_HINT = "use e.g. 4wh (working hours), 5wd (working days) or 3h (calendar hours)"

# Anything longer is a typing error (ten years), and bounding it keeps the calendar walk short.
MAX_AMOUNT: dict[LimitUnit, float] = {
    LimitUnit.WORKING_HOURS: 20_000,
    LimitUnit.WORKING_DAYS: 2_500,
    LimitUnit.CALENDAR_HOURS: 87_600,
}


@dataclass(frozen=True)
class TimeLimit:
    """An amount of time in one unit, e.g. ``TimeLimit(5, LimitUnit.WORKING_DAYS)`` (``"5wd"``).

    The amount must be finite and greater than zero (a zero limit would make every task overdue the
    moment it is created) and at most :data:`MAX_AMOUNT` of its unit.
    """

    amount: float
    unit: LimitUnit

    def __post_init__(self) -> None:
        unit = LimitUnit(self.unit)
        # bool is an int: True would read as "1wd" without anybody having meant it.
        if isinstance(self.amount, bool) or not isinstance(self.amount, int | float):
            raise ValueError(f"the amount of a time limit must be a number, not {self.amount!r}")
        amount = float(self.amount)
        if not math.isfinite(amount) or amount <= 0:
            raise ValueError(f"the amount of a time limit must be greater than 0, not {self.amount!r}")
        if amount > MAX_AMOUNT[unit]:
            raise ValueError(
                f"{_format_amount(amount)}{unit.short} is longer than ten years "
                f"(at most {_format_amount(MAX_AMOUNT[unit])}{unit.short})"
            )
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "unit", unit)

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        """Read ``"4wh"``, ``"5wd"``, ``"3h"``, ``"0.5h"``, ``"4工作小时"``, ``"5个工作日"``, ``"3小时"``.

        Case, spaces and full-width characters (common in Excel sheets typed with a Chinese input
        method, e.g. ``"５ＷＤ"``) are accepted.  Errors name the text as written, because they are
        shown to the person who imported the sheet.
        """
        if not isinstance(text, str):
            raise ValueError(f"{text!r} is not a time limit: {_HINT}")
        normal = unicodedata.normalize("NFKC", text).strip().lower()
        match = _PATTERN.fullmatch(normal)
        if match is None:
            raise ValueError(f"{text!r} is not a time limit: {_HINT}")
        unit = _SUFFIXES[match["unit"]]
        try:
            return cls(float(match["amount"]), unit)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a time limit: {exc}") from None

    def __str__(self) -> str:
        return f"{_format_amount(self.amount)}{self.unit.short}"


def _format_amount(amount: float) -> str:
    # repr() is the shortest text that reads back to the same float; Decimal spells out what repr
    # would write in exponent form (1e-05), which parse() does not accept.
    text = format(Decimal(repr(amount)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class Urgency(StrEnum):
    """How urgent an event is.  Members are declared from least to most urgent; that is their order.

    The comparison operators follow that order (``NORMAL < URGENT < CRITICAL``) rather than the
    alphabetical order the plain strings would have.
    """

    NORMAL = "normal"  # 一般
    URGENT = "urgent"  # 紧急
    CRITICAL = "critical"  # 特急

    @property
    def rank(self) -> int:
        """0 for normal, 1 for urgent, 2 for critical."""
        return type(self)._member_names_.index(self.name)

    @property
    def label(self) -> str:
        """The Chinese name shown to users."""
        return _URGENCY_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Urgency:
        """Read the code (``"urgent"``) or the Chinese name (``"紧急"``)."""
        key = unicodedata.normalize("NFKC", str(text)).strip().lower()
        for member in cls:
            if key in (member.value, member.label):
                return member
        choices = ", ".join(f"{m.value} ({m.label})" for m in cls)
        raise ValueError(f"{text!r} is not an urgency: use {choices}")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank >= other.rank


_URGENCY_LABELS: dict[Urgency, str] = {
    Urgency.NORMAL: "一般",
    Urgency.URGENT: "紧急",
    Urgency.CRITICAL: "特急",
}


class Stage(StrEnum):
    """The stage of a task a limit applies to; all are counted from dispatch."""

    ACCEPT = "accept"  # 签收时限
    HANDLE = "handle"  # 处置时限
    READ = "read"  # 阅知时限: a copy (抄送) must be acknowledged within it

    @property
    def label(self) -> str:
        """The Chinese name shown to users."""
        return _STAGE_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Stage:
        """Read the code (``"handle"``) or the Chinese name (``"处置"``)."""
        key = unicodedata.normalize("NFKC", str(text)).strip().lower()
        for member in cls:
            if key in (member.value, member.label):
                return member
        choices = ", ".join(f"{m.value} ({m.label})" for m in cls)
        raise ValueError(f"{text!r} is not a stage: use {choices}")


_STAGE_LABELS: dict[Stage, str] = {Stage.ACCEPT: "签收", Stage.HANDLE: "处置", Stage.READ: "阅知"}


@dataclass(frozen=True)
class TimeLimits:
    """The limits of one event class, per (urgency, stage); a missing pair means "no limit".

    Checked when built, so that a deadline is never computed from a contradictory table:

    * within one urgency, the accept limit may not be longer than the handle limit — a unit cannot be
      given more time to sign for a task than to finish it;
    * for one stage, a more urgent level may not have a longer limit than a less urgent one — the point
      of 紧急/特急 is a shorter limit.

    Limits in different units are not compared: how many working hours a calendar-hours limit is
    worth depends on when the task starts.
    """

    limits: Mapping[tuple[Urgency, Stage], TimeLimit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cleaned: dict[tuple[Urgency, Stage], TimeLimit] = {}
        for (urgency, stage), limit in self.limits.items():
            if not isinstance(limit, TimeLimit):
                raise ValueError(f"{Urgency(urgency)}.{Stage(stage)}: {limit!r} is not a TimeLimit")
            cleaned[(Urgency(urgency), Stage(stage))] = limit
        ordered = dict(sorted(cleaned.items(), key=lambda kv: (kv[0][0].rank, list(Stage).index(kv[0][1]))))
        _check(ordered)
        object.__setattr__(self, "limits", MappingProxyType(ordered))

    def __hash__(self) -> int:
        return hash(frozenset(self.limits.items()))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Mapping[str, str]]) -> TimeLimits:
        """Read ``{"normal": {"accept": "4wh", "handle": "5wd"}, "urgent": {...}}``.

        Keys may be codes or Chinese names (``{"紧急": {"处置": "1wd"}}``).  Errors are prefixed with the
        place they come from (``urgent.handle: '5xd' is not a time limit …``).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"time limits must be a mapping of urgency to stages, not {data!r}")
        limits: dict[tuple[Urgency, Stage], TimeLimit] = {}
        for urgency_key, stages in data.items():
            urgency = Urgency.parse(urgency_key)
            if not isinstance(stages, Mapping):
                raise ValueError(f"{urgency}: expected a mapping of stage to limit, not {stages!r}")
            for stage_key, text in stages.items():
                try:
                    stage = Stage.parse(stage_key)
                except ValueError as exc:
                    raise ValueError(f"{urgency}: {exc}") from None
                if (urgency, stage) in limits:
                    raise ValueError(f"{urgency}.{stage} is given twice")
                try:
                    limits[(urgency, stage)] = TimeLimit.parse(text)
                except ValueError as exc:
                    raise ValueError(f"{urgency}.{stage}: {exc}") from None
        return cls(limits)

    def to_mapping(self) -> dict[str, dict[str, str]]:
        """The form :meth:`from_mapping` reads, in urgency then stage order."""
        out: dict[str, dict[str, str]] = {}
        for (urgency, stage), limit in self.limits.items():
            out.setdefault(urgency.value, {})[stage.value] = str(limit)
        return out

    def get(self, urgency: Urgency, stage: Stage) -> TimeLimit | None:
        """The limit for this urgency and stage, or None when the class sets none."""
        return self.limits.get((Urgency(urgency), Stage(stage)))


def _check(limits: Mapping[tuple[Urgency, Stage], TimeLimit]) -> None:
    for urgency in Urgency:
        accept, handle = limits.get((urgency, Stage.ACCEPT)), limits.get((urgency, Stage.HANDLE))
        if accept and handle and accept.unit == handle.unit and accept.amount > handle.amount:
            raise ValueError(
                f"{urgency}: the accept limit ({accept}) is longer than the handle limit ({handle})"
            )
    for stage in Stage:
        # Every pair, not only neighbours: normal 4wh, urgent 1wd, critical 6wh must still fail.
        for calmer, sharper in combinations(list(Urgency), 2):
            slow, fast = limits.get((calmer, stage)), limits.get((sharper, stage))
            if slow and fast and slow.unit == fast.unit and fast.amount > slow.amount:
                raise ValueError(
                    f"{sharper}.{stage} ({fast}) is longer than {calmer}.{stage} ({slow}): "
                    "a more urgent level may not have a longer limit"
                )
