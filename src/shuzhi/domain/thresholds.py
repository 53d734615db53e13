"""Graded thresholds and the life of a warning (预警), as plain data and one small state machine.

A **threshold rule** belongs to an indicator, optionally narrowed to an area subtree (a per-area
override replaces the indicator's default rule for series in that subtree; the deepest override
wins).  It holds one or more **conditions**, each grading a series into China's four warning
levels, **blue (IV) < yellow (III) < orange (II) < red (I)** (GB/T 35965 / the national emergency
warning scale; the bounds themselves are local data)::

    {"code": "WL-RIVER", "indicator": "SS-WATER-LEVEL", "area": null,
     "conditions": [
        {"kind": "value", "op": "above", "levels": {"blue": 2.0, "yellow": 2.5, "orange": 3.0, "red": 3.5}},
        {"kind": "rate", "op": "above", "window": "1h", "levels": {"orange": 0.5}},
        {"kind": "no_data", "levels": {"blue": "30m", "yellow": "2h"}}],
     "for": "5m", "keep_firing_for": "15m",
     "actions": {"yellow": {"mode": "notify", "event_class": "0301"},
                 "orange": {"mode": "handle", "event_class": "0301", "urgency": "urgent", "dispatch": true}}}

* ``value``: the reading itself; ``above`` (≥ bound), ``below`` (≤ bound) or ``outside`` a band
  (``{"red": [low, high]}``: value < low or value > high).
* ``rate``: the change over ``window`` — the reading minus the earliest reading of the series within
  the window (at least one earlier reading is needed); ``above`` a rise, ``below`` a fall (negative
  bounds), ``outside`` either.
* ``no_data``: no reading for at least the given duration (checked by the periodic no-data check).

Bounds must grow in severity: for ``above`` red's bound ≥ orange's ≥ …; for ``below`` the reverse;
for ``outside`` each band lies inside the less severe one.  A level left out of a condition simply
is not graded by it.

**Warning life** (like Prometheus alerting rules, whose ``for`` and ``keep_firing_for`` these are):
a level *holds* at an evaluation when some condition grades the series at that level or above.  A
level becomes *effective* when it has held without a break for ``for``; once reached it stays
effective until it has not held for longer than ``keep_firing_for`` (hysteresis on recovery).  The
warning is ``pending`` while some level holds but none is effective yet, ``firing`` at the highest
effective level (which may rise or fall), and ``resolved`` when no level is effective any more —
that ends the episode; the next one is a new warning.  A pending warning whose levels stop holding
before any became effective is ``cleared`` (it never fired).

Between readings the last reading's value grading still holds (a value stands until replaced); the
no-data grading comes only from the periodic check and ends with the next reading.

**Silences** (a time window and a matcher, e.g. planned works) and **inhibitions** (an upstream
warning suppresses its dependants, e.g. a power outage over the pumps it feeds) do not change the
warning's life; they keep it from notifying, opening events and starting plans while they apply.
Within one series a single warning carries the highest effective level, so a higher level always
suppresses the lower ones of the same series.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from shuzhi.domain.rules import RuleProblem

#: Least to most severe; the index is the level's rank.
LEVELS: tuple[str, ...] = ("blue", "yellow", "orange", "red")
LEVEL_RANK: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}
#: The official grade (预警级别) of each colour.
GRADES: dict[str, str] = {"blue": "IV", "yellow": "III", "orange": "II", "red": "I"}
LABELS: dict[str, str] = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
NONE = -1  # rank of "no level holds"

KINDS = ("value", "rate", "no_data")
OPS = ("above", "below", "outside")
MODES = ("none", "notify", "handle")
URGENCIES = ("normal", "urgent", "critical")
MAX_CONDITIONS = 10
MAX_DURATION = timedelta(days=30)
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
_AREA_CODE = re.compile(r"^[0-9]{6}(?:[0-9]{3}){0,3}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Status(StrEnum):
    INACTIVE = "inactive"  # in memory only: no level holds
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    CLEARED = "cleared"


class Change(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    RAISED = "raised"
    LOWERED = "lowered"
    RESOLVED = "resolved"
    CLEARED = "cleared"


def level_name(rank: int) -> str | None:
    return LEVELS[rank] if rank >= 0 else None


# --- durations -----------------------------------------------------------------------------------


def parse_duration(value: object) -> timedelta:
    """``"90s"``, ``"10m"``, ``"1.5h"``, ``"2d"`` or a number of seconds → a duration (ValueError if not)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '10m', got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("a duration is a finite number of seconds ≥ 0")
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    raise ValueError(f"expected a duration such as '90s', '10m', '2h' or '1d', got {value!r}")


