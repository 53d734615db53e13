"""The cockpit's aggregated figures, the live feed (Server-Sent Events) and the workbench lists."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import cockpit, inbox
from shuzhi.services.security import live_sessions
from shuzhi.services.unit_of_work import UnitOfWork

router = APIRouter(prefix="/api", tags=["cockpit"])
#: One area of the reader's scope whose cockpit the page shows (a click on the map); absent: all of it.
AreaQ = Annotated[str | None, Query(max_length=15)]


@router.get("/cockpit/summary")
def get_summary(uow: UowDep, actor: ActorDep, area: AreaQ = None) -> dict[str, Any]:
    """Today's counters in your scope (received, dispatched, closed, open, overdue …); absent parts are null."""
    s = cockpit.summary(uow, cockpit.within(uow, actor, area))
    out = asdict(s)
    out.update(out.pop("extra"))
    out.setdefault("warnings_active", None)
    out.setdefault("plans_running", None)
    return out


@router.get("/cockpit/focus")
def get_focus(uow: UowDep, actor: ActorDep, area: AreaQ = None) -> dict[str, Any]:
    """The area the cockpit shows (yours unless ``area``), the level its map draws and the breadcrumb."""
    return asdict(cockpit.focus(uow, actor, area))


@router.get("/cockpit/area-load")
def get_area_load(uow: UowDep, actor: ActorDep, level: str = "town",
                  parent_code: Annotated[str | None, Query(max_length=15)] = None) -> list[dict[str, Any]]:
    """Open events per district, town, village or grid in your scope (the map's colours); ``level=auto``:
    the level below ``parent_code`` (else your own area)."""
    return [asdict(a) for a in cockpit.area_load(uow, actor, level=level, parent_code=parent_code)]


@router.get("/cockpit/markers")
def get_markers(uow: UowDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=2000)] = 300,
                area: AreaQ = None) -> list[dict[str, Any]]:
    """The most recent open events with a point (the map's markers)."""
    return [asdict(m) for m in cockpit.markers(uow, cockpit.within(uow, actor, area), limit=limit)]


@router.get("/cockpit/breakdowns")
def get_breakdowns(uow: UowDep, actor: ActorDep, days: int = 14, area: AreaQ = None) -> dict[str, Any]:
    """Received and closed per day, open events by state, major class and source (the key panels)."""
    return asdict(cockpit.breakdowns(uow, cockpit.within(uow, actor, area), days=days))


@router.get("/live/feed")
def get_feed(uow: UowDep, actor: ActorDep, after_id: int | None = None,
             limit: Annotated[int, Query(ge=1, le=200)] = 30, area: AreaQ = None) -> list[dict[str, Any]]:
    """Timeline lines of events in your scope: the newest, or those after ``after_id``."""
    return [asdict(i) for i in cockpit.feed(uow, cockpit.within(uow, actor, area), after_id=after_id, limit=limit)]


@router.get("/cockpit/warning-markers")
def get_warning_markers(uow: UowDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=2000)] = 500,
                        area: AreaQ = None) -> list[dict[str, Any]]:
    """Firing warnings in your scope with a point (the device's, else the area's centre), for the map."""
    return [asdict(m) for m in cockpit.warning_markers(uow, cockpit.within(uow, actor, area), limit=limit)]


@router.get("/live/warnings")
def get_warning_feed(uow: UowDep, actor: ActorDep, after_id: int | None = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 20, area: AreaQ = None) -> list[dict[str, Any]]:
    """Warnings in your scope that fired, changed level or ended: the newest, or those after ``after_id``."""
    return [asdict(i) for i in cockpit.warning_feed(uow, cockpit.within(uow, actor, area), after_id=after_id,
                                                    limit=limit)]


def _sse(kind: str, data: Any, ident: int | None = None) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, default=str, ensure_ascii=False)}\n\n"


