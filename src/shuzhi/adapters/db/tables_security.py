"""Tables of the security part of shuzhi: passwords, sessions and tokens, API keys, the audit log.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.
Secrets are never stored: passwords as argon2 hashes, session/bearer tokens and API-key secrets as
SHA-256 digests (they are long random strings, so a fast digest is enough to make a leaked table useless).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, UTCDateTime, utcnow


class Credential(Base):
    """A person's password and sign-in failure counter (one row per person who may sign in)."""

    __tablename__ = "credentials"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    #: Set for an initial or demo password: outside demo mode the person must change it first.
    must_change: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthToken(Base):
    """A browser session (cookie) or an API bearer token: both are a person's signed-in credential."""

    __tablename__ = "auth_tokens"
    __table_args__ = (Index("ix_auth_tokens_person_kind", "person_id", "kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of the token the client holds.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # session|bearer
    name: Mapped[str | None] = mapped_column(String(100))
    #: Cookie sessions only: the value the client must echo in ``X-CSRF-Token`` on changes.
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiKey(Base):
    """A connected system's key: which sources it may submit as, which areas, read or read/write."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public part of the key (``szk_<prefix>_<secret>``), used to find the row.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    #: Event sources it may submit as; empty = none (a read-only key).
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Area codes whose subtrees it sees and may report in; empty = the whole installation.
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The key this one replaced (rotation keeps the chain visible).
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))


class AuditEntry(Base):
    """One line of the append-only audit log, chained to the previous one by its hash.

    ``hash = sha256(prev_hash + canonical JSON of the entry)``; changing or removing any entry
    breaks every later link (``shuzhi audit verify``).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    object: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
