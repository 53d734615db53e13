"""Contingency plan templates (预案): triggers, tasks with roles, deadlines and dependencies.

A template is a JSON document (imported and exported as JSON or XLSX) checked here before it is
stored, so that activation never meets a bad one.  Every problem is reported at once, with the JSON
path of the place it comes from (``$.tasks[2].role``), like the dispatch rules (:mod:`shuzhi.domain.rules`).

Document::

    {"code": "flood", "name": "暴雨洪涝应急预案", "description": "…",
     "trigger": {"kind": "warning", "indicators": ["water.level"], "at_least": "orange"},
     "confirmation": "auto",            # auto: start at once; propose: ask the duty officer first
     "event": {"class": "1407", "urgency": "critical", "title": "…"},  # for events created for a run
     "accept_within": "0.5h",           # default time to sign for a task
     "tasks": [{"key": "close-roads", "title": "…", "role": "town_centre", "instruction": "…",
                "deadline": "2h", "after": ["warn-public"], "checklist": ["…"], "order": 10,
                "part": "lead"}]}

Roles resolve per affected area (domain brief §1, five levels: city → district → town → village → grid):

* ``town_centre`` — the centre of each affected town (every town of an affected district);
* ``district_centre`` — the district centre over each affected area;
* ``village_units`` — the village/community committees in (or over) each affected area;
* ``grid_units`` (alias ``grid_workers``) — the grid teams of the affected grids;
* ``unit:<code>`` — one named unit, e.g. ``unit:D500111-SLJ`` (the district 水利局), once per run.

Dependencies (``after``) are checked for unknown keys and cycles; a cycle is reported with its path
(``a → b → c → a``).  At run time a task waits for the instances of its predecessors in the same
branch of the area tree (see :func:`related`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from shuzhi.domain.time_limits import TimeLimit, Urgency

T = TypeVar("T")

WARNING_LEVELS = ("blue", "yellow", "orange", "red")
WARNING_LEVEL_LABELS = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
AREA_ROLES = ("town_centre", "district_centre", "village_units", "grid_units")
ROLE_ALIASES = {"grid_workers": "grid_units"}
ROLE_LABELS = {"town_centre": "受影响镇街治理中心", "district_centre": "区县治理中心",
               "village_units": "受影响村（社区）", "grid_units": "受影响网格"}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
#: Indicator (and sector/runway) codes: the indicator tree is not part of this module; a code must
#: at least look like one (letters, digits, ``. _ -``, up to 60 characters).
INDICATOR_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,59}$")
MAX_TASKS = 500
_TOP_KEYS = {"code", "name", "description", "trigger", "confirmation", "event", "accept_within", "tasks"}
_TASK_KEYS = {"key", "title", "role", "instruction", "deadline", "accept_within", "after", "checklist", "order",
              "part"}


class TriggerKind(StrEnum):
    MANUAL = "manual"  # 手动启动
    WARNING = "warning"  # 预警触发
    EVENT_CLASS = "event_class"  # 事件类别与紧急程度触发


class Confirmation(StrEnum):
    AUTO = "auto"  # 自动启动
    PROPOSE = "propose"  # 提请值班员确认


def level_rank(level: str) -> int:
    """0 for blue … 3 for red (GB four-level colour scale: blue IV < yellow III < orange II < red I)."""
    return WARNING_LEVELS.index(level)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "code": self.code}


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    indicators: tuple[str, ...] = ()
    at_least_level: str | None = None
    classes: tuple[str, ...] = ()
    at_least_urgency: Urgency | None = None

    def matches_warning(self, lineage: Iterable[str], level: str | None) -> bool:
        """A warning at ``level`` of an indicator whose lineage (sector … indicator) names one of ours."""
        if self.kind is not TriggerKind.WARNING or level is None or level not in WARNING_LEVELS:
            return False
        assert self.at_least_level is not None
        return level_rank(level) >= level_rank(self.at_least_level) and bool(set(lineage) & set(self.indicators))

    def matches_event(self, event_class: str | None, urgency: str) -> bool:
        if self.kind is not TriggerKind.EVENT_CLASS or event_class is None:
            return False
        assert self.at_least_urgency is not None
        return event_class in self.classes and Urgency(urgency) >= self.at_least_urgency


@dataclass(frozen=True)
class Role:
    kind: str  # one of AREA_ROLES, or "unit"
    unit: str | None = None

    @classmethod
    def parse(cls, text: str) -> Role:
        text = ROLE_ALIASES.get(text, text)
        if text.startswith("unit:"):
            return cls("unit", text[5:])
        return cls(text)

    def __str__(self) -> str:
        return f"unit:{self.unit}" if self.kind == "unit" else self.kind

    @property
    def label(self) -> str:
        return (self.unit or "") if self.kind == "unit" else ROLE_LABELS[self.kind]


@dataclass(frozen=True)
class PlanTask:
    key: str
    title: str
    role: Role
    instruction: str
    deadline: TimeLimit
    accept_within: TimeLimit | None
    after: tuple[str, ...]
    checklist: tuple[str, ...]
    order: int
    part: str  # lead (主办) | assist (协办)


@dataclass(frozen=True)
class EventTemplate:
    event_class: str | None
    urgency: Urgency
    title: str | None


@dataclass(frozen=True)
class PlanTemplate:
    code: str
    name: str
    description: str
    trigger: Trigger
    confirmation: Confirmation
    event: EventTemplate
    tasks: tuple[PlanTask, ...]
    document: Mapping[str, Any] = field(compare=False, repr=False, default_factory=dict)

    def task(self, key: str) -> PlanTask:
        return next(t for t in self.tasks if t.key == key)


@dataclass(frozen=True)
class Vocabulary:
    """What exists in the database, for the references a template makes (None = do not check)."""

    event_classes: frozenset[str] | None = None
    units: frozenset[str] | None = None
    indicators: frozenset[str] | None = None


class InvalidTemplate(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{first.path}: {first.message}{more}")


def referenced(doc: Any) -> tuple[set[str], set[str], set[str]]:
    """Event classes, unit codes and indicator codes a (possibly invalid) document names, so the
    caller can look up only those."""
    classes: set[str] = set()
    units: set[str] = set()
    indicators: set[str] = set()
    if not isinstance(doc, Mapping):
        return classes, units, indicators
    trig = doc.get("trigger")
    if isinstance(trig, Mapping):
        for name, into in (("classes", classes), ("indicators", indicators)):
            values = trig.get(name)
            if isinstance(values, list):
                into.update(v for v in values if isinstance(v, str))
    ev = doc.get("event")
    if isinstance(ev, Mapping) and isinstance(ev.get("class"), str):
        classes.add(ev["class"])
    tasks = doc.get("tasks")
    if isinstance(tasks, list):
        for t in tasks:
            if isinstance(t, Mapping) and isinstance(t.get("role"), str) and t["role"].startswith("unit:"):
                units.add(t["role"][5:])
    return classes, units, indicators


def _text(doc: Mapping[str, Any], key: str, path: str, problems: list[Problem], *, required: bool = True,
          max_len: int = 200) -> str:
    value = doc.get(key)
    if value is None or value == "":
        if required:
            problems.append(Problem(f"{path}.{key}", f"'{key}' is required", "required"))
        return ""
    if not isinstance(value, str):
        problems.append(Problem(f"{path}.{key}", f"'{key}' must be text", "type"))
        return ""
    if len(value) > max_len:
        problems.append(Problem(f"{path}.{key}", f"'{key}' is longer than {max_len} characters", "too_long"))
    return value.strip()


def _limit(value: Any, path: str, problems: list[Problem]) -> TimeLimit | None:
    if not isinstance(value, str):
        problems.append(Problem(path, "give a time limit as text, e.g. 2h, 4wh or 1wd", "type"))
        return None
    try:
        return TimeLimit.parse(value)
    except ValueError as exc:
        problems.append(Problem(path, str(exc), "time_limit"))
        return None


def _str_list(value: Any, path: str, problems: list[Problem], *, min_items: int = 0) -> list[str]:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(Problem(path, "must be a list of non-empty texts", "type"))
        return []
    if len(value) < min_items:
        problems.append(Problem(path, f"name at least {min_items}", "required"))
    return [v.strip() for v in value]


def _trigger(raw: Any, vocab: Vocabulary, problems: list[Problem]) -> Trigger | None:
    path = "$.trigger"
    if raw is None:
        return Trigger(TriggerKind.MANUAL)
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, "the trigger must be an object with a 'kind'", "type"))
        return None
    try:
        kind = TriggerKind(str(raw.get("kind")))
    except ValueError:
        problems.append(Problem(f"{path}.kind", f"unknown trigger kind {raw.get('kind')!r}: use "
                                + ", ".join(k.value for k in TriggerKind), "unknown_value"))
        return None
    allowed = {TriggerKind.MANUAL: {"kind"}, TriggerKind.WARNING: {"kind", "indicators", "at_least"},
               TriggerKind.EVENT_CLASS: {"kind", "classes", "at_least"}}[kind]
    for extra in sorted(set(raw) - allowed):
        problems.append(Problem(f"{path}.{extra}", f"'{extra}' is not used by a {kind.value} trigger", "unknown_key"))
    if kind is TriggerKind.MANUAL:
        return Trigger(kind)
    if kind is TriggerKind.WARNING:
        codes = _str_list(raw.get("indicators"), f"{path}.indicators", problems, min_items=1)
        for i, code in enumerate(codes):
            if not INDICATOR_CODE.match(code):
                problems.append(Problem(f"{path}.indicators[{i}]", f"{code!r} is not an indicator code", "format"))
            elif vocab.indicators is not None and code not in vocab.indicators:
                problems.append(Problem(f"{path}.indicators[{i}]", f"unknown indicator '{code}'", "unknown_value"))
        level = raw.get("at_least")
        if level not in WARNING_LEVELS:
            problems.append(Problem(f"{path}.at_least", f"{level!r} is not a warning level: use "
                                    + ", ".join(WARNING_LEVELS), "unknown_value"))
            return None
        return Trigger(kind, indicators=tuple(codes), at_least_level=level)
    classes = _str_list(raw.get("classes"), f"{path}.classes", problems, min_items=1)
    for i, code in enumerate(classes):
        if vocab.event_classes is not None and code not in vocab.event_classes:
            problems.append(Problem(f"{path}.classes[{i}]", f"unknown event class '{code}'", "unknown_value"))
    try:
        urgency = Urgency.parse(raw.get("at_least", "normal"))
    except ValueError as exc:
        problems.append(Problem(f"{path}.at_least", str(exc), "unknown_value"))
        return None
    return Trigger(kind, classes=tuple(classes), at_least_urgency=urgency)


def _role(value: Any, path: str, vocab: Vocabulary, problems: list[Problem]) -> Role | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(path, "'role' is required", "required"))
        return None
    role = Role.parse(value.strip())
    if role.kind == "unit":
        if not role.unit:
            problems.append(Problem(path, "name the unit: unit:<code>, e.g. unit:D500111-SLJ", "required"))
            return None
        if vocab.units is not None and role.unit not in vocab.units:
            problems.append(Problem(path, f"unknown unit '{role.unit}'", "unknown_value"))
            return None
        return role
    if role.kind not in AREA_ROLES:
        problems.append(Problem(path, f"unknown role {value!r}: use " + ", ".join(AREA_ROLES)
                                + ", grid_workers or unit:<code>", "unknown_value"))
        return None
    return role


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as a path ``[a, b, c, a]`` (a waits for b …), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and nxt in edges:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def validate_template(doc: Any, vocab: Vocabulary = Vocabulary()) -> PlanTemplate:
    """The checked template, or :class:`InvalidTemplate` listing every problem with its path."""
    problems: list[Problem] = []
    if not isinstance(doc, Mapping):
        raise InvalidTemplate([Problem("$", "a plan template must be a JSON object", "type")])
    for extra in sorted(set(doc) - _TOP_KEYS):
        problems.append(Problem(f"$.{extra}", f"unknown field '{extra}'", "unknown_key"))
    code = _text(doc, "code", "$", problems, max_len=40)
    if code and not CODE.match(code):
        problems.append(Problem("$.code", "use letters, digits, '.', '_' or '-' (up to 40)", "format"))
    name = _text(doc, "name", "$", problems)
    description = _text(doc, "description", "$", problems, required=False, max_len=5000)
    trigger = _trigger(doc.get("trigger"), vocab, problems)
    try:
        confirmation = Confirmation(doc.get("confirmation", "propose"))
    except ValueError:
        problems.append(Problem("$.confirmation", "use 'auto' (start at once) or 'propose' (ask the duty "
                                "officer)", "unknown_value"))
        confirmation = Confirmation.PROPOSE
    event = _event(doc.get("event"), vocab, problems)
    default_accept = _limit(doc["accept_within"], "$.accept_within", problems) if doc.get("accept_within") else None
    tasks = _tasks(doc.get("tasks"), vocab, default_accept, problems)
    if problems or trigger is None or event is None:
        raise InvalidTemplate(problems or [Problem("$", "invalid template")])
    return PlanTemplate(code=code, name=name, description=description, trigger=trigger,
                        confirmation=confirmation, event=event, tasks=tuple(tasks), document=dict(doc))


def _event(raw: Any, vocab: Vocabulary, problems: list[Problem]) -> EventTemplate | None:
    if raw is None:
        return EventTemplate(None, Urgency.URGENT, None)
    if not isinstance(raw, Mapping):
        problems.append(Problem("$.event", "must be an object (class, urgency, title)", "type"))
        return None
    for extra in sorted(set(raw) - {"class", "urgency", "title"}):
        problems.append(Problem(f"$.event.{extra}", f"unknown field '{extra}'", "unknown_key"))
    cls = raw.get("class")
    if cls is not None and (not isinstance(cls, str) or (vocab.event_classes is not None
                                                          and cls not in vocab.event_classes)):
        problems.append(Problem("$.event.class", f"unknown event class {cls!r}", "unknown_value"))
    try:
        urgency = Urgency.parse(raw.get("urgency", "urgent"))
    except ValueError as exc:
        problems.append(Problem("$.event.urgency", str(exc), "unknown_value"))
        return None
    title = _text(raw, "title", "$.event", problems, required=False)
    return EventTemplate(cls if isinstance(cls, str) else None, urgency, title or None)


def _tasks(raw: Any, vocab: Vocabulary, default_accept: TimeLimit | None,
           problems: list[Problem]) -> list[PlanTask]:
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("$.tasks", "a plan needs at least one task", "required"))
        return []
    if len(raw) > MAX_TASKS:
        problems.append(Problem("$.tasks", f"at most {MAX_TASKS} tasks per template", "too_long"))
        return []
    out: list[PlanTask] = []
    keys: dict[str, int] = {}
    afters: dict[str, list[str]] = {}
    for i, t in enumerate(raw):
        path = f"$.tasks[{i}]"
        if not isinstance(t, Mapping):
            problems.append(Problem(path, "a task must be an object", "type"))
            continue
        for extra in sorted(set(t) - _TASK_KEYS):
            problems.append(Problem(f"{path}.{extra}", f"unknown field '{extra}'", "unknown_key"))
        key = _text(t, "key", path, problems, max_len=40)
        if key and not CODE.match(key):
            problems.append(Problem(f"{path}.key", "use letters, digits, '.', '_' or '-'", "format"))
        if key in keys:
            problems.append(Problem(f"{path}.key", f"key '{key}' is also used by tasks[{keys[key]}]", "duplicate"))
        keys.setdefault(key, i)
        title = _text(t, "title", path, problems)
        role = _role(t.get("role"), f"{path}.role", vocab, problems)
        instruction = _text(t, "instruction", path, problems, max_len=2000)
        deadline = _limit(t.get("deadline"), f"{path}.deadline", problems) if "deadline" in t else None
        if "deadline" not in t:
            problems.append(Problem(f"{path}.deadline", "'deadline' is required (e.g. 2h, 4wh, 1wd)", "required"))
        accept = _limit(t["accept_within"], f"{path}.accept_within", problems) if t.get("accept_within") \
            else default_accept
        after = _str_list(t.get("after"), f"{path}.after", problems)
        checklist = _str_list(t.get("checklist"), f"{path}.checklist", problems)
        order = t.get("order", (i + 1) * 10)
        if isinstance(order, bool) or not isinstance(order, int):
            problems.append(Problem(f"{path}.order", "must be a whole number", "type"))
            order = (i + 1) * 10
        part = t.get("part", "lead")
        if part not in ("lead", "assist"):
            problems.append(Problem(f"{path}.part", "use 'lead' (主办) or 'assist' (协办)", "unknown_value"))
        afters[key] = after
        if role is not None and deadline is not None and key:
            out.append(PlanTask(key=key, title=title, role=role, instruction=instruction, deadline=deadline,
                                accept_within=accept, after=tuple(after), checklist=tuple(checklist),
                                order=order, part=str(part)))
    for i, t in enumerate(raw):
        if not isinstance(t, Mapping) or not isinstance(t.get("key"), str):
            continue
        for j, dep in enumerate(afters.get(t["key"].strip(), [])):
            if dep not in keys:
                problems.append(Problem(f"$.tasks[{i}].after[{j}]", f"no task has the key '{dep}'", "unknown_value"))
            elif dep == t["key"].strip():
                problems.append(Problem(f"$.tasks[{i}].after[{j}]", "a task cannot wait for itself", "cycle"))
    cycle = find_cycle({k: [d for d in v if d in keys and d != k] for k, v in afters.items()})
    if cycle:
        problems.append(Problem(f"$.tasks[{keys[cycle[0]]}].after",
                                "dependency cycle: " + " → ".join(cycle), "cycle"))
    return out


def related(path_a: str, path_b: str) -> bool:
    """Whether two units' area paths lie on one branch of the tree (one contains the other).

    A task instance waits for the instances of its predecessors on its own branch: the grid teams of
    town A wait for town A's centre, not town B's; a district department waits for (and is waited
    for by) every town.
    """
    return path_a.startswith(path_b) or path_b.startswith(path_a)


class BranchIndex(Generic[T]):
    """Items (a run's steps) by task key and area path, answering "the items of these keys on the same
    branch as this path" (:func:`related`) without scanning every item.

    A run of a city-wide plan has thousands of steps; asking each waiting step for its predecessors
    by a scan was quadratic (5,000 steps: 25 million comparisons per board). Here the ancestors (and
    the path itself) are dictionary look-ups of the path's prefixes, and the descendants a range of the
    key's sorted paths: the answer is exactly :func:`related`'s."""

    def __init__(self, items: Iterable[T], key: Callable[[T], str], path: Callable[[T], str]) -> None:
        self._path = path
        self._at: dict[tuple[str, str], list[T]] = defaultdict(list)
        for item in items:
            self._at[(key(item), path(item))].append(item)
        paths: dict[str, set[str]] = defaultdict(set)
        for k, p in self._at:
            paths[k].add(p)
        self._sorted = {k: sorted(v) for k, v in paths.items()}

    def related(self, keys: Iterable[str], path: str, *, besides: T | None = None) -> list[T]:
        """The items of ``keys`` whose path contains ``path`` or lies under it, ``besides`` left out."""
        out: list[T] = []
        for k in dict.fromkeys(keys):
            ordered = self._sorted.get(k)
            if not ordered:
                continue
            for n in range(len(path) + 1):  # ancestors and the path itself
                out.extend(self._at.get((k, path[:n]), ()))
            i = bisect_left(ordered, path)
            while i < len(ordered) and ordered[i].startswith(path):  # descendants
                if ordered[i] != path:
                    out.extend(self._at[(k, ordered[i])])
                i += 1
        return [o for o in out if o is not besides]


def district_of(path: str) -> str:
    """The district an area lies in (the area itself at city or district level), as a path prefix:
    ``/500000/500111/500111001/`` → ``/500000/500111/``."""
    parts = [c for c in path.split("/") if c]
    return "/" + "/".join(parts[:2]) + "/"


def response_reach(paths: Iterable[str], *, district_wide: bool) -> set[str]:
    """Where a run responds (or a trigger asks for a response): its areas, or for a warning — a hazard
    over the district (rain, rivers), answered by the district's bureaus as one response — the
    districts they lie in."""
    return {district_of(p) if district_wide else p for p in paths}


def overlaps(reach_a: Iterable[str], reach_b: Iterable[str]) -> bool:
    """Whether two reaches share ground: some area of one lies on a branch of some area of the other.

    A trigger whose reach overlaps an open run of its template is the same situation: it joins the
    run instead of starting another (one response per situation, 一个险情一个响应).
    """
    b = list(reach_b)
    return any(related(x, y) for x in reach_a for y in b)


def checklist_text(instruction: str, checklist: Iterable[str]) -> str:
    """The instruction a unit receives, with the checklist as ticks to report on."""
    items = list(checklist)
    if not items:
        return instruction
    return instruction + "\n" + "\n".join(f"□ {item}" for item in items)
