"""The five-level area tree and its codes.

Codes follow the administrative division codes of GB/T 2260 (6 digits for province/city and
district/county) extended the way the statistical division codes of the National Bureau of Statistics
do: a town/street adds 3 digits (9), a village/community 3 more (12); a grid adds a 3-digit sequence
to its village (15).

Rule enforced for the top two levels: a district's first two digits (the province-level prefix) equal
its city's — Chongqing 500000 holds 500111 Dazu — because Chongqing, like the other municipalities, has
districts directly under the province-level city. Below the district every code extends its parent's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class AreaLevel(StrEnum):
    CITY = "city"  # 市
    DISTRICT = "district"  # 区县
    TOWN = "town"  # 镇街
    VILLAGE = "village"  # 村社区
    GRID = "grid"  # 网格

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    @property
    def parent(self) -> AreaLevel | None:
        return _ORDER[self.rank - 1] if self.rank > 0 else None

    @property
    def child(self) -> AreaLevel | None:
        return _ORDER[self.rank + 1] if self.rank + 1 < len(_ORDER) else None

    @property
    def code_length(self) -> int:
        return CODE_LENGTH[self]


_ORDER = [AreaLevel.CITY, AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.VILLAGE, AreaLevel.GRID]
CODE_LENGTH = {
    AreaLevel.CITY: 6,
    AreaLevel.DISTRICT: 6,
    AreaLevel.TOWN: 9,
    AreaLevel.VILLAGE: 12,
    AreaLevel.GRID: 15,
}


def validate_code(level: AreaLevel, code: str, parent_code: str | None) -> str | None:
    """An error message for a code that breaks the rules of its level, or None when it is right."""
    want = CODE_LENGTH[level]
    if not code.isascii() or not code.isdigit() or len(code) != want:
        return f"a {level.value} code has {want} digits, got '{code}'"
    if level is AreaLevel.CITY:
        return None if parent_code in (None, "") else "a city has no parent"
    if not parent_code:
        return f"a {level.value} needs a parent_code"
    if level is AreaLevel.DISTRICT:
        if parent_code[:2] != code[:2]:
            return f"district {code} is not in the province-level prefix of city {parent_code}"
        if code == parent_code:
            return "a district code must differ from its city's"
        return None
    if not code.startswith(parent_code):
        return f"a {level.value} code extends its parent's code {parent_code}, got '{code}'"
    if code[len(parent_code):] == "000":
        return f"the sequence 000 is not a {level.value}"
    return None


@dataclass(frozen=True)
class AreaRef:
    code: str
    name: str
    level: AreaLevel
    parent_code: str | None


def chain(code: str, lookup: Mapping[str, AreaRef]) -> list[AreaRef]:
    """The areas from the top of the tree down to ``code`` (empty if ``code`` is unknown)."""
    out: list[AreaRef] = []
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current in lookup and current not in seen:
        seen.add(current)
        ref = lookup[current]
        out.append(ref)
        current = ref.parent_code
    out.reverse()
    return out
