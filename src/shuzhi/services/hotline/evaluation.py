"""Measuring a model on a centre's own files: labelled texts and labelled duplicate pairs.

``shuzhi model evaluate --file texts.jsonl`` reads lines ``{"text": …, "class_code": …}`` and
``--pairs pairs.jsonl`` lines ``{"a": …, "b": …, "duplicate": true|false}``. A bad line is refused with
its line number and field, and nothing is measured on a half-read file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shuzhi.adapters.text_model import TextModel
from shuzhi.domain import hotline as rules
from shuzhi.services.errors import Invalid


@dataclass(frozen=True)
class LabelledText:
    text: str
    class_code: str


@dataclass(frozen=True)
class LabelledPair:
    a: str
    b: str
    duplicate: bool


def _lines(data: bytes, what: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"{what} is not UTF-8 (byte {exc.start})", field="file") from None
    out = []
    for n, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Invalid(f"line {n}: not JSON ({exc.msg}, column {exc.colno})", field=f"line {n}") from None
        if not isinstance(row, dict):
            raise Invalid(f"line {n}: expected an object", field=f"line {n}")
        out.append((n, row))
    if not out:
        raise Invalid(f"{what} has no lines", field="file")
    return out


def _text(row: Mapping[str, Any], key: str, n: int) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"line {n}: '{key}' must be a non-empty string", field=f"line {n}.{key}")
    return value


def read_texts(data: bytes, known_classes: Sequence[str] | None = None) -> list[LabelledText]:
    """Lines ``{"text", "class_code"}``; an unknown class (when ``known_classes`` is given) is refused."""
    known = set(known_classes) if known_classes is not None else None
    rows = []
    for n, row in _lines(data, "the texts file"):
        code = _text(row, "class_code", n)
        if known is not None and code not in known:
            raise Invalid(f"line {n}: unknown class_code '{code}'", field=f"line {n}.class_code")
        rows.append(LabelledText(_text(row, "text", n), code))
    return rows


def read_pairs(data: bytes) -> list[LabelledPair]:
    rows = []
    for n, row in _lines(data, "the pairs file"):
        duplicate = row.get("duplicate")
        if not isinstance(duplicate, bool):
            raise Invalid(f"line {n}: 'duplicate' must be true or false", field=f"line {n}.duplicate")
        rows.append(LabelledPair(_text(row, "a", n), _text(row, "b", n), duplicate))
    return rows


@dataclass
class TextReport:
    accuracy: rules.Accuracy
    unit_top1: float | None
    per_class: dict[str, tuple[int, int]]
    confusions: list[tuple[str, str, int]]
    predicted: list[str] = field(default_factory=list)


def evaluate_texts(model: TextModel, rows: Sequence[LabelledText],
                   units_of: Mapping[str, Mapping[str, float]] | None = None) -> TextReport:
    """Top-1/top-3 class accuracy, and unit accuracy when ``units_of`` (class → units) is known: the unit
    suggested first is right when it is a unit responsible for the gold class."""
    ranked = model.top_many([r.text for r in rows], k=5)
    gold = [r.class_code for r in rows]
    acc = rules.accuracy(gold, [[s.code for s in r] for r in ranked])
    first = [r[0].code for r in ranked]
    unit_top1 = None
    if units_of is not None:
        right = 0
        for g, r in zip(gold, ranked, strict=True):
            units = rules.units_from_classes([(s.code, s.score) for s in r], units_of, k=1)
            right += bool(units) and units[0][0] in (units_of.get(g) or {})
        unit_top1 = right / len(rows) if rows else 0.0
    return TextReport(acc, unit_top1, rules.per_class(gold, first), rules.confusions(gold, first), first)


def pair_score(model: TextModel, a: str, b: str) -> float:
    """The duplicate score of two texts from the texts alone (no location, no time)."""
    probs = model.probabilities([a, b])
    labels = model.labels
    pa = {labels[j]: float(p) for j, p in enumerate(probs[0]) if p > 0.005}
    pb = {labels[j]: float(p) for j, p in enumerate(probs[1]) if p > 0.005}
    lexical = float(model.similarity(a, [b])[0])
    return rules.text_duplicate_score(lexical, rules.class_overlap(pa, pb), rules.place_similarity(a, b))


def evaluate_pairs(model: TextModel, rows: Sequence[LabelledPair],
                   threshold: float = rules.DUPLICATE_THRESHOLD) -> tuple[rules.PairScores, list[float]]:
    scores = [pair_score(model, r.a, r.b) for r in rows]
    return rules.pair_scores([r.duplicate for r in rows], [s >= threshold for s in scores]), scores
