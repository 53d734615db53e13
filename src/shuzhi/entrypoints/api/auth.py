"""Sign-in, sessions, tokens, API keys of connected systems, and the audit log (auditors only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from shuzhi.config import Settings
from shuzhi.entrypoints.api.deps import SESSION_COOKIE, ActorDep, UowDep, client_ip
from shuzhi.entrypoints.api.ratelimit import TokenBuckets
from shuzhi.services.security import audit, passwords
from shuzhi.services.security import sessions as auth_sessions
from shuzhi.services.security import tokens as auth_tokens

router = APIRouter(prefix="/api/auth", tags=["auth"])
admin_router = APIRouter(prefix="/api", tags=["auth"])

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class LoginIn(BaseModel):
    code: str = Field(min_length=1, max_length=40, description="staff code")
    password: str = Field(min_length=1, max_length=200)


class PersonOut(BaseModel):
    code: str
    name: str
    role: str
    unit_code: str
    unit_name: str


class LoginOut(BaseModel):
    person: PersonOut
    csrf_token: str
    must_change_password: bool


class AreaRef(BaseModel):
    code: str
    name: str


class ScopeOut(BaseModel):
    #: True for administrators and auditors: every area.
    all_areas: bool
    #: The area subtrees seen, and ``unit:<code>`` for the tasks of the own unit.
    areas: list[AreaRef]


class MeOut(BaseModel):
    person: PersonOut | None
    code: str
    name: str
    role: str | None
    unit_code: str | None
    unit_name: str | None
    credential: str
    permissions: list[str]
    scope: ScopeOut
    csrf_token: str | None
    must_change_password: bool


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


# The answers about tokens and keys are the service's views themselves, named for the OpenAPI
# document (one list of fields, kept in services/security/tokens.py).
@dataclass(frozen=True)
class TokenOut(auth_tokens.TokenView):
    """A session or bearer token of the caller's."""


@dataclass(frozen=True)
class NewTokenOut(TokenOut):
    #: Shown once: keep it; only its hash is stored.
    token: str


@dataclass(frozen=True)
class ApiKeyOut(auth_tokens.ApiKeyView):
    """A connected system's API key (never its secret)."""


@dataclass(frozen=True)
class NewApiKeyOut(ApiKeyOut):
    #: Shown once: ``szk_<prefix>_<secret>``, sent as the ``X-API-Key`` header.
    key: str


class SetPasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=200)


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    object: str
    details: dict[str, Any]
    ip: str | None
    prev_hash: str
    hash: str


class ChainOut(BaseModel):
    ok: bool
    entries: int
    head: str
    broken_id: int | None
    problem: str | None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _login_buckets(request: Request) -> TokenBuckets:
    state = request.app.state
    if not hasattr(state, "login_buckets"):
        s = _settings(request)
        state.login_buckets = TokenBuckets(s.login_rate_per_minute / 60.0, s.login_burst)
    buckets: TokenBuckets = state.login_buckets
    return buckets


def cookie_secure(request: Request) -> bool:
    """Secure cookies, except over plain http to this machine or in demo mode (no TLS there)."""
    mode = _settings(request).cookie_secure
    if mode in ("always", "never"):
        return mode == "always"
    plain_local = request.url.scheme == "http" and (request.url.hostname or "") in LOCAL_HOSTS
    return not (plain_local or (request.url.scheme == "http" and _settings(request).demo_mode))


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, uow: UowDep) -> LoginOut:
    """Sign in with staff code and password; sets the HttpOnly session cookie and returns the CSRF token."""
    ip = client_ip(request)
    _login_buckets(request).check(ip or "?", "too many sign-in attempts from this address")
    done = auth_sessions.login(uow, _settings(request), body.code, body.password, kind="session", ip=ip)
    max_age = int(_settings(request).session_hours * 3600)
    response.set_cookie(SESSION_COOKIE, done.token, max_age=max_age, httponly=True, samesite="lax",
                        secure=cookie_secure(request), path="/")
    assert done.csrf_token is not None
    return LoginOut(person=PersonOut(**auth_sessions.as_dict(done.person)), csrf_token=done.csrf_token,
                    must_change_password=done.must_change_password)


