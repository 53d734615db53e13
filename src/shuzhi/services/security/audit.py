"""The audit log: append-only, each entry chained to the previous one by a SHA-256 hash.

Anything an auditor must be able to account for goes here: sign-ins (success and failure), password,
permission and role changes, configuration and rule changes, imports, exports, and every reveal of
a reporter's personal data (个人信息保护法 art. 51, 54). ``record`` writes in the caller's
transaction, so an entry exists exactly when the change it describes was committed.

Tamper evidence: ``hash = sha256(prev_hash ‖ canonical JSON of the entry)``. Changing, inserting or
deleting an entry in the middle breaks the link of the next one; ``verify`` walks the chain and names
the first entry whose link does not hold. Deleting the *newest* entries cannot be seen from the chain
alone — operators keep the head hash printed by ``shuzhi audit verify`` (see docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shuzhi.adapters.db import bulk
from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.domain.permissions import AUDIT_READ
from shuzhi.services.actors import Actor
from shuzhi.services.commands import ensure_zoned
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

GENESIS = "0" * 64
#: Any 64-bit constant; PostgreSQL serialises appenders on it for the rest of their transaction.
_PG_LOCK_KEY = 0x5A5A_A0D1


def _json_safe(value: Any) -> Any:
    """What the JSON column gives back, so the hash computed now is the hash recomputed later."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def entry_hash(prev_hash: str, entry_id: int, at: datetime, actor: str, actor_id: int | None, action: str,
               obj: str, details: dict[str, Any], ip: str | None) -> str:
    body = json.dumps(
        {"id": entry_id, "at": at.astimezone(UTC).isoformat(timespec="microseconds"), "actor": actor,
         "actor_id": actor_id, "action": action, "object": obj, "details": details, "ip": ip},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    # SQLite already runs one writer at a time (BEGIN IMMEDIATE, see adapters/db/engine.py).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def record(session: Session, actor: Actor, action: str, object: str, details: dict[str, Any] | None = None,
           *, ip: str | None = None, at: datetime | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (the caller commits).

    ``action`` is ``<area>.<verb>`` (``auth.login``, ``rule.update``, ``personal_data.reveal`` …),
    ``object`` names what it was done to (``event:500111-20240613-000123``, ``person:bob``).
    """
    at = (at or datetime.now(UTC)).astimezone(UTC)
    _lock_chain(session)
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last[1] if last else GENESIS
    # The row is written once, complete: its id is chosen here (under the chain lock, so no other
    # appender can take it) rather than by the database, so the hash is known before the INSERT and
    # the application never needs UPDATE on this table (docs/operations.md: INSERT and SELECT only).
    entry_id = (last[0] if last else 0) + 1
    safe = _json_safe(details or {})
    label, act, obj, addr = actor.label[:100], action[:40], object[:200], ip[:64] if ip else None
    entry = AuditEntry(id=entry_id, at=at, actor=label, actor_id=actor.person_id, action=act, object=obj,
                       details=safe, ip=addr, prev_hash=prev,
                       hash=entry_hash(prev, entry_id, at, label, actor.person_id, act, obj, safe, addr))
    session.add(entry)
    session.flush()
    return entry


def record_change(session: Session, actor: Actor, action: str, object: str, before: Any, after: Any,
                  **details: Any) -> AuditEntry | None:
    """A configuration change with what it was and what it became (``None`` = did not exist / removed).

    Nothing is written when nothing changed (an import that re-sends the same rows), so the log holds
    changes, not requests.
    """
    before_safe, after_safe = _json_safe(before), _json_safe(after)
    if before_safe == after_safe:
        return None
    return record(session, actor, action, object, {**details, "before": before_safe, "after": after_safe})


def record_changes(session: Session, actor: Actor, action: str, changes: Iterable[tuple[str, Any, Any]],
                   *, at: datetime | None = None) -> int:
    """Many :func:`record_change` entries at once (an import of tens of thousands of rows): ``changes`` is
    ``(object, before, after)`` in the order they happened; the unchanged ones are left out as there.

    The chain is the one :func:`record` builds, one entry after the other, but computed here under one
    chain lock and one read of the newest entry, and written in one bulk insert (``adapters/db/bulk.py``).
    Returns how many entries were written."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    label, act, actor_id = actor.label[:100], action[:40], actor.person_id
    pending: list[tuple[str, dict[str, Any]]] = []
    for obj, before, after in changes:
        before_safe, after_safe = _json_safe(before), _json_safe(after)
        if before_safe != after_safe:
            pending.append((obj[:200], {"before": before_safe, "after": after_safe}))
    if not pending:
        return 0
    _lock_chain(session)
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last[1] if last else GENESIS
    entry_id = last[0] if last else 0
    rows: list[dict[str, Any]] = []
    for obj, details in pending:
        entry_id += 1
        digest = entry_hash(prev, entry_id, at, label, actor_id, act, obj, details, None)
        rows.append({"id": entry_id, "at": at, "actor": label, "actor_id": actor_id, "action": act, "object": obj,
                     "details": details, "ip": None, "prev_hash": prev, "hash": digest})
        prev = digest
    bulk.insert_rows(session.connection(), AuditEntry.__table__, rows)  # COPY on PostgreSQL
    return len(rows)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head: str
    #: The first entry whose link does not hold, and why.
    broken_id: int | None = None
    problem: str | None = None
    #: The broken entry as a person reads it: when, what, on what, by whom.
    broken_entry: str | None = None


def _described(e: AuditEntry) -> str:
    return f"{e.at.isoformat()} {e.action} {e.object} by {e.actor}"


def _walk(session: Session, batch: int = 2000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.id > last_id)
                                    .order_by(AuditEntry.id).limit(batch)))
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Recompute every link, oldest first; stop at the first entry that does not fit."""
    prev = GENESIS
    count = 0
    for e in _walk(session):
        if e.prev_hash != prev:
            return ChainReport(False, count, prev, e.id,
                               "its prev_hash is not the hash of the entry before it (an entry was removed, "
                               "inserted or changed before it)", _described(e))
        expected = entry_hash(prev, e.id, e.at, e.actor, e.actor_id, e.action, e.object, e.details or {}, e.ip)
        if e.hash != expected:
            return ChainReport(False, count, prev, e.id, "its content does not match its hash (it was changed)",
                               _described(e))
        prev = e.hash
        count += 1
    return ChainReport(True, count, prev)


def verify(uow: UnitOfWork, actor: Actor) -> ChainReport:
    authz.require(actor, AUDIT_READ)
    with uow:
        return verify_chain(uow.session)


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    object: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def list_entries(uow: UnitOfWork, actor: Actor, f: AuditFilter) -> list[AuditEntry]:
    """Newest first; ``before_id`` pages back. Auditors see the whole installation's log."""
    authz.require(actor, AUDIT_READ)
    ensure_zoned(since=f.since, until=f.until)
    stmt = select(AuditEntry)
    if f.action:
        stmt = stmt.where(AuditEntry.action.startswith(f.action, autoescape=True))
    if f.actor:
        stmt = stmt.where(AuditEntry.actor.contains(f.actor, autoescape=True))
    if f.object:
        stmt = stmt.where(AuditEntry.object == f.object)
    if f.since:
        stmt = stmt.where(AuditEntry.at >= f.since)
    if f.until:
        stmt = stmt.where(AuditEntry.at < f.until)
    if f.before_id:
        stmt = stmt.where(AuditEntry.id < f.before_id)
    with uow:
        return list(uow.session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(f.limit)))
