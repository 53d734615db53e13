"""A small time-bounded memo for reference data read on every request (people, classes, centres).

Reference data changes a few times a day through imports; intake runs hundreds of times a second.
Entries live ``ttl`` seconds, so a change reaches every process within that time without any
cross-process signal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


_ALL: list[TTLCache[object]] = []


def clear_all() -> None:
    """Forget everything (tests rebuild the reference data between cases)."""
    for cache in _ALL:
        cache.clear()


class TTLCache(Generic[V]):
    """Misses (``None``) are not kept: something imported a moment ago is found at once."""

    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self, key: Hashable, load: Callable[[], V | None]) -> V | None:
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = load()
        if value is None:
            return value
        with self._lock:
            if len(self._data) >= self.maxsize:
                self._data.clear()
            self._data[key] = (now, value)
        return value

    def peek(self, key: Hashable) -> V | None:
        """The live entry without loading it (for callers that must not touch the database now)."""
        hit = self._data.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def clear_key(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