@router.get("/live/stream")
async def live_stream(
    request: Request, actor: ActorDep,
    after_id: int | None = None,
    after_warning: Annotated[int | None, Query(ge=0)] = None,
    poll: Annotated[float, Query(ge=0.2, le=10)] = 1.0,
    timeout: Annotated[float, Query(ge=1, le=3600)] = 600,
    area: AreaQ = None,
) -> StreamingResponse:
    """Server-Sent Events: every new timeline line in your scope as ``event: timeline``, and every warning
    that fires, changes level or ends in your scope as ``event: warning``, within ``poll`` s.

    The server polls the timeline and the warning changes by id (two indexed queries per second per open
    page) rather than keeping a bus: every process can serve the stream, and a reconnecting client sends
    ``after_id`` (or ``Last-Event-ID``) and ``after_warning`` to miss nothing. The stream ends after
    ``timeout`` s; the client reconnects.
    """
    factory = request.app.state.session_factory
    # the stream of one area's cockpit carries that area's lines only (404 outside the reader's scope);
    # the credential checks below still look at the person, not the narrowed view
    viewer = await run_in_threadpool(cockpit.within, UnitOfWork(factory), actor, area)
    last = request.headers.get("last-event-id")
    cursor = after_id if after_id is not None else (int(last) if last and last.isdigit() else None)

    def poll_once(after: int | None) -> list[cockpit.FeedItem]:
        return cockpit.feed(UnitOfWork(factory), viewer, after_id=after, limit=100)

    def poll_warnings(after: int) -> list[cockpit.WarningFeedItem]:
        return cockpit.warning_feed(UnitOfWork(factory), viewer, after_id=after, limit=100)

    if cursor is None:
        # start from "now": the page loads the recent lines through /live/feed
        newest = await run_in_threadpool(poll_once, None)
        cursor = newest[-1].id if newest else 0
    # warnings start from "now" too unless the client says where it was
    warning_cursor: int = (after_warning if after_warning is not None
                           else await run_in_threadpool(cockpit.last_warning_change_id, UnitOfWork(factory)))
    # fail fast (403) before the stream starts when the actor may not read events
    await run_in_threadpool(poll_once, cursor)
    # one of the person's few stream slots (429 when all are taken), given back when the stream ends
    release = live_sessions.acquire_stream(actor)

    async def events() -> AsyncIterator[str]:
        try:
            async for chunk in stream():
                yield chunk
        finally:
            release()

    async def stream() -> AsyncIterator[str]:
        nonlocal cursor, warning_cursor
        ends = time.monotonic() + timeout
        quiet = 0.0
        checked = time.monotonic()
        yield _sse("hello", {"after_id": cursor, "after_warning": warning_cursor, "at": datetime.now().isoformat()})
        while time.monotonic() < ends:
            if await request.is_disconnected():
                return
            if time.monotonic() - checked >= live_sessions.RECHECK_S:
                # signed out, disabled, role or unit changed since the stream opened: end it; the
                # page reconnects and is refused or gets its new scope
                if not await run_in_threadpool(live_sessions.still_signed_in, UnitOfWork(factory), actor):
                    yield _sse("end", {"reason": "credential"})
                    return
                checked = time.monotonic()
            items = await run_in_threadpool(poll_once, cursor)
            for item in items:
                cursor = item.id
                yield _sse("timeline", asdict(item), item.id)
            changes = await run_in_threadpool(poll_warnings, warning_cursor)
            for change in changes:
                warning_cursor = change.id
                yield _sse("warning", asdict(change))
            quiet = 0.0 if items or changes else quiet + poll
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(poll)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/my/tasks")
def get_my_tasks(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Open tasks of your unit, the nearest deadline first (the handler's workbench)."""
    return [asdict(t) for t in cockpit.my_tasks(uow, actor)]


@router.get("/my/copies")
def get_my_copies(uow: UowDep, actor: ActorDep, unread: bool = True,
                  before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Copies (抄送) sent to your unit, newest first, with the unread count (page by before_id)."""
    return asdict(inbox.copies(uow, actor, unread=unread, before_id=before_id, limit=limit))


@router.get("/cockpit/flows")
def get_flows(uow: UowDep, actor: ActorDep, days: Annotated[int, Query(ge=1, le=366)] = 30,
              area: AreaQ = None) -> dict[str, Any]:
    """The two flows in your scope over the last days: copied for information (抄送知悉: count, read,
    read on time) vs routed for handling (流转处置: count, closed, handled on time)."""
    return asdict(cockpit.flows(uow, cockpit.within(uow, actor, area), days=days))


@router.get("/my/verifications")
def get_to_verify(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Events reported back in your scope, waiting for your check on the spot (核查)."""
    return [asdict(v) for v in cockpit.to_verify(uow, actor)]


@router.get("/cockpit/map-layer", response_model=None)
def get_map_layer(request: Request, uow: UowDep, actor: ActorDep, level: str = "town",
                  within: Annotated[str | None, Query(max_length=15)] = None) -> Response:
    """Simplified boundaries of one level (optionally within one area) in your scope, as GeoJSON;
    ``level=auto``: the level below ``within`` (else your own area).

    Boundaries change only on an area import, so the answer carries an ETag: a page that comes back
    sends ``If-None-Match`` and gets a 304 with no body instead of the layer again. ``private``: the
    layer is cut to the viewer's scope."""
    body = orjson.dumps(cockpit.map_layer(uow, actor, level=level, within=within))
    tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if tag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
