"""The desks' own lists and the administrators' accounts: extension requests to decide, people's accounts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shuzhi.entrypoints.api.deps import ActorDep, UowDep, client_ip
from shuzhi.services import workbench
from shuzhi.services.security import users

router = APIRouter(prefix="/api", tags=["workbench"])


@router.get("/my/decisions")
def pending_decisions(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Extension requests waiting for the centre's decision, in your scope, nearest deadline first."""
    return [asdict(d) for d in workbench.pending_decisions(uow, actor)]


@router.get("/users")
def list_users(uow: UowDep, actor: ActorDep, q: Annotated[str | None, Query(max_length=50)] = None,
               unit_code: str | None = None, role: str | None = None, active: bool | None = None,
               limit: Annotated[int, Query(ge=1, le=2000)] = 500) -> list[dict[str, Any]]:
    """People's accounts in your scope (administrators): role, unit, active, sign-in state."""
    return [asdict(a) for a in users.list_users(uow, actor, q=q, unit_code=unit_code, role=role, active=active,
                                                limit=limit)]


@router.post("/users", status_code=201)
def create_user(body: users.NewUser, request: Request, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Create a person with a role and an initial password (changed at first sign-in); audited."""
    settings = request.app.state.settings
    return asdict(users.create_user(uow, settings, actor, body, ip=client_ip(request)))


@router.patch("/users/{person_code}")
def update_user(person_code: str, body: users.UserPatch, request: Request, uow: UowDep,
                actor: ActorDep) -> dict[str, Any]:
    """Change a person's role, unit, name or phone, or disable/enable the account; audited."""
    return asdict(users.update_user(uow, actor, person_code, body, ip=client_ip(request)))
