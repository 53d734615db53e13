"""Long-lived responses (the live stream) and the credential behind them.

A request is authorised once, when it starts; a stream lasts up to an hour. So the stream asks again,
every few seconds, whether the session or token it was opened with is still good — not revoked (sign-
out, password reset), not expired — and whether its person is still active in the same role and unit.
When not, the stream ends and the page reconnects (and is refused, or gets the new scope).

Streams per person are capped (per API process): each holds a connection and polls the database
twice a second, so one person's hundred tabs must not cost the centre's duty floor its streams.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from shuzhi.adapters.db.tables import Person
from shuzhi.adapters.db.tables_security import ApiKey, AuthToken
from shuzhi.services.actors import Actor
from shuzhi.services.errors import ServiceError
from shuzhi.services.unit_of_work import UnitOfWork

#: How often a stream re-checks its credential (seconds): a sign-out or a disabled account ends it
#: within this time.
RECHECK_S = 3.0
#: Streams one person (or one API key) may hold open at once, per process.
MAX_STREAMS_PER_PERSON = 4


class TooManyStreams(ServiceError):
    status = 429


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def still_signed_in(uow: UnitOfWork, actor: Actor, *, now: datetime | None = None) -> bool:
    """Whether ``actor``'s credential still holds, read from the database (no cache)."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        if actor.credential in ("session", "bearer"):
            row = s.execute(select(AuthToken.revoked_at, AuthToken.expires_at)
                            .where(AuthToken.id == actor.credential_id)).first()
            if row is None or row[0] is not None or (_utc(row[1]) or at) <= at:
                return False
        elif actor.credential == "api_key":
            key = s.execute(select(ApiKey.revoked_at, ApiKey.expires_at)
                            .where(ApiKey.id == actor.credential_id)).first()
            expires = _utc(key[1]) if key is not None else None
            return key is not None and key[0] is None and (expires is None or expires > at)
        if actor.person_id is None:
            return actor.credential == "system"
        person = s.execute(select(Person.active, Person.role, Person.unit_id)
                           .where(Person.id == actor.person_id)).first()
        return person is not None and bool(person[0]) and person[1] == actor.role and person[2] == actor.unit_id


_open: dict[str, int] = {}
_lock = threading.Lock()


def acquire_stream(actor: Actor, limit: int | None = None) -> Callable[[], None]:
    """Take one of the actor's stream slots (429 when all are taken); call the result to give it back
    (when the stream ends, however it ends). Giving it back twice is harmless."""
    cap = MAX_STREAMS_PER_PERSON if limit is None else limit
    who = f"person:{actor.person_id}" if actor.person_id is not None else f"{actor.credential}:{actor.credential_id}"
    with _lock:
        if _open.get(who, 0) >= cap:
            raise TooManyStreams(f"at most {cap} live streams per person are open at once; close another page",
                                 field="stream")
        _open[who] = _open.get(who, 0) + 1
    released = threading.Event()

    def release() -> None:
        with _lock:
            if released.is_set():
                return
            released.set()
            _open[who] -= 1
            if not _open[who]:
                del _open[who]

    return release