@router.post("/logout", status_code=204)
def logout(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """End this session (or revoke the bearer token used); clears the cookie."""
    auth_sessions.logout(uow, actor, ip=client_ip(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request))
    return response


@router.get("/me", response_model=MeOut)
def me(request: Request, uow: UowDep, actor: ActorDep) -> MeOut:
    """Who is signed in: person, unit, role, permissions, scope and the CSRF token of the session."""
    m = auth_sessions.me(uow, actor)
    person = PersonOut(**auth_sessions.as_dict(m.person)) if m.person else None
    return MeOut(person=person, code=m.code, name=m.name, role=m.role,
                 unit_code=person.unit_code if person else None, unit_name=person.unit_name if person else None,
                 credential=m.credential, permissions=m.permissions,
                 scope=ScopeOut(all_areas=m.scope_global, areas=[AreaRef(**a) for a in m.scope_areas]),
                 csrf_token=getattr(request.state, "csrf_token", None), must_change_password=m.must_change_password)


@router.post("/password")
def change_password(body: PasswordIn, request: Request, uow: UowDep, actor: ActorDep) -> dict[str, bool]:
    """Change one's own password (required first after an initial password outside demo mode)."""
    passwords.change_password(uow, _settings(request), actor, body.current_password, body.new_password,
                         ip=client_ip(request))
    return {"changed": True}


@router.post("/tokens", status_code=201, response_model=NewTokenOut)
def create_token(body: auth_tokens.NewToken, request: Request, uow: UowDep, actor: ActorDep) -> NewTokenOut:
    """A bearer token for API clients (``Authorization: Bearer …``), shown once, expiring, revocable."""
    raw, view = auth_tokens.issue_token(uow, _settings(request), actor, body, ip=client_ip(request))
    return NewTokenOut(**auth_sessions.as_dict(view), token=raw)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(uow: UowDep, actor: ActorDep) -> list[TokenOut]:
    """One's own live sessions and tokens."""
    return [TokenOut(**auth_sessions.as_dict(t)) for t in auth_tokens.list_tokens(uow, actor)]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """Revoke one of one's own sessions or tokens."""
    auth_tokens.revoke_token(uow, actor, token_id, ip=client_ip(request))
    return Response(status_code=204)


@admin_router.post("/api-keys", status_code=201, response_model=NewApiKeyOut)
def create_api_key(body: auth_tokens.NewApiKey, request: Request, uow: UowDep, actor: ActorDep) -> NewApiKeyOut:
    """A connected system's key: sources it may submit as, areas, read or write (shown once)."""
    raw, view = auth_tokens.create_api_key(uow, actor, body, ip=client_ip(request))
    return NewApiKeyOut(**auth_sessions.as_dict(view), key=raw)


@admin_router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(uow: UowDep, actor: ActorDep) -> list[ApiKeyOut]:
    """Every API key (never the secrets)."""
    return [ApiKeyOut(**auth_sessions.as_dict(k)) for k in auth_tokens.list_api_keys(uow, actor)]


@admin_router.post("/api-keys/{key_id}/rotate", status_code=201, response_model=NewApiKeyOut)
def rotate_api_key(key_id: int, request: Request, uow: UowDep, actor: ActorDep,
                   body: auth_tokens.RotateApiKey | None = None) -> NewApiKeyOut:
    """A new secret with the same scope; the old one stops now or after the grace period."""
    raw, view = auth_tokens.rotate_api_key(uow, actor, key_id, body or auth_tokens.RotateApiKey(),
                                           ip=client_ip(request))
    return NewApiKeyOut(**auth_sessions.as_dict(view), key=raw)


@admin_router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(key_id: int, request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """Revoke a key at once."""
    auth_tokens.revoke_api_key(uow, actor, key_id, ip=client_ip(request))
    return Response(status_code=204)


@admin_router.post("/people/{person_code}/password")
def set_person_password(person_code: str, body: SetPasswordIn, request: Request, uow: UowDep,
                        actor: ActorDep) -> dict[str, bool]:
    """An administrator sets a person's initial password (changed at first sign-in); unlocks the account."""
    passwords.admin_set_password(uow, _settings(request), actor, person_code, body.password, ip=client_ip(request))
    return {"must_change_password": True}


@admin_router.get("/audit", response_model=list[AuditOut])
def list_audit(uow: UowDep, actor: ActorDep, action: str | None = None, who: str | None = None,
               object: str | None = None, since: datetime | None = None, until: datetime | None = None,
               before_id: int | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditOut]:
    """The audit log, newest first (auditors); ``before_id`` pages back."""
    f = audit.AuditFilter(action=action, actor=who, object=object, since=since, until=until, before_id=before_id,
                          limit=limit)
    return [AuditOut.model_validate(e, from_attributes=True) for e in audit.list_entries(uow, actor, f)]


@admin_router.get("/audit/verify", response_model=ChainOut)
def verify_audit(uow: UowDep, actor: ActorDep) -> ChainOut:
    """Recompute the hash chain; names the first entry that does not fit."""
    r = audit.verify(uow, actor)
    return ChainOut(ok=r.ok, entries=r.entries, head=r.head, broken_id=r.broken_id, problem=r.problem)
