"""Collection governance (采集治理), the online plan (成熟一批、上线一批), the flood-season view (汛期) and the
open risk point rectifications (整改): issue #22."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services.sensing import collection, flood, rectification

router = APIRouter(tags=["collection"])


class PlanEntryIn(BaseModel):
    indicator_code: str = Field(min_length=1, max_length=40)
    batch: str = Field(min_length=1, max_length=60)
    #: The day it is planned online (YYYY-MM-DD).
    planned_on: str = Field(min_length=10, max_length=10)
    #: The day it came online; left out keeps the day its first reading was seen.
    online_on: str | None = Field(default=None, max_length=10)


class PlanIn(BaseModel):
    entries: list[PlanEntryIn] = Field(max_length=collection.MAX_PLAN)


@router.get("/api/collection")
def governance(uow: UowDep, actor: ActorDep, window_h: Annotated[int, Query(ge=1, le=744)] = 24) -> dict[str, Any]:
    """Per indicator, source system and lead unit: coverage, staleness, gaps, late and rejected readings."""
    return collection.governance(uow, actor, window_h=window_h)


@router.get("/api/collection/plan")
def get_plan(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The online plan (成熟一批、上线一批): planned vs online by date and batch."""
    return collection.get_plan(uow, actor)


@router.put("/api/collection/plan")
def put_plan(body: PlanIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Replace the online plan (installation-wide; audited)."""
    return collection.put_plan(uow, actor, [e.model_dump() for e in body.entries])


@router.get("/api/flood-season")
def flood_season(uow: UowDep, actor: ActorDep, radius_m: Annotated[float, Query(ge=1, le=50_000)] = 3000,
                 kind: Annotated[str, Query(max_length=30)] = "waterlogging",
                 rain: Annotated[str | None, Query(max_length=900)] = None,
                 level: Annotated[str | None, Query(max_length=900)] = None,
                 depth: Annotated[str | None, Query(max_length=900)] = None) -> dict[str, Any]:
    """Every 易涝点 in your scope with its state and the nearest rainfall, river level and depth series."""
    return flood.flood_season(uow, actor, radius_m=radius_m, kind=kind,
                              measures=flood.parse_measures(rain, level, depth))


@router.get("/api/rectifications")
def open_rectifications(uow: UowDep, actor: ActorDep, clock: str | None = None) -> list[dict[str, Any]]:
    """Open risk point rectifications in your scope, nearest deadline first (``clock=overdue|due_soon|running``)."""
    return rectification.list_open(uow, actor, clock=clock)
