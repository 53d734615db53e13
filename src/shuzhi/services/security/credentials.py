"""Resolving a credential on each request: session cookies, bearer tokens, connected systems' API keys.

- Session cookies, bearer tokens and API keys are long random strings; only their SHA-256 is stored.
  Bearer tokens expire when their owner asked; API keys when revoked, rotated or expired.
- A resolved credential is cached for :data:`CREDENTIAL_TTL` seconds per process: revoking clears
  this process at once and every other process within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.tables import Area, Person
from shuzhi.adapters.db.tables_security import ApiKey, AuthToken, Credential
from shuzhi.config import Settings
from shuzhi.domain.permissions import ROLE_PERMISSIONS, Role
from shuzhi.services.actors import Actor, cached_actor, resolve_actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security.authz import Unauthenticated
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

CREDENTIAL_TTL = 10.0
#: last_seen_at / last_used_at are written at most this often per credential (not on every request).
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


# --- resolving a credential on each request ------------------------------------------------------


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    csrf_token: str | None = None


@dataclass(frozen=True)
class _TokenHit:
    token_id: int
    person_code: str
    kind: str
    csrf_token: str | None
    expires_at: datetime
    last_seen_at: datetime
    must_change: bool


_tokens: TTLCache[_TokenHit] = TTLCache(ttl=CREDENTIAL_TTL)
#: An API key's id, its actor, when it expires, when it was last used.
_KeyHit = tuple[int, Actor, datetime | None, datetime | None]
_keys: TTLCache[_KeyHit] = TTLCache(ttl=CREDENTIAL_TTL)
_forget_lock = threading.Lock()


def forget_cached_credentials() -> None:
    """Drop this process's cached credentials (after a revocation or password change)."""
    with _forget_lock:
        _tokens.clear()
        _keys.clear()


def _url(s: Session) -> str:
    return database_key(s)


def _check_token(hit: _TokenHit | None, settings: Settings, expected: str, now: datetime) -> _TokenHit:
    """401 unless the token is known, of the expected kind, unexpired and (a session) not idle."""
    what = "session" if expected == "session" else "token"
    if hit is None or hit.kind != expected:
        raise Unauthenticated(f"the {what} is not valid (unknown, revoked or signed out); sign in again")
    if hit.expires_at <= now:
        raise Unauthenticated(f"the {what} expired at {hit.expires_at.isoformat(timespec='seconds')}; "
                              "sign in again")
    if expected == "session" and now - hit.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        raise Unauthenticated("the session ended after a period without activity; sign in again")
    return hit


def _token_actor(person: Actor, hit: _TokenHit, settings: Settings, expected: str) -> Authenticated:
    actor = replace(person, credential=expected, credential_id=hit.token_id,
                    must_change_password=hit.must_change and not settings.demo_mode)
    return Authenticated(actor, hit.csrf_token)


def authenticate_token(uow: UnitOfWork, settings: Settings, raw: str, *, expected: str,
                       now: datetime | None = None) -> Authenticated:
    """The actor behind a session cookie (``expected="session"``) or bearer token; 401 otherwise."""
    now = now or datetime.now(UTC)
    digest = _digest(raw)
    with uow:
        s = uow.session

        def load() -> _TokenHit | None:
            row = s.execute(
                select(AuthToken.id, Person.code, AuthToken.kind, AuthToken.csrf_token, AuthToken.expires_at,
                       AuthToken.last_seen_at, Credential.must_change)
                .join(Person, Person.id == AuthToken.person_id)
                .outerjoin(Credential, Credential.person_id == Person.id)
                .where(AuthToken.token_hash == digest, AuthToken.revoked_at.is_(None), Person.active.is_(True))
            ).first()
            if row is None:
                return None
            return _TokenHit(row[0], row[1], row[2], row[3], _aware(row[4]) or now, _aware(row[5]) or now,
                             bool(row[6]))

        hit = _check_token(_tokens.get((_url(s), digest), load), settings, expected, now)
        if now - hit.last_seen_at > _TOUCH_EVERY:
            s.execute(update(AuthToken).where(AuthToken.id == hit.token_id).values(last_seen_at=now))
            uow.commit()
            _tokens.clear_key((_url(s), digest))
        try:
            person = resolve_actor(s, hit.person_code)
        except Invalid:
            raise Unauthenticated("this account is no longer active") from None
        return _token_actor(person, hit, settings, expected)


