"""The grid worker's phone: patrols (巡查记录), findings reported on patrol, the page's first call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.events import _intake_buckets
from shuzhi.services import patrols
from shuzhi.services.commands import ensure_zoned

router = APIRouter(tags=["patrols"])


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.get("/api/phone/home")
def phone_home(uow: UowDep, actor: ActorDep) -> Response:
    """What the phone page needs at once: you, your grid(s), the running patrol, the classes (common first)."""
    return _json(patrols.home(uow, actor))


@router.get("/api/phone/verifications")
def phone_verifications(uow: UowDep, actor: ActorDep) -> Response:
    """Cases waiting for your check on the spot (核查); ``own`` ones are verified by someone else."""
    return _json(patrols.verifications(uow, actor))


@router.post("/api/phone/findings", status_code=201)
def report_finding(body: patrols.ReportFinding, request: Request, uow: UowDep, actor: ActorDep,
                   idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> Response:
    """Report a patrol finding (巡查发现) as a grid_patrol event in your grid; retries with the same
    Idempotency-Key return the first event."""
    # the same per-client intake limit as POST /api/events: a finding is an event
    _intake_buckets(request).check(f"{actor.credential}:{actor.credential_id or actor.code}",
                                   "too many events from this client")
    done = patrols.report_finding(uow, actor, body, intake_key=idempotency_key)
    return _json({"id": done.id, "number": done.number, "created": done.created}, 201 if done.created else 200)


@router.post("/api/patrols", status_code=201)
def start_patrol(body: patrols.StartPatrol, uow: UowDep, actor: ActorDep) -> Response:
    """Start a patrol in your grid; a running one is answered (200) instead of starting another."""
    started = patrols.start_patrol(uow, actor, body)
    return _json(started.patrol, 201 if started.created else 200)


@router.get("/api/patrols")
def list_patrols(uow: UowDep, actor: ActorDep, person: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, running: bool | None = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    """Patrols, newest first: your own; a town centre's those of its grid workers."""
    ensure_zoned(since=since, until=until)
    return _json(patrols.list_patrols(uow, actor, person=person, since=since, until=until, running=running,
                                      limit=limit))


@router.get("/api/patrols/{patrol_id}")
def get_patrol(patrol_id: int, uow: UowDep, actor: ActorDep, points: bool = False) -> Response:
    """One patrol: times, duration, distance, its track (GeoJSON LineString) and its findings; ``points=true``
    adds every point with its time."""
    return _json(patrols.get_patrol(uow, actor, patrol_id, with_points=points))


@router.post("/api/patrols/{patrol_id}/points")
def add_points(patrol_id: int, body: patrols.AddPoints, uow: UowDep, actor: ActorDep) -> Response:
    """Record GPS points of your running patrol (time order, inside your grid, at a walker's speed)."""
    return _json(patrols.add_points(uow, actor, patrol_id, body))


@router.post("/api/patrols/{patrol_id}/stop")
def stop_patrol(patrol_id: int, body: patrols.StopPatrol, uow: UowDep, actor: ActorDep) -> Response:
    """End your patrol, with its last points."""
    return _json(patrols.stop_patrol(uow, actor, patrol_id, body))
