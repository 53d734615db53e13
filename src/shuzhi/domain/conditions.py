"""The condition language of dispatch rules: a condition over an event's facts, checked and compiled.

A rule is stored as JSON so that a centre can write, import and export it without a programmer
(style: netbox's condition sets).  Its **condition** is a small tree::

    {"and": [{"field": "event_class", "op": "in", "value": ["0101", "0102"]},
             {"field": "area", "op": "within", "value": "500111001"},
             {"not": {"field": "text", "op": "contains_any", "value": ["咨询"]}}]}

with ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": {...}}`` and leaves
``{"field": …, "op": …, "value": …}``.  Each field has a type and each type a fixed set of operators
(:data:`FIELDS`); :func:`validate_condition` checks all of it when a rule is *saved* and names every
problem by its JSON path (``$.and[2].value``), so that evaluation never meets a bad rule.

Nothing here touches a database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import re2

from shuzhi.domain.problems import type_name
from shuzhi.domain.time_limits import Urgency

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Where an event came from; the same values as ``services.commands.Source`` (a test keeps them equal).
SOURCES = (
    "hotline",
    "citizen_platform",
    "grid_patrol",
    "sensor_warning",
    "online_app",
    "legacy_system",
    "duty_officer",
    "upper_centre",
)
REQUEST_TYPES = ("consult", "complain", "help", "suggest", "report")
#: Least to most urgent: ``gte``/``lte`` compare in this order, not alphabetically.
URGENCIES = tuple(u.value for u in Urgency)
URGENCY_RANK = {u: i for i, u in enumerate(URGENCIES)}
AREA_LEVELS = ("city", "district", "town", "village", "grid")
UNIT_KINDS = ("centre", "department", "village", "grid")
#: Levels and kinds below the town: "grassroots" units that department tasks may not be pushed down to.
GRASSROOTS = frozenset({"village", "grid"})

# Bounds that keep a single rule cheap to evaluate and to show: a rule is read by people.
MAX_DEPTH = 12
MAX_NODES = 300
MAX_LIST = 2000
MAX_WORDS = 100
MAX_WORD_LENGTH = 50
MAX_REGEX_LENGTH = 200
MAX_CODE_LENGTH = 40

_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_AREA_CODE = re.compile(r"^[0-9]{6}(?:[0-9]{3}){0,3}$")
# Rules' regular expressions run in RE2 (google-re2): matching time is linear in the text whatever
# the pattern, so ``(a|aa)+$`` or ``(\w+\s?)+$`` cannot stall a dispatcher (Python's ``re`` backtracks
# exponentially on them and has no timeout). RE2 refuses what needs backtracking (back-references,
# look-arounds); such a pattern is refused when the rule is saved.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def compile_pattern(pattern: str) -> Any:
    """The rule's pattern compiled by RE2 (``re2.error`` when RE2 cannot run it)."""
    return re2.compile(pattern, _RE2_OPTIONS)


class FieldSpec(NamedTuple):
    """A field a condition can test: its value type and the operators allowed on it."""

    type: str  # code | enum | ordered | area | text | time | weekday | bool
    ops: tuple[str, ...]
    choices: tuple[str, ...] = ()


FIELDS: dict[str, FieldSpec] = {
    "event_class": FieldSpec("code", ("eq", "in")),
    "major_class": FieldSpec("code", ("eq", "in")),
    "source": FieldSpec("enum", ("eq", "in"), SOURCES),
    "request_type": FieldSpec("enum", ("eq", "in"), REQUEST_TYPES),
    "urgency": FieldSpec("ordered", ("eq", "in", "gte", "lte"), URGENCIES),
    "area": FieldSpec("area", ("within",)),
    "area_level": FieldSpec("enum", ("eq", "in"), AREA_LEVELS),
    "text": FieldSpec("text", ("contains_any", "contains_all", "regex")),
    "time_of_day": FieldSpec("time", ("between",)),
    "weekday": FieldSpec("weekday", ("in",)),
    "is_working_time": FieldSpec("bool", ("eq",)),
}
_BRANCHES = ("and", "or", "not")
_LEAF_KEYS = frozenset({"field", "op", "value"})


