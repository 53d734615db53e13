"""Scoring schemes (考核评分办法) as data, the five-colour map bands (五色图) and rankings (赛马).

A scheme is a JSON document a city types in::

    {"total": 100,
     "items": [{"rate": "closure_rate", "weight": 30, "full_mark_at": 0.98, "zero_at": 0.68}, ...],
     "deductions": {"handled_overdue": 0.5, "reworked": 0.2, "returned": 0.1},
     "max_deduction": 20,
     "bonuses": [{"figure": "self_handled", "points_each": 0.05, "max": 3}],
     "bands": [{"colour": "green", "label": "绿", "min_score": 90}, ..., {"colour": "red", "min_score": 0}],
     "red_list": {"size": 5, "min_score": 90}, "black_list": {"size": 5, "max_score": 60}}

**Items** score each rate linearly: the full weight at or above ``full_mark_at``, nothing at or below
``zero_at``, in between in proportion.  The Jinhua-style rule "−1 point per percentage point below 70 %"
for an item of weight *w* is ``full_mark_at = 0.70`` with ``points_per_point = 1`` (``zero_at`` is then
``0.70 − w/100``).  A rate whose denominator is zero (nothing was due) earns the full weight: a unit is
not punished for having had no cases.  For rates where lower is better (``rework_rate``) give
``full_mark_at`` below ``zero_at``.
**Deductions** are points per counted case (an overdue task, a reworked event, a returned dispatch),
capped by ``max_deduction``.  **Bonuses** add points per counted case up to their ``max``.
The score is clamped to ``[0, total]``.

Everything is checked when the scheme is saved (:func:`parse_scheme`), every problem named with its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shuzhi.domain.duty_desk import PRESENCE_MEASURES, PRESENCE_RATES
from shuzhi.domain.evaluation import (
    COPY_MEASURES,
    COPY_RATES,
    LEDGER_MEASURES,
    LEDGER_RATES,
    MEASURES,
    RATES,
    RATING_MEASURES,
    RATING_RATES,
    RUNWAY_MEASURES,
    RUNWAY_RATES,
    TWO_WAY_MEASURES,
    TWO_WAY_RATES,
)

#: What a scheme may score and count: the event figures, the ledgers' (台账), the service ratings' (好差评),
#: the on-post checks' (在岗抽查, per unit), the copies' (抄送知悉, 及时知悉率), the runways' (a lead unit's
#: data quality and warning handling, issue #22) and the enterprises' ratings of their calls' handling
#: (政企双向评价, 企业评价好评率).
SCORED_RATES = (RATES + LEDGER_RATES + RATING_RATES + PRESENCE_RATES + COPY_RATES + RUNWAY_RATES
                + TWO_WAY_RATES)
COUNTED = (MEASURES + LEDGER_MEASURES + RATING_MEASURES + PRESENCE_MEASURES + COPY_MEASURES + RUNWAY_MEASURES
           + TWO_WAY_MEASURES)


class SchemeError(ValueError):
    """A scheme that cannot be used; ``errors`` maps a path (``items[2].weight``) to its problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Item:
    rate: str
    weight: float
    full_mark_at: float
    zero_at: float

    def points(self, value: float | None) -> float:
        if value is None:
            return self.weight
        span = self.full_mark_at - self.zero_at
        share = (value - self.zero_at) / span
        return self.weight * min(1.0, max(0.0, share))


@dataclass(frozen=True)
class Bonus:
    figure: str
    points_each: float
    max: float


@dataclass(frozen=True)
class Band:
    colour: str
    label: str
    min_score: float


@dataclass(frozen=True)
class Scheme:
    total: float
    items: tuple[Item, ...]
    deductions: tuple[tuple[str, float], ...]
    max_deduction: float | None
    bonuses: tuple[Bonus, ...]
    bands: tuple[Band, ...]
    red_size: int
    red_min: float
    black_size: int
    black_max: float

    def score(self, counts: Mapping[str, int], rates: Mapping[str, float | None]) -> ScoreCard:
        items = {i.rate: round(i.points(rates.get(i.rate)), 4) for i in self.items}
        deduction = sum(points * counts.get(fig, 0) for fig, points in self.deductions)
        if self.max_deduction is not None:
            deduction = min(deduction, self.max_deduction)
        bonus = sum(min(b.max, b.points_each * counts.get(b.figure, 0)) for b in self.bonuses)
        raw = sum(items.values()) - deduction + bonus
        value = round(min(self.total, max(0.0, raw)), 2)
        return ScoreCard(value, items, round(deduction, 4), round(bonus, 4), self.band(value))

    def band(self, score: float) -> Band:
        for b in self.bands:
            if score >= b.min_score:
                return b
        return self.bands[-1]


@dataclass(frozen=True)
class ScoreCard:
    score: float
    items: dict[str, float]
    deduction: float
    bonus: float
    band: Band


DEFAULT_BANDS: list[dict[str, Any]] = [
    {"colour": "green", "label": "绿", "min_score": 90},
    {"colour": "blue", "label": "蓝", "min_score": 80},
    {"colour": "yellow", "label": "黄", "min_score": 70},
    {"colour": "orange", "label": "橙", "min_score": 60},
    {"colour": "red", "label": "红", "min_score": 0},
]

