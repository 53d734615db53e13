"""The city's vital signs (城市体征) by sector and runway: a five-colour health state for every node of
the indicator tree (issue #22, 一览无余), decided by a rule that is data.

Colours, least to most severe: **green < blue < yellow < orange < red** (the five-colour map's, 五色图).

An **indicator's** colour is the worst of what its series in the reader's scope show:

- a firing warning of level L → ``warning_colours[L]`` (by default the warning's own colour);
- a series whose reading is out of band but whose warning is still *pending* (the rule's ``for``
  has not run out) → ``pending_colour``;
- for a *real-time* indicator (实时性): the share of its series whose newest reading is older than
  ``stale_after`` × its reporting frequency → the first of ``stale_colours`` whose ``min_share``
  it reaches; no series at all in scope → ``no_data_colour`` (stale data is never silence).

A **sub-runway, runway or sector** takes the most severe colour *c* such that at least
``rollup[c].min_count`` of its children, and at least the share ``rollup[c].min_share`` of them,
are *c* or worse (worst-of with thresholds); else green. The default (``min_count`` 1, ``min_share`` 0
for every colour) is plain worst-of. A node with no indicator in scope has no colour (``None``).

The rule is one JSON document per installation, checked when saved (:func:`parse_rule`, every
problem named by its JSON path)::

    {"warning_colours": {"blue": "blue", "yellow": "yellow", "orange": "orange", "red": "red"},
     "pending_colour": "blue",
     "stale_after": 3,
     "stale_colours": [{"min_share": 0.5, "colour": "orange"}, {"min_share": 0.01, "colour": "yellow"}],
     "no_data_colour": "yellow",
     "rollup": {"red": {"min_count": 1, "min_share": 0}, ...}}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shuzhi.domain.conditions import RuleProblem
from shuzhi.domain.thresholds import LEVELS

#: Least to most severe; the index is the colour's rank.
COLOURS: tuple[str, ...] = ("green", "blue", "yellow", "orange", "red")
RANK: dict[str, int] = {c: i for i, c in enumerate(COLOURS)}
#: Colours a node can be raised to by its children (green is what is left when none holds).
ROLLUP_COLOURS: tuple[str, ...] = ("red", "orange", "yellow", "blue")
MAX_STALE_AFTER = 100.0

DEFAULT_RULE: dict[str, Any] = {
    "warning_colours": {level: level for level in LEVELS},
    "pending_colour": "blue",
    "stale_after": 3,
    "stale_colours": [{"min_share": 0.5, "colour": "orange"}, {"min_share": 0.01, "colour": "yellow"}],
    "no_data_colour": "yellow",
    "rollup": {c: {"min_count": 1, "min_share": 0} for c in ROLLUP_COLOURS},
}
RULE_KEYS = ("warning_colours", "pending_colour", "stale_after", "stale_colours", "no_data_colour", "rollup")


@dataclass(frozen=True, slots=True)
class Threshold:
    min_count: int
    min_share: float


@dataclass(frozen=True, slots=True)
class VitalRule:
    warning_colours: Mapping[str, str]
    pending_colour: str | None
    stale_after: float
    #: ``(min_share, colour)``, the highest share first.
    stale_colours: tuple[tuple[float, str], ...]
    no_data_colour: str | None
    rollup: Mapping[str, Threshold]


@dataclass(frozen=True, slots=True)
class IndicatorFacts:
    """What the database says about one indicator's series in the reader's scope."""

    realtime: bool
    #: Firing warnings by level (``{"orange": 2}``).
    firing: Mapping[str, int] = field(default_factory=dict)
    #: Series out of band whose warning is still pending.
    pending: int = 0
    #: Series with a reading, and how many of those are stale.
    series: int = 0
    stale: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    colour: str
    #: Why, most severe first: ``warning.red``, ``pending``, ``stale``, ``no_data``.
    reasons: tuple[str, ...]


def worse(a: str, b: str) -> str:
    return a if RANK[a] >= RANK[b] else b


def indicator_colour(facts: IndicatorFacts, rule: VitalRule) -> Verdict:
    """The indicator's colour by ``rule`` and the reasons that raised it (none when green)."""
    found: list[tuple[str, str]] = []
    for level, n in facts.firing.items():
        if n > 0 and level in rule.warning_colours:
            found.append((rule.warning_colours[level], f"warning.{level}"))
    if facts.pending > 0 and rule.pending_colour:
        found.append((rule.pending_colour, "pending"))
    if facts.realtime:
        if facts.series == 0:
            if rule.no_data_colour:
                found.append((rule.no_data_colour, "no_data"))
        elif facts.stale > 0:
            share = facts.stale / facts.series
            for min_share, colour in rule.stale_colours:
                if share >= min_share:
                    found.append((colour, "stale"))
                    break
    found = [f for f in found if f[0] != "green"]
    if not found:
        return Verdict("green", ())
    found.sort(key=lambda f: -RANK[f[0]])
    return Verdict(found[0][0], tuple(r for _, r in found))


def rollup_colour(children: Sequence[str | None], rule: VitalRule) -> str | None:
    """A node's colour from its children's (``None`` children have nothing in scope and do not count)."""
    known = [RANK[c] for c in children if c is not None]
    if not known:
        return None
    for colour in ROLLUP_COLOURS:
        t = rule.rollup[colour]
        n = sum(1 for r in known if r >= RANK[colour])
        if n and n >= t.min_count and n / len(known) >= t.min_share:
            return colour
    return "green"


# --- the rule as data --------------------------------------------------------------------------------


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__


