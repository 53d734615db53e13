"""Dispatch rules as data: a condition (:mod:`shuzhi.domain.conditions`) over an event's facts → the
units that get the event.

A rule's **targets** name the lead unit (主办) and any assisting units (协办), either by fixed unit code
or by a selector that is resolved against the event's place:

* ``"D500111-CGJ"`` or ``{"unit": "D500111-CGJ"}`` — that unit;
* ``{"responsible": true, "level": "town"}`` — the unit responsible at that level for the event's
  place: a unit of that level whose duties include the class, else the centre of that level (for
  ``town``: the town centre of the event's town);
* ``{"kind": "grid"}`` (optionally with ``"level"``) — the unit of that kind serving the event's
  place, the smallest first (the grid team of the event's grid).

:func:`decide` tries the enabled rules in order of ``priority`` (smaller first; ties by code), takes
the first whose condition holds and whose lead target resolves, and says which rule matched and
*why* (the leaf conditions that held).  When no rule applies it falls back to the grid principle
(:func:`shuzhi.domain.dispatch.responsible_units`) and says so.  Two rules of the domain are enforced
here as well as at save time:

* "tasks that belong to a department are not pushed down" (职能部门职责任务不得下派): a rule's target
  that lands on a village or grid unit is passed over when a department covering the place holds the
  event's class in its duties and the grassroots unit does not;
* a target that resolves to no unit is passed over (and named in the decision), never guessed.

Nothing here touches a database: units come through the :class:`UnitDirectory` protocol, which the
service implements over the tables and the benchmark over plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

from shuzhi.domain.conditions import (
    AREA_LEVELS,
    GRASSROOTS,
    MAX_CODE_LENGTH,
    UNIT_KINDS,
    EventFacts,
    Explainer,
    Predicate,
    RuleProblem,
    _compile,
    required_values,
    validate_condition,
)
from shuzhi.domain.dispatch import Candidate, responsible_units
from shuzhi.domain.problems import type_name

# --- targets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """Which unit: a fixed ``unit`` code, the ``responsible`` unit at a level, or a unit of a ``kind``."""

    unit: str | None = None
    responsible: bool = False
    kind: str | None = None
    level: str | None = None

    @classmethod
    def parse(cls, raw: object) -> Selector:
        """A validated selector (see :func:`validate_targets`)."""
        if isinstance(raw, str):
            return cls(unit=raw)
        assert isinstance(raw, Mapping)
        return cls(unit=raw.get("unit"), responsible=bool(raw.get("responsible", False)),
                   kind=raw.get("kind"), level=raw.get("level"))

    def lands_on_grassroots(self, default_level: str | None) -> bool:
        """Whether the selector can only pick a village or grid unit (checked for department duties)."""
        level = self.level or default_level
        return (self.kind in GRASSROOTS) or (self.unit is None and level in GRASSROOTS)

    def describe(self) -> str:
        if self.unit is not None:
            return self.unit
        parts = ["responsible"] if self.responsible else []
        parts += [f"{k}={v}" for k, v in (("kind", self.kind), ("level", self.level)) if v]
        return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class Targets:
    lead: Selector
    assist: tuple[Selector, ...] = ()
    #: Units copied for information (抄送知悉): they read it, they do not handle it.
    copy: tuple[Selector, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Targets:
        return cls(Selector.parse(raw["lead"]), tuple(Selector.parse(a) for a in raw.get("assist", [])),
                   tuple(Selector.parse(a) for a in raw.get("copy", [])))


_SELECTOR_KEYS = frozenset({"unit", "responsible", "kind", "level"})


def _check_selector(raw: object, path: str, out: list[RuleProblem]) -> None:
    if isinstance(raw, str):
        if not raw.strip() or len(raw) > MAX_CODE_LENGTH:
            out.append(RuleProblem(path, "a unit code is 1-40 characters", "bad_value"))
        return
    if not isinstance(raw, dict):
        out.append(RuleProblem(path, "expected a unit code or a selector such as {\"kind\": \"grid\"} or "
                                     f"{{\"responsible\": true, \"level\": \"town\"}}, got {type_name(raw)}",
                               "wrong_type"))
        return
    for k in sorted(set(raw) - _SELECTOR_KEYS):
        out.append(RuleProblem(f"{path}.{k}", f"unknown key '{k}'; a selector has "
                                              "'unit', or 'responsible'/'kind' with an optional 'level'",
                               "unknown_key"))
    unit, responsible, kind, level = (raw.get(k) for k in ("unit", "responsible", "kind", "level"))
    if unit is not None:
        if not isinstance(unit, str) or not unit.strip() or len(unit) > MAX_CODE_LENGTH:
            out.append(RuleProblem(f"{path}.unit", "a unit code is a string of 1-40 characters",
                                   "wrong_type"))
        others = [k for k in ("responsible", "kind", "level") if k in raw]
        if others:
            out.append(RuleProblem(f"{path}.{others[0]}", "a fixed unit takes no other selector keys",
                                   "unknown_key"))
        return
    if "responsible" in raw and not isinstance(responsible, bool):
        out.append(RuleProblem(f"{path}.responsible",
                               f"expected true or false, got {type_name(responsible)}", "wrong_type"))
    if kind is not None and kind not in UNIT_KINDS:
        out.append(RuleProblem(f"{path}.kind", f"unknown unit kind {kind!r}; one of: {', '.join(UNIT_KINDS)}",
                               "unknown_value"))
    if level is not None and level not in AREA_LEVELS:
        out.append(RuleProblem(f"{path}.level", f"unknown level {level!r}; one of: {', '.join(AREA_LEVELS)}",
                               "unknown_value"))
    if responsible is not True and kind is None:
        out.append(RuleProblem(path, "name a 'unit', or say {\"responsible\": true} or a 'kind'", "missing"))


def validate_targets(targets: object, *, path: str = "$.targets") -> list[RuleProblem]:
    """Problems of a rule's targets ``{"lead": selector, "assist": [selector, …]}``, with their paths."""
    out: list[RuleProblem] = []
    if not isinstance(targets, dict):
        return [RuleProblem(path, f"expected {{\"lead\": …, \"assist\": [...]}}, got {type_name(targets)}",
                            "wrong_type")]
    for k in sorted(set(targets) - {"lead", "assist", "copy"}):
        out.append(RuleProblem(f"{path}.{k}", f"unknown key '{k}'; targets have 'lead', 'assist' and 'copy'",
                               "unknown_key"))
    if "lead" not in targets:
        out.append(RuleProblem(f"{path}.lead", "a rule needs a lead unit (主办)", "missing"))
    else:
        _check_selector(targets["lead"], f"{path}.lead", out)
    assist = targets.get("assist", [])
    if not isinstance(assist, list):
        out.append(RuleProblem(f"{path}.assist", f"expected a list of selectors, got {type_name(assist)}",
                               "wrong_type"))
    elif len(assist) > 20:
        out.append(RuleProblem(f"{path}.assist", "at most 20 assisting units", "too_large"))
    else:
        for i, a in enumerate(assist):
            _check_selector(a, f"{path}.assist[{i}]", out)
    copy = targets.get("copy", [])
    if not isinstance(copy, list):
        out.append(RuleProblem(f"{path}.copy", f"expected a list of selectors, got {type_name(copy)}",
                               "wrong_type"))
    elif len(copy) > 200:
        out.append(RuleProblem(f"{path}.copy", "at most 200 units copied for information", "too_large"))
    else:
        for i, a in enumerate(copy):
            _check_selector(a, f"{path}.copy[{i}]", out)
    return out


