"""Bearer tokens of people and API keys of connected systems: issued, listed, rotated, revoked.

Only a credential's SHA-256 is stored; revoking clears the credential cache of this process at once
(:func:`shuzhi.services.security.credentials.forget_cached_credentials`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Person
from shuzhi.adapters.db.tables_security import ApiKey, AuthToken
from shuzhi.config import Settings
from shuzhi.domain.permissions import API_KEY_ADMIN
from shuzhi.services.actors import Actor
from shuzhi.services.commands import Source
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.security.authz import Forbidden
from shuzhi.services.security.credentials import KEY_PREFIX, _aware, _digest, forget_cached_credentials
from shuzhi.services.security.sessions import _new_token
from shuzhi.services.unit_of_work import UnitOfWork


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int = Field(default=30, ge=1, le=3650)


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str | None
    kind: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


def _token_view(t: AuthToken) -> TokenView:
    return TokenView(id=t.id, name=t.name, kind=t.kind, created_at=t.created_at, expires_at=t.expires_at,
                     last_seen_at=t.last_seen_at)


def issue_token(uow: UnitOfWork, settings: Settings, actor: Actor, cmd: NewToken, *,
                ip: str | None = None) -> tuple[str, TokenView]:
    """A bearer token for API clients, for the signed-in person; shown once."""
    if actor.person_id is None or actor.credential == "api_key":
        raise Forbidden("only a signed-in person can create a token")
    if cmd.expires_in_days > settings.token_max_days:
        raise Invalid(f"a token lives at most {settings.token_max_days} days", field="expires_in_days")
    now = datetime.now(UTC)
    with uow:
        raw, token = _new_token(uow.session, actor.person_id, "bearer", cmd.name,
                                now + timedelta(days=cmd.expires_in_days), ip, now)
        audit.record(uow.session, actor, "auth.token_create", f"token:{token.id}",
                     {"name": cmd.name, "expires_at": token.expires_at.isoformat()}, ip=ip)
        uow.commit()
        return raw, _token_view(token)


def mint_token_for(uow: UnitOfWork, person_code: str, *, days: int = 1, name: str = "issued") -> str:
    """A bearer token for a person, without a password: for trusted callers only (CLI, tests, benchmarks)."""
    now = datetime.now(UTC)
    with uow:
        person = uow.session.scalar(select(Person).where(Person.code == person_code, Person.active.is_(True)))
        if person is None:
            raise NotFound(f"person {person_code} not found")
        raw, _ = _new_token(uow.session, person.id, "bearer", name, now + timedelta(days=days), None, now)
        uow.commit()
        return raw


def list_tokens(uow: UnitOfWork, actor: Actor) -> list[TokenView]:
    """The caller's own live sessions and tokens."""
    if actor.person_id is None:
        return []
    now = datetime.now(UTC)
    with uow:
        rows = uow.session.scalars(select(AuthToken).where(
            AuthToken.person_id == actor.person_id, AuthToken.revoked_at.is_(None), AuthToken.expires_at > now)
            .order_by(AuthToken.id))
        return [_token_view(t) for t in rows]


def revoke_token(uow: UnitOfWork, actor: Actor, token_id: int, *, ip: str | None = None) -> None:
    """Revoke one of the caller's own sessions or tokens (someone else's is not found)."""
    with uow:
        s = uow.session
        token = s.get(AuthToken, token_id)
        if token is None or token.person_id != actor.person_id or token.revoked_at is not None:
            raise NotFound(f"token {token_id} not found")
        token.revoked_at = datetime.now(UTC)
        audit.record(s, actor, "auth.token_revoke", f"token:{token_id}", {"kind": token.kind}, ip=ip)
        uow.commit()
    forget_cached_credentials()


# --- API keys of connected systems ---------------------------------------------------------------


class NewApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    #: Sources the system may submit events as (none: a read-only key).
    sources: list[Source] = Field(default_factory=list, max_length=20)
    #: Area codes it sees and reports in; empty = the whole installation.
    area_codes: list[str] = Field(default_factory=list, max_length=200)
    write: bool = False
    expires_in_days: int | None = Field(default=365, ge=1, le=3650)


class RotateApiKey(BaseModel):
    #: How long the old key keeps working, so the connected system can switch without downtime.
    grace_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    prefix: str
    name: str
    sources: list[str]
    area_codes: list[str]
    write: bool
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    replaces_id: int | None


