"""Outbound webhook HTTP: signing and one POST.

Signature (like Stripe's and GitHub's): ``X-Shuzhi-Signature: sha256=<hex>`` where the HMAC-SHA256 key
is the subscription's secret and the message is ``"<timestamp>.<raw body>"``; ``X-Shuzhi-Timestamp``
carries the Unix time. A receiver recomputes the HMAC over the raw body, compares in constant time and
refuses timestamps older than a few minutes (replay protection).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Shuzhi-Signature"
TIMESTAMP_HEADER = "X-Shuzhi-Timestamp"
DELIVERY_HEADER = "X-Shuzhi-Delivery"
TOPIC_HEADER = "X-Shuzhi-Topic"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance_s: int = 300,
           now: float | None = None) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


@dataclass(frozen=True)
class PostResult:
    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> PostResult:
    started = time.monotonic()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "shuzhi-webhooks/1",
                                          **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, error = resp.status, None
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    return PostResult(status, error, int((time.monotonic() - started) * 1000))