def _colour(problems: list[RuleProblem], value: object, path: str, *, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or value not in RANK:
        problems.append(RuleProblem(path, f"expected one of {', '.join(COLOURS)}"
                                          f"{' or null' if nullable else ''}, got {value!r}", "bad_value"))
        return None
    return value


def _share(problems: list[RuleProblem], value: object, path: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        problems.append(RuleProblem(path, f"expected a share between 0 and 1, got {value!r}", "bad_value"))
        return None
    return float(value)


def parse_rule(doc: object) -> tuple[VitalRule | None, list[RuleProblem]]:
    """A rule document → the rule, or None and every problem with its JSON path (``$.rollup.red.min_share``).

    Keys left out take the default's value, so a city overrides only what it means to change."""
    problems: list[RuleProblem] = []
    if not isinstance(doc, dict):
        return None, [RuleProblem("$", f"expected a rule object, got {_kind(doc)}", "wrong_type")]
    for k in sorted(set(doc) - set(RULE_KEYS), key=str):
        problems.append(RuleProblem(f"$.{k}", f"unknown key '{k}'; allowed: {', '.join(RULE_KEYS)}",
                                    "unknown_key"))
    d = {**DEFAULT_RULE, **doc}

    warning_colours: dict[str, str] = {}
    wc = d["warning_colours"]
    if not isinstance(wc, dict):
        problems.append(RuleProblem("$.warning_colours", f"expected an object keyed by warning level, got "
                                                          f"{_kind(wc)}", "wrong_type"))
    else:
        for level, colour in wc.items():
            if level not in LEVELS:
                problems.append(RuleProblem(f"$.warning_colours.{level}", f"unknown warning level '{level}'; "
                                            f"levels are {', '.join(LEVELS)}", "unknown_value"))
                continue
            c = _colour(problems, colour, f"$.warning_colours.{level}")
            if c is not None:
                warning_colours[level] = c
        ranks = [RANK[warning_colours[lv]] for lv in LEVELS if lv in warning_colours]
        if ranks != sorted(ranks):
            problems.append(RuleProblem("$.warning_colours", "a more severe warning level cannot show a milder "
                                                             "colour", "bad_order"))

    pending = _colour(problems, d["pending_colour"], "$.pending_colour", nullable=True)
    no_data = _colour(problems, d["no_data_colour"], "$.no_data_colour", nullable=True)

    after = d["stale_after"]
    stale_after = 0.0
    if isinstance(after, bool) or not isinstance(after, int | float) or not math.isfinite(after) \
            or not 1 <= after <= MAX_STALE_AFTER:
        problems.append(RuleProblem("$.stale_after", "expected a number of reporting intervals between 1 and "
                                                     f"{MAX_STALE_AFTER:g}, got {after!r}", "bad_value"))
    else:
        stale_after = float(after)

    stale: list[tuple[float, str]] = []
    sc = d["stale_colours"]
    if not isinstance(sc, list) or len(sc) > len(COLOURS):
        problems.append(RuleProblem("$.stale_colours", "expected a list of at most five "
                                                       "{\"min_share\", \"colour\"} objects", "wrong_type"))
    else:
        for i, item in enumerate(sc):
            at = f"$.stale_colours[{i}]"
            if not isinstance(item, dict) or set(item) != {"min_share", "colour"}:
                problems.append(RuleProblem(at, "expected {\"min_share\": 0.5, \"colour\": \"orange\"}",
                                            "wrong_type"))
                continue
            share = _share(problems, item["min_share"], f"{at}.min_share")
            colour = _colour(problems, item["colour"], f"{at}.colour")
            if share is not None and share <= 0:
                problems.append(RuleProblem(f"{at}.min_share", "must be above 0 (no stale series is not stale)",
                                            "bad_value"))
            elif share is not None and colour is not None:
                if stale and not (share < stale[-1][0] and RANK[colour] <= RANK[stale[-1][1]]):
                    problems.append(RuleProblem(at, "list the shares from the highest down, each with a colour "
                                                    "no more severe than the one before", "bad_order"))
                stale.append((share, colour))

    rollup: dict[str, Threshold] = {}
    ru = d["rollup"]
    if not isinstance(ru, dict):
        problems.append(RuleProblem("$.rollup", f"expected an object keyed by colour, got {_kind(ru)}",
                                    "wrong_type"))
    else:
        for colour in ru:
            if colour not in ROLLUP_COLOURS:
                problems.append(RuleProblem(f"$.rollup.{colour}", f"unknown colour '{colour}'; a node is raised "
                                            f"to {', '.join(ROLLUP_COLOURS)}", "unknown_value"))
        for colour in ROLLUP_COLOURS:
            t = ru.get(colour, {"min_count": 1, "min_share": 0})
            at = f"$.rollup.{colour}"
            if not isinstance(t, dict) or not set(t) <= {"min_count", "min_share"}:
                problems.append(RuleProblem(at, "expected {\"min_count\": 1, \"min_share\": 0}", "wrong_type"))
                continue
            count = t.get("min_count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10000:
                problems.append(RuleProblem(f"{at}.min_count", f"expected a whole number from 1 to 10000, got "
                                                               f"{count!r}", "bad_value"))
                continue
            share = _share(problems, t.get("min_share", 0), f"{at}.min_share")
            if share is not None:
                rollup[colour] = Threshold(count, share)
    if problems:
        return None, problems
    return VitalRule(warning_colours=warning_colours, pending_colour=pending, stale_after=stale_after,
                     stale_colours=tuple(stale), no_data_colour=no_data, rollup=rollup), []


def default_rule() -> VitalRule:
    rule, problems = parse_rule(DEFAULT_RULE)
    assert rule is not None, problems
    return rule