def validate_level(level: object, *, path: str = "$.level") -> list[RuleProblem]:
    if level is None or level in AREA_LEVELS:
        return []
    return [RuleProblem(path, f"unknown level {level!r}; one of: {', '.join(AREA_LEVELS)}", "unknown_value")]


# --- rules and decisions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A stored dispatch rule: when ``condition`` holds, ``targets`` get the event.

    ``priority``: smaller is tried first (1 before 10); ties go by ``code`` so the order is stable.
    ``level``: the level a selector without its own ``level`` looks at (e.g. ``"town"``).
    """

    code: str
    name: str
    priority: int
    condition: Mapping[str, Any]
    targets: Mapping[str, Any]
    level: str | None = None
    enabled: bool = True
    id: int | None = None
    version: int = 1
    #: The area whose events the rule may route (materialised path); ``None`` = everywhere.
    area_path: str | None = None

    def governs(self, area_path: str | None) -> bool:
        """A rule routes only events inside its own area: a town's rule never another town's events."""
        return self.area_path is None or (area_path is not None and area_path.startswith(self.area_path))


class UnitDirectory(Protocol):
    """The units a decision can pick, as :class:`Candidate` rows (one per area a unit covers)."""

    def unit(self, code: str) -> Candidate | None:
        """An active unit by code (its ``coverage_path`` is its own area's path), or None."""

    def duty_holders(self, event_class: str, area_path: str) -> Sequence[Candidate]:
        """Active units whose duties include the class and whose coverage contains the area."""

    def covering(self, area_path: str) -> Sequence[Candidate]:
        """Active units whose coverage contains the area (or that sit in it), one row per coverage."""


@dataclass(frozen=True)
class PassedOver:
    """A rule whose condition held but which could not be applied, and why."""

    rule: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """Where an event goes and why: the rule that matched and the leaves that held, or the fallback."""

    lead: Candidate | None
    assist: tuple[Candidate, ...] = ()
    rule: Rule | None = None
    #: Units the rule copies for information (never the lead or an assisting unit again).
    copy: tuple[Candidate, ...] = ()
    why: tuple[dict[str, Any], ...] = ()
    #: True when no rule applied and the grid principle chose (or nobody could be chosen).
    fallback: bool = False
    message: str = ""
    passed_over: tuple[PassedOver, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The decision as it is written on the event's timeline (JSON)."""
        return {
            "rule": self.rule.code if self.rule else None,
            "rule_name": self.rule.name if self.rule else None,
            "rule_version": self.rule.version if self.rule else None,
            "why": list(self.why),
            **({"copy": [c.code for c in self.copy]} if self.copy else {}),
            "fallback": "grid_principle" if self.fallback else None,
            "message": self.message,
            "passed_over": [{"rule": p.rule, "reason": p.reason} for p in self.passed_over],
        }


class _CompiledRule(NamedTuple):
    rank: int
    rule: Rule
    test: Predicate
    why: Explainer
    targets: Targets


# Fields a rule set is indexed on, most selective first: a rule whose top-level 'and' names one of
# them is tried only for events with a matching value, so 2,000 rules cost a handful of tests.
_INDEX_FIELDS = ("event_class", "area", "major_class", "source", "request_type")


class RuleSet:
    """Enabled rules compiled once and indexed, for deciding many events (see :func:`decide`)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        ordered = sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.code))
        compiled: list[_CompiledRule] = []
        #: Rules that no longer pass validation (e.g. stored before a check was added): skipped, and
        #: named here, rather than stopping every decision.
        self.broken: dict[str, list[RuleProblem]] = {}
        for r in ordered:
            problems = validate_condition(r.condition, path="$.condition") + validate_targets(r.targets)
            problems += validate_level(r.level)
            if problems:
                self.broken[r.code] = problems
                continue
            compiled.append(_CompiledRule(len(compiled), r, *_compile(dict(r.condition)),
                                          Targets.parse(r.targets)))
        self.rules: tuple[_CompiledRule, ...] = tuple(compiled)
        self._index: dict[str, dict[str, list[int]]] = {f: {} for f in _INDEX_FIELDS}
        self._always: list[int] = []
        for cr in self.rules:
            for name in _INDEX_FIELDS:
                values = required_values(cr.rule.condition, name)
                if values is not None:
                    bucket = self._index[name]
                    for v in values:
                        bucket.setdefault(v, []).append(cr.rank)
                    break
            else:
                self._always.append(cr.rank)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, facts: EventFacts) -> list[_CompiledRule]:
        """The rules that could match ``facts``, in priority order (a superset of those that do)."""
        idx = self._index
        ranks: list[int] = list(self._always)
        for name, value in (("event_class", facts.event_class), ("major_class", facts.major_class),
                            ("source", facts.source), ("request_type", facts.request_type)):
            if value is not None:
                ranks.extend(idx[name].get(value, ()))
        for code in facts.area_codes:
            ranks.extend(idx["area"].get(code, ()))
        return [self.rules[i] for i in sorted(set(ranks))]


def resolve(selector: Selector, facts: EventFacts, units: UnitDirectory, default_level: str | None = None
            ) -> Candidate | None:
    """The unit a selector names for this event, or None when there is none."""
    if selector.unit is not None:
        return units.unit(selector.unit)
    path = facts.area_path
    if not path:
        return None
    level = selector.level or default_level
    if selector.responsible:
        if facts.event_class is not None:
            holders = [c for c in units.duty_holders(facts.event_class, path)
                       if (level is None or c.level == level)
                       and (selector.kind is None or c.kind == selector.kind)]
            chosen = responsible_units(holders, path)
            if chosen is not None:
                return chosen
        # Nobody at that level holds the duty: the centre of that level answers for its area.
        centres = [c for c in units.covering(path)
                   if c.kind == "centre" and (level is None or c.level == level)]
        return responsible_units(centres, path)
    pool = [c for c in units.covering(path)
            if c.kind == selector.kind and (level is None or c.level == level)]
    return responsible_units(pool, path)


def _department_duty(facts: EventFacts, unit: Candidate, units: UnitDirectory) -> Candidate | None:
    """A department covering the place that holds the event's class, when ``unit`` (grassroots) does not."""
    if facts.event_class is None or facts.area_path is None:
        return None
    if unit.kind not in GRASSROOTS and unit.level not in GRASSROOTS:
        return None
    holders = units.duty_holders(facts.event_class, facts.area_path)
    if any(h.unit_id == unit.unit_id for h in holders):
        return None
    departments = [h for h in holders if h.kind == "department"]
    return min(departments, key=lambda d: d.code) if departments else None


def _apply(cr: _CompiledRule, facts: EventFacts, units: UnitDirectory) -> tuple[Decision | None, str]:
    rule = cr.rule
    lead = resolve(cr.targets.lead, facts, units, rule.level)
    if lead is None:
        return None, f"its lead {cr.targets.lead.describe()} names no active unit for this place"
    department = _department_duty(facts, lead, units)
    if department is not None:
        return None, (f"class {facts.event_class} belongs to {department.code}'s duties; "
                      f"tasks that belong to a department are not pushed down to {lead.code}")
    assist: list[Candidate] = []
    seen = {lead.unit_id}
    for sel in cr.targets.assist:
        unit = resolve(sel, facts, units, rule.level)
        if unit is not None and unit.unit_id not in seen and _department_duty(facts, unit, units) is None:
            seen.add(unit.unit_id)
            assist.append(unit)
    copy: list[Candidate] = []
    for sel in cr.targets.copy:
        unit = resolve(sel, facts, units, rule.level)
        if unit is not None and unit.unit_id not in seen:
            seen.add(unit.unit_id)
            copy.append(unit)
    why = tuple(cr.why(facts))
    return Decision(lead=lead, assist=tuple(assist), copy=tuple(copy), rule=rule, why=why,
                    message=f"rule {rule.code} ({rule.name}) matched"), ""


def decide(rules: RuleSet | Iterable[Rule], facts: EventFacts, units: UnitDirectory) -> Decision:
    """Where the event goes: the first applicable rule by priority, else the grid principle.

    A rule applies when its condition holds and its lead resolves to a unit that may take the task
    (not a grassroots unit for a class a department holds).  Rules that held but could not apply are
    listed in ``passed_over``.  Without an applicable rule the grid principle picks the unit with the
    class in its duties that serves the smallest area containing the event; if there is none, the
    decision has no lead and the centre dispatches by hand.
    """
    rule_set = rules if isinstance(rules, RuleSet) else RuleSet(rules)
    passed: list[PassedOver] = []
    for cr in rule_set.candidates(facts):
        if not cr.rule.governs(facts.area_path) or not cr.test(facts):
            continue
        decision, reason = _apply(cr, facts, units)
        if decision is not None:
            return replace(decision, passed_over=tuple(passed))
        passed.append(PassedOver(cr.rule.code, reason))
    lead = None
    if facts.event_class is not None and facts.area_path:
        lead = responsible_units(units.duty_holders(facts.event_class, facts.area_path), facts.area_path)
    prefix = "no rule matched" if not passed else "no matching rule could be applied"
    if lead is not None:
        message = f"{prefix}; by the grid principle {lead.code} holds class {facts.event_class} here"
    elif facts.event_class is None:
        message = f"{prefix} and the event has no class yet; the centre dispatches it by hand"
    elif not facts.area_path:
        message = f"{prefix} and the event has no place yet; the centre dispatches it by hand"
    else:
        message = (f"{prefix} and no unit's duties cover class {facts.event_class} here; "
                   "the centre dispatches it by hand")
    return Decision(lead=lead, fallback=True, message=message, passed_over=tuple(passed))


# --- an in-memory directory ----------------------------------------------------------------------


class MemoryDirectory:
    """A :class:`UnitDirectory` over plain rows, for tests and the benchmark.

    ``units`` has one :class:`Candidate` per (unit, covered area); ``duties`` maps a class code to the
    codes of the units holding it.  Lookups walk the area's ancestors (five levels), never all units.
    """

    def __init__(self, units: Iterable[Candidate], duties: Mapping[str, Iterable[str]]) -> None:
        self._by_code: dict[str, Candidate] = {}
        self._rows_of: dict[str, list[Candidate]] = {}
        self._by_path: dict[str, list[Candidate]] = {}
        for c in units:
            self._by_code.setdefault(c.code, c)
            self._rows_of.setdefault(c.code, []).append(c)
            self._by_path.setdefault(c.coverage_path, []).append(c)
        self._duties: dict[str, dict[str, list[Candidate]]] = {}
        for cls, codes in duties.items():
            by_path = self._duties.setdefault(cls, {})
            for code in codes:
                for c in self._rows_of.get(code, ()):
                    by_path.setdefault(c.coverage_path, []).append(c)

    def unit(self, code: str) -> Candidate | None:
        return self._by_code.get(code)

    def duty_holders(self, event_class: str, area_path: str) -> Sequence[Candidate]:
        by_path = self._duties.get(event_class)
        if not by_path:
            return ()
        return [c for prefix in _prefixes(area_path) for c in by_path.get(prefix, ())]

    def covering(self, area_path: str) -> Sequence[Candidate]:
        return [c for prefix in _prefixes(area_path) for c in self._by_path.get(prefix, ())]


def _prefixes(area_path: str) -> list[str]:
    """``/a/b/c/`` → ``["/a/", "/a/b/", "/a/b/c/"]``: the paths of the area and its ancestors."""
    out: list[str] = []
    prefix = "/"
    for code in area_path.strip("/").split("/"):
        if code:
            prefix = f"{prefix}{code}/"
            out.append(prefix)
    return out
