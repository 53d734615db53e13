"""The cockpit's aggregated figures, the live feed (Server-Sent Events) and the workbench lists."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import cockpit
from shuzhi.services.unit_of_work import UnitOfWork

router = APIRouter(prefix="/api", tags=["cockpit"])


@router.get("/cockpit/summary")
def get_summary(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Today's counters in your scope (received, dispatched, closed, open, overdue …); absent parts are null."""
    s = cockpit.summary(uow, actor)
    out = asdict(s)
    out.update(out.pop("extra"))
    out.setdefault("warnings_active", None)
    out.setdefault("plans_running", None)
    return out


@router.get("/cockpit/area-load")
def get_area_load(uow: UowDep, actor: ActorDep, level: str = "town",
                  parent_code: Annotated[str | None, Query(max_length=15)] = None) -> list[dict[str, Any]]:
    """Open events per town, village or grid in your scope (the map's colours)."""
    return [asdict(a) for a in cockpit.area_load(uow, actor, level=level, parent_code=parent_code)]


@router.get("/cockpit/markers")
def get_markers(uow: UowDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=2000)] = 300
                ) -> list[dict[str, Any]]:
    """The most recent open events with a point (the map's markers)."""
    return [asdict(m) for m in cockpit.markers(uow, actor, limit=limit)]


@router.get("/cockpit/breakdowns")
def get_breakdowns(uow: UowDep, actor: ActorDep, days: int = 14) -> dict[str, Any]:
    """Received and closed per day, open events by state, major class and source (the key panels)."""
    return asdict(cockpit.breakdowns(uow, actor, days=days))


@router.get("/live/feed")
def get_feed(uow: UowDep, actor: ActorDep, after_id: int | None = None,
             limit: Annotated[int, Query(ge=1, le=200)] = 30) -> list[dict[str, Any]]:
    """Timeline lines of events in your scope: the newest, or those after ``after_id``."""
    return [asdict(i) for i in cockpit.feed(uow, actor, after_id=after_id, limit=limit)]


def _sse(kind: str, data: Any, ident: int | None = None) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, default=str, ensure_ascii=False)}\n\n"


@router.get("/live/stream")
async def live_stream(
    request: Request, actor: ActorDep,
    after_id: int | None = None,
    poll: Annotated[float, Query(ge=0.2, le=10)] = 1.0,
    timeout: Annotated[float, Query(ge=1, le=3600)] = 600,
) -> StreamingResponse:
    """Server-Sent Events: every new timeline line in your scope as ``event: timeline``, within ``poll`` s.

    The server polls the timeline by id (one indexed query per second per open page) rather than
    keeping a bus: every process can serve the stream, and a reconnecting client sends ``after_id``
    (or ``Last-Event-ID``) to miss nothing. The stream ends after ``timeout`` s; the client reconnects.
    """
    factory = request.app.state.session_factory
    last = request.headers.get("last-event-id")
    cursor = after_id if after_id is not None else (int(last) if last and last.isdigit() else None)

    def poll_once(after: int | None) -> list[cockpit.FeedItem]:
        return cockpit.feed(UnitOfWork(factory), actor, after_id=after, limit=100)

    if cursor is None:
        # start from "now": the page loads the recent lines through /live/feed
        newest = await run_in_threadpool(poll_once, None)
        cursor = newest[-1].id if newest else 0
    # fail fast (403) before the stream starts when the actor may not read events
    await run_in_threadpool(poll_once, cursor)

    async def events() -> AsyncIterator[str]:
        nonlocal cursor
        ends = time.monotonic() + timeout
        quiet = 0.0
        yield _sse("hello", {"after_id": cursor, "at": datetime.now().isoformat()})
        while time.monotonic() < ends:
            if await request.is_disconnected():
                return
            items = await run_in_threadpool(poll_once, cursor)
            for item in items:
                cursor = item.id
                yield _sse("timeline", asdict(item), item.id)
            quiet = 0.0 if items else quiet + poll
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


@router.get("/my/verifications")
def get_to_verify(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Events reported back in your scope, waiting for your check on the spot (核查)."""
    return [asdict(v) for v in cockpit.to_verify(uow, actor)]


@router.get("/cockpit/map-layer")
def get_map_layer(uow: UowDep, actor: ActorDep, level: str = "town",
                  within: Annotated[str | None, Query(max_length=15)] = None) -> dict[str, Any]:
    """Simplified boundaries of one level (optionally within one area) in your scope, as GeoJSON."""
    return cockpit.map_layer(uow, actor, level=level, within=within)
