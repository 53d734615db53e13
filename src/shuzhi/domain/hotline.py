"""Hotline intelligence rules: likely duplicates, repeats, unit suggestions, accuracy and volume figures.

Plain Python. The model (``adapters/text_model.py``) says how alike two texts are and which classes a
text is about; these rules turn that, the places named, the distance and the time between two reports
into a duplicate score, and decide what counts as a repeat or an unusual volume.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

# ---- places named in a text ---------------------------------------------------------------------------

_TOWN = re.compile(r"([\u4e00-\u9fff]{2})(街道|镇|乡)")
#: a place's own name (up to 4 characters) and what it is (road, estate, village, market …)
_PLACE = re.compile(r"([\u4e00-\u9fff0-9]{1,4}?)(大道|路|街|巷|小区|社区|新城|花园|村|广场|公园|"
                    r"市场|中学|小学|学校|医院|大桥|天桥|桥|隧道|车站|游客中心|湖|河|工业园)")
_NOT_A_NAME = re.compile(r"^(马|公|道|在|的|这|那|我|了|上|下|边|到|从|条|个|家|和|"
                         r"那条|这条|一条|门口|旁边|附近)+")


# towns, places and their bigrams are pure functions of a text: the desk compares one report with up to
# hundreds of recent ones at every pause in typing, and the recent ones are the same each time
@lru_cache(maxsize=16_384)
def towns(text: str) -> frozenset[str]:
    """Towns and sub-districts named (``龙岗`` for 龙岗街道, ``龙水`` for 龙水镇)."""
    return frozenset(m.group(1) for m in _TOWN.finditer(text))


@lru_cache(maxsize=16_384)
def places(text: str) -> frozenset[str]:
    """Roads, estates, villages, markets … named in ``text`` (town names taken out first)."""
    rest = _TOWN.sub(" ", text)
    found = set()
    for m in _PLACE.finditer(rest):
        name = _NOT_A_NAME.sub("", m.group(1))
        if name:
            found.add(name + m.group(2))
    return frozenset(found)


@lru_cache(maxsize=16_384)
def _bigrams(s: str) -> frozenset[str]:
    return frozenset({s[i:i + 2] for i in range(len(s) - 1)} or {s})


def place_similarity(a: str, b: str) -> float | None:
    """How surely two texts speak of the same place: 1 the same, 0 clearly different, None unknown
    (one of them names no place). A place named in both counts by its characters, so that
    "宝山小区" matches "智凤宝山小区"; different towns named in both make it 0."""
    ta, tb = towns(a), towns(b)
    if ta and tb and not ta & tb:
        return 0.0
    pa, pb = places(a), places(b)
    if not pa or not pb:
        return 1.0 if ta and tb and ta & tb and not (pa or pb) else None
    best = 0.0
    for x in pa:
        gx = _bigrams(x)
        for y in pb:
            gy = _bigrams(y)
            best = max(best, len(gx & gy) / min(len(gx), len(gy)))
    return best


# ---- duplicates ----------------------------------------------------------------------------------

#: A pair scoring at least this is shown as a likely duplicate. Chosen on pairs built from the training
#: phrases (``benchmarks/bench_hotline.py --tune``), never on the evaluation pairs.
DUPLICATE_THRESHOLD = 0.25
#: Reports further apart than this are not the same problem, whatever they say.
MAX_DISTANCE_M = 1000.0
#: Half-life of a report's relevance: a pothole reported 7 days ago counts half as much as one today.
HALF_LIFE = timedelta(days=7)
#: How far back the desk looks for duplicates.
DUPLICATE_WINDOW = timedelta(days=30)


def class_overlap(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Probability that two texts are about the same class: Σ min(pa, pb) over classes (0…1)."""
    return sum(min(p, b.get(code, 0.0)) for code, p in a.items())