def format_duration(d: timedelta) -> str:
    seconds = d.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# --- rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One grading of a series; ``bounds[rank]`` is the bound of that level or None (not graded)."""

    kind: str
    op: str
    bounds: tuple[Any, ...]  # float | (low, high) | timedelta | None, one per level
    window: timedelta | None = None

    def grade(self, x: float) -> int:
        """The highest level whose bound ``x`` reaches (value and rate conditions), else NONE."""
        for rank in range(len(LEVELS) - 1, -1, -1):
            b = self.bounds[rank]
            if b is None:
                continue
            if self.op == "above":
                hit = x >= b
            elif self.op == "below":
                hit = x <= b
            else:
                hit = x < b[0] or x > b[1]
            if hit:
                return rank
        return NONE

    def grade_gap(self, gap: timedelta) -> int:
        """For ``no_data``: the highest level whose duration the silence has lasted."""
        for rank in range(len(LEVELS) - 1, -1, -1):
            b = self.bounds[rank]
            if b is not None and gap >= b:
                return rank
        return NONE


@dataclass(frozen=True, slots=True)
class Action:
    """What a warning at one level does (warning → event policy): nothing, notify-only or handle."""

    mode: str = "none"
    event_class: str | None = None
    urgency: str | None = None
    #: Dispatch the new event at once by the dispatch rules (handle mode only).
    dispatch: bool = False

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"mode": self.mode}
        if self.event_class:
            doc["event_class"] = self.event_class
        if self.urgency:
            doc["urgency"] = self.urgency
        if self.dispatch:
            doc["dispatch"] = True
        return doc


NO_ACTION = Action()


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    code: str
    indicator: str
    conditions: tuple[Condition, ...]
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    area: str | None = None
    #: The override's area path (``/500000/500111/…/``), filled in by the service; None = default rule.
    area_path: str | None = None
    actions: tuple[Action, ...] = (NO_ACTION,) * len(LEVELS)
    name: str = ""
    enabled: bool = True
    id: int | None = None
    version: int = 1
    #: The longest rate window: how much history a series keeps in memory.
    max_window: timedelta = field(init=False)
    value_conditions: tuple[Condition, ...] = field(init=False)
    rate_conditions: tuple[Condition, ...] = field(init=False)
    no_data_conditions: tuple[Condition, ...] = field(init=False)
    #: The quiet range: a value strictly inside it reaches no level of any value condition
    #: (``low < value < high``); rules with rate conditions have an empty one.
    quiet_low: float = field(init=False)
    quiet_high: float = field(init=False)

    def __post_init__(self) -> None:
        rates = tuple(c for c in self.conditions if c.kind == "rate")
        values = tuple(c for c in self.conditions if c.kind == "value")
        object.__setattr__(self, "value_conditions", values)
        object.__setattr__(self, "rate_conditions", rates)
        object.__setattr__(self, "no_data_conditions", tuple(c for c in self.conditions if c.kind == "no_data"))
        object.__setattr__(self, "max_window", max((c.window or timedelta(0) for c in rates),
                                                   default=timedelta(0)))
        low, high = -math.inf, math.inf
        for c in values:
            for b in c.bounds:
                if b is None:
                    continue
                if c.op == "above":
                    high = min(high, b)
                elif c.op == "below":
                    low = max(low, b)
                else:  # outside [lo, hi] fires below lo or above hi: quiet inside, bounds included
                    low = max(low, math.nextafter(b[0], -math.inf))
                    high = min(high, math.nextafter(b[1], math.inf))
        if rates:
            low, high = math.inf, -math.inf
        object.__setattr__(self, "quiet_low", low)
        object.__setattr__(self, "quiet_high", high)

    def action(self, rank: int) -> Action:
        return self.actions[rank] if rank >= 0 else NO_ACTION

    def grade_reading(self, value: float, at: datetime, history: Sequence[tuple[datetime, float]] = ()) -> int:
        """The level a reading reaches by the value and rate conditions; ``history`` is the series'
        earlier readings, oldest first (only those within the longest window matter)."""
        rank = NONE
        for c in self.value_conditions:
            rank = max(rank, c.grade(value))
        for c in self.rate_conditions:
            assert c.window is not None
            start = at - c.window
            ref = next((v for t, v in history if t >= start and t < at), None)
            if ref is not None:
                rank = max(rank, c.grade(value - ref))
        return rank

    def grade_silence(self, gap: timedelta) -> int:
        rank = NONE
        for c in self.no_data_conditions:
            rank = max(rank, c.grade_gap(gap))
        return rank

    def document(self) -> dict[str, Any]:
        """The rule as stored, exported and imported."""
        return {
            "code": self.code, "name": self.name, "indicator": self.indicator, "area": self.area,
            "conditions": [_condition_doc(c) for c in self.conditions],
            "for": format_duration(self.for_), "keep_firing_for": format_duration(self.keep_firing_for),
            "actions": {LEVELS[i]: a.document() for i, a in enumerate(self.actions) if a.mode != "none"},
            "enabled": self.enabled,
        }


