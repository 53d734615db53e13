"""In-process token buckets for sign-in and intake.

Each API process keeps its own buckets: with ``N`` workers a client can get up to ``N`` times the
configured rate when the load balancer spreads its requests (docs/operations.md). That is the
intended trade-off — no shared store on the hot path — and the account lockout, which is counted
in the database, still holds across processes.
"""

from __future__ import annotations

import threading
import time

from shuzhi.services.errors import ServiceError


class RateLimited(ServiceError):
    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(f"{message}; try again in {seconds} s", details={"retry_after": seconds})
        self.headers = {"Retry-After": str(seconds)}


class TokenBuckets:
    """``rate`` tokens per second up to ``burst``, one bucket per key; a request takes one token."""

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed, else the seconds until a token is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()  # a flood of distinct keys must not grow memory without bound
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate if self.rate > 0 else 3600.0

    def check(self, key: str, message: str) -> None:
        wait = self.take(key)
        if wait > 0:
            raise RateLimited(message, wait)