# --- facts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What a rule can see of an event.  Missing facts (no class, no place) make a leaf false.

    ``received_at`` gives the local (Asia/Shanghai) time of day and ISO weekday (1 = Monday);
    ``is_working_time`` comes from the working calendar, which the service consults.
    """

    event_class: str | None = None
    major_class: str | None = None
    source: str | None = None
    request_type: str | None = None
    urgency: str | None = None
    #: Materialised path of the event's area (``/500000/500111/500111001/…/``).
    area_path: str | None = None
    area_level: str | None = None
    title: str = ""
    description: str = ""
    received_at: datetime | None = None
    is_working_time: bool | None = None
    # derived once, so that each of thousands of rules reads a ready value
    text: str = field(init=False)
    folded_text: str = field(init=False)
    area_codes: frozenset[str] = field(init=False)
    urgency_rank: int = field(init=False)
    minute_of_day: int | None = field(init=False)
    weekday: int | None = field(init=False)

    def __post_init__(self) -> None:
        text = f"{self.title}\n{self.description}"
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "folded_text", text.casefold())
        codes = frozenset(c for c in (self.area_path or "").split("/") if c)
        object.__setattr__(self, "area_codes", codes)
        object.__setattr__(self, "urgency_rank", URGENCY_RANK.get(self.urgency or "", -1))
        if self.received_at is not None and self.received_at.tzinfo is not None:
            local = self.received_at.astimezone(SHANGHAI)
            object.__setattr__(self, "minute_of_day", local.hour * 60 + local.minute)
            object.__setattr__(self, "weekday", local.isoweekday())
        else:
            object.__setattr__(self, "minute_of_day", None)
            object.__setattr__(self, "weekday", None)


# --- validation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule: where (a JSON path such as ``$.and[2].value``) and what."""

    path: str
    message: str
    code: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "code": self.code}


@dataclass(frozen=True)
class Vocabulary:
    """Codes that exist, when the caller knows them; ``None`` leaves that kind of code unchecked."""

    event_classes: Collection[str] | None = None
    major_classes: Collection[str] | None = None
    areas: Collection[str] | None = None