def _condition_doc(c: Condition) -> dict[str, Any]:
    levels: dict[str, Any] = {}
    for i, b in enumerate(c.bounds):
        if b is None:
            continue
        if isinstance(b, timedelta):
            levels[LEVELS[i]] = format_duration(b)
        elif isinstance(b, tuple):
            levels[LEVELS[i]] = [b[0], b[1]]
        else:
            levels[LEVELS[i]] = b
    doc: dict[str, Any] = {"kind": c.kind}
    if c.kind != "no_data":
        doc["op"] = c.op
    if c.window is not None:
        doc["window"] = format_duration(c.window)
    doc["levels"] = levels
    return doc


# --- validation ----------------------------------------------------------------------------------


def _type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Problems:
    def __init__(self) -> None:
        self.items: list[RuleProblem] = []

    def add(self, path: str, message: str, code: str) -> None:
        self.items.append(RuleProblem(path, message, code))

    def unknown_keys(self, doc: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
        known = set(allowed)
        for k in sorted(set(doc) - known, key=str):
            self.add(f"{path}.{k}", f"unknown key '{k}'; allowed: {', '.join(sorted(known))}", "unknown_key")

    def duration(self, value: object, path: str, *, positive: bool = False) -> timedelta | None:
        try:
            d = parse_duration(value)
        except ValueError as exc:
            self.add(path, str(exc), "wrong_type")
            return None
        if d > MAX_DURATION:
            self.add(path, f"at most {format_duration(MAX_DURATION)}", "bad_value")
            return None
        if positive and d <= timedelta(0):
            self.add(path, "must be longer than zero", "bad_value")
            return None
        return d


def _number(p: _Problems, value: object, path: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        p.add(path, f"expected a number, got {_type(value)}", "wrong_type")
        return None
    if not math.isfinite(value):
        p.add(path, "expected a finite number", "bad_value")
        return None
    return float(value)


def _parse_condition(p: _Problems, doc: object, path: str) -> Condition | None:
    if not isinstance(doc, dict):
        p.add(path, f"expected an object with 'kind' and 'levels', got {_type(doc)}", "wrong_type")
        return None
    before = len(p.items)
    kind = doc.get("kind")
    if kind not in KINDS:
        p.add(f"{path}.kind", f"kind must be one of {', '.join(KINDS)}, got {kind!r}",
              "missing" if kind is None else "unknown_value")
        return None
    allowed = {"kind", "levels"} | ({"op"} if kind != "no_data" else set()) | ({"window"} if kind == "rate" else set())
    p.unknown_keys(doc, allowed, path)
    op = doc.get("op", "above") if kind != "no_data" else "above"
    if op not in OPS:
        p.add(f"{path}.op", f"op must be one of {', '.join(OPS)}, got {op!r}", "unknown_value")
        return None
    window = None
    if kind == "rate":
        if "window" not in doc:
            p.add(f"{path}.window", "a rate condition needs a window, e.g. '1h'", "missing")
        else:
            window = p.duration(doc["window"], f"{path}.window", positive=True)
    levels = doc.get("levels")
    if not isinstance(levels, dict) or not levels:
        p.add(f"{path}.levels", 'give the bound of at least one level, e.g. {"yellow": 2.5, "red": 3.5}',
              "missing" if levels is None else "wrong_type")
        return None
    bounds: list[Any] = [None] * len(LEVELS)
    for name, raw in levels.items():
        at = f"{path}.levels.{name}"
        if name not in LEVEL_RANK:
            p.add(at, f"unknown level '{name}'; levels are {', '.join(LEVELS)}", "unknown_value")
            continue
        if kind == "no_data":
            bounds[LEVEL_RANK[name]] = p.duration(raw, at, positive=True)
        elif op == "outside":
            if not isinstance(raw, list) or len(raw) != 2:
                p.add(at, f"a band is [low, high], got {_type(raw)}", "wrong_type")
                continue
            lo, hi = _number(p, raw[0], f"{at}[0]"), _number(p, raw[1], f"{at}[1]")
            if lo is not None and hi is not None:
                if lo > hi:
                    p.add(at, f"the band's low end {lo:g} is above its high end {hi:g}", "bad_value")
                else:
                    bounds[LEVEL_RANK[name]] = (lo, hi)
        else:
            bounds[LEVEL_RANK[name]] = _number(p, raw, at)
    if len(p.items) > before:
        return None
    _check_order(p, kind, op, bounds, f"{path}.levels")
    if len(p.items) > before:
        return None
    return Condition(kind=kind, op=op, bounds=tuple(bounds), window=window)


def _check_order(p: _Problems, kind: str, op: str, bounds: list[Any], path: str) -> None:
    """A more severe level must be harder to reach than a less severe one."""
    graded = [(i, b) for i, b in enumerate(bounds) if b is not None]
    for (i, lo), (j, hi) in pairwise(graded):
        name = LEVELS[j]
        if kind == "no_data" or op == "above":
            if hi < lo:
                p.add(f"{path}.{name}", f"{name} must need at least as much as {LEVELS[i]} "
                      f"({_show(hi)} < {_show(lo)})", "bad_order")
        elif op == "below":
            if hi > lo:
                p.add(f"{path}.{name}", f"{name} must need at least as low a value as {LEVELS[i]} "
                      f"({_show(hi)} > {_show(lo)})", "bad_order")
        elif not (hi[0] <= lo[0] and hi[1] >= lo[1]):
            p.add(f"{path}.{name}", f"{name}'s band must lie around {LEVELS[i]}'s: the wider the band, "
                  "the more severe the level", "bad_order")


def _show(b: Any) -> str:
    return format_duration(b) if isinstance(b, timedelta) else f"{b:g}"


def _parse_action(p: _Problems, doc: object, path: str) -> Action | None:
    if not isinstance(doc, dict):
        p.add(path, f"expected an object such as {{\"mode\": \"handle\", \"event_class\": \"0301\"}}, got "
              f"{_type(doc)}", "wrong_type")
        return None
    p.unknown_keys(doc, ("mode", "event_class", "urgency", "dispatch"), path)
    mode = doc.get("mode")
    if mode not in MODES:
        p.add(f"{path}.mode", f"mode must be one of {', '.join(MODES)}, got {mode!r}",
              "missing" if mode is None else "unknown_value")
        return None
    cls = doc.get("event_class")
    if cls is not None and (not isinstance(cls, str) or not cls.strip() or len(cls) > 20):
        p.add(f"{path}.event_class", f"expected an event class code, got {_type(cls)}", "wrong_type")
        return None
    if mode != "none" and cls is None:
        p.add(f"{path}.event_class", f"a '{mode}' action needs the event class of the event it opens", "missing")
        return None
    urgency = doc.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        p.add(f"{path}.urgency", f"urgency must be one of {', '.join(URGENCIES)}, got {urgency!r}",
              "unknown_value")
        return None
    dispatch = doc.get("dispatch", False)
    if not isinstance(dispatch, bool):
        p.add(f"{path}.dispatch", f"expected true or false, got {_type(dispatch)}", "wrong_type")
        return None
    if dispatch and mode != "handle":
        p.add(f"{path}.dispatch", "only a 'handle' action dispatches", "bad_value")
        return None
    return Action(mode=mode, event_class=cls, urgency=urgency, dispatch=dispatch)


RULE_KEYS = ("code", "name", "indicator", "area", "conditions", "for", "keep_firing_for", "actions", "enabled")


def parse_rule(doc: object, path: str = "$") -> tuple[ThresholdRule | None, list[RuleProblem]]:
    """A rule document → the rule, or None and every problem with its JSON path (``$.conditions[1].levels.red``)."""
    p = _Problems()
    if not isinstance(doc, dict):
        p.add(path, f"expected a rule object, got {_type(doc)}", "wrong_type")
        return None, p.items
    p.unknown_keys(doc, RULE_KEYS, path)
    code = doc.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        p.add(f"{path}.code", "a code is 1-40 letters, digits, '_', '.', '-' starting with a letter or digit",
              "missing" if code is None else "wrong_type")
    name = doc.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        p.add(f"{path}.name", "a name is a string of at most 200 characters", "wrong_type")
    indicator = doc.get("indicator")
    if not isinstance(indicator, str) or not indicator.strip() or len(indicator) > 60:
        p.add(f"{path}.indicator", "name the indicator by its code", "missing" if indicator is None else "wrong_type")
    area = doc.get("area")
    if area is not None and (not isinstance(area, str) or not _AREA_CODE.match(area)):
        p.add(f"{path}.area", f"an area code has 6, 9, 12 or 15 digits, got {area!r}", "wrong_type")
    conditions_doc = doc.get("conditions")
    conditions: list[Condition] = []
    if not isinstance(conditions_doc, list) or not conditions_doc:
        p.add(f"{path}.conditions", "give at least one condition", "missing" if conditions_doc is None
              else "wrong_type")
    elif len(conditions_doc) > MAX_CONDITIONS:
        p.add(f"{path}.conditions", f"at most {MAX_CONDITIONS} conditions", "too_large")
    else:
        for i, c in enumerate(conditions_doc):
            parsed = _parse_condition(p, c, f"{path}.conditions[{i}]")
            if parsed is not None:
                conditions.append(parsed)
    for_ = p.duration(doc.get("for", 0), f"{path}.for")
    keep = p.duration(doc.get("keep_firing_for", 0), f"{path}.keep_firing_for")
    actions: list[Action] = [NO_ACTION] * len(LEVELS)
    actions_doc = doc.get("actions", {})
    if not isinstance(actions_doc, dict):
        p.add(f"{path}.actions", f"expected an object keyed by level, got {_type(actions_doc)}", "wrong_type")
    else:
        for name, a in actions_doc.items():
            if name not in LEVEL_RANK:
                p.add(f"{path}.actions.{name}", f"unknown level '{name}'; levels are {', '.join(LEVELS)}",
                      "unknown_value")
                continue
            act = _parse_action(p, a, f"{path}.actions.{name}")
            if act is not None:
                actions[LEVEL_RANK[name]] = act
    enabled = doc.get("enabled", True)
    if not isinstance(enabled, bool):
        p.add(f"{path}.enabled", f"expected true or false, got {_type(enabled)}", "wrong_type")
    if p.items:
        return None, p.items
    assert isinstance(code, str) and isinstance(indicator, str) and for_ is not None and keep is not None
    return ThresholdRule(code=code, name=name, indicator=indicator, area=area, conditions=tuple(conditions),
                         for_=for_, keep_firing_for=keep, actions=tuple(actions), enabled=enabled), []


class RuleBook:
    """The enabled rules by indicator; :meth:`rule_for` picks the deepest area override of a series."""

    def __init__(self, rules: Iterable[ThresholdRule]) -> None:
        self._by_indicator: dict[str, list[ThresholdRule]] = {}
        for r in rules:
            if r.enabled:
                self._by_indicator.setdefault(r.indicator, []).append(r)
        for lst in self._by_indicator.values():
            # deepest override first, the default (no area) last
            lst.sort(key=lambda r: -len(r.area_path or ""))
        self._memo: dict[tuple[str, str], ThresholdRule | None] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_indicator.values())

    def indicators(self) -> Iterable[str]:
        return self._by_indicator.keys()

    def all_rules(self) -> Iterable[ThresholdRule]:
        for lst in self._by_indicator.values():
            yield from lst

    def rule_for(self, indicator: str, area_path: str) -> ThresholdRule | None:
        key = (indicator, area_path)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = None
        for r in self._by_indicator.get(indicator, ()):
            if r.area_path is None or area_path.startswith(r.area_path):
                found = r
                break
        self._memo[key] = found
        return found


# --- the state machine ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    change: Change
    at: datetime
    level: int  # NONE when resolved or cleared; the pending level while pending
    previous_level: int


@dataclass(slots=True)
class SeriesState:
    """What one series' evaluation remembers between readings (kept in memory; the stored warning is
    the source of truth for status and level)."""

    status: Status = Status.INACTIVE
    level: int = NONE
    started_at: datetime | None = None
    #: When the latest evaluation happened, and the grading of the latest reading.
    last_at: datetime | None = None
    reading_rank: int = NONE
    last_reading_at: datetime | None = None
    last_value: float | None = None
    #: Per level: start of the current unbroken stretch in which it holds, last time it held, and
    #: whether it became effective in this episode.
    streak_start: list[datetime | None] = field(default_factory=lambda: [None] * len(LEVELS))
    last_held: list[datetime | None] = field(default_factory=lambda: [None] * len(LEVELS))
    reached: list[bool] = field(default_factory=lambda: [False] * len(LEVELS))
    history: deque[tuple[datetime, float]] = field(default_factory=deque)

    def effective_level(self, at: datetime, rule: ThresholdRule) -> int:
        top = NONE
        for rank in range(len(LEVELS)):
            start, held = self.streak_start[rank], self.last_held[rank]
            if start is not None and at - start >= rule.for_:
                self.reached[rank] = True
                top = rank
            elif self.reached[rank] and held is not None and at - held <= rule.keep_firing_for:
                top = rank
            else:
                self.reached[rank] = False
        return top


def step(state: SeriesState, rule: ThresholdRule, at: datetime, rank: int) -> list[Transition]:
    """Evaluate a series at ``at`` when its grading is ``rank`` (NONE = no level holds).

    Times must not go backwards (the caller drops late readings).  Returns the transitions, in order
    (a resolve can be followed at once by the next episode's pending).
    """
    for r in range(len(LEVELS)):
        if rank >= r:
            if state.streak_start[r] is None:
                state.streak_start[r] = at
            state.last_held[r] = at
        else:
            state.streak_start[r] = None
    state.last_at = at
    top = state.effective_level(at, rule)
    out: list[Transition] = []
    if state.status is Status.FIRING:
        if top == NONE:
            out.append(Transition(Change.RESOLVED, at, NONE, state.level))
            state.status, state.level, state.started_at = Status.INACTIVE, NONE, None
            state.reached = [False] * len(LEVELS)
        elif top != state.level:
            out.append(Transition(Change.RAISED if top > state.level else Change.LOWERED, at, top, state.level))
            state.level = top
            return out
        else:
            return out
    if state.status is Status.PENDING:
        if top != NONE:
            out.append(Transition(Change.FIRED, at, top, NONE))
            state.status, state.level = Status.FIRING, top
        elif rank == NONE:
            out.append(Transition(Change.CLEARED, at, NONE, state.level))
            state.status, state.level, state.started_at = Status.INACTIVE, NONE, None
        else:
            state.level = max(state.level, rank)
        return out
    # inactive
    if top != NONE:
        state.started_at = at
        out.append(Transition(Change.FIRED, at, top, NONE))
        state.status, state.level = Status.FIRING, top
    elif rank != NONE:
        state.started_at = at
        out.append(Transition(Change.PENDING, at, rank, NONE))
        state.status, state.level = Status.PENDING, rank
    return out


def observe_reading(state: SeriesState, rule: ThresholdRule, at: datetime, value: float) -> list[Transition]:
    """A new reading of the series.  A reading older than the last evaluation changes nothing
    (it is stored, but warnings follow time forwards)."""
    if state.last_at is not None and at <= state.last_at:
        return []
    hist = state.history
    if rule.max_window:
        horizon = at - rule.max_window
        while hist and hist[0][0] < horizon:
            hist.popleft()
    rank = rule.grade_reading(value, at, hist)
    if rule.max_window:
        hist.append((at, value))
    state.reading_rank = rank
    state.last_reading_at = at
    state.last_value = value
    return step(state, rule, at, rank)


def observe_quiet(state: SeriesState, rule: ThresholdRule, at: datetime, value: float) -> bool:
    """The fast path of :func:`observe_reading` for the common case — a series with no warning and a
    value in the rule's quiet range: remember the reading and say True (nothing can change).  False
    means the caller must take the full path.  The result is the same as :func:`observe_reading`'s
    (a property test checks it)."""
    if (state.status is not Status.INACTIVE or not (rule.quiet_low < value < rule.quiet_high)
            or (state.last_at is not None and at <= state.last_at)):
        return False
    state.last_at = at
    state.reading_rank = NONE
    state.last_reading_at = at
    state.last_value = value
    if state.streak_start[0] is not None:
        state.streak_start = [None] * len(LEVELS)
    return True


def observe_quiet_run(state: SeriesState, rule: ThresholdRule, points: Sequence[tuple[datetime, float]]) -> int:
    """:func:`observe_quiet` over a series' new readings (oldest first) for as long as they stay quiet;
    returns how many it took — the caller takes the full path from there.  The state ends as if
    :func:`observe_quiet` had been called on each of them (only the newest one is remembered)."""
    if state.status is not Status.INACTIVE:
        return 0
    low, high = rule.quiet_low, rule.quiet_high
    last = state.last_at
    taken = 0
    for at, value in points:
        if not (low < value < high) or (last is not None and at <= last):
            break
        last = at
        taken += 1
    if taken:
        at, value = points[taken - 1]
        state.last_at = at
        state.reading_rank = NONE
        state.last_reading_at = at
        state.last_value = value
        if state.streak_start[0] is not None:
            state.streak_start = [None] * len(LEVELS)
    return taken


def observe_tick(state: SeriesState, rule: ThresholdRule, now: datetime) -> list[Transition]:
    """The periodic check: no-data grading, and ``for``/``keep_firing_for`` timers running out."""
    if state.last_at is not None and now <= state.last_at:
        return []
    rank = state.reading_rank
    if state.last_reading_at is not None:
        rank = max(rank, rule.grade_silence(now - state.last_reading_at))
    return step(state, rule, now, rank)


# --- silences and inhibitions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarningFacts:
    """What a matcher sees of a warning."""

    indicator: str
    lineage: tuple[str, ...]
    series_key: str
    area_path: str
    level: int


@dataclass(frozen=True, slots=True)
class Matcher:
    """Empty parts match anything; ``indicators`` match any code of the indicator's lineage
    (sector, runway, sub-runway or the indicator), ``area_path`` a subtree."""

    indicators: frozenset[str] = frozenset()
    series: frozenset[str] = frozenset()
    area: str | None = None
    area_path: str | None = None
    levels: frozenset[int] = frozenset()

    def matches(self, w: WarningFacts) -> bool:
        if self.indicators and not self.indicators.intersection(w.lineage):
            return False
        if self.series and w.series_key not in self.series:
            return False
        if self.area_path is not None and not w.area_path.startswith(self.area_path):
            return False
        return not self.levels or w.level in self.levels

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.indicators:
            doc["indicators"] = sorted(self.indicators)
        if self.series:
            doc["series"] = sorted(self.series)
        if self.area:
            doc["area"] = self.area
        if self.levels:
            doc["levels"] = [LEVELS[r] for r in sorted(self.levels)]
        return doc


MATCHER_KEYS = ("indicators", "series", "area", "levels")


def parse_matcher(doc: object, path: str = "$") -> tuple[Matcher | None, list[RuleProblem]]:
    """``{"indicators": [...], "series": [...], "area": "500111001", "levels": ["blue"]}``."""
    p = _Problems()
    if not isinstance(doc, dict):
        p.add(path, f"expected an object, got {_type(doc)}", "wrong_type")
        return None, p.items
    p.unknown_keys(doc, MATCHER_KEYS, path)
    lists: dict[str, frozenset[str]] = {}
    for key in ("indicators", "series", "levels"):
        raw = doc.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
            p.add(f"{path}.{key}", f"expected a list of codes, got {_type(raw)}", "wrong_type")
            continue
        if len(raw) > 1000:
            p.add(f"{path}.{key}", "at most 1000 entries", "too_large")
            continue
        lists[key] = frozenset(raw)
    for i, name in enumerate(doc.get("levels", []) if isinstance(doc.get("levels"), list) else []):
        if name not in LEVEL_RANK:
            p.add(f"{path}.levels[{i}]", f"unknown level {name!r}; levels are {', '.join(LEVELS)}", "unknown_value")
    area = doc.get("area")
    if area is not None and (not isinstance(area, str) or not _AREA_CODE.match(area)):
        p.add(f"{path}.area", f"an area code has 6, 9, 12 or 15 digits, got {area!r}", "wrong_type")
    if p.items:
        return None, p.items
    return Matcher(indicators=lists.get("indicators", frozenset()), series=lists.get("series", frozenset()),
                   area=area, levels=frozenset(LEVEL_RANK[n] for n in lists.get("levels", frozenset()))), []


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    starts_at: datetime
    ends_at: datetime
    matcher: Matcher

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


SCOPES = ("subtree", "same_area", "any")


@dataclass(frozen=True, slots=True)
class Inhibition:
    """A firing ``source`` warning at ``min_level`` or above suppresses matching ``target`` warnings;
    ``scope`` ties them by place: the target lies in the source's area subtree, in the same area,
    or anywhere (when the series lists already name exactly which dependants)."""

    code: str
    source: Matcher
    target: Matcher
    min_level: int = 0
    scope: str = "subtree"

    def inhibits(self, source: WarningFacts, target: WarningFacts) -> bool:
        if source.level < self.min_level or (source.indicator, source.series_key) == (target.indicator,
                                                                                       target.series_key):
            return False
        if not (self.source.matches(source) and self.target.matches(target)):
            return False
        if self.scope == "subtree":
            return target.area_path.startswith(source.area_path)
        if self.scope == "same_area":
            return target.area_path == source.area_path
        return True


INHIBITION_KEYS = ("code", "name", "source", "target", "min_level", "scope", "enabled")


def parse_inhibition(doc: object, path: str = "$") -> tuple[Inhibition | None, list[RuleProblem]]:
    p = _Problems()
    if not isinstance(doc, dict):
        p.add(path, f"expected an object, got {_type(doc)}", "wrong_type")
        return None, p.items
    p.unknown_keys(doc, INHIBITION_KEYS, path)
    code = doc.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        p.add(f"{path}.code", "a code is 1-40 letters, digits, '_', '.', '-'", "missing" if code is None
              else "wrong_type")
    matchers: dict[str, Matcher] = {}
    for key in ("source", "target"):
        if key not in doc:
            p.add(f"{path}.{key}", f"'{key}' is missing", "missing")
            continue
        m, problems = parse_matcher(doc[key], f"{path}.{key}")
        p.items += problems
        if m is not None:
            if not m.indicators and not m.series:
                p.add(f"{path}.{key}", "name the indicators or the series it applies to", "missing")
            matchers[key] = m
    min_level = doc.get("min_level", "blue")
    if min_level not in LEVEL_RANK:
        p.add(f"{path}.min_level", f"unknown level {min_level!r}; levels are {', '.join(LEVELS)}", "unknown_value")
    scope = doc.get("scope", "subtree")
    if scope not in SCOPES:
        p.add(f"{path}.scope", f"scope must be one of {', '.join(SCOPES)}, got {scope!r}", "unknown_value")
    if p.items:
        return None, p.items
    assert isinstance(code, str)
    return Inhibition(code=code, source=matchers["source"], target=matchers["target"],
                      min_level=LEVEL_RANK[min_level], scope=scope), []


@dataclass(frozen=True, slots=True)
class Suppression:
    kind: str  # silence | inhibition
    ref: str  # silence id, or inhibition code
    by_warning: int | None = None

    def document(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "by_warning": self.by_warning}


def suppression(w: WarningFacts, at: datetime, silences: Iterable[Silence], inhibitions: Iterable[Inhibition],
                firing: Iterable[tuple[int, WarningFacts]]) -> Suppression | None:
    """Why a warning must not notify now (first silence, else first inhibiting warning), or None."""
    for s in silences:
        if s.active(at) and s.matcher.matches(w):
            return Suppression("silence", str(s.id))
    rules = list(inhibitions)
    if rules:
        for warning_id, src in firing:
            for rule in rules:
                if rule.inhibits(src, w):
                    return Suppression("inhibition", rule.code, warning_id)
    return None
