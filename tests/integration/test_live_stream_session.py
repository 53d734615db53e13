"""Security II — the live stream re-checks the credential it was opened with (sign-out, a disabled
account, a role change end it within seconds) and a person holds only a few streams at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person
from shuzhi.adapters.db.tables_security import AuthToken
from shuzhi.services.actors import resolve_actor
from shuzhi.services.security import live_sessions
from tests.factories import World
from tests.integration.conftest import Api


def _revoke(sf: sessionmaker[Session], person_id: int) -> None:
    with sf() as s:  # what sign-out and a password reset do
        s.execute(update(AuthToken).where(AuthToken.person_id == person_id).values(revoked_at=datetime.now(UTC)))
        s.commit()


def _disable(sf: sessionmaker[Session], person_id: int) -> None:
    with sf() as s:
        s.execute(update(Person).where(Person.id == person_id).values(active=False))
        s.commit()


def _change_role(sf: sessionmaker[Session], person_id: int) -> None:
    with sf() as s:
        s.execute(update(Person).where(Person.id == person_id).values(role="handler"))
        s.commit()


@pytest.mark.parametrize("change", [_revoke, _disable, _change_role])
def test_an_open_live_stream_ends_within_seconds_when_its_credential_no_longer_holds(
        api: Api, world: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
        change: Any) -> None:
    monkeypatch.setattr(live_sessions, "RECHECK_S", 0.5)
    headers = api.headers("alice")
    person_id = world.people["alice"].id
    timer = threading.Timer(0.5, change, args=(session_factory, person_id))
    try:
        with api.client.stream("GET", "/api/live/stream", headers=headers,
                               params={"after_id": 0, "timeout": 60, "poll": 0.2}) as r:
            assert r.status_code == 200
            started = time.monotonic()
            timer.start()  # the change happens while the stream is open
            body = "".join(r.iter_text())
    finally:
        timer.cancel()
    assert 'event: end\ndata: {"reason": "credential"}' in body
    assert time.monotonic() - started < 15  # not the 60 s the stream was opened for


def test_a_person_holds_at_most_the_capped_number_of_streams(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        alice = resolve_actor(s, "alice")
    held = [live_sessions.acquire_stream(alice) for _ in range(live_sessions.MAX_STREAMS_PER_PERSON)]
    try:
        r = api.client.get("/api/live/stream", headers=api.headers("alice"),
                           params={"after_id": 0, "timeout": 1, "poll": 0.2})
        assert r.status_code == 429 and r.json()["field"] == "stream"
        # another person is not affected
        r = api.client.get("/api/live/stream", headers=api.headers("bob"), params={"after_id": 0, "timeout": 1})
        assert r.status_code == 200
    finally:
        for release in held:
            release()
    r = api.client.get("/api/live/stream", headers=api.headers("alice"), params={"after_id": 0, "timeout": 1})
    assert r.status_code == 200
    # and a finished stream gave its slot back
    assert live_sessions._open == {}
