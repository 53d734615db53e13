"""Areas that change (issue #20): preview a merge, split or moved boundary, apply it, list the changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import area_changes

router = APIRouter(prefix="/api/area-changes", tags=["areas"])


@router.post("/preview")
def preview(body: area_changes.ChangeIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """What a change would do (areas retired and created; events, tasks, people, units that move); writes nothing."""
    return area_changes.preview(uow, body, actor)


@router.post("", status_code=201)
def apply(body: area_changes.ChangeIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Make the change: new area versions, retired ones closed, open work re-homed with timeline lines."""
    return area_changes.apply(uow, body, actor)


@router.get("")
def history(uow: UowDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    """The area changes made, newest first."""
    return area_changes.history(uow, actor, limit)
