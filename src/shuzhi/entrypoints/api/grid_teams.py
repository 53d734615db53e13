"""The grid's people (issue #20): grid teams "1+3+N", the dual grid's layer, duty lists "6+1" and their due
items on the phone, the chain of contacts 五长制."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import grid_teams

router = APIRouter(tags=["town"])


@router.get("/api/grid-team-roles")
def roles(uow: UowDep, actor: ActorDep) -> list[dict[str, str]]:
    """The city's grid team roles ("1+3" and the N it adds)."""
    return grid_teams.get_roles(uow, actor)


@router.put("/api/grid-team-roles")
def put_roles(body: grid_teams.RolesIn, uow: UowDep, actor: ActorDep) -> list[dict[str, str]]:
    """Name the city's grid team roles (installation-wide, audited; "1+3" stay)."""
    return grid_teams.put_roles(uow, actor, body)


@router.get("/api/grid-duties")
def duties(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The city's recurring duties per role (履职清单 "6+1")."""
    return grid_teams.get_duties(uow, actor)


@router.put("/api/grid-duties")
def put_duties(body: grid_teams.DutiesIn, uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Replace the city's duty lists (installation-wide, audited; a duty left out is retired)."""
    return grid_teams.put_duties(uow, actor, body)


@router.get("/api/towns/{town_code}/grids")
def grids(town_code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The town's grids: layer, team, chain of contacts, this month's duty figures; the overdue items."""
    return grid_teams.grids(uow, actor, town_code)


@router.put("/api/towns/{town_code}/grids/{grid_code}/team")
def save_team(town_code: str, grid_code: str, body: grid_teams.TeamIn, uow: UowDep,
              actor: ActorDep) -> dict[str, Any]:
    """Replace a grid's team (members with roles, primary flags) and set its layer (the town's own grids)."""
    return grid_teams.save_team(uow, actor, town_code, grid_code, body)


@router.put("/api/towns/{town_code}/grids/{grid_code}/contacts")
def save_contacts(town_code: str, grid_code: str, body: grid_teams.ContactsIn, uow: UowDep,
                  actor: ActorDep) -> dict[str, Any]:
    """Replace a grid's chain of contacts (五长制: 社区长 → 网格长 → 片区长 → 楼栋长 → 物业长)."""
    return grid_teams.save_contacts(uow, actor, town_code, grid_code, body)


@router.get("/api/phone/duties")
def my_duties(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """My due items (this period's, and the overdue ones of the last month)."""
    return grid_teams.my_items(uow, actor)


@router.post("/api/phone/duties/{duty_item_id}/done")
def do_duty(duty_item_id: int, body: grid_teams.DoItem, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Mark my due item done by a patrol or a visit."""
    return grid_teams.do_item(uow, actor, duty_item_id, body)
