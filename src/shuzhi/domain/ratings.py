"""好差评: service ratings and the verification of every bad one.

The national rules (国务院办公厅《关于建立政务服务"好差评"制度提高政务服务水平的意见》国办发〔2019〕51号;
GB/T 39734-2020 政务服务评价工作指南) rate every service on five levels — 非常满意, 满意, 基本满意,
不满意, 非常不满意 — one rating per service (a case, or a visit to a window), which nobody may change
afterwards. The two upper levels are 好评, 基本满意 is 中评, the two lower ones are 差评.

Dimensions follow the standard's evaluation content: overall satisfaction, efficiency (办事效率),
service level (服务规范) and attitude (服务态度) for every channel; online services add guide
accuracy (办事指南准确性) and convenience (办事便捷度).

Every 差评 opens a verification (核实整改): call the rater back, classify the rating (real, mistaken,
malicious — a department that says "not real" appeals to the rating office, which upholds or rejects),
rectify, reply to the rater and record the outcome, all within a working-day limit the installation
sets (local rules say 1 to 15). A rating given by name (实名差评) must be called back: there is no
"unreachable" exit for it (回访率 100 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shuzhi.domain.events import IllegalTransition


class Level(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"


LEVEL_LABELS = {Level.VERY_SATISFIED: "非常满意", Level.SATISFIED: "满意", Level.BASICALLY_SATISFIED: "基本满意",
                Level.DISSATISFIED: "不满意", Level.VERY_DISSATISFIED: "非常不满意"}
LEVEL_SCORES = {Level.VERY_SATISFIED: 5, Level.SATISFIED: 4, Level.BASICALLY_SATISFIED: 3,
                Level.DISSATISFIED: 2, Level.VERY_DISSATISFIED: 1}


class Grade(StrEnum):
    GOOD = "good"  # 好评
    NEUTRAL = "neutral"  # 中评
    BAD = "bad"  # 差评


def grade(level: Level) -> Grade:
    if level in (Level.VERY_SATISFIED, Level.SATISFIED):
        return Grade.GOOD
    if level is Level.BASICALLY_SATISFIED:
        return Grade.NEUTRAL
    return Grade.BAD


class Channel(StrEnum):
    WINDOW = "window"  # 窗口/评价器 (a visit or a case accepted at a window)
    ONLINE = "online"  # 网上办/渝快办
    PHONE = "phone"  # 12345/短信回评


DIMENSIONS = ("overall", "efficiency", "service_level", "attitude")
ONLINE_DIMENSIONS = (*DIMENSIONS, "guide_accuracy", "convenience")
DIMENSION_LABELS = {"overall": "总体满意度", "efficiency": "办事效率", "service_level": "服务规范",
                    "attitude": "服务态度", "guide_accuracy": "办事指南准确性", "convenience": "办事便捷度"}


@dataclass(frozen=True)
class RatingInput:
    channel: Channel
    levels: dict[str, Level]
    comment: str
    named: bool

    @property
    def overall(self) -> Level:
        return self.levels["overall"]

    @property
    def grade(self) -> Grade:
        return grade(self.overall)


def check_rating(channel: Any, levels: Any, comment: Any, named: Any) -> tuple[RatingInput | None,
                                                                             list[tuple[str, str]]]:
    """A checked rating or the problems as (field, message).

    Every dimension of the channel must be rated (the online ones only online); a 差评 must say why —
    the verification has nothing to check otherwise (51号: 差评须说明原因)."""
    problems: list[tuple[str, str]] = []
    try:
        ch = Channel(channel if isinstance(channel, str) else "")
    except ValueError:
        return None, [("channel", f"one of {', '.join(c.value for c in Channel)}")]
    dims = ONLINE_DIMENSIONS if ch is Channel.ONLINE else DIMENSIONS
    if not isinstance(levels, Mapping):
        return None, [("levels", "must be an object of dimension → level")]
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
    for d in levels:
        if d not in dims:
            problems.append((f"levels.{d}", f"not a dimension of {ch.value} ratings"))
    if comment is not None and not isinstance(comment, str):
        problems.append(("comment", "must be text"))
        comment = ""
    text = (comment or "").strip()
    if len(text) > 1000:
        problems.append(("comment", "longer than 1000 characters"))
    if not isinstance(named, bool):
        problems.append(("named", "must be true or false"))
        named = False
    if "overall" in out and grade(out["overall"]) is Grade.BAD and not text:
        problems.append(("comment", "a 差评 must say what was wrong"))
    if problems:
        return None, problems
    return RatingInput(ch, out, text, named), []


# --- verification of a 差评 --------------------------------------------------------------------------


class VState(StrEnum):
    OPEN = "open"  # 待回访
    CALLED_BACK = "called_back"  # 已回访，待核实
    APPEALING = "appealing"  # 申诉中（部门认为误评/恶意差评）
    RECTIFYING = "rectifying"  # 整改中（差评属实）
    RECTIFIED = "rectified"  # 已整改，待反馈
    REPLIED = "replied"  # 已反馈评价人
    CLOSED = "closed"  # 已办结


class VAction(StrEnum):
    CALL_BACK = "call_back"
    UNREACHABLE = "unreachable"  # only for an anonymous rating: no one to call
    CLASSIFY_REAL = "classify_real"
    CLASSIFY_MISTAKEN = "classify_mistaken"
    CLASSIFY_MALICIOUS = "classify_malicious"
    UPHOLD_APPEAL = "uphold_appeal"
    REJECT_APPEAL = "reject_appeal"
    RECTIFY = "rectify"
    REPLY = "reply"
    CLOSE = "close"


V = VState
VA = VAction

VERIFICATION_TRANSITIONS: dict[tuple[VState, VAction], VState] = {
    (V.OPEN, VA.CALL_BACK): V.CALLED_BACK,
    (V.OPEN, VA.UNREACHABLE): V.CALLED_BACK,
    (V.CALLED_BACK, VA.CLASSIFY_REAL): V.RECTIFYING,
    (V.CALLED_BACK, VA.CLASSIFY_MISTAKEN): V.APPEALING,
    (V.CALLED_BACK, VA.CLASSIFY_MALICIOUS): V.APPEALING,
    # the office agrees the rating is not real: it leaves the rates, the rater is still answered
    (V.APPEALING, VA.UPHOLD_APPEAL): V.RECTIFIED,
    # the office finds it real after all: rectify
    (V.APPEALING, VA.REJECT_APPEAL): V.RECTIFYING,
    (V.RECTIFYING, VA.RECTIFY): V.RECTIFIED,
    (V.RECTIFIED, VA.REPLY): V.REPLIED,
    (V.REPLIED, VA.CLOSE): V.CLOSED,
}


class Classification(StrEnum):
    REAL = "real"  # 属实
    MISTAKEN = "mistaken"  # 误评
    MALICIOUS = "malicious"  # 恶意差评


def next_verification_state(state: VState, action: VAction, *, named: bool) -> VState:
    """The next state, or :class:`IllegalTransition`; a named rating cannot be closed as unreachable."""
    if action is VA.UNREACHABLE and named:
        raise IllegalTransition("verification of a named rating (实名差评须100%回访)", state.value, action.value)
    try:
        return VERIFICATION_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition("verification", state.value, action.value) from None


#: The installation's limit for answering a 差评 may be set between these (local rules: 1–15).
MIN_LIMIT_DAYS, MAX_LIMIT_DAYS = 1, 15


def check_limit_days(value: Any, name: str = "limit_days") -> list[tuple[str, str]]:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_LIMIT_DAYS <= value <= MAX_LIMIT_DAYS:
        return [(name, f"a whole number of working days from {MIN_LIMIT_DAYS} to {MAX_LIMIT_DAYS}")]
    return []


# --- rates -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingFact:
    """What the rates need of one rating."""

    grade: Grade
    #: for a 差评: the verification found it mistaken or malicious and the appeal was upheld
    invalid: bool = False
    #: for a 差评: rectified (or answered as not real) and replied
    rectified: bool = False
    #: for a 差评: replied by its due moment
    on_time: bool = False


@dataclass(frozen=True)
class Rates:
    ratings: int
    good: int
    neutral: int
    bad: int
    invalid: int
    #: 好评率 = 好评 / valid ratings (invalid 差评 are taken out of the denominator)
    good_rate: float | None
    #: 差评整改率 = rectified 差评 / valid 差评
    rectification_rate: float | None
    #: on-time rectification = 差评 replied within the limit / valid 差评
    on_time_rate: float | None


def rates(facts: Iterable[RatingFact]) -> Rates:
    good = neutral = bad = invalid = rectified = on_time = 0
    for f in facts:
        if f.grade is Grade.BAD and f.invalid:
            invalid += 1
            continue
        if f.grade is Grade.GOOD:
            good += 1
        elif f.grade is Grade.NEUTRAL:
            neutral += 1
        else:
            bad += 1
            rectified += f.rectified
            on_time += f.on_time
    valid = good + neutral + bad
    return Rates(valid + invalid, good, neutral, bad, invalid,
                 round(good / valid, 4) if valid else None,
                 round(rectified / bad, 4) if bad else None,
                 round(on_time / bad, 4) if bad else None)


def counts(facts: Sequence[RatingFact]) -> dict[str, int]:
    """The evaluation's rating measures (``shuzhi.domain.evaluation.RATING_MEASURES``) of some ratings,
    counted by the same rule as :func:`rates`."""
    r = rates(facts)
    bad = [f for f in facts if f.grade is Grade.BAD and not f.invalid]
    return {"ratings_valid": r.ratings - r.invalid, "ratings_good": r.good, "ratings_bad": r.bad,
            "ratings_bad_rectified": sum(f.rectified for f in bad), "ratings_bad_on_time": sum(f.on_time for f in bad)}


def on_time(replied_at: datetime | None, due_at: datetime) -> bool:
    return replied_at is not None and replied_at <= due_at
