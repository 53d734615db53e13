"""The API as it was before sign-in, for the side-by-side intake benchmark only.

The acting person is named by the old ``X-Actor`` header (resolved and cached as before, and taken
from the cache without a threadpool hop exactly as a cached bearer token is, by the intake route's
direct way as the checked variant's, so that the comparison measures the checks and not a handler),
and the permission checks (``authz.require``, ``authz.require_source``) do nothing. Never served
outside ``benchmarks/bench_intake.py``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from shuzhi.entrypoints.api import deps
from shuzhi.entrypoints.api.app import create_app as real_create_app
from shuzhi.services.actors import Actor, cached_actor, resolve_actor
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


def _no_check(*_args: object, **_kw: object) -> None:
    return None


def _resolve(request: Request) -> Actor:
    with UnitOfWork(request.app.state.session_factory) as uow:
        return resolve_actor(uow.session, request.headers.get("x-actor"))


async def _x_actor(request: Request) -> Actor:
    code = request.headers.get("x-actor")
    actor = cached_actor(UnitOfWork(request.app.state.session_factory).database, code) if code else None
    return actor if actor is not None else await run_in_threadpool(_resolve, request)


def create_app() -> FastAPI:
    authz.require = _no_check  # type: ignore[assignment]
    authz.require_source = _no_check  # type: ignore[assignment]
    # The intake route's direct way (entrypoints/api/events.py) resolves the actor through
    # ``deps.actor_of``: replaced there, both variants take that way. A dependency override would send
    # every request to FastAPI's generic handler instead, and the comparison would measure that handler.
    deps.actor_of = _x_actor
    return real_create_app()
