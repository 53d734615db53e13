"""Sign-in: passwords, browser sessions, bearer tokens and connected systems' API keys.

- Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended profile);
  an unknown staff code costs the same hash as a wrong password and gets the same answer.
- After ``login_max_failures`` failures in a row an account is locked for ``login_lockout_minutes``
  (423 with the time to retry); unknown codes are locked the same way in memory, so the answers
  do not tell which codes exist.
- Session cookies, bearer tokens and API keys are long random strings; only their SHA-256 is stored.
  Sessions expire ``session_hours`` after sign-in or ``session_idle_minutes`` after the last request;
  bearer tokens when their owner asked; API keys when revoked, rotated or expired.
- A resolved credential is cached for :data:`CREDENTIAL_TTL` seconds per process: revoking clears
  this process at once and every other process within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.adapters.db.tables_security import ApiKey, AuthToken, Credential
from shuzhi.config import Settings
from shuzhi.domain.permissions import API_KEY_ADMIN, ROLE_PERMISSIONS, USER_ADMIN, Role
from shuzhi.services import audit, authz
from shuzhi.services.actors import Actor, cached_actor, resolve_actor
from shuzhi.services.authz import Forbidden, Unauthenticated
from shuzhi.services.commands import Source
from shuzhi.services.errors import Invalid, NotFound, ServiceError
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

_hasher = PasswordHasher()
BAD_CREDENTIALS = "wrong staff code or password"
CREDENTIAL_TTL = 10.0
#: last_seen_at / last_used_at are written at most this often per credential (not on every request).
_TOUCH_EVERY = timedelta(seconds=60)


class Locked(ServiceError):
    """Too many failed sign-ins: the account is locked until ``retry_after`` seconds from now."""

    status = 423

    def __init__(self, until: datetime, now: datetime) -> None:
        self.retry_after = max(1, int((until - now).total_seconds()) + 1)
        super().__init__(
            f"too many failed sign-ins; this account is locked until {until.isoformat(timespec='seconds')} "
            f"(try again in {self.retry_after} s)",
            details={"locked_until": until.isoformat(timespec="seconds"), "retry_after": self.retry_after},
        )
        self.headers = {"Retry-After": str(self.retry_after)}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy_hash: str | None = None


def _burn_time(password: str) -> None:
    """Verify against a throw-away hash, so an unknown code takes as long as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    _check_password(_dummy_hash, password)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


# --- who signs in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    code: str
    name: str
    role: str
    unit_code: str
    unit_name: str


def _person_view(p: Person) -> PersonView:
    return PersonView(code=p.code, name=p.name, role=p.role, unit_code=p.unit.code, unit_name=p.unit.name)


@dataclass(frozen=True)
class SignedIn:
    person: PersonView
    token: str
    token_id: int
    csrf_token: str | None
    must_change_password: bool
    expires_at: datetime


