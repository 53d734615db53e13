"""The city's vital signs (城市体征): the five-colour tree by sector and runway, and the rule behind it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services.sensing import vital_signs

router = APIRouter(prefix="/api/vital-signs", tags=["vital-signs"])


class RuleIn(BaseModel):
    #: The rule document (keys left out take the default's value); null restores the default.
    document: dict[str, Any] | None
    #: The version read before editing (0 for the default): a concurrent change answers 409.
    version: int | None = Field(default=None, ge=0)


@router.get("")
def get_vital_signs(uow: UowDep, actor: ActorDep, depth: str = "indicator") -> dict[str, Any]:
    """Sectors → runways → sub-runways → indicators in your scope, each with its colour (green … red)."""
    return vital_signs.vital_signs(uow, actor, depth=depth)


@router.get("/rule")
def get_rule(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The rule that colours the tree (the installation's, else the default), with the default beside it."""
    return vital_signs.get_rule(uow, actor)


@router.put("/rule")
def put_rule(body: RuleIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Replace the installation's rule; every problem is named by its field (422); audited."""
    return vital_signs.put_rule(uow, actor, body.document, expected_version=body.version)
