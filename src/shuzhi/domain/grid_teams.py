"""The grid's people (issue #20): grid teams "1+3+N", their recurring duty lists "6+1", the urban chain of
contacts 五长制, and the dual grid — plain rules, no I/O.

- **teams** — every grid has a team: 1 网格长 (grid leader), 3 kinds of workers (专职/兼职网格员, 网格指导员)
  and N roles a city adds (在职党员, 志愿者, 快递骑手 …). Roles are data; the four of "1+3" are the default.
  A person may serve in several grids (and keep his own unit); exactly one of his memberships is his
  primary one. A grid has at most one 网格长.
- **duty lists** (履职清单 "6+1") — recurring duties per role: what, how often (daily, weekly, monthly in
  Asia/Shanghai time), where or which objects, and how it is done (a patrol, a visit, or either). Each
  period each member of the role gets one due item per duty; it is due at the end of the period.
- **五长制** — the urban chain of contacts: 社区长 → 网格长 → 片区长 → 楼栋长 → 物业长. Each link's parent
  is the link just above it (a building's contact hangs under a block's).
- **the dual grid** — a special-purpose grid (safety, flood …) over the same ground as the governance
  grid; a point is located in the governance grid unless a layer is asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")

#: "1+3": (key, name) of the default roles, in order. ``grid_leader`` is the "1".
GRID_LEADER = "grid_leader"
DEFAULT_ROLES: tuple[tuple[str, str], ...] = (
    (GRID_LEADER, "网格长"),
    ("full_time", "专职网格员"),
    ("part_time", "兼职网格员"),
    ("instructor", "网格指导员"),
)
CORE_ROLES = frozenset(k for k, _ in DEFAULT_ROLES)
ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]{1,29}$")

#: The dual grid's layers: the governance grid every point belongs to, and special-purpose grids.
GOVERNANCE = "governance"
LAYERS: dict[str, str] = {
    GOVERNANCE: "治理网格",
    "safety": "安全生产网格",
    "flood": "防汛网格",
    "fire": "消防网格",
    "ecology": "生态环保网格",
}

FREQUENCIES: dict[str, str] = {"daily": "每日", "weekly": "每周", "monthly": "每月"}
#: How a due item is done: on a patrol, by a visit recorded on the phone, or either.
DONE_BY: dict[str, str] = {"patrol": "巡查", "visit": "走访", "either": "巡查或走访"}

#: 五长制, top down: (link, name).
CHAIN: tuple[tuple[str, str], ...] = (
    ("community", "社区长"),
    ("grid", "网格长"),
    ("block", "片区长"),
    ("building", "楼栋长"),
    ("property", "物业长"),
)
CHAIN_LINKS = [k for k, _ in CHAIN]


def role_key_problem(key: str) -> str | None:
    if not ROLE_KEY.match(key):
        return "a role key is 2–30 lower-case letters, digits or '_', starting with a letter"
    return None


def roles_problem(keys: list[str]) -> tuple[int, str] | None:
    """The city's role list must keep the four of "1+3" and name each key once: (index, problem)."""
    seen: set[str] = set()
    for i, k in enumerate(keys):
        if (p := role_key_problem(k)) is not None:
            return i, p
        if k in seen:
            return i, f"role '{k}' is named twice"
        seen.add(k)
    if missing := sorted(CORE_ROLES - seen):
        return len(keys), f"the roles of \"1+3\" stay: {', '.join(missing)} missing"
    return None


@dataclass(frozen=True)
class MemberLine:
    """One line of a grid's team as saved: the person, his role, whether it is his primary membership."""

    person_id: int
    role: str
    primary: bool = False


def team_problem(lines: list[MemberLine], roles: set[str]) -> tuple[int, str, str] | None:
    """(index, field, problem) for the first bad line of a grid's team, else None: a known role, one
    网格长 at most, a person at most once per role."""
    leaders = 0
    seen: set[tuple[int, str]] = set()
    for i, m in enumerate(lines):
        if m.role not in roles:
            return i, "role", f"'{m.role}' is not one of the city's grid roles"
        if m.role == GRID_LEADER:
            leaders += 1
            if leaders > 1:
                return i, "role", "a grid has one 网格长"
        if (m.person_id, m.role) in seen:
            return i, "person_code", "the person holds this role in the grid already"
        seen.add((m.person_id, m.role))
    return None


def primary_grid(current_primary: int | None, memberships: list[int], asked: int | None) -> int | None:
    """Which of a person's grids is his primary membership: the one just asked for; else the one he has
    if he still serves there; else his first (lowest id) remaining one; None when he serves nowhere."""
    if asked is not None and asked in memberships:
        return asked
    if current_primary is not None and current_primary in memberships:
        return current_primary
    return min(memberships) if memberships else None


# --- duty periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One period of a recurring duty: it opens at ``start`` and the item is due at ``due`` (UTC)."""

    start_day: date
    start: datetime
    due: datetime


def period_of(frequency: str, at: datetime) -> Period:
    """The period of ``frequency`` holding the instant ``at``, in local (Asia/Shanghai) days: a day, an
    ISO week from Monday, a calendar month; due at the end of it."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown frequency {frequency!r}")
    day = at.astimezone(LOCAL).date()
    if frequency == "daily":
        first, nxt = day, day + timedelta(days=1)
    elif frequency == "weekly":
        first = day - timedelta(days=day.weekday())
        nxt = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)

    def utc(d: date) -> datetime:
        return datetime.combine(d, time(0), LOCAL).astimezone(UTC)

    return Period(first, utc(first), utc(nxt))


def item_state(due: datetime, done_at: datetime | None, now: datetime) -> str:
    """``done`` (by the due time), ``late`` (done after it), ``overdue`` (past due, not done), ``open``."""
    if done_at is not None:
        return "done" if done_at <= due else "late"
    return "overdue" if due <= now else "open"


def completion_rate(due: int, on_time: int) -> float | None:
    """完成率: items done by their due time over items settled (done, or fallen due undone); None when none."""
    return round(on_time / due, 4) if due else None


def done_problem(done_by: str, patrol_given: bool, note: str) -> tuple[str, str] | None:
    """(field, problem) when the way an item is done does not fit its duty, else None."""
    if done_by == "patrol" and not patrol_given:
        return "patrol_id", "this duty is done on a patrol: give the patrol"
    if done_by == "visit" and not note.strip():
        return "note", "this duty is done by a visit: say whom or what was visited"
    if done_by == "either" and not patrol_given and not note.strip():
        return "note", "give the patrol or say whom or what was visited"
    return None


def patrol_fits(period: Period, patrol_start: datetime, patrol_end: datetime | None, now: datetime) -> bool:
    """A patrol does an item when it ran during the item's period (started before the due time and
    ended — or is still running — after the period opened)."""
    return patrol_start < period.due and (patrol_end or now) >= period.start


# --- 五长制 -----------------------------------------------------------------------------------------


def chain_problem(link: str, parent_link: str | None) -> str | None:
    """A contact's link must be one of the five, and its parent (if any) the link just above it."""
    if link not in CHAIN_LINKS:
        return f"'{link}' is not one of {', '.join(CHAIN_LINKS)}"
    if parent_link is None:
        return None
    i = CHAIN_LINKS.index(link)
    if i == 0 or CHAIN_LINKS[i - 1] != parent_link:
        above = CHAIN_LINKS[i - 1] if i else "none"
        return f"a {link} contact hangs under a {above} contact, not a {parent_link}"
    return None


def layer_problem(layer: str) -> str | None:
    if layer not in LAYERS:
        return f"'{layer}' is not a grid layer ({', '.join(LAYERS)})"
    return None
