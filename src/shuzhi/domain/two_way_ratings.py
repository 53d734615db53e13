"""政企双向评价: on an enterprise's call (企业吹哨·部门报到) the enterprise rates the government's handling,
and each department that answered rates the enterprise's cooperation.

Both ratings use the five levels of 好差评 (``domain/ratings.py``) and follow its two rules: one rating per
rater and call, and a rating is never changed. The dimensions are the ones the districts' 政企双向评价
forms ask: the enterprise rates response speed, the effect of the answer and the attitude; a department
rates the enterprise's cooperation, the truth and completeness of its materials and its integrity
(诚信守法). A low rating (差评) must say why in either direction: the other side is answerable for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shuzhi.domain.ratings import LEVEL_SCORES, Grade, Level, grade


class Direction(StrEnum):
    ENTERPRISE = "enterprise"  # 企业评政府: the enterprise rates the handling of its call
    DEPARTMENT = "department"  # 部门评企业: a department rates the enterprise's cooperation


DIMENSIONS: dict[Direction, tuple[str, ...]] = {
    Direction.ENTERPRISE: ("overall", "response", "effectiveness", "attitude"),
    Direction.DEPARTMENT: ("overall", "cooperation", "materials", "integrity"),
}
DIMENSION_LABELS = {"overall": "总体评价", "response": "响应速度", "effectiveness": "解决成效",
                    "attitude": "服务态度", "cooperation": "配合程度", "materials": "材料真实完整",
                    "integrity": "诚信守法"}


@dataclass(frozen=True)
class TwoWayInput:
    direction: Direction
    levels: dict[str, Level]
    comment: str

    @property
    def overall(self) -> Level:
        return self.levels["overall"]

    @property
    def grade(self) -> Grade:
        return grade(self.overall)


def check(direction: Direction, levels: Any, comment: Any) -> tuple[TwoWayInput | None, list[tuple[str, str]]]:
    """A checked rating or every problem as (field, message)."""
    dims = DIMENSIONS[direction]
    if not isinstance(levels, Mapping):
        return None, [("levels", "must be an object of dimension → level")]
    problems: list[tuple[str, str]] = []
    out: dict[str, Level] = {}
    for d in dims:
        v = levels.get(d)
        if v is None:
            problems.append((f"levels.{d}", f"「{DIMENSION_LABELS[d]}」 is not rated"))
            continue
        try:
            out[d] = Level(v if isinstance(v, str) else "")
        except ValueError:
            problems.append((f"levels.{d}", f"one of {', '.join(x.value for x in Level)}"))
    problems += [(f"levels.{d}", f"not a dimension of a {direction.value} rating") for d in levels if d not in dims]
    if comment is not None and not isinstance(comment, str):
        return None, [*problems, ("comment", "must be text")]
    text = (comment or "").strip()
    if len(text) > 1000:
        problems.append(("comment", "longer than 1000 characters"))
    if "overall" in out and grade(out["overall"]) is Grade.BAD and not text:
        problems.append(("comment", "a 差评 must say what was wrong"))
    if problems:
        return None, problems
    return TwoWayInput(direction, out, text), []


@dataclass(frozen=True)
class TwoWayFigure:
    ratings: int
    good: int
    bad: int
    #: 好评率 = 好评 / ratings
    good_rate: float | None
    #: the mean of the overall level on the 5-point scale
    average: float | None


def figure(levels: Iterable[Level]) -> TwoWayFigure:
    n = good = bad = total = 0
    for lv in levels:
        n += 1
        g = grade(lv)
        good += g is Grade.GOOD
        bad += g is Grade.BAD
        total += LEVEL_SCORES[lv]
    return TwoWayFigure(n, good, bad, round(good / n, 4) if n else None, round(total / n, 2) if n else None)