def text_duplicate_score(lexical: float, problem: float, place: float | None) -> float:
    """Duplicate score from the texts alone: what they say (words and class), times where.

    ``lexical`` is the cosine of their TF-IDF vectors, ``problem`` their class overlap, ``place`` the
    place similarity (None when unknown: an unknown place neither confirms nor rules out)."""
    said = 0.55 * problem + 0.45 * lexical
    where = 0.8 if place is None else 0.25 + 0.75 * place
    return round(said * where, 4)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def nearness(distance: float | None) -> float | None:
    """1 within 100 m, falling to 0 at :data:`MAX_DISTANCE_M`; None when a location is missing."""
    if distance is None:
        return None
    if distance <= 100:
        return 1.0
    return max(0.0, 1.0 - (distance - 100) / (MAX_DISTANCE_M - 100))


def freshness(age: timedelta) -> float:
    """1 for now, ½ after :data:`HALF_LIFE` (a later report, age < 0, counts as now)."""
    return float(0.5 ** (max(age.total_seconds(), 0.0) / HALF_LIFE.total_seconds()))


@dataclass(frozen=True)
class DuplicateScore:
    score: float
    text: float
    place: float | None
    distance_m: float | None
    age_hours: float


def desk_duplicate_score(lexical: float, problem: float, text_place: float | None, distance: float | None,
                         age: timedelta) -> DuplicateScore:
    """The desk's ranking: text similarity × distance × time. A measured distance replaces the places
    the texts name; without locations the texts' places are all there is."""
    near = nearness(distance)
    place = near if near is not None else text_place
    text = text_duplicate_score(lexical, problem, place)
    # time matters less than place: a burst main reported yesterday and today is one problem
    score = text * (0.6 + 0.4 * freshness(age))
    return DuplicateScore(round(score, 4), text, place, None if distance is None else round(distance, 1),
                          round(age.total_seconds() / 3600, 1))


# ---- repeats -------------------------------------------------------------------------------------

#: A place reported again within this many days of its case's closure calls the verification into question.
REPEAT_WINDOW_DAYS = 30
#: Two reports this close together are at "the same place".
SAME_PLACE_M = 100.0


@dataclass(frozen=True)
class PastCase:
    event_id: int
    number: str
    class_code: str | None
    closed_at: datetime | None
    lon: float | None
    lat: float | None
    reporter_phone: str | None


def repeat_reasons(new_class: str | None, lon: float | None, lat: float | None, phone: str | None,
                   at: datetime, past: PastCase, window_days: int = REPEAT_WINDOW_DAYS) -> list[str]:
    """Why ``past`` (a closed case) is repeated by a new report: ``same_caller`` and/or ``same_place``
    (same class within :data:`SAME_PLACE_M`), within ``window_days`` after its closure; [] if not."""
    if past.closed_at is None or not (timedelta(0) <= at - past.closed_at <= timedelta(days=window_days)):
        return []
    reasons = []
    if phone and past.reporter_phone and _digits(phone) == _digits(past.reporter_phone):
        reasons.append("same_caller")
    if (lon is not None and lat is not None and past.lon is not None and past.lat is not None
            and new_class is not None and new_class == past.class_code
            and distance_m(lon, lat, past.lon, past.lat) <= SAME_PLACE_M):
        reasons.append("same_place")
    return reasons


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[-11:]


# ---- units ---------------------------------------------------------------------------------------

def units_from_classes(classes: Sequence[tuple[str, float]], units_of: Mapping[str, Mapping[str, float]],
                       k: int = 3) -> list[tuple[str, float]]:
    """Rank units by Σ P(class) × P(unit | class): ``units_of[class]`` is the share of that class's
    cases each unit handled (or 1.0 for the unit the dispatch rules choose)."""
    total: dict[str, float] = {}
    for code, p in classes:
        shares = units_of.get(code) or {}
        norm = sum(shares.values()) or 1.0
        for unit, share in shares.items():
            total[unit] = total.get(unit, 0.0) + p * share / norm
    return sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


# ---- accuracy ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Accuracy:
    n: int
    top1: float
    top3: float


