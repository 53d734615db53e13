"""The in-memory grid index behind point → grid → chain resolution.

Built once per process from the stored boundaries of the grids valid now, and rebuilt when the area
tree changes (an import or an area change bumps ``areas`` rows; we compare count and newest
``updated_at``, one cheap query).

A rebuild never stops the lookups (issue #20, areas that change):

- a lookup never waits for the database once the process has an index: when the index is older than
  :data:`RECHECK_SECONDS`, the lookup is answered from it and a thread of its own asks whether the tree
  changed (on SQLite every transaction takes the write lock, so even that question may wait for a
  writer) and, if so, builds the new index beside the old one;
- the new index is the old one's grids with the changed rows applied (rows whose ``updated_at`` is not
  older than the old index's newest): retired versions out, new ones in, a fresh tree over all of them —
  a boundary change reads a handful of boundaries, not 62,000;
- the swap is one assignment of the cache entry (atomic under the GIL): a lookup sees the old index or
  the new one, never half of either.

Only the very first build of a process, when there is no index to serve, makes lookups wait.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.geo import GridIndex, polygon_of
from shuzhi.domain.grid_teams import GOVERNANCE

log = logging.getLogger(__name__)


@dataclass
class _Cached:
    key: tuple[str, int, datetime | None]
    index: GridIndex
    checked: float
    full_at: float = 0.0


_lock = threading.Lock()  # guards the first build of a database's index and the table of build locks
_building: dict[str, threading.Lock] = {}
_cache: dict[str, _Cached] = {}
#: How long an index is trusted before the area table is asked again whether it changed.
RECHECK_SECONDS = 2.0
#: A row stamped by a transaction that began before an index was read but committed after it is older
#: than the index's newest row, so the next incremental build does not see it: when the tree changes
#: and the last full build is older than this, the rebuild is a full one (in the background, like the
#: others), so such a row is missed at most until the first change after it.
FULL_BUILD_SECONDS = 600.0
#: Completed swaps, per database: a test or a benchmark sees that a rebuild happened.
swaps: dict[str, int] = {}


def _key(session: Session, url: str) -> tuple[str, int, datetime | None]:
    count, newest = session.execute(select(func.count(Area.id), func.max(Area.updated_at))).one()
    return url, int(count), newest


def build(session: Session, layer: str = GOVERNANCE) -> GridIndex:
    """A fresh index over one layer's grids valid now (a retired grid version answers no lookup)."""
    rows = session.execute(
        select(Area.code, Area.boundary)
        .where(Area.level == "grid", Area.layer == layer, Area.boundary.is_not(None), Area.valid_to.is_(None))
    ).all()
    return GridIndex([(code, polygon_of(boundary)) for code, boundary in rows])


def build_from(session: Session, old: _Cached, layer: str = GOVERNANCE) -> GridIndex:
    """The old index's grids with every area row changed since it was built applied; a new tree."""
    since = old.key[2]
    if since is None:
        return build(session, layer)
    grids = dict(old.index.items())
    changed = session.execute(select(Area.code, Area.level, Area.layer, Area.valid_to, Area.boundary)
                              .where(Area.updated_at > since)).all()
    for code, level, area_layer, valid_to, boundary in changed:
        if level == "grid" and area_layer == layer and valid_to is None and boundary:
            grids[code] = polygon_of(boundary)
        else:
            grids.pop(code, None)
    return GridIndex(list(grids.items()))


def _swap(url: str, key: tuple[str, int, datetime | None], index: GridIndex, full: bool = True) -> None:
    old = _cache.get(url)
    full_at = time.monotonic() if full or old is None else old.full_at
    _cache[url] = _Cached(key, index, time.monotonic(), full_at)  # one assignment: old or new, never half
    swaps[url] = swaps.get(url, 0) + 1


def _url(session: Session, layer: str) -> str:
    return database_key(session) if layer == GOVERNANCE else f"{database_key(session)}#{layer}"


def grid_index(session: Session, layer: str = GOVERNANCE) -> GridIndex:
    """The grids of one layer of the dual grid (the governance grid unless asked): a point is located in
    the governance grid even where a special-purpose grid lies over the same ground."""
    url = _url(session, layer)
    cached = _cache.get(url)
    if cached is None:
        with _lock:
            cached = _cache.get(url)
            if cached is None:
                key = _key(session, url)
                _swap(url, key, build(session, layer))
            return _cache[url].index
    if time.monotonic() - cached.checked >= RECHECK_SECONDS:
        cached.checked = time.monotonic()
        _refresh_beside(session.get_bind(), url, layer)
    return cached.index


def _building_lock(url: str) -> threading.Lock:
    with _lock:
        return _building.setdefault(url, threading.Lock())


def _refresh(session: Session, url: str, layer: str = GOVERNANCE) -> GridIndex | None:
    """Inside the build lock: swap in a new index if the tree changed since the cached one."""
    old = _cache.get(url)
    key = _key(session, url)
    if old is not None and old.key == key:
        return None
    full = old is None or time.monotonic() - old.full_at >= FULL_BUILD_SECONDS
    index = build(session, layer) if full or old is None else build_from(session, old, layer)
    _swap(url, key, index, full=full)
    return index


def _refresh_beside(bind: Any, url: str, layer: str = GOVERNANCE) -> None:
    building = _building_lock(url)
    if not building.acquire(blocking=False):
        return  # one is being checked or built already

    def run() -> None:
        try:
            with Session(bind=bind) as s:
                _refresh(s, url, layer)
        except Exception:  # the old index keeps answering; the next lookup tries again
            log.warning("rebuilding the grid index failed; the old one keeps answering", exc_info=True)
        finally:
            building.release()

    threading.Thread(target=run, name="grid-index-rebuild", daemon=True).start()


def rebuild(session: Session) -> GridIndex:
    """Build the index beside the one in use and swap it in now (after an area change, in this process);
    lookups of other threads are answered from the old index until the swap."""
    url = _url(session, GOVERNANCE)
    for other in [u for u in list(_cache) if u.startswith(f"{url}#")]:
        _cache.pop(other, None)  # a special layer's index is built again at its next lookup
    with _building_lock(url):
        return _refresh(session, url) or _cache[url].index


def forget() -> None:
    _cache.clear()