class _Checker:
    def __init__(self, vocabulary: Vocabulary | None) -> None:
        self.vocabulary = vocabulary or Vocabulary()
        self.problems: list[RuleProblem] = []
        self.nodes = 0

    def add(self, path: str, message: str, code: str) -> None:
        self.problems.append(RuleProblem(path, message, code))

    def node(self, node: object, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes == MAX_NODES + 1:
            self.add(path, f"a condition may have at most {MAX_NODES} nodes", "too_large")
        if self.nodes > MAX_NODES:
            return
        if depth > MAX_DEPTH:
            self.add(path, f"conditions may nest at most {MAX_DEPTH} levels deep", "too_deep")
            return
        if not isinstance(node, dict):
            self.add(path, f"expected an object ({{\"and\": …}}, {{\"or\": …}}, {{\"not\": …}} or a "
                           f"{{\"field\", \"op\", \"value\"}} leaf), got {type_name(node)}", "wrong_type")
            return
        if not node:
            self.add(path, "an empty condition; give a leaf {\"field\", \"op\", \"value\"} or "
                           "'and', 'or', 'not'", "empty")
            return
        branches = [k for k in _BRANCHES if k in node]
        if branches:
            if len(node) != 1:
                extra = sorted(k for k in node if k != branches[0])
                self.add(f"{path}.{extra[0]}", f"'{branches[0]}' must stand alone in its object; "
                         f"unexpected key '{extra[0]}'", "unknown_key")
                return
            key = branches[0]
            child = node[key]
            if key == "not":
                self.node(child, f"{path}.not", depth + 1)
                return
            if not isinstance(child, list):
                self.add(f"{path}.{key}", f"'{key}' takes a list of conditions, got {type_name(child)}",
                         "wrong_type")
                return
            if not child:
                self.add(f"{path}.{key}", f"an empty '{key}' means nothing; give at least one condition",
                         "empty")
                return
            for i, c in enumerate(child):
                self.node(c, f"{path}.{key}[{i}]", depth + 1)
            return
        self.leaf(node, path)

    def leaf(self, node: dict[str, Any], path: str) -> None:
        unknown = sorted(set(node) - _LEAF_KEYS)
        for k in unknown:
            self.add(f"{path}.{k}", f"unknown key '{k}': a leaf has 'field', 'op' and 'value' "
                                    "(or use 'and', 'or', 'not')", "unknown_key")
        missing = [k for k in ("field", "op", "value") if k not in node]
        for k in missing:
            self.add(f"{path}.{k}", f"'{k}' is missing", "missing")
        if unknown or missing:
            return
        name, op, value = node["field"], node["op"], node["value"]
        if not isinstance(name, str) or name not in FIELDS:
            self.add(f"{path}.field", f"unknown field {name!r}; known fields: {', '.join(FIELDS)}",
                     "unknown_field")
            return
        spec = FIELDS[name]
        if not isinstance(op, str) or op not in spec.ops:
            self.add(f"{path}.op", f"operator {op!r} is not allowed on '{name}' ({spec.type}); "
                                   f"use one of: {', '.join(spec.ops)}", "op_not_allowed")
            return
        self.value(name, spec, op, value, f"{path}.value")

    # values, by field type ---------------------------------------------------------------------

    def _list(self, value: object, path: str, what: str, limit: int = MAX_LIST) -> list[Any] | None:
        if not isinstance(value, list):
            self.add(path, f"expected a list of {what}, got {type_name(value)}", "wrong_type")
            return None
        if not value:
            self.add(path, f"the list of {what} is empty", "empty")
            return None
        if len(value) > limit:
            self.add(path, f"at most {limit} {what}", "too_large")
            return None
        return value

    def _one_or_list(self, op: str, value: object, path: str, what: str,
                     check: Callable[[object, str], None]) -> None:
        if op == "in" or (op == "within" and isinstance(value, list)):
            items = self._list(value, path, what)
            for i, item in enumerate(items or []):
                check(item, f"{path}[{i}]")
        else:
            check(value, path)

    def value(self, name: str, spec: FieldSpec, op: str, value: object, path: str) -> None:
        if spec.type == "code":
            known = self.vocabulary.event_classes if name == "event_class" else self.vocabulary.major_classes
            self._one_or_list(op, value, path, "codes", lambda v, p: self._code(v, p, known, name))
        elif spec.type in ("enum", "ordered"):
            self._one_or_list(op, value, path, "values", lambda v, p: self._choice(v, p, spec.choices, name))
        elif spec.type == "area":
            self._one_or_list(op, value, path, "area codes", self._area)
        elif spec.type == "text":
            self._text(op, value, path)
        elif spec.type == "time":
            self._time(value, path)
        elif spec.type == "weekday":
            items = self._list(value, path, "weekdays", 7)
            for i, d in enumerate(items or []):
                if isinstance(d, bool) or not isinstance(d, int):
                    self.add(f"{path}[{i}]", f"a weekday is a whole number 1-7, got {type_name(d)}",
                             "wrong_type")
                elif not 1 <= d <= 7:
                    self.add(f"{path}[{i}]", f"a weekday is 1 (Monday) to 7 (Sunday), got {d}",
                             "unknown_value")
        elif spec.type == "bool" and not isinstance(value, bool):
            self.add(path, f"expected true or false, got {type_name(value)}", "wrong_type")

    def _code(self, v: object, path: str, known: Collection[str] | None, name: str) -> None:
        if not isinstance(v, str) or not v.strip():
            self.add(path, f"expected a code (a non-empty string), got {type_name(v)}", "wrong_type")
        elif len(v) > MAX_CODE_LENGTH:
            self.add(path, f"a code has at most {MAX_CODE_LENGTH} characters", "bad_value")
        elif known is not None and v not in known:
            what = "event class" if name == "event_class" else "major class"
            self.add(path, f"unknown {what} '{v}'", "unknown_value")

    def _choice(self, v: object, path: str, choices: tuple[str, ...], name: str) -> None:
        if not isinstance(v, str):
            self.add(path, f"expected a string, got {type_name(v)}", "wrong_type")
        elif v not in choices:
            self.add(path, f"unknown {name} {v!r}; one of: {', '.join(choices)}", "unknown_value")

    def _area(self, v: object, path: str) -> None:
        if not isinstance(v, str):
            self.add(path, f"expected an area code (a string), got {type_name(v)}", "wrong_type")
        elif not _AREA_CODE.match(v):
            self.add(path, f"'{v}' is not an area code (6, 9, 12 or 15 digits)", "bad_value")
        elif self.vocabulary.areas is not None and v not in self.vocabulary.areas:
            self.add(path, f"unknown area '{v}'", "unknown_value")

    def _text(self, op: str, value: object, path: str) -> None:
        if op == "regex":
            if not isinstance(value, str):
                self.add(path, f"expected a regular expression (a string), got {type_name(value)}",
                         "wrong_type")
            elif not value:
                self.add(path, "the regular expression is empty", "empty")
            elif len(value) > MAX_REGEX_LENGTH:
                self.add(path, f"a regular expression has at most {MAX_REGEX_LENGTH} characters", "bad_regex")
            else:
                try:
                    compile_pattern(value)
                except re2.error as exc:
                    reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
                    self.add(path, f"not a regular expression this system runs (RE2 syntax: no back-references "
                                   f"or look-arounds): {reason}", "bad_regex")
            return
        words = self._list(value, path, "words", MAX_WORDS)
        for i, w in enumerate(words or []):
            if not isinstance(w, str):
                self.add(f"{path}[{i}]", f"expected a word (a string), got {type_name(w)}", "wrong_type")
            elif not w.strip():
                self.add(f"{path}[{i}]", "an empty word matches everything", "empty")
            elif len(w) > MAX_WORD_LENGTH:
                self.add(f"{path}[{i}]", f"a word has at most {MAX_WORD_LENGTH} characters", "bad_value")

    def _time(self, value: object, path: str) -> None:
        if not isinstance(value, list) or len(value) != 2:
            self.add(path, f"expected [\"HH:MM\", \"HH:MM\"] (start, end), got {type_name(value)}"
                     + (f" of {len(value)}" if isinstance(value, list) else ""), "wrong_type")
            return
        for i, t in enumerate(value):
            if not isinstance(t, str):
                self.add(f"{path}[{i}]", f"expected a time \"HH:MM\", got {type_name(t)}", "wrong_type")
            elif not _TIME.match(t):
                self.add(f"{path}[{i}]", f"'{t}' is not a time of day HH:MM (00:00-23:59)", "bad_time")
        if all(isinstance(t, str) and _TIME.match(t) for t in value) and value[0] == value[1]:
            self.add(path, "start and end are the same time; the range would be empty", "bad_time")


def validate_condition(tree: object, *, path: str = "$", vocabulary: Vocabulary | None = None
                       ) -> list[RuleProblem]:
    """Every problem of a condition tree, each with its JSON path; an empty list means it is valid.

    Checked: the shape of every node, unknown fields, operators not allowed on a field's type,
    value types, empty ``and``/``or`` and lists, unknown enum values (and unknown codes when a
    :class:`Vocabulary` is given), regular expressions (compiled, at most 200 characters, no nested
    repetition) and times of day.
    """
    checker = _Checker(vocabulary)
    checker.node(tree, path, 0)
    return checker.problems


class InvalidRule(ValueError):
    """A condition or targets that :func:`validate_condition` / :func:`validate_targets` refused."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(f"{first.path}: {first.message}")


# --- compiling and evaluating --------------------------------------------------------------------

Predicate = Callable[[EventFacts], bool]
Explainer = Callable[[EventFacts], list[dict[str, Any]]]


class Compiled(NamedTuple):
    """A condition turned into a fast test, with an explanation of which leaves held."""

    test: Predicate
    why: Explainer


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _leaf_test(name: str, op: str, value: Any) -> Predicate:
    # Each branch closes over ready-made sets, ranks and patterns: a rule is compiled once per
    # version of the rule set and then tested against every incoming event.
    if name in ("event_class", "major_class", "source", "request_type", "area_level"):
        attr = name
        if op == "eq":
            return lambda f: getattr(f, attr) == value
        allowed = frozenset(value)
        return lambda f: getattr(f, attr) in allowed
    if name == "urgency":
        if op == "eq":
            return lambda f: f.urgency == value
        if op == "in":
            urgencies = frozenset(value)
            return lambda f: f.urgency in urgencies
        rank = URGENCY_RANK[value]
        if op == "gte":
            return lambda f: f.urgency_rank >= rank
        return lambda f: 0 <= f.urgency_rank <= rank
    if name == "area":
        codes = frozenset(_as_list(value))
        return lambda f: not codes.isdisjoint(f.area_codes)
    if name == "text":
        if op == "regex":
            pattern = compile_pattern(value)
            return lambda f: pattern.search(f.text) is not None
        words = tuple(w.casefold() for w in value)
        if op == "contains_any":
            return lambda f: any(w in f.folded_text for w in words)
        return lambda f: all(w in f.folded_text for w in words)
    if name == "time_of_day":
        start, end = _minutes(value[0]), _minutes(value[1])
        if start < end:
            return lambda f: f.minute_of_day is not None and start <= f.minute_of_day < end
        # crosses midnight: 22:00-06:00 is 22:00..23:59 and 00:00..05:59
        return lambda f: f.minute_of_day is not None and (f.minute_of_day >= start or f.minute_of_day < end)
    if name == "weekday":
        days = frozenset(value)
        return lambda f: f.weekday in days
    if name == "is_working_time":
        wanted = bool(value)
        return lambda f: f.is_working_time is wanted
    raise AssertionError(f"no test for field {name}")  # unreachable after validation


def _compile(node: dict[str, Any]) -> Compiled:
    if "and" in node:
        parts = [_compile(c) for c in node["and"]]
        tests = tuple(p.test for p in parts)

        def and_test(f: EventFacts) -> bool:
            return all(t(f) for t in tests)

        def and_why(f: EventFacts) -> list[dict[str, Any]]:
            return [leaf for p in parts for leaf in p.why(f)]

        return Compiled(and_test, and_why)
    if "or" in node:
        parts = [_compile(c) for c in node["or"]]
        tests = tuple(p.test for p in parts)

        def or_test(f: EventFacts) -> bool:
            return any(t(f) for t in tests)

        def or_why(f: EventFacts) -> list[dict[str, Any]]:
            # the first alternative that held is the reason, as a reader would check them in order
            for p in parts:
                if p.test(f):
                    return p.why(f)
            return []

        return Compiled(or_test, or_why)
    if "not" in node:
        inner = _compile(node["not"])
        negated = node["not"]
        return Compiled(lambda f: not inner.test(f), lambda f: [{"not": negated}])
    leaf = {"field": node["field"], "op": node["op"], "value": node["value"]}
    return Compiled(_leaf_test(node["field"], node["op"], node["value"]), lambda f: [leaf])


def compile_condition(tree: object) -> Compiled:
    """Compile a condition after validating it; :class:`InvalidRule` if it is not valid."""
    problems = validate_condition(tree)
    if problems:
        raise InvalidRule(problems)
    assert isinstance(tree, dict)
    return _compile(tree)


def evaluate(tree: object, facts: EventFacts) -> bool:
    """Whether the condition holds for the event (a missing fact makes its leaves false)."""
    return compile_condition(tree).test(facts)


def explain(tree: object, facts: EventFacts) -> list[dict[str, Any]]:
    """The leaf conditions that made ``tree`` hold (a held ``not`` is given whole), or [] if it does not."""
    compiled = compile_condition(tree)
    return compiled.why(facts) if compiled.test(facts) else []


def top_conjuncts(tree: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The leaves that every match must satisfy: the root leaf, or the leaves directly under a root 'and'."""
    if "field" in tree:
        return [tree]
    if "and" in tree:
        return [c for c in tree["and"] if isinstance(c, Mapping) and "field" in c]
    return []


def required_values(tree: Mapping[str, Any], name: str) -> frozenset[str] | None:
    """The values of ``name`` (``event_class``, ``major_class`` …) a match is limited to, or None if any."""
    found: frozenset[str] | None = None
    for leaf in top_conjuncts(tree):
        if leaf["field"] == name and leaf["op"] in ("eq", "in", "within"):
            values = frozenset(_as_list(leaf["value"]))
            found = values if found is None else found & values
    return found
