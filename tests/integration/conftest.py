from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from tests.factories import World, build_world


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    with session_factory() as s:
        return build_world(s)


@pytest.fixture
def client(session_factory: sessionmaker[Session], tmp_path: Any) -> Iterator[TestClient]:
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://"))
    with TestClient(app) as c:
        yield c


class Api:
    """Calls as a named person; every call asserts the status it expects and returns the JSON.

    How a person is named to the API lives only in :meth:`headers`: a real bearer token, minted by the
    sign-in service for that staff code and kept for the test (no password hashing per call).
    """

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, who: str) -> str:
        if who not in self._tokens:
            from shuzhi.services.security.tokens import mint_token_for
            from shuzhi.services.unit_of_work import UnitOfWork

            self._tokens[who] = mint_token_for(UnitOfWork(self.client.app.state.session_factory), who)
        return self._tokens[who]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}

    def request(self, method: str, path: str, who: str, status: int = 200, **kw: Any) -> Any:
        headers = {**self.headers(who), **kw.pop("headers", {})}
        r = self.client.request(method, path, headers=headers, **kw)
        assert r.status_code == status, r.text
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else r

    def post(self, path: str, who: str, body: dict[str, Any] | None = None, status: int = 200,
             **kw: Any) -> Any:
        return self.request("POST", path, who, status, json=body if body is not None else {}, **kw)

    def get(self, path: str, status: int = 200, who: str = "alice", **kw: Any) -> Any:
        return self.request("GET", path, who, status, **kw)

    def submit(self, who: str = "alice", **fields: Any) -> dict[str, Any]:
        body = {"source": "hotline", "request_type": "complain", "event_class_code": "0101",
                "title": "井盖破损", "lon": World.A1[0], "lat": World.A1[1]}
        body.update(fields)
        created = self.post("/api/events", who, body, status=201)
        return self.get(f"/api/events/{created['number']}")

    def task(self, event: dict[str, Any], unit_code: str, live: bool = True) -> dict[str, Any]:
        ended = {"returned", "cancelled", "verified", "read"}
        found = [t for t in event["tasks"] if t["unit_code"] == unit_code and (not live or t["state"] not in ended)]
        assert found, f"no task for {unit_code} in {event['tasks']}"
        return found[-1]


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
