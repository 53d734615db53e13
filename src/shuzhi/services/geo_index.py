"""The in-memory grid index behind point → grid → chain resolution.

Built once per process from the stored grid boundaries and rebuilt when the area tree changes
(the import bumps ``areas`` rows; we compare count and newest ``updated_at``, one cheap query).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.geo import GridIndex
from shuzhi.domain.grid_teams import GOVERNANCE


@dataclass
class _Cached:
    key: tuple[str, int, datetime | None]
    index: GridIndex
    checked: float


_lock = threading.Lock()
_cache: dict[str, _Cached] = {}
#: How long an index is trusted before the area table is asked again whether it changed.
RECHECK_SECONDS = 2.0


def grid_index(session: Session, layer: str = GOVERNANCE) -> GridIndex:
    """The grids of one layer of the dual grid (the governance grid unless asked): a point is located in
    the governance grid even where a special-purpose grid lies over the same ground."""
    url = database_key(session) if layer == GOVERNANCE else f"{database_key(session)}#{layer}"
    cached = _cache.get(url)
    if cached is not None and time.monotonic() - cached.checked < RECHECK_SECONDS:
        return cached.index
    count, newest = session.execute(select(func.count(Area.id), func.max(Area.updated_at))).one()
    key = (url, int(count), newest)
    if cached is not None and cached.key == key:
        cached.checked = time.monotonic()
        return cached.index
    with _lock:
        cached = _cache.get(url)
        if cached is not None and cached.key == key:
            cached.checked = time.monotonic()
            return cached.index
        rows = session.execute(
            select(Area.code, Area.boundary).where(Area.level == "grid", Area.layer == layer,
                                                  Area.boundary.is_not(None))
        ).all()
        index = GridIndex([(code, shape(boundary)) for code, boundary in rows])
        _cache[url] = _Cached(key, index, time.monotonic())
        return index


def forget() -> None:
    _cache.clear()