class _Ghosts:
    """Failure counts of staff codes that do not exist, so they lock like real ones (per process)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, datetime | None]] = {}
        self._lock = threading.Lock()

    def locked_until(self, code: str, now: datetime) -> datetime | None:
        until = self._data.get(code, (0, None))[1]
        return until if until is not None and until > now else None

    def fail(self, code: str, now: datetime, max_failures: int, lockout: timedelta) -> datetime | None:
        with self._lock:
            if len(self._data) > 50_000:
                self._data.clear()
            count, until = self._data.get(code, (0, None))
            if until is not None and until <= now:
                count = 0
            count += 1
            if count >= max_failures:
                self._data[code] = (0, now + lockout)
                return now + lockout
            self._data[code] = (count, None)
            return None


_ghosts = _Ghosts()
_ANONYMOUS = Actor(code="anonymous", name="匿名")


def login(uow: UnitOfWork, settings: Settings, code: str, password: str, *, kind: str = "session",
          ip: str | None = None, now: datetime | None = None) -> SignedIn:
    """Check a staff code and password; on success open a session (cookie) or a bearer token.

    Every attempt is audited. Failures are counted per account; the one that reaches the limit
    locks it (423, with when to retry). The answer to a wrong password and to an unknown code is the
    same 401, and takes as long.
    """
    now = now or datetime.now(UTC)
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    code = code.strip()[:40]
    with uow:
        s = uow.session
        row = s.execute(select(Person, Credential).join(Credential, Credential.person_id == Person.id)
                        .where(Person.code == code, Person.active.is_(True))).first()
        if row is None:
            until = _ghosts.locked_until(code, now)
            if until is None:
                _burn_time(password)
                until = _ghosts.fail(code, now, settings.login_max_failures, lockout)
            audit.record(s, _ANONYMOUS, "auth.login_failed", f"person:{code}", {"reason": "bad credentials"},
                         ip=ip, at=now)
            uow.commit()
            if until is not None:
                raise Locked(until, now)
            raise Unauthenticated(BAD_CREDENTIALS)
        person, cred = row
        locked = _aware(cred.locked_until)
        if locked is not None and locked > now:
            audit.record(s, _ANONYMOUS, "auth.login_failed", f"person:{code}", {"reason": "locked"}, ip=ip, at=now)
            uow.commit()
            raise Locked(locked, now)
        if not _check_password(cred.password_hash, password):
            last = _aware(cred.last_failed_at)
            if last is None or now - last > lockout:
                cred.failed_count = 0  # failures long ago do not add up
            cred.failed_count += 1
            cred.last_failed_at = now
            audit.record(s, _ANONYMOUS, "auth.login_failed", f"person:{code}",
                         {"reason": "bad credentials", "failures": cred.failed_count}, ip=ip, at=now)
            if cred.failed_count >= settings.login_max_failures:
                cred.locked_until = now + lockout
                cred.failed_count = 0
                audit.record(s, _ANONYMOUS, "auth.locked", f"person:{code}",
                             {"until": (now + lockout).isoformat()}, ip=ip, at=now)
                uow.commit()
                raise Locked(now + lockout, now)
            uow.commit()
            raise Unauthenticated(BAD_CREDENTIALS)
        cred.failed_count = 0
        cred.locked_until = None
        if _hasher.check_needs_rehash(cred.password_hash):
            cred.password_hash = hash_password(password)
        ttl = timedelta(hours=settings.session_hours) if kind == "session" else timedelta(days=30)
        raw, token = _new_token(s, person.id, kind, None, now + ttl, ip, now)
        actor = resolve_actor(s, person.code)
        audit.record(s, actor, "auth.login", f"person:{person.code}", {"kind": kind}, ip=ip, at=now)
        must_change = cred.must_change and not settings.demo_mode
        uow.commit()
        return SignedIn(person=_person_view(person), token=raw, token_id=token.id, csrf_token=token.csrf_token,
                        must_change_password=must_change, expires_at=token.expires_at)


def _new_token(s: Session, person_id: int, kind: str, name: str | None, expires_at: datetime, ip: str | None,
               now: datetime) -> tuple[str, AuthToken]:
    raw = ("szs_" if kind == "session" else "szt_") + secrets.token_urlsafe(32)
    token = AuthToken(token_hash=_digest(raw), person_id=person_id, kind=kind, name=name,
                      csrf_token=secrets.token_urlsafe(32) if kind == "session" else None, created_at=now,
                      expires_at=expires_at, last_seen_at=now, ip=ip[:64] if ip else None)
    s.add(token)
    s.flush()
    return raw, token


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


# --- signing out, passwords, tokens --------------------------------------------------------------


def logout(uow: UnitOfWork, actor: Actor, *, ip: str | None = None) -> None:
    """End the session or revoke the bearer token the request came with."""
    if actor.credential not in ("session", "bearer") or actor.credential_id is None:
        raise Invalid("only a session or a bearer token can be signed out", field="credential")
    now = datetime.now(UTC)
    with uow:
        uow.session.execute(update(AuthToken).where(AuthToken.id == actor.credential_id,
                                                    AuthToken.revoked_at.is_(None)).values(revoked_at=now))
        audit.record(uow.session, actor, "auth.logout", f"person:{actor.code}", {"kind": actor.credential}, ip=ip)
        uow.commit()
    forget_cached_credentials()


def check_new_password(settings: Settings, person_code: str, password: str, *, field: str = "new_password") -> None:
    """The password rules (length, not the staff code, not too simple), naming ``field`` when broken."""
    if len(password) < settings.password_min_length:
        raise Invalid(f"the new password needs at least {settings.password_min_length} characters",
                      field=field)
    if person_code.lower() in password.lower():
        raise Invalid("the new password must not contain the staff code", field=field)
    if len(set(password)) < 4:
        raise Invalid("the new password is too simple (too few different characters)", field=field)



def change_password(uow: UnitOfWork, settings: Settings, actor: Actor, current: str, new: str, *,
                    ip: str | None = None) -> None:
    """A person changes their own password; every other session and token of theirs is revoked."""
    if actor.person_id is None or actor.credential not in ("session", "bearer"):
        raise Forbidden("only a signed-in person can change a password")
    check_new_password(settings, actor.code, new)
    if new == current:
        raise Invalid("the new password must differ from the current one", field="new_password")
    now = datetime.now(UTC)
    with uow:
        s = uow.session
        cred = s.get(Credential, actor.person_id)
        if cred is None or not _check_password(cred.password_hash, current):
            raise Invalid("the current password is wrong", field="current_password")
        cred.password_hash = hash_password(new)
        cred.must_change = False
        cred.changed_at = now
        others = s.scalars(select(AuthToken).where(
            AuthToken.person_id == actor.person_id, AuthToken.id != actor.credential_id,
            AuthToken.revoked_at.is_(None))).all()
        for token in others:
            token.revoked_at = now
        revoked = len(others)
        audit.record(s, actor, "auth.password_change", f"person:{actor.code}", {"revoked_other_sessions": revoked},
                     ip=ip)
        uow.commit()
    forget_cached_credentials()


def set_password(session: Session, person_code: str, password: str, *, must_change: bool = True,
                 password_hash: str | None = None) -> Credential:
    """Give a person a (new) password in the caller's transaction; unlocks the account.

    ``password_hash`` lets a caller that sets the same initial password for many people (the demo)
    hash it once.
    """
    person = session.scalar(select(Person).where(Person.code == person_code))
    if person is None:
        raise NotFound(f"person {person_code} not found")
    hashed = password_hash or hash_password(password)
    cred = session.get(Credential, person.id)
    now = datetime.now(UTC)
    if cred is None:
        cred = Credential(person_id=person.id, password_hash=hashed, must_change=must_change, changed_at=now,
                          failed_count=0)
        session.add(cred)
    else:
        cred.password_hash = hashed
        cred.must_change = must_change
        cred.changed_at = now
        cred.failed_count = 0
        cred.locked_until = None
    session.flush()
    return cred


def admin_set_password(uow: UnitOfWork, settings: Settings, actor: Actor, person_code: str, password: str, *,
                       ip: str | None = None) -> None:
    """An administrator sets a person's initial password (to be changed at first sign-in); the
    person's sessions and tokens are revoked."""
    authz.require(actor, USER_ADMIN)
    with uow:
        s = uow.session
        person = s.scalar(select(Person).where(Person.code == person_code))
        if person is None:
            raise NotFound(f"person {person_code} not found")
        authz.ensure_visible(actor, person.unit.area.path, [person.unit_id], what=f"person {person_code}")
        check_new_password(settings, person_code, password)
        set_password(s, person_code, password, must_change=True)
        s.execute(update(AuthToken).where(AuthToken.person_id == person.id, AuthToken.revoked_at.is_(None))
                  .values(revoked_at=datetime.now(UTC)))
        audit.record(s, actor, "auth.password_set", f"person:{person_code}", {"must_change": True}, ip=ip)
        uow.commit()
    forget_cached_credentials()


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


# --- who am I ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Me:
    person: PersonView | None
    code: str
    name: str
    role: str | None
    credential: str
    permissions: list[str]
    scope_global: bool
    scope_areas: list[dict[str, str]]
    must_change_password: bool


def me(uow: UnitOfWork, actor: Actor) -> Me:
    with uow:
        s = uow.session
        person = None
        if actor.person_id is not None:
            p = s.get(Person, actor.person_id)
            person = _person_view(p) if p is not None else None
        areas: list[dict[str, str]] = []
        if actor.area_paths:
            rows = s.execute(select(Area.code, Area.name).where(Area.path.in_(actor.area_paths))
                             .order_by(Area.code)).all()
            areas = [{"code": r[0], "name": r[1]} for r in rows]
        if actor.unit_id is not None and actor.area_paths is not None:
            unit = s.get(Unit, actor.unit_id)
            if unit is not None:
                areas.append({"code": f"unit:{unit.code}", "name": f"{unit.name}（本单位的任务）"})
        return Me(person=person, code=actor.code, name=actor.name, role=actor.role, credential=actor.credential,
                  permissions=sorted(actor.permissions), scope_global=actor.area_paths is None,
                  scope_areas=areas, must_change_password=actor.must_change_password)


def as_dict(view: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(view)
