"""The in-memory grid index behind point → grid → chain resolution.

Built once per process from the stored boundaries of the grids valid now, and rebuilt when the area
tree changes (an import or an area change bumps ``areas`` rows; we compare count and newest
``updated_at``, one cheap query).

A rebuild never stops the lookups (issue #20, areas that change): the new index is built beside the
old one by one thread while every other lookup keeps being answered from the old index, then the
cache entry is replaced in one assignment (atomic under the GIL). Only the very first build of a
process, when there is no index to serve, makes lookups wait.
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


@dataclass
class _Cached:
    key: tuple[str, int, datetime | None]
    index: GridIndex
    checked: float


_lock = threading.Lock()  # guards the first build of a database's index and the table of build locks
_building: dict[str, threading.Lock] = {}
_cache: dict[str, _Cached] = {}
#: How long an index is trusted before the area table is asked again whether it changed.
RECHECK_SECONDS = 2.0
#: Completed swaps, per database: a test or a benchmark sees that a rebuild happened.
swaps: dict[str, int] = {}


def _key(session: Session, url: str) -> tuple[str, int, datetime | None]:
    count, newest = session.execute(select(func.count(Area.id), func.max(Area.updated_at))).one()
    return url, int(count), newest


def build(session: Session) -> GridIndex:
    """A fresh index over the grids valid now (a retired grid version answers no lookup)."""
    rows = session.execute(
        select(Area.code, Area.boundary)
        .where(Area.level == "grid", Area.boundary.is_not(None), Area.valid_to.is_(None))
    ).all()
    return GridIndex([(code, shape(boundary)) for code, boundary in rows])


def _swap(url: str, key: tuple[str, int, datetime | None], index: GridIndex) -> None:
    _cache[url] = _Cached(key, index, time.monotonic())  # one assignment: readers see old or new, never half
    swaps[url] = swaps.get(url, 0) + 1


def grid_index(session: Session) -> GridIndex:
    url = database_key(session)
    cached = _cache.get(url)
    if cached is not None and time.monotonic() - cached.checked < RECHECK_SECONDS:
        return cached.index
    key = _key(session, url)
    if cached is not None and cached.key == key:
        cached.checked = time.monotonic()
        return cached.index
    if cached is None:
        with _lock:
            cached = _cache.get(url)
            if cached is None or cached.key != key:
                _swap(url, key, build(session))
            return _cache[url].index
    with _lock:
        building = _building.setdefault(url, threading.Lock())
    if not building.acquire(blocking=False):
        return cached.index  # another thread builds the new one: the old one answers meanwhile
    try:
        _swap(url, key, build(session))
    finally:
        building.release()
    return _cache[url].index


def rebuild(session: Session) -> GridIndex:
    """Build the index beside the one in use and swap it in (after an area change, in this process);
    lookups of other threads are answered from the old index until the swap."""
    url = database_key(session)
    with _lock:
        building = _building.setdefault(url, threading.Lock())
    with building:
        key = _key(session, url)
        index = build(session)
        _swap(url, key, index)
    return index


def forget() -> None:
    _cache.clear()