def cached_token(database: str, settings: Settings, raw: str, *, expected: str,
                 now: datetime | None = None) -> Authenticated | None:
    """:func:`authenticate_token` answered from this process's caches alone, without a session.

    ``None`` when the database is needed (the token or its person not cached, or its last-seen time
    due to be written): the caller then calls :func:`authenticate_token`. A cached token that is bad,
    expired or idle gets the same 401. Revocation holds within :data:`CREDENTIAL_TTL`, as there.
    """
    now = now or datetime.now(UTC)
    digest = _digest(raw)
    hit = _tokens.peek((database, digest))
    if hit is None:
        return None
    hit = _check_token(hit, settings, expected, now)
    person = cached_actor(database, hit.person_code)
    if person is None or now - hit.last_seen_at > _TOUCH_EVERY:
        return None
    return _token_actor(person, hit, settings, expected)


KEY_PREFIX = "szk_"


def _split_key(raw: str) -> tuple[str, str] | None:
    if not raw.startswith(KEY_PREFIX):
        return None
    parts = raw[len(KEY_PREFIX):].split("_", 1)
    return (parts[0], parts[1]) if len(parts) == 2 and parts[0] and parts[1] else None


def _key_permissions(can_write: bool) -> frozenset[str]:
    granted = ROLE_PERMISSIONS[Role.INTEGRATOR]
    return granted if can_write else frozenset(p for p in granted if p.endswith(".read"))


def authenticate_api_key(uow: UnitOfWork, raw: str, *, now: datetime | None = None) -> Authenticated:
    """The connected system behind an ``X-API-Key``: integrator permissions (read-only keys: reads
    only), the key's areas as scope, the key's sources for intake."""
    now = now or datetime.now(UTC)
    split = _split_key(raw)
    if split is None:
        raise Unauthenticated("the API key is not valid (expected szk_<id>_<secret>)")
    prefix, secret = split
    with uow:
        s = uow.session

        def load() -> _KeyHit | None:
            key = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
            if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
                return None
            paths: tuple[str, ...] | None = None
            if key.area_codes:
                paths = tuple(s.scalars(select(Area.path).where(Area.code.in_(key.area_codes))).all())
            actor = Actor(code=f"apikey:{key.prefix}", name=key.name, role=Role.INTEGRATOR.value,
                          permissions=_key_permissions(key.can_write), area_paths=paths, credential="api_key",
                          sources=frozenset(key.sources or []), credential_id=key.id)
            return key.id, actor, _aware(key.expires_at), _aware(key.last_used_at)

        hit = _keys.get((_url(s), prefix, _digest(secret)), load)
        key_id, actor, _, last_used = _check_key(hit, now)
        if last_used is None or now - last_used > _TOUCH_EVERY:
            s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            uow.commit()
            _keys.clear_key((_url(s), prefix, _digest(secret)))
        return Authenticated(actor)


def _check_key(hit: _KeyHit | None, now: datetime) -> _KeyHit:
    if hit is None:
        raise Unauthenticated("the API key is not valid (unknown, rotated or revoked)")
    expires_at = hit[2]
    if expires_at is not None and expires_at <= now:
        raise Unauthenticated(f"the API key expired at {expires_at.isoformat(timespec='seconds')}")
    return hit


def cached_api_key(database: str, raw: str, *, now: datetime | None = None) -> Authenticated | None:
    """:func:`authenticate_api_key` from this process's cache alone (see :func:`cached_token`)."""
    now = now or datetime.now(UTC)
    split = _split_key(raw)
    if split is None:
        raise Unauthenticated("the API key is not valid (expected szk_<id>_<secret>)")
    prefix, secret = split
    hit = _keys.peek((database, prefix, _digest(secret)))
    if hit is None:
        return None
    _, actor, _, last_used = _check_key(hit, now)
    if last_used is None or now - last_used > _TOUCH_EVERY:
        return None
    return Authenticated(actor)