#: A default modelled on the Jinhua digital city-management rules (domain brief §5).
DEFAULT_SCHEME: dict[str, Any] = {
    "total": 100,
    "items": [
        {"rate": "closure_rate", "weight": 25, "full_mark_at": 0.98, "zero_at": 0.70},
        {"rate": "on_time_closure_rate", "weight": 25, "full_mark_at": 0.95, "points_per_point": 1},
        {"rate": "accurate_dispatch_rate", "weight": 15, "full_mark_at": 0.95, "zero_at": 0.70},
        {"rate": "on_time_handling_rate", "weight": 15, "full_mark_at": 0.95, "zero_at": 0.60},
        {"rate": "satisfaction_rate", "weight": 10, "full_mark_at": 0.95, "zero_at": 0.60},
        {"rate": "rework_rate", "weight": 10, "full_mark_at": 0.02, "zero_at": 0.20},
    ],
    "deductions": {"handled_overdue": 0.1, "reworked": 0.2, "returned": 0.1},
    "max_deduction": 20,
    "bonuses": [{"figure": "self_handled", "points_each": 0.05, "max": 3}],
    "bands": DEFAULT_BANDS,
    "red_list": {"size": 5, "min_score": 90},
    "black_list": {"size": 5, "max_score": 70},
}


def _num(doc: Mapping[str, Any], key: str, path: str, errors: dict[str, str], *, default: float | None = None,
         required: bool = True) -> float | None:
    value = doc.get(key, default)
    if value is None:
        if required:
            errors[f"{path}{key}"] = "is required"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors[f"{path}{key}"] = f"must be a number, got {value!r}"
        return None
    return float(value)


def parse_scheme(doc: Any) -> Scheme:
    """Check and read a scheme document; :class:`SchemeError` lists every problem by path."""
    errors: dict[str, str] = {}
    if not isinstance(doc, Mapping):
        raise SchemeError({"": "a scheme is a JSON object"})
    total = _num(doc, "total", "", errors, default=100.0) or 0.0
    if total <= 0 and "total" not in errors:
        errors["total"] = "must be positive"
    items: list[Item] = []
    raw_items = doc.get("items")
    if not isinstance(raw_items, Sequence) or isinstance(raw_items, str) or not raw_items:
        errors["items"] = "give at least one item (a rate with a weight)"
        raw_items = []
    seen: set[str] = set()
    for i, it in enumerate(raw_items):
        p = f"items[{i}]."
        if not isinstance(it, Mapping):
            errors[f"items[{i}]"] = "must be an object"
            continue
        rate = it.get("rate")
        if rate not in SCORED_RATES:
            errors[p + "rate"] = f"unknown rate {rate!r}; one of {', '.join(SCORED_RATES)}"
        elif rate in seen:
            errors[p + "rate"] = f"{rate} is scored twice"
        seen.add(str(rate))
        weight = _num(it, "weight", p, errors)
        full = _num(it, "full_mark_at", p, errors)
        if weight is not None and weight <= 0:
            errors[p + "weight"] = "must be positive"
        if full is not None and not 0 <= full <= 1:
            errors[p + "full_mark_at"] = "is a rate between 0 and 1"
        has_zero, has_ppp = "zero_at" in it, "points_per_point" in it
        if has_zero == has_ppp:
            errors[p + "zero_at"] = "give exactly one of zero_at or points_per_point"
            continue
        zero: float | None
        if has_zero:
            zero = _num(it, "zero_at", p, errors)
            if zero is not None and not 0 <= zero <= 1:
                errors[p + "zero_at"] = "is a rate between 0 and 1"
        else:
            ppp = _num(it, "points_per_point", p, errors)
            if ppp is not None and ppp <= 0:
                errors[p + "points_per_point"] = "must be positive"
                continue
            zero = None if ppp is None or weight is None or full is None else full - weight / ppp / 100
        if zero is not None and full is not None and zero == full:
            errors[p + "zero_at"] = "must differ from full_mark_at (thresholds out of order)"
        if zero is not None and full is not None and rate == "rework_rate" and full > zero:
            errors[p + "full_mark_at"] = "for the rework rate lower is better: full_mark_at must be below zero_at"
        elif (zero is not None and full is not None and rate in SCORED_RATES and rate != "rework_rate"
              and full < zero):
            errors[p + "full_mark_at"] = f"thresholds out of order: full_mark_at {full} is below zero_at {zero}"
        if weight is not None and full is not None and zero is not None and isinstance(rate, str):
            items.append(Item(rate, weight, full, zero))
    weights = sum(float(it.get("weight", 0)) for it in raw_items if isinstance(it, Mapping)
                  and isinstance(it.get("weight"), int | float))
    if raw_items and "total" not in errors and abs(weights - total) > 1e-6:
        errors["items"] = f"the weights add up to {weights:g}, not to the total {total:g}"
    deductions: list[tuple[str, float]] = []
    raw_ded = doc.get("deductions", {})
    if not isinstance(raw_ded, Mapping):
        errors["deductions"] = "must be an object {figure: points per case}"
        raw_ded = {}
    for fig, pts in raw_ded.items():
        if fig not in COUNTED:
            errors[f"deductions.{fig}"] = "unknown figure"
        elif isinstance(pts, bool) or not isinstance(pts, int | float) or pts < 0:
            errors[f"deductions.{fig}"] = "points per case must be a number ≥ 0"
        else:
            deductions.append((fig, float(pts)))
    max_ded = _num(doc, "max_deduction", "", errors, required=False)
    if max_ded is not None and max_ded < 0:
        errors["max_deduction"] = "must be ≥ 0"
    bonuses: list[Bonus] = []
    raw_bon = doc.get("bonuses", [])
    if not isinstance(raw_bon, Sequence) or isinstance(raw_bon, str):
        errors["bonuses"] = "must be a list"
        raw_bon = []
    for i, b in enumerate(raw_bon):
        p = f"bonuses[{i}]."
        if not isinstance(b, Mapping):
            errors[f"bonuses[{i}]"] = "must be an object"
            continue
        if b.get("figure") not in COUNTED:
            errors[p + "figure"] = f"unknown figure {b.get('figure')!r}"
        each = _num(b, "points_each", p, errors)
        cap = _num(b, "max", p, errors)
        if each is not None and each < 0:
            errors[p + "points_each"] = "must be ≥ 0"
        if cap is not None and cap < 0:
            errors[p + "max"] = "must be ≥ 0"
        if b.get("figure") in COUNTED and each is not None and cap is not None:
            bonuses.append(Bonus(str(b["figure"]), each, cap))
    bands = _parse_bands(doc.get("bands", DEFAULT_BANDS), total, errors)
    red = doc.get("red_list", {"size": 5, "min_score": 90})
    black = doc.get("black_list", {"size": 5, "max_score": 60})
    red_size = black_size = 0
    red_min = black_max = 0.0
    for name, spec, key in (("red_list", red, "min_score"), ("black_list", black, "max_score")):
        if not isinstance(spec, Mapping):
            errors[name] = "must be an object {size, " + key + "}"
            continue
        size = spec.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            errors[f"{name}.size"] = "must be a whole number ≥ 0"
            size = 0
        bound = _num(spec, key, f"{name}.", errors) or 0.0
        if name == "red_list":
            red_size, red_min = size, bound
        else:
            black_size, black_max = size, bound
    if "red_list.min_score" not in errors and "black_list.max_score" not in errors and black_max > red_min:
        errors["black_list.max_score"] = f"the black list bound {black_max:g} is above the red list's {red_min:g}"
    if errors:
        raise SchemeError(errors)
    return Scheme(total, tuple(items), tuple(deductions), max_ded, tuple(bonuses), bands,
                  red_size, red_min, black_size, black_max)


