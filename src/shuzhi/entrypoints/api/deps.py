"""Typed dependencies shared by the routers: the unit of work and the signed-in actor.

``ActorDep`` accepts, in this order: ``Authorization: Bearer <token>`` (API clients), ``X-API-Key``
(connected systems), the ``shuzhi_session`` cookie (the web UI). A request with none of them, or
with a bad, expired or revoked one, is answered 401 before the route runs. Cookie-authenticated
requests that change anything must echo the session's CSRF token in ``X-CSRF-Token`` (403 otherwise);
bearer tokens and API keys are not sent by browsers on their own, so they need none.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shuzhi.services.actors import Actor
from shuzhi.services.security import credentials
from shuzhi.services.security.authz import Forbidden, Unauthenticated
from shuzhi.services.unit_of_work import UnitOfWork

SESSION_COOKIE = "shuzhi_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Routes a person with an unchanged initial password may still use (to change it, or leave).
PASSWORD_CHANGE_ROUTES = ("/api/auth/",)


async def get_uow(request: Request) -> UnitOfWork:
    # async on purpose: FastAPI runs sync dependencies in its threadpool, a hop per dependency per request
    return UnitOfWork(request.app.state.session_factory)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]

#: An event named in a path: its number or its id, declared once so that /docs says so on every route.
Ref = Annotated[str, Path(description="the event's number (e.g. 500111-20240613-000123) or its id",
                          examples=["500111-20240613-000123"])]

_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/auth/tokens")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="a connected system's key")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="the web UI's session")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def authenticate(request: Request, bearer: HTTPAuthorizationCredentials | None, api_key: str | None,
                 cookie: str | None, *, cached_only: bool = False) -> credentials.Authenticated | None:
    """The credential's actor, or a 401/403. ``cached_only``: answer from this process's caches alone
    and return ``None`` when the database is needed (the caller then asks again without it)."""
    settings = request.app.state.settings
    uow = UnitOfWork(request.app.state.session_factory)
    if request.headers.get("authorization") and bearer is None:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    if bearer is not None:
        if cached_only:
            return credentials.cached_token(uow.database, settings, bearer.credentials, expected="bearer")
        return credentials.authenticate_token(uow, settings, bearer.credentials, expected="bearer")
    if api_key:
        if cached_only:
            return credentials.cached_api_key(uow.database, api_key)
        return credentials.authenticate_api_key(uow, api_key)
    if cookie:
        if cached_only:
            found = credentials.cached_token(uow.database, settings, cookie, expected="session")
            if found is None:
                return None
        else:
            found = credentials.authenticate_token(uow, settings, cookie, expected="session")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not found.csrf_token or not hmac.compare_digest(sent, found.csrf_token):
                raise Forbidden(f"missing or wrong {CSRF_HEADER} header: send the csrf_token from sign-in "
                                "(or GET /api/auth/me) with every change", field=CSRF_HEADER)
        return found
    raise Unauthenticated("sign in first: the session cookie, 'Authorization: Bearer <token>' or 'X-API-Key'")


async def get_actor(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
    cookie: Annotated[str | None, Security(_cookie)],
) -> Actor:
    # Async so that the common case — a credential this process checked a moment ago — costs no trip
    # to the threadpool (a thread hand-off per dependency per request shows in the intake benchmark);
    # a cache miss queries the database, which must never block the event loop, so it goes there.
    found = authenticate(request, bearer, api_key, cookie, cached_only=True)
    if found is None:
        found = await run_in_threadpool(authenticate, request, bearer, api_key, cookie)
        assert found is not None
    actor = found.actor
    if actor.must_change_password and not request.url.path.startswith(PASSWORD_CHANGE_ROUTES):
        raise Forbidden("change your initial password first (POST /api/auth/password)",
                        field="must_change_password")
    request.state.actor = actor
    request.state.csrf_token = found.csrf_token
    return actor


async def actor_of(request: Request) -> Actor:
    """:func:`get_actor` for a handler that reads the credentials itself, as FastAPI would read them
    for the dependency (the intake's direct way, ``entrypoints/api/events.py``)."""
    return await get_actor(request, await _bearer(request), await _api_key(request), await _cookie(request))


ActorDep = Annotated[Actor, Depends(get_actor)]