def _key_view(k: ApiKey) -> ApiKeyView:
    return ApiKeyView(id=k.id, prefix=k.prefix, name=k.name, sources=list(k.sources or []),
                      area_codes=list(k.area_codes or []), write=k.can_write, created_by=k.created_by,
                      created_at=k.created_at, expires_at=k.expires_at, revoked_at=k.revoked_at,
                      last_used_at=k.last_used_at, replaces_id=k.replaces_id)


def _new_key(s: Session, actor: Actor, name: str, sources: list[str], area_codes: list[str], write: bool,
             expires_at: datetime | None, replaces_id: int | None, now: datetime) -> tuple[str, ApiKey]:
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(prefix=prefix, secret_hash=_digest(secret), name=name, sources=sources, area_codes=area_codes,
                 can_write=write, created_by=actor.label[:60], created_at=now, expires_at=expires_at,
                 replaces_id=replaces_id)
    s.add(key)
    s.flush()
    return f"{KEY_PREFIX}{prefix}_{secret}", key


def create_api_key(uow: UnitOfWork, actor: Actor, cmd: NewApiKey, *, ip: str | None = None
                   ) -> tuple[str, ApiKeyView]:
    """A key for a connected system; the secret is shown once."""
    authz.require(actor, API_KEY_ADMIN)
    now = datetime.now(UTC)
    sources = sorted({s.value for s in cmd.sources})
    if sources and not cmd.write:
        raise Invalid("a read-only key cannot submit events: give write=true or no sources", field="sources")
    with uow:
        s = uow.session
        codes = sorted(set(cmd.area_codes))
        known = set(s.scalars(select(Area.code).where(Area.code.in_(codes)))) if codes else set()
        for i, code in enumerate(cmd.area_codes):
            if code not in known:
                raise Invalid(f"unknown area '{code}'", field=f"area_codes[{i}]")
        expires = now + timedelta(days=cmd.expires_in_days) if cmd.expires_in_days else None
        raw, key = _new_key(s, actor, cmd.name, sources, codes, cmd.write, expires, None, now)
        audit.record(s, actor, "api_key.create", f"api_key:{key.id}",
                     {"name": key.name, "sources": sources, "area_codes": codes, "write": cmd.write}, ip=ip)
        uow.commit()
        return raw, _key_view(key)


def list_api_keys(uow: UnitOfWork, actor: Actor) -> list[ApiKeyView]:
    authz.require(actor, API_KEY_ADMIN)
    with uow:
        return [_key_view(k) for k in uow.session.scalars(select(ApiKey).order_by(ApiKey.id))]


def _live_key(s: Session, key_id: int) -> ApiKey:
    key = s.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        raise NotFound(f"API key {key_id} not found (or already revoked)")
    return key


def rotate_api_key(uow: UnitOfWork, actor: Actor, key_id: int, cmd: RotateApiKey, *, ip: str | None = None
                   ) -> tuple[str, ApiKeyView]:
    """A new secret with the same scope; the old one stops now or after ``grace_minutes``."""
    authz.require(actor, API_KEY_ADMIN)
    now = datetime.now(UTC)
    with uow:
        s = uow.session
        old = _live_key(s, key_id)
        raw, key = _new_key(s, actor, old.name, list(old.sources or []), list(old.area_codes or []), old.can_write,
                            old.expires_at, old.id, now)
        if cmd.grace_minutes:
            grace_end = now + timedelta(minutes=cmd.grace_minutes)
            old.expires_at = min(_aware(old.expires_at) or grace_end, grace_end)
        else:
            old.revoked_at = now
        audit.record(s, actor, "api_key.rotate", f"api_key:{old.id}",
                     {"new_key": key.id, "grace_minutes": cmd.grace_minutes}, ip=ip)
        uow.commit()
    forget_cached_credentials()
    return raw, _key_view(key)


def revoke_api_key(uow: UnitOfWork, actor: Actor, key_id: int, *, ip: str | None = None) -> None:
    authz.require(actor, API_KEY_ADMIN)
    with uow:
        s = uow.session
        key = _live_key(s, key_id)
        key.revoked_at = datetime.now(UTC)
        audit.record(s, actor, "api_key.revoke", f"api_key:{key.id}", {"name": key.name}, ip=ip)
        uow.commit()
    forget_cached_credentials()