def _parse_bands(raw: Any, total: float, errors: dict[str, str]) -> tuple[Band, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) < 2:
        errors["bands"] = "give at least two bands, best first"
        return ()
    out: list[Band] = []
    for i, b in enumerate(raw):
        p = f"bands[{i}]."
        if not isinstance(b, Mapping):
            errors[f"bands[{i}]"] = "must be an object {colour, label, min_score}"
            continue
        colour = b.get("colour")
        if not isinstance(colour, str) or not colour:
            errors[p + "colour"] = "is required"
        m = _num(b, "min_score", p, errors)
        if m is not None and isinstance(colour, str):
            out.append(Band(colour, str(b.get("label", colour)), m))
    for i in range(1, len(out)):
        if out[i].min_score >= out[i - 1].min_score:
            errors[f"bands[{i}].min_score"] = (
                f"thresholds out of order: {out[i].min_score:g} is not below {out[i - 1].min_score:g}")
    if out and out[0].min_score > total:
        errors["bands[0].min_score"] = f"{out[0].min_score:g} is above the total {total:g}"
    if out and out[-1].min_score != 0:
        errors[f"bands[{len(out) - 1}].min_score"] = "the last band must start at 0 so that every score has a colour"
    colours = [b.colour for b in out]
    if len(set(colours)) != len(colours):
        errors["bands"] = "a colour is used twice"
    return tuple(out)


@dataclass(frozen=True)
class Ranked:
    key: str
    score: float
    rank: int
    previous_rank: int | None

    @property
    def movement(self) -> int | None:
        """Places gained since the previous period (positive = up), None if it was not ranked then."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


def rank(scores: Mapping[str, float], previous: Mapping[str, float]) -> list[Ranked]:
    """Competition ranking (1, 2, 2, 4): equal scores share a place; ties are listed by key."""
    prev = _places(previous)
    now = _places(scores)
    ordered = sorted(scores, key=lambda k: (-scores[k], k))
    return [Ranked(k, scores[k], now[k], prev.get(k)) for k in ordered]


def _places(scores: Mapping[str, float]) -> dict[str, int]:
    ordered = sorted(scores.values(), reverse=True)
    first: dict[float, int] = {}
    for i, s in enumerate(ordered, start=1):
        first.setdefault(s, i)
    return {k: first[v] for k, v in scores.items()}