def accuracy(gold: Sequence[str], ranked: Sequence[Sequence[str]]) -> Accuracy:
    """Share of texts whose gold class is first, or among the first three, of the ranking."""
    if not gold:
        return Accuracy(0, 0.0, 0.0)
    top1 = sum(1 for g, r in zip(gold, ranked, strict=True) if r and r[0] == g)
    top3 = sum(1 for g, r in zip(gold, ranked, strict=True) if g in r[:3])
    return Accuracy(len(gold), top1 / len(gold), top3 / len(gold))


@dataclass(frozen=True)
class PairScores:
    n: int
    precision: float
    recall: float
    f1: float
    true_positive: int
    false_positive: int
    false_negative: int


def pair_scores(truth: Sequence[bool], predicted: Sequence[bool]) -> PairScores:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t and p)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p and not t)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(len(truth), precision, recall, f1, tp, fp, fn)


def confusions(gold: Sequence[str], predicted: Sequence[str], top: int = 15) -> list[tuple[str, str, int]]:
    """The most frequent (gold, predicted) mistakes, most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    for g, p in zip(gold, predicted, strict=True):
        if g != p:
            counts[(g, p)] = counts.get((g, p), 0) + 1
    return [(g, p, n) for (g, p), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def per_class(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{class: (right, total)}`` over the gold classes."""
    out: dict[str, tuple[int, int]] = {}
    for g, p in zip(gold, predicted, strict=True):
        right, total = out.get(g, (0, 0))
        out[g] = (right + (g == p), total + 1)
    return out


# ---- volumes -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Departure:
    code: str
    count: int
    mean: float
    low: float
    high: float
    direction: str  # above | below


def usual_range(history: Sequence[int], k: float = 2.0) -> tuple[float, float, float]:
    """(mean, low, high): mean ± k standard deviations of the previous periods' counts, the spread
    at least √mean (a Poisson count's own noise), so a class counted 1, 1, 1 is not "unusual" at 2."""
    if not history:
        return 0.0, 0.0, 0.0
    mean = sum(history) / len(history)
    var = sum((x - mean) ** 2 for x in history) / max(len(history) - 1, 1)
    spread = max(math.sqrt(var), math.sqrt(mean), 1.0)
    return mean, max(0.0, mean - k * spread), mean + k * spread


def departures(current: Mapping[str, int], history: Mapping[str, Sequence[int]], k: float = 2.0,
               min_periods: int = 3) -> list[Departure]:
    """Classes whose count this period lies outside their usual range (needs ``min_periods`` of history)."""
    out = []
    for code in sorted(set(current) | set(history)):
        past = list(history.get(code, ()))
        if len(past) < min_periods:
            continue
        mean, low, high = usual_range(past, k)
        n = current.get(code, 0)
        if n > high:
            out.append(Departure(code, n, round(mean, 1), round(low, 1), round(high, 1), "above"))
        elif n < low:
            out.append(Departure(code, n, round(mean, 1), round(low, 1), round(high, 1), "below"))
    return sorted(out, key=lambda d: -abs(d.count - d.mean))


def rising(current: Mapping[str, int], previous: Mapping[str, int], min_count: int = 3,
           min_ratio: float = 1.5) -> list[tuple[str, int, int]]:
    """Topics at least ``min_count`` now and ``min_ratio`` × the previous period: (key, now, before)."""
    out = [(key, n, previous.get(key, 0)) for key, n in current.items()
           if n >= min_count and n >= min_ratio * max(previous.get(key, 0), 1)]
    return sorted(out, key=lambda r: (-(r[1] - r[2]), r[0]))


def split_by_cutoff(items: Iterable[tuple[datetime, str]], cutoff: datetime) -> tuple[int, int]:
    """(before or at, after) the cutoff: what a model version was and was not trained on."""
    before = after = 0
    for at, _ in items:
        if at <= cutoff:
            before += 1
        else:
            after += 1
    return before, after
