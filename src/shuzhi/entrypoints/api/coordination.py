"""Coordination across levels: push down (纵向交办), hand sideways (横向分拨), escalate (上报), views."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.entrypoints.api.schemas import EventOut
from shuzhi.services.plans import coordination as co

router = APIRouter(prefix="/api", tags=["coordination"])


@router.post("/events/{ref}/push-down", response_model=EventOut)
def push_down(ref: Ref, body: co.PushDown, uow: UowDep, actor: ActorDep) -> EventOut:
    """Push the event down to a lower centre (纵向交办)."""
    return EventOut.of(co.push_down(uow, ref, body, actor))


@router.post("/events/{ref}/hand-sideways", response_model=EventOut)
def hand_sideways(ref: Ref, body: co.HandSideways, uow: UowDep, actor: ActorDep) -> EventOut:
    """Hand the event sideways to departments (横向分拨)."""
    return EventOut.of(co.hand_sideways(uow, ref, body, actor))


@router.post("/events/{ref}/escalate", response_model=EventOut)
def escalate(ref: Ref, body: co.Escalate, uow: UowDep, actor: ActorDep) -> EventOut:
    """Escalate the event to the upper centre (上报)."""
    return EventOut.of(co.escalate(uow, ref, body, actor))


@router.get("/events/{ref}/chain", response_model=list[co.Link])
def chain(ref: Ref, uow: UowDep, actor: ActorDep) -> list[co.Link]:
    """Who gave which unit its task, and in which direction (down / sideways / up)."""
    return co.chain(uow, ref, actor)


@router.get("/coordination", response_model=list[co.Item])
def coordination_view(uow: UowDep, actor: ActorDep,
                      view: Annotated[str, Query(description="owned | pushed_down | sideways | from_above")],
                      unit_code: str | None = None, open_only: bool = True,
                      limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[co.Item]:
    """A centre's view: what it owns, pushed down, handed sideways, or got from above."""
    return co.view(uow, view, actor, unit_code, open_only=open_only, limit=limit)
