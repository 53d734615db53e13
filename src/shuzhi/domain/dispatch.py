"""Choosing the responsible unit for an event class at a place.

The grid principle (小事不出网格、大事不出村社、难事不出镇街、矛盾不上交): among the units whose duties
include the class and whose coverage contains the event's area, the one serving the smallest area
handles it — a grid team before its village, a village before the town, the town before a district
department.  Ties (two departments sharing a duty) go to the lowest unit code, so the choice is
reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LEVEL_RANK = {"grid": 0, "village": 1, "town": 2, "district": 3, "city": 4}


@dataclass(frozen=True)
class Candidate:
    unit_id: int
    code: str
    kind: str
    level: str
    #: Materialised path of one area the unit covers (``/500000/500111/``).
    coverage_path: str


def responsible_units(candidates: Iterable[Candidate], area_path: str | None) -> Candidate | None:
    """The unit that should lead, or None when nobody's duties cover the class at that place."""
    if not area_path:
        return None
    covering = [c for c in candidates if area_path.startswith(c.coverage_path)]
    if not covering:
        return None
    # Deeper coverage path = smaller area; the level breaks ties between equal coverages.
    return min(covering, key=lambda c: (-c.coverage_path.count("/"), LEVEL_RANK.get(c.level, 9), c.code))
