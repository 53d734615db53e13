"""Operations endpoints and the per-request observer: ``/readyz``, ``/metrics``, request ids, JSON logs.

Every request gets an id (the caller's ``X-Request-ID`` when it is a sane token, else a new one),
echoed in the response header; the observer writes one JSON line per request on the ``shuzhi.access``
logger (route template, status, duration, request id, the acting credential) and feeds the latency
histogram. It is plain ASGI — no per-request task or body buffering — so it costs microseconds.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shuzhi.adapters import metrics
from shuzhi.entrypoints.api.deps import UowDep

router = APIRouter(tags=["operations"])
access = logging.getLogger("shuzhi.access")
REQUEST_ID = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message — or the access record itself."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        body: dict[str, Any] = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                                "level": record.levelname.lower(), "logger": record.name}
        if isinstance(fields, dict):
            body.update(fields)
        else:
            body["message"] = record.getMessage()
        if record.exc_info:
            body["error"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)


# Request ids: a random per-process prefix and a counter — unique across processes and restarts
# without a uuid4 (an os.urandom call) per request. A forked worker draws its own prefix.
_id_prefix = uuid.uuid4().hex[:16]
_ids = itertools.count(1)


def _new_id_prefix() -> None:
    global _id_prefix, _ids
    _id_prefix, _ids = uuid.uuid4().hex[:16], itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)


def _new_request_id() -> str:
    return f"{_id_prefix}{next(_ids):016x}"  # 32 hex digits, like a uuid4


#: Metric children by label values: ``labels()`` builds and looks up a key each call.
_counters: dict[tuple[str, str, str], Any] = {}
_histograms: dict[tuple[str, str], Any] = {}


def _observe(method: str, route: str, status: int, took: float) -> None:
    key = (method, route, str(status))
    counter = _counters.get(key)
    if counter is None:
        counter = _counters.setdefault(key, metrics.REQUESTS.labels(*key))
    counter.inc()
    histogram = _histograms.get((method, route))
    if histogram is None:
        histogram = _histograms.setdefault((method, route), metrics.LATENCY.labels(method, route))
    histogram.observe(took)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class Observer:
    """ASGI middleware: request id, access line, request metrics."""

    def __init__(self, app: ASGIApp, log: bool = True) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = sent_id if sent_id and _SANE_ID.match(sent_id) else _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            took = time.perf_counter() - started
            route, method = _route(scope), scope["method"]
            _observe(method, route, status, took)
            if self.log and access.isEnabledFor(logging.INFO):
                actor = scope.get("state", {}).get("actor")
                access.info("request", extra={"fields": {
                    "request_id": request_id, "method": method, "route": route, "path": scope["path"],
                    "status": status, "duration_ms": round(took * 1000, 2),
                    "actor": getattr(actor, "code", None)}})


# --- readiness and metrics -----------------------------------------------------------------------


def _migrations_at_head(conn: Any) -> tuple[bool, str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from shuzhi.adapters.db.migrate import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return True, ",".join(sorted(current))
    return False, f"database at {','.join(sorted(current)) or 'no revision'}, code at {','.join(sorted(heads))}" \
                  " (run `shuzhi init`)"


def mqtt_reachable(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """A real MQTT 3.1.1 CONNECT answered by CONNACK 0 — not just an open port."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    host, port = parsed.hostname or "localhost", parsed.port or 1883
    client_id = b"shuzhi-ready-" + uuid.uuid4().hex[:8].encode()
    variable = b"\x00\x04MQTT\x04\x02\x00\x05"  # protocol name, level 4, clean session, keep-alive 5 s
    payload = len(client_id).to_bytes(2, "big") + client_id
    packet = b"\x10" + bytes([len(variable) + len(payload)]) + variable + payload
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(packet)
            answer = sock.recv(4)
            sock.sendall(b"\xe0\x00")  # DISCONNECT
    except OSError as exc:
        return False, f"{host}:{port}: {exc}"
    if len(answer) == 4 and answer[0] == 0x20 and answer[3] == 0:
        return True, f"{host}:{port}"
    return False, f"{host}:{port}: refused the connection ({answer.hex()})"


@router.get("/readyz")
def readyz(request: Request, uow: UowDep, response: Response) -> dict[str, Any]:
    """200 when this process can serve: the database answers, its schema is at the code's migration
    head, and (when configured) the MQTT broker accepts a connection; 503 naming what is not ready."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        with uow:
            conn = uow.session.connection()
            conn.execute(text("SELECT 1"))
            checks["database"] = {"ok": True}
            ok, detail = _migrations_at_head(conn)
            checks["migrations"] = {"ok": ok, "detail": detail}
    except Exception as exc:  # the point of the check is to report the failure, whatever it is
        checks["database"] = {"ok": False, "detail": type(exc).__name__}
    mqtt_url = request.app.state.settings.mqtt_url
    if mqtt_url:
        ok, detail = mqtt_reachable(mqtt_url)
        checks["mqtt"] = {"ok": ok, "detail": detail}
    ready = all(c["ok"] for c in checks.values()) and "migrations" in checks
    if not ready:
        response.status_code = 503
    return {"status": "ready" if ready else "not ready", "checks": checks}


@router.get("/metrics", include_in_schema=False)
def prometheus(request: Request) -> Response:
    """Prometheus text exposition."""
    state = request.app.state
    if not hasattr(state, "metrics_gauges"):
        state.metrics_gauges = metrics.DatabaseGauges(state.session_factory)
    body, media = metrics.exposition(state.session_factory, state.metrics_gauges)
    return Response(body, media_type=media)
