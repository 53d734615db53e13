"""Silences and inhibitions of warnings (预警静默与抑制).

**Silences** (a time window and a matcher, e.g. planned works) and **inhibitions** (an upstream
warning suppresses its dependants, e.g. a power outage over the pumps it feeds) do not change the
warning's life; they keep it from notifying, opening events and starting plans while they apply.
Within one series a single warning carries the highest effective level, so a higher level always
suppresses the lower ones of the same series.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shuzhi.domain.conditions import RuleProblem
from shuzhi.domain.problems import type_name
from shuzhi.domain.thresholds import _AREA_CODE, _CODE, LEVEL_RANK, LEVELS, _Problems

# --- silences and inhibitions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarningFacts:
    """What a matcher sees of a warning."""

    indicator: str
    lineage: tuple[str, ...]
    series_key: str
    area_path: str
    level: int


@dataclass(frozen=True, slots=True)
class Matcher:
    """Empty parts match anything; ``indicators`` match any code of the indicator's lineage
    (sector, runway, sub-runway or the indicator), ``area_path`` a subtree."""

    indicators: frozenset[str] = frozenset()
    series: frozenset[str] = frozenset()
    area: str | None = None
    area_path: str | None = None
    levels: frozenset[int] = frozenset()

    def matches(self, w: WarningFacts) -> bool:
        if self.indicators and not self.indicators.intersection(w.lineage):
            return False
        if self.series and w.series_key not in self.series:
            return False
        if self.area_path is not None and not w.area_path.startswith(self.area_path):
            return False
        return not self.levels or w.level in self.levels

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.indicators:
            doc["indicators"] = sorted(self.indicators)
        if self.series:
            doc["series"] = sorted(self.series)
        if self.area:
            doc["area"] = self.area
        if self.levels:
            doc["levels"] = [LEVELS[r] for r in sorted(self.levels)]
        return doc


MATCHER_KEYS = ("indicators", "series", "area", "levels")


def parse_matcher(doc: object, path: str = "$") -> tuple[Matcher | None, list[RuleProblem]]:
    """``{"indicators": [...], "series": [...], "area": "500111001", "levels": ["blue"]}``."""
    p = _Problems()
    if not isinstance(doc, dict):
        p.add(path, f"expected an object, got {type_name(doc)}", "wrong_type")
        return None, p.items
    p.unknown_keys(doc, MATCHER_KEYS, path)
    lists: dict[str, frozenset[str]] = {}
    for key in ("indicators", "series", "levels"):
        raw = doc.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
            p.add(f"{path}.{key}", f"expected a list of codes, got {type_name(raw)}", "wrong_type")
            continue
        if len(raw) > 1000:
            p.add(f"{path}.{key}", "at most 1000 entries", "too_large")
            continue
        lists[key] = frozenset(raw)
    for i, name in enumerate(doc.get("levels", []) if isinstance(doc.get("levels"), list) else []):
        if name not in LEVEL_RANK:
            p.add(f"{path}.levels[{i}]", f"unknown level {name!r}; levels are {', '.join(LEVELS)}", "unknown_value")
    area = doc.get("area")
    if area is not None and (not isinstance(area, str) or not _AREA_CODE.match(area)):
        p.add(f"{path}.area", f"an area code has 6, 9, 12 or 15 digits, got {area!r}", "wrong_type")
    if p.items:
        return None, p.items
    return Matcher(indicators=lists.get("indicators", frozenset()), series=lists.get("series", frozenset()),
                   area=area, levels=frozenset(LEVEL_RANK[n] for n in lists.get("levels", frozenset()))), []


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    starts_at: datetime
    ends_at: datetime
    matcher: Matcher

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


SCOPES = ("subtree", "same_area", "any")


@dataclass(frozen=True, slots=True)
class Inhibition:
    """A firing ``source`` warning at ``min_level`` or above suppresses matching ``target`` warnings;
    ``scope`` ties them by place: the target lies in the source's area subtree, in the same area,
    or anywhere (when the series lists already name exactly which dependants)."""

    code: str
    source: Matcher
    target: Matcher
    min_level: int = 0
    scope: str = "subtree"

    def inhibits(self, source: WarningFacts, target: WarningFacts) -> bool:
        if source.level < self.min_level or (source.indicator, source.series_key) == (target.indicator,
                                                                                       target.series_key):
            return False
        if not (self.source.matches(source) and self.target.matches(target)):
            return False
        if self.scope == "subtree":
            return target.area_path.startswith(source.area_path)
        if self.scope == "same_area":
            return target.area_path == source.area_path
        return True


INHIBITION_KEYS = ("code", "name", "source", "target", "min_level", "scope", "enabled")


def parse_inhibition(doc: object, path: str = "$") -> tuple[Inhibition | None, list[RuleProblem]]:
    p = _Problems()
    if not isinstance(doc, dict):
        p.add(path, f"expected an object, got {type_name(doc)}", "wrong_type")
        return None, p.items
    p.unknown_keys(doc, INHIBITION_KEYS, path)
    code = doc.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        p.add(f"{path}.code", "a code is 1-40 letters, digits, '_', '.', '-'", "missing" if code is None
              else "wrong_type")
    matchers: dict[str, Matcher] = {}
    for key in ("source", "target"):
        if key not in doc:
            p.add(f"{path}.{key}", f"'{key}' is missing", "missing")
            continue
        m, problems = parse_matcher(doc[key], f"{path}.{key}")
        p.items += problems
        if m is not None:
            if not m.indicators and not m.series:
                p.add(f"{path}.{key}", "name the indicators or the series it applies to", "missing")
            matchers[key] = m
    min_level = doc.get("min_level", "blue")
    if min_level not in LEVEL_RANK:
        p.add(f"{path}.min_level", f"unknown level {min_level!r}; levels are {', '.join(LEVELS)}", "unknown_value")
    scope = doc.get("scope", "subtree")
    if scope not in SCOPES:
        p.add(f"{path}.scope", f"scope must be one of {', '.join(SCOPES)}, got {scope!r}", "unknown_value")
    if p.items:
        return None, p.items
    assert isinstance(code, str)
    return Inhibition(code=code, source=matchers["source"], target=matchers["target"],
                      min_level=LEVEL_RANK[min_level], scope=scope), []


@dataclass(frozen=True, slots=True)
class Suppression:
    kind: str  # silence | inhibition
    ref: str  # silence id, or inhibition code
    by_warning: int | None = None

    def document(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "by_warning": self.by_warning}


def suppression(w: WarningFacts, at: datetime, silences: Iterable[Silence], inhibitions: Iterable[Inhibition],
                firing: Iterable[tuple[int, WarningFacts]]) -> Suppression | None:
    """Why a warning must not notify now (first silence, else first inhibiting warning), or None."""
    for s in silences:
        if s.active(at) and s.matcher.matches(w):
            return Suppression("silence", str(s.id))
    rules = list(inhibitions)
    if rules:
        for warning_id, src in firing:
            for rule in rules:
                if rule.inhibits(src, w):
                    return Suppression("inhibition", rule.code, warning_id)
    return None
