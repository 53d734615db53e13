"""Outbound webhook HTTP: signing and one POST.

Signature (like Stripe's and GitHub's): ``X-Shuzhi-Signature: sha256=<hex>`` where the HMAC-SHA256 key
is the subscription's secret and the message is ``"<timestamp>.<raw body>"``; ``X-Shuzhi-Timestamp``
carries the Unix time. A receiver recomputes the HMAC over the raw body, compares in constant time and
refuses timestamps older than a few minutes (replay protection).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

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


class UnsafeTarget(ValueError):
    """A receiver address the system refuses to call (see :func:`vet_address`)."""


#: The cloud metadata services (169.254.169.254 is also link-local; fd00:ec2::254 is unique-local).
_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"),
             ipaddress.ip_network("100.100.100.200/32"))  # Alibaba Cloud's


def vet_address(ip: str, allowed: Sequence[str] = ()) -> None:
    """Refuse loopback, link-local, private, shared (CGNAT), multicast, reserved, unspecified and
    metadata addresses — unless the operator allow-listed a network that holds ``ip``."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for net in allowed:
        if addr in ipaddress.ip_network(net, strict=False):
            return
    bad = (addr.is_loopback or addr.is_link_local or addr.is_private or addr.is_multicast or addr.is_reserved
           or addr.is_unspecified or not addr.is_global or any(addr in m for m in _METADATA))
    if bad:
        raise UnsafeTarget(f"{addr} is a loopback, private, link-local or metadata address; webhooks may not "
                           "call it unless the operator allow-lists its network (webhook_allowed_networks)")


def resolve(url: str, allowed: Sequence[str] = ()) -> tuple[str, str, int, list[str]]:
    """``(scheme, host, port, [vetted IPs])`` of ``url``; every address the name resolves to is vetted
    (a name with one private address among public ones is refused)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("the URL must be http:// or https:// with a host name")
    if parts.username or parts.password:
        raise UnsafeTarget("the URL must not carry a user name or password")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot resolve {parts.hostname}: {exc}") from None
    ips = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for ip in ips:
        vet_address(ip, allowed)
    return parts.scheme, parts.hostname, port, ips


class _PinnedConnection(http.client.HTTPSConnection):
    """Connects to the vetted IP (never resolves the name again: no DNS rebinding between check and
    connect), still sending the host name for TLS (SNI, certificate check) and in ``Host``."""

    def __init__(self, host: str, port: int, ip: str, tls: bool, timeout: float, allowed: Sequence[str]) -> None:
        tls_context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=tls_context)
        self._ip, self._tls, self._allowed, self._tls_context = ip, tls, allowed, tls_context

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        # the address actually connected to is the one that was checked
        vet_address(str(sock.getpeername()[0]), self._allowed)
        self.sock = self._tls_context.wrap_socket(sock, server_hostname=self.host) if self._tls else sock


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0,
         allowed: Sequence[str] = ()) -> PostResult:
    """One POST within ``timeout`` seconds in total (resolve, connect, send, answer), to a vetted
    address, following no redirect (a 3xx is a failed attempt: a redirect could point anywhere)."""
    started = time.monotonic()
    deadline = started + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no answer within {timeout:g} s")
        return remaining

    status: int | None = None
    error: str | None = None
    try:
        scheme, host, port, ips = resolve(url, allowed)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = _PinnedConnection(host, port, ips[0], scheme == "https", left(), allowed)
        try:
            conn.request("POST", target, body=body, headers={
                "Content-Type": "application/json", "User-Agent": "shuzhi-webhooks/1", **headers})
            sock = conn.sock  # the response may take it over (Connection: close)
            assert sock is not None
            sock.settimeout(left())
            resp = conn.getresponse()
            status = resp.status
            # read a little of the answer, each read bounded by what is left of the deadline
            for _ in range(16):
                sock.settimeout(left())
                if not resp.read(4096):
                    break
        finally:
            conn.close()
        if 300 <= status < 400:
            error = f"HTTP {status}: redirects are not followed"
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
    except UnsafeTarget as exc:
        status, error = None, f"refused: {exc}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return PostResult(status, error, int((time.monotonic() - started) * 1000))
