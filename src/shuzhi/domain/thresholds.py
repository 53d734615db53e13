"""Graded threshold rules (预警阈值规则), as plain data.

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

The life of a warning is :mod:`shuzhi.domain.warning_life`; silences and inhibitions are
:mod:`shuzhi.domain.silences`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from shuzhi.domain.conditions import RuleProblem
from shuzhi.domain.problems import type_name

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
    #: Units the new notify-only event is copied to at once (抄送知悉; notify mode only).
    copy: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"mode": self.mode}
        if self.event_class:
            doc["event_class"] = self.event_class
        if self.urgency:
            doc["urgency"] = self.urgency
        if self.dispatch:
            doc["dispatch"] = True
        if self.copy:
            doc["copy"] = list(self.copy)
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
        p.add(path, f"expected a number, got {type_name(value)}", "wrong_type")
        return None
    if not math.isfinite(value):
        p.add(path, "expected a finite number", "bad_value")
        return None
    return float(value)


def _parse_condition(p: _Problems, doc: object, path: str) -> Condition | None:
    if not isinstance(doc, dict):
        p.add(path, f"expected an object with 'kind' and 'levels', got {type_name(doc)}", "wrong_type")
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
                p.add(at, f"a band is [low, high], got {type_name(raw)}", "wrong_type")
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
              f"{type_name(doc)}", "wrong_type")
        return None
    p.unknown_keys(doc, ("mode", "event_class", "urgency", "dispatch", "copy"), path)
    mode = doc.get("mode")
    if mode not in MODES:
        p.add(f"{path}.mode", f"mode must be one of {', '.join(MODES)}, got {mode!r}",
              "missing" if mode is None else "unknown_value")
        return None
    cls = doc.get("event_class")
    if cls is not None and (not isinstance(cls, str) or not cls.strip() or len(cls) > 20):
        p.add(f"{path}.event_class", f"expected an event class code, got {type_name(cls)}", "wrong_type")
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
        p.add(f"{path}.dispatch", f"expected true or false, got {type_name(dispatch)}", "wrong_type")
        return None
    if dispatch and mode != "handle":
        p.add(f"{path}.dispatch", "only a 'handle' action dispatches", "bad_value")
        return None
    copy = doc.get("copy", [])
    if not isinstance(copy, list) or not all(isinstance(u, str) and u.strip() and len(u) <= 40 for u in copy):
        p.add(f"{path}.copy", f"expected a list of unit codes, got {type_name(copy)}", "wrong_type")
        return None
    if copy and mode != "notify":
        p.add(f"{path}.copy", "only a 'notify' action copies units", "bad_value")
        return None
    if len(copy) > 200 or len(set(copy)) != len(copy):
        p.add(f"{path}.copy", "at most 200 units, each named once", "bad_value")
        return None
    return Action(mode=mode, event_class=cls, urgency=urgency, dispatch=dispatch, copy=tuple(copy))


RULE_KEYS = ("code", "name", "indicator", "area", "conditions", "for", "keep_firing_for", "actions", "enabled")


def parse_rule(doc: object, path: str = "$") -> tuple[ThresholdRule | None, list[RuleProblem]]:
    """A rule document → the rule, or None and every problem with its JSON path (``$.conditions[1].levels.red``)."""
    p = _Problems()
    if not isinstance(doc, dict):
        p.add(path, f"expected a rule object, got {type_name(doc)}", "wrong_type")
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
        p.add(f"{path}.actions", f"expected an object keyed by level, got {type_name(actions_doc)}", "wrong_type")
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
        p.add(f"{path}.enabled", f"expected true or false, got {type_name(enabled)}", "wrong_type")
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
