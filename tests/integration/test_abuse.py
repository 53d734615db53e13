"""Abuse and bad input: body size limits, rate limits on sign-in and intake, safe answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event
from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from shuzhi.entrypoints.api.ratelimit import TokenBuckets
from tests.factories import World
from tests.integration.conftest import Api


def _events(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count(Event.id))) or 0)


def _client(factory: sessionmaker[Session], tmp_path: Any, **settings: Any) -> TestClient:
    return TestClient(create_app(factory, Settings(data_dir=tmp_path, database_url="sqlite://", **settings)))


def test_an_oversized_json_body_is_413_and_stores_nothing(api: Api, world: World,
                                                          session_factory: sessionmaker[Session]) -> None:
    body = {"source": "hotline", "title": "x", "description": "长" * 600_000, "lon": World.A1[0],
            "lat": World.A1[1]}
    r = api.client.post("/api/events", json=body, headers=api.headers("bob"))
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"source": "hotline", "title": "x", "description": "'
        for _ in range(40):
            yield b"a" * 65_536
        yield b'"}'

    r = api.client.post("/api/events", content=chunks(),
                        headers={**api.headers("bob"), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert _events(session_factory) == 0


def test_an_oversized_upload_is_413_before_it_is_read(session_factory: sessionmaker[Session], world: World,
                                                     tmp_path: Any) -> None:
    with _client(session_factory, tmp_path, max_attachment_bytes=1000, max_import_bytes=1000) as c:
        api = Api(c)
        ev = api.submit(who="bob")
        r = c.post(f"/api/events/{ev['number']}/attachments", headers=api.headers("bob"),
                   files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 200_000, "image/png")})
        assert r.status_code == 413


def test_sign_in_is_rate_limited_per_address(session_factory: sessionmaker[Session], world: World,
                                             tmp_path: Any) -> None:
    with _client(session_factory, tmp_path, login_burst=3, login_rate_per_minute=1) as c:
        answers = [c.post("/api/auth/login", json={"code": f"x{i}", "password": "p"}).status_code for i in range(4)]
        assert answers == [401, 401, 401, 429]
        r = c.post("/api/auth/login", json={"code": "x", "password": "p"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "try again" in r.json()["detail"]


def test_intake_is_rate_limited_per_credential(session_factory: sessionmaker[Session], world: World,
                                               tmp_path: Any) -> None:
    with _client(session_factory, tmp_path, intake_burst=2, intake_rate_per_s=0.01) as c:
        api = Api(c)
        body = {"source": "hotline", "title": "x", "lon": World.A1[0], "lat": World.A1[1]}
        answers = [c.post("/api/events", json=body, headers=api.headers("bob")).status_code for _ in range(3)]
        assert answers == [201, 201, 429]
        # another person has a bucket of their own
        assert c.post("/api/events", json=body, headers=api.headers("frank")).status_code == 201
    assert _events(session_factory) == 3


def test_token_buckets_refill_at_their_rate() -> None:
    b = TokenBuckets(rate=2.0, burst=2)
    assert [b.take("k", now=0.0), b.take("k", now=0.0)] == [0.0, 0.0]
    assert b.take("k", now=0.0) == 0.5
    assert b.take("k", now=0.5) == 0.0  # one token came back after 0.5 s
    assert b.take("other", now=0.5) == 0.0
