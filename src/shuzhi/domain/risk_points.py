"""Risk points (风险点全量落图, issue #22): the register of risk and hazard points and the state each shows.

A **risk point** is a place that needs watching — a dangerous rock (危岩), a geological hazard
(地灾隐患点), a waterlogging point (易涝点), a dilapidated house (危旧房), a gas network node (燃气管网节点),
a bridge or tunnel (桥隧) … (the kinds are the installation's data; :data:`DEFAULT_KINDS` until it
names its own). It has a grade, a responsible unit and person, a patrol frequency, and the series
(an indicator measured by a device or at an area) that watch it.

Its **state** follows its series' warnings, and the rectification a person started on it:

===================  ================================================================
``warning`` 预警      a series has a firing warning at or above ``WARNING_FROM`` (orange)
``in_rectification``  整改中: a person marked it under rectification (and no warning above)
``watch`` 关注        a series has a firing warning below orange, or one still pending
``normal`` 正常       none of these
===================  ================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from shuzhi.domain.thresholds import LEVEL_RANK

#: (code, name) of the kinds an installation starts with.
DEFAULT_KINDS: tuple[tuple[str, str], ...] = (
    ("dangerous_rock", "危岩"), ("geohazard", "地灾隐患点"), ("waterlogging", "易涝点"),
    ("dilapidated_house", "危旧房"), ("gas_node", "燃气管网节点"), ("bridge_tunnel", "桥隧"))
#: Grades, most severe first (重大、较大、一般、低风险) and the colour each is drawn in.
GRADES: dict[str, str] = {"major": "red", "large": "orange", "general": "yellow", "low": "blue"}
GRADE_NAMES: dict[str, str] = {"重大": "major", "重大风险": "major", "较大": "large", "较大风险": "large",
                               "一般": "general", "一般风险": "general", "低": "low", "低风险": "low"}
#: The warning level from which a point is "in warning" rather than "to watch".
WARNING_FROM = "orange"
KIND_CODE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


class PointState(StrEnum):
    NORMAL = "normal"
    WATCH = "watch"
    IN_RECTIFICATION = "in_rectification"
    WARNING = "warning"


def point_state(firing_levels: Iterable[str], pending: int, rectifying: bool) -> PointState:
    """The state of a point whose series have firing warnings at ``firing_levels`` and ``pending`` ones."""
    ranks = [LEVEL_RANK[lv] for lv in firing_levels if lv in LEVEL_RANK]
    if ranks and max(ranks) >= LEVEL_RANK[WARNING_FROM]:
        return PointState.WARNING
    if rectifying:
        return PointState.IN_RECTIFICATION
    if ranks or pending:
        return PointState.WATCH
    return PointState.NORMAL


def parse_grade(text: str) -> str:
    """``重大`` / ``major`` … → the grade code; ``ValueError`` with a message fit for a user."""
    t = text.strip()
    if t.lower() in GRADES:
        return t.lower()
    if t in GRADE_NAMES:
        return GRADE_NAMES[t]
    raise ValueError(f"'{t}' is not a grade (write 重大, 较大, 一般 or 低)")


def parse_series_ref(text: str) -> tuple[str, str]:
    """``RAINFALL_1H@500111001`` → (indicator code, series key): an indicator measured at an area (or by
    a device, whose code is the series key); ``ValueError`` when it is not written so."""
    indicator, sep, key = text.partition("@")
    if not sep or not indicator.strip() or not key.strip():
        raise ValueError(f"'{text}' is not a series (write INDICATOR@AREA_CODE or INDICATOR@DEVICE_CODE)")
    return indicator.strip(), key.strip()


#: What a check on the spot found.
CHECK_RESULTS = ("normal", "abnormal")


def check_due(last_checked: datetime | None, patrol_every_s: int | None, now: datetime) -> bool:
    """A patrolled point is due a check when none was made within its patrol interval (never checked: due)."""
    if not patrol_every_s:
        return False
    return last_checked is None or now - last_checked >= timedelta(seconds=patrol_every_s)


# --- the rectification loop (整改闭环): found → measures → deadline → done → verified -----------------


class RectState(StrEnum):
    FOUND = "found"  # 已发现: the problem is written down, no measures yet
    IN_PROGRESS = "in_progress"  # 整改中: measures and a deadline (working days) are set
    DONE = "done"  # 已完成, awaiting verification (待验收)
    VERIFIED = "verified"  # 已验收销号: closed
    CANCELLED = "cancelled"  # 已撤销: found to be no problem, or entered by mistake


class RectAction(StrEnum):
    SET_MEASURES = "measures"  # 制定措施 (with the deadline); again while in progress = revise them
    REPORT_DONE = "done"  # 报告完成
    VERIFY = "verified"  # 验收通过
    REJECT = "rejected"  # 验收不通过: back to work, the deadline stands
    CANCEL = "cancelled"  # 撤销


#: The whole life of a rectification, top to bottom; anything else is refused.
RECT_TRANSITIONS: dict[tuple[RectState, RectAction], RectState] = {
    (RectState.FOUND, RectAction.SET_MEASURES): RectState.IN_PROGRESS,
    (RectState.FOUND, RectAction.CANCEL): RectState.CANCELLED,
    (RectState.IN_PROGRESS, RectAction.SET_MEASURES): RectState.IN_PROGRESS,
    (RectState.IN_PROGRESS, RectAction.REPORT_DONE): RectState.DONE,
    (RectState.IN_PROGRESS, RectAction.CANCEL): RectState.CANCELLED,
    (RectState.DONE, RectAction.VERIFY): RectState.VERIFIED,
    (RectState.DONE, RectAction.REJECT): RectState.IN_PROGRESS,
}
#: States in which the point is "in rectification" on the map.
RECT_OPEN: frozenset[RectState] = frozenset({RectState.FOUND, RectState.IN_PROGRESS, RectState.DONE})
#: The timeline action each step writes (``rectification.<what>``; labels in :mod:`shuzhi.domain.labels`).
RECT_LINES: dict[str, str] = {
    "found": "rectification.found", **{a.value: f"rectification.{a.value}" for a in RectAction},
    "reminded": "rectification.reminded", "overdue": "rectification.overdue"}
#: Longest deadline that may be given, in working days.
MAX_RECT_WORKING_DAYS = 250


class IllegalRectification(ValueError):
    def __init__(self, state: RectState, action: RectAction) -> None:
        self.state, self.action = state, action
        super().__init__(f"a rectification that is {state.value} cannot take '{action.value}'")


def next_rect_state(state: RectState, action: RectAction) -> RectState:
    try:
        return RECT_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalRectification(state, action) from None


def rect_clock(state: RectState, deadline: datetime | None, soon_until: datetime, now: datetime) -> str | None:
    """Where an open rectification's clock stands: ``overdue`` (deadline passed, not reported done),
    ``due_soon`` (the deadline falls before ``soon_until`` — one working day from now on the unit's
    calendar), or ``running``; None when nothing is counting (no deadline yet, done, closed)."""
    if state is not RectState.IN_PROGRESS or deadline is None:
        return None
    if now >= deadline:
        return "overdue"
    if deadline <= soon_until:
        return "due_soon"
    return "running"


# --- the flood-season view (汛期): the nearest monitoring series of a point -------------------------


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def nearest(lon: float, lat: float, candidates: Iterable[tuple[float, float, object]],
            radius_m: float) -> tuple[object, float] | None:
    """The candidate ``(lon, lat, thing)`` nearest to the point within ``radius_m``, with its distance."""
    best: tuple[object, float] | None = None
    for clon, clat, thing in candidates:
        d = distance_m(lon, lat, clon, clat)
        if d <= radius_m and (best is None or d < best[1]):
            best = (thing, d)
    return best
