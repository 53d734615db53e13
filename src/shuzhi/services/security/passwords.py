"""Passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended profile), the
password rules, changing one's own and an administrator setting another's.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Person
from shuzhi.adapters.db.tables_security import AuthToken, Credential
from shuzhi.config import Settings
from shuzhi.domain.permissions import USER_ADMIN
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.security.authz import Forbidden
from shuzhi.services.security.credentials import forget_cached_credentials
from shuzhi.services.unit_of_work import UnitOfWork

_hasher = PasswordHasher()


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
                       ip: str | None = None, must_change: bool = True, via: str = "api") -> None:
    """An administrator sets a person's password (by default to be changed at first sign-in); the
    person's sessions and tokens are revoked and the change is audited.

    The API and the CLI (``shuzhi user set-password``, acting as ``system`` from the server's console)
    both come here, so the password rules, the revocation and the audit entry are the same for both.
    """
    authz.require(actor, USER_ADMIN)
    with uow:
        s = uow.session
        person = s.scalar(select(Person).where(Person.code == person_code))
        if person is None:
            raise NotFound(f"person {person_code} not found")
        authz.ensure_visible(actor, person.unit.area.path, [person.unit_id], what=f"person {person_code}")
        check_new_password(settings, person_code, password, field="password")
        set_password(s, person_code, password, must_change=must_change)
        revoked = cast(CursorResult[Any], s.execute(
            update(AuthToken).where(AuthToken.person_id == person.id, AuthToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC)))).rowcount
        audit.record(s, actor, "auth.password_set", f"person:{person_code}",
                     {"must_change": must_change, "via": via, "revoked_tokens": revoked}, ip=ip)
        uow.commit()
    forget_cached_credentials()
