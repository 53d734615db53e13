"""Areas that change (村社撤并, a grid split, a moved boundary; issue #20): the rules a change must meet and
where open work goes, as plain Python.

A change never rewrites an area: it retires the versions it replaces (``valid_to``) and creates new ones
(``valid_from``), each retired version naming its successor. Events keep the area they happened in for
figures; open work — events not yet closed, tasks still owed — moves to the successor by rule:

1. an event with a point goes to the new grid that contains the point (the geometry decides);
2. anything else goes to the retired area's named successor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shuzhi.domain.areas import AreaLevel
from shuzhi.domain.events import FINAL_EVENT_STATES, EventState


class ChangeKind(StrEnum):
    MERGE = "merge"  # 村社撤并: two or more villages (or grids) of one parent become one
    SPLIT = "split"  # a grid cut in two by a new boundary line
    MOVE_BOUNDARY = "move_boundary"  # the line between two neighbouring grids moves


#: A change may be dated back this far (a town's decision recorded a few days late); older than that it
#: would re-date figures already published.
MAX_BACKDATE = timedelta(days=7)

#: Levels a change may concern: a village merge re-codes its grids; towns and above are not merged here.
LEVELS: Mapping[ChangeKind, frozenset[AreaLevel]] = {
    ChangeKind.MERGE: frozenset({AreaLevel.VILLAGE, AreaLevel.GRID}),
    ChangeKind.SPLIT: frozenset({AreaLevel.GRID}),
    ChangeKind.MOVE_BOUNDARY: frozenset({AreaLevel.GRID}),
}

#: How many areas each kind takes (minimum, maximum).
COUNTS: Mapping[ChangeKind, tuple[int, int]] = {
    ChangeKind.MERGE: (2, 50),
    ChangeKind.SPLIT: (1, 1),
    ChangeKind.MOVE_BOUNDARY: (2, 2),
}

#: Events still being worked: a closed event (待回访) and the final states stay where they are.
_SETTLED = FINAL_EVENT_STATES | {EventState.CLOSED}
REHOMED_EVENT_STATES = frozenset(s for s in EventState if s not in _SETTLED)


@dataclass(frozen=True)
class AreaFacts:
    code: str
    level: AreaLevel
    parent_code: str | None
    retired: bool


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def check(kind: ChangeKind, codes: list[str], found: Mapping[str, AreaFacts], effective_at: datetime,
          now: datetime) -> list[Problem]:
    """Every reason the change may not be made, each naming its field (empty: it may)."""
    problems: list[Problem] = []
    low, high = COUNTS[kind]
    if len(codes) != len(set(codes)):
        problems.append(Problem("area_codes", "an area is named twice"))
    if not low <= len(codes) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        problems.append(Problem("area_codes", f"a {kind.value} takes {want} areas, got {len(codes)}"))
    unknown = [c for c in codes if c not in found]
    if unknown:
        problems.append(Problem("area_codes", f"unknown area {', '.join(unknown)}"))
    known = [found[c] for c in codes if c in found]
    retired = [a.code for a in known if a.retired]
    if retired:
        problems.append(Problem("area_codes", f"area {', '.join(retired)} is already retired"))
    levels = {a.level for a in known}
    if len(levels) > 1:
        problems.append(Problem("area_codes", "the areas are of different levels: "
                                + ", ".join(sorted(lv.value for lv in levels))))
    elif levels and not levels <= LEVELS[kind]:
        allowed = ", ".join(sorted(lv.value for lv in LEVELS[kind]))
        problems.append(Problem("area_codes", f"a {kind.value} concerns {allowed} areas, not "
                                f"{next(iter(levels)).value}"))
    if kind is not ChangeKind.SPLIT and len({a.parent_code for a in known}) > 1:
        problems.append(Problem("area_codes", "the areas must share one parent"))
    if effective_at > now + timedelta(minutes=5):
        problems.append(Problem("effective_at", "a change takes effect now or in the past, not later"))
    elif effective_at < now - MAX_BACKDATE:
        problems.append(Problem("effective_at", f"a change may be dated back at most {MAX_BACKDATE.days} days"))
    return problems


def next_codes(parent_code: str, taken: Iterable[str], how_many: int) -> list[str]:
    """The next free 3-digit sequences under ``parent_code`` (retired codes stay taken: a code names one
    version for ever)."""
    used = {int(c[len(parent_code):]) for c in taken
            if c.startswith(parent_code) and len(c) == len(parent_code) + 3 and c[len(parent_code):].isdigit()}
    out: list[str] = []
    n = max(used, default=0)
    while len(out) < how_many:
        n += 1
        if n > 999:
            raise ValueError(f"no free code left under {parent_code}")
        out.append(f"{parent_code}{n:03d}")
    return out


def successor(point_grid: str | None, named: str, new_grids: Iterable[str]) -> tuple[str, str]:
    """Where a piece of open work of a retired area goes, and by which rule (``geometry`` / ``successor``)."""
    if point_grid is not None and point_grid in set(new_grids):
        return point_grid, "geometry"
    return named, "successor"


# --- configuration naming a retired area (re-pointed in the change's transaction) -------------------


def repoint_path(path: str, retired: Mapping[str, str], new_paths: Mapping[str, str]) -> str | None:
    """The path configuration at ``path`` takes after the change, or None if no retired area holds it.

    ``retired``: retired path → the code of its named successor; ``new_paths``: new code → its path. The
    deepest retired prefix decides (a merged village's grid is retired too, with its own successor);
    anything below it keeps its tail."""
    best = max((p for p in retired if path.startswith(p)), key=len, default=None)
    if best is None:
        return None
    return new_paths[retired[best]] + path[len(best):]


def repoint_codes(codes: Iterable[str], successors_of: Mapping[str, Iterable[str]]) -> list[str]:
    """A list of area codes naming the same ground after the change: a retired code is replaced by every
    version its ground went to (both halves of a split grid), in order, without duplicates."""
    out: list[str] = []
    for c in codes:
        for n in (sorted(successors_of[c]) if c in successors_of else [c]):
            if n not in out:
                out.append(n)
    return out


def repoint_condition(tree: Any, successors_of: Mapping[str, Iterable[str]]) -> Any:
    """A dispatch rule's condition (``domain/conditions.py``) with every ``area within`` leaf naming a
    retired area re-pointed to the ground's new versions (a single code stays a single code when it has
    one successor); anything else unchanged."""
    if isinstance(tree, dict):
        if tree.get("field") == "area" and "value" in tree:
            value = tree["value"]
            if isinstance(value, str):
                codes = repoint_codes([value], successors_of)
                return {**tree, "value": codes[0] if len(codes) == 1 else codes}
            if isinstance(value, list):
                return {**tree, "value": repoint_codes([str(v) for v in value], successors_of)}
            return tree
        return {k: repoint_condition(v, successors_of) for k, v in tree.items()}
    if isinstance(tree, list):
        return [repoint_condition(v, successors_of) for v in tree]
    return tree
