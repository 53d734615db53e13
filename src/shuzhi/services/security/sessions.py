"""Sign-in and sign-out (登录/退出) with browser sessions, and who the signed-in user is.

- An unknown staff code costs the same hash as a wrong password and gets the same answer.
- After ``login_max_failures`` failures in a row an account is locked for ``login_lockout_minutes``
  (423 with the time to retry); unknown codes are locked the same way in memory, so the answers
  do not tell which codes exist.
- Sessions expire ``session_hours`` after sign-in or ``session_idle_minutes`` after the last request.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.adapters.db.tables_security import AuthToken, Credential
from shuzhi.config import Settings
from shuzhi.services.actors import Actor, resolve_actor
from shuzhi.services.errors import Invalid, ServiceError
from shuzhi.services.security import audit
from shuzhi.services.security.authz import Unauthenticated
from shuzhi.services.security.credentials import _aware, _digest, forget_cached_credentials
from shuzhi.services.security.passwords import _burn_time, _check_password, _hasher, hash_password
from shuzhi.services.unit_of_work import UnitOfWork

BAD_CREDENTIALS = "wrong staff code or password"


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
            # Count under the row's lock, re-read after the (slow) check: parallel wrong passwords each
            # count once, and those that arrive after the one that locked find the lock (race-free on
            # PostgreSQL, where the counter was a lost update; SQLite serialises writers anyway).
            cred = s.scalars(select(Credential).where(Credential.person_id == person.id)
                             .with_for_update().execution_options(populate_existing=True)).one()
            locked = _aware(cred.locked_until)
            if locked is not None and locked > now:
                audit.record(s, _ANONYMOUS, "auth.login_failed", f"person:{code}", {"reason": "locked"}, ip=ip,
                             at=now)
                uow.commit()
                raise Locked(locked, now)
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
