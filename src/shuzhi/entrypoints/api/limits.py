"""Request body size limits, enforced before a route reads the body.

Bodies may be at most ``max_json_bytes`` — whatever content type they declare: only the upload
routes (``…/import``, ``…/attachments``) take a multipart body of up to the larger of the attachment
and import limits (plus a little for the form's own bytes), where the routes then apply the precise
limit of what they accept. (Declaring ``multipart/form-data`` on any other route once bought a
50 MB body; the limit is applied here, before sign-in is resolved.) A batch of readings
(``POST /api/readings``, JSON or CSV) may be
``max_reading_batch_bytes``: it carries tens of thousands of readings, and its route streams and checks
the body itself. A declared ``Content-Length`` over the limit is refused at
once; a chunked body is counted as it arrives and cut off when it passes the limit. Both get 413.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shuzhi.config import Settings

_FORM_OVERHEAD = 64 * 1024
#: The routes that take a file (uploads.upload): imports and attachments.
_UPLOAD_ROUTE = re.compile(r"^/api/(?:[\w-]+/)*(?:import(?:/preview)?|attachments)$")


class _TooLarge(HTTPException):
    """Raised while the body is read; FastAPI passes HTTPExceptions on (others become a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_limit = settings.max_json_bytes
        self.upload_limit = max(settings.max_attachment_bytes, settings.max_import_bytes) + _FORM_OVERHEAD
        self.bulk_limits = {"/api/readings": settings.max_reading_batch_bytes}

    def _limit(self, scope: Scope) -> int:
        path = scope.get("path", "")
        bulk = self.bulk_limits.get(path)
        if bulk is not None and scope.get("method") == "POST":
            return bulk
        if scope.get("method") == "POST" and _UPLOAD_ROUTE.match(path):
            return self.upload_limit
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, limit)
                    return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body: dict[str, Any] = {"detail": f"the request body is larger than {limit} bytes", "field": "body"}
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
