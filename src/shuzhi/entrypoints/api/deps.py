"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from shuzhi.services.actors import Actor, resolve_actor
from shuzhi.services.unit_of_work import UnitOfWork


async def get_uow(request: Request) -> UnitOfWork:
    # async on purpose: FastAPI runs sync dependencies in its threadpool, a hop per dependency per request
    return UnitOfWork(request.app.state.session_factory)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def get_actor(
    request: Request,
    x_actor: Annotated[
        str | None,
        Header(description="staff code of the person acting (until sign-in replaces it)", max_length=40),
    ] = None,
) -> Actor:
    # Sync on purpose: on a cache miss this queries the database, which must never block the event loop.
    with UnitOfWork(request.app.state.session_factory) as uow:
        return resolve_actor(uow.session, x_actor)


ActorDep = Annotated[Actor, Depends(get_actor)]
