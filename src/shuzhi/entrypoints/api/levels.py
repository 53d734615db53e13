"""Three levels in one view (一贯到底, issue #22) and the town's own cockpit (issue #20)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import levels, town_cockpit

router = APIRouter(tags=["levels"])


@router.get("/api/levels")
def my_level(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Your own level's view: your area's figures, its children's, its map and the breadcrumb."""
    return levels.level_view(uow, actor)


@router.get("/api/levels/{area_code}")
def level(area_code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One area's view (city, district, town, village or grid) in your scope; another's is 404."""
    return levels.level_view(uow, actor, area_code)


@router.get("/api/levels/{area_code}/cross-level")
def cross_level(area_code: str, uow: UowDep, actor: ActorDep,
                days: Annotated[int, Query(ge=1, le=366)] = 30) -> dict[str, Any]:
    """Work pushed down and sent up between the levels of the area, waits per level, who closes what."""
    return levels.cross_level(uow, actor, area_code, days=days)


@router.get("/api/towns/{town_code}/cockpit")
def town_panels(town_code: str, uow: UowDep, actor: ActorDep,
                coverage_days: Annotated[int, Query(ge=1, le=90)] = town_cockpit.COVERAGE_DAYS) -> dict[str, Any]:
    """The town's cockpit: boards' load and overdue work, grids' patrol coverage, workers' positions, plans."""
    return town_cockpit.town_cockpit(uow, actor, town_code, coverage_days=coverage_days)
