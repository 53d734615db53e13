"""Outbound webhooks against a real HTTP server on 127.0.0.1: signed, filtered, retried, dead-lettered,
replayed, logged. admin is the administrator; alice a duty officer who may not manage webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters import webhooks as http
from shuzhi.services import webhooks
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api


class Receiver:
    """A webhook receiver: records requests; answers with ``status`` (changeable mid-test)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(autouse=True)
def _loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These receivers run on 127.0.0.1: the operator allow-lists loopback (refused by default)."""
    from shuzhi.config import get_settings

    monkeypatch.setenv("SHUZHI_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _uow(sf: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return lambda: UnitOfWork(sf)


def _urge(api: Api, cls: str = "0101", point: tuple[float, float] = World.A1) -> dict:
    ev = api.submit(event_class_code=cls, lon=point[0], lat=point[1])
    api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    return api.post(f"/api/events/{ev['number']}/urge", "grace", {"instruction": "限期办结", "due_at": due})


def test_signed_delivery_with_area_and_class_filters(api: Api, world: World, receiver: Receiver,
                                                      session_factory: sessionmaker[Session]) -> None:
    api.post("/api/webhooks", "alice", {"name": "x", "url": receiver.url, "topics": ["*"]}, status=403)
    bad = api.post("/api/webhooks", "admin", {"name": "x", "url": receiver.url, "topics": ["nope"]}, status=422)
    assert bad["field"] == "topics[0]"
    bad = api.post("/api/webhooks", "admin", {"name": "x", "url": receiver.url, "topics": ["*"],
                                              "area_code": "999"}, status=422)
    assert bad["field"] == "area_code"
    town_a = api.post("/api/webhooks", "admin", {"name": "龙岗督办", "url": receiver.url,
                                                 "topics": ["supervision.leader_urge"], "area_code": "500111001",
                                                 "class_codes": ["0101"]}, status=201)
    assert len(town_a["secret"]) >= 32
    assert all(s["secret"] is None for s in api.get("/api/webhooks", who="admin"))
    api.get("/api/webhooks", who="alice", status=403)

    urged = _urge(api)  # town A, class 0101: matches
    _urge(api, cls="0201")  # another class: filtered out
    _urge(api, point=World.B1)  # town B: filtered out
    sf = session_factory
    assert webhooks.fan_out(_uow(sf), datetime.now(UTC)) == 1
    assert webhooks.fan_out(_uow(sf), datetime.now(UTC)) == 0  # nothing twice
    assert webhooks.deliver_due(_uow(sf), datetime.now(UTC)) == 1
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert http.verify(town_a["secret"], headers["x-shuzhi-timestamp"], req["body"], headers["x-shuzhi-signature"])
    assert not http.verify("another-secret-000000", headers["x-shuzhi-timestamp"], req["body"],
                           headers["x-shuzhi-signature"])
    assert not http.verify(town_a["secret"], headers["x-shuzhi-timestamp"], req["body"] + b" ",
                           headers["x-shuzhi-signature"])
    body = json.loads(req["body"])
    assert body["topic"] == "supervision.leader_urge" and body["data"]["event_number"] == urged["number"]
    assert headers["x-shuzhi-delivery"] == str(body["delivery_id"])
    log = api.get("/api/webhooks/deliveries", who="admin")
    assert [(d["state"], d["attempts"], [a["status_code"] for a in d["log"]]) for d in log] == [
        ("delivered", 1, [200])]
    api.get("/api/webhooks/deliveries", who="alice", status=403)


def test_failures_back_off_then_dead_letter_then_replay(api: Api, world: World, receiver: Receiver,
                                                         session_factory: sessionmaker[Session]) -> None:
    sf = session_factory
    api.post("/api/webhooks", "admin", {"name": "all", "url": receiver.url, "topics": ["*"], "max_attempts": 3},
             status=201)
    _urge(api)
    receiver.status = 503
    t = datetime.now(UTC)
    webhooks.fan_out(_uow(sf), t)
    assert webhooks.deliver_due(_uow(sf), t) == 1
    # not due again before the backoff has passed, then due; the waits double
    assert webhooks.deliver_due(_uow(sf), t + webhooks.backoff(1) - timedelta(seconds=1)) == 0
    t2 = t + webhooks.backoff(1)
    assert webhooks.deliver_due(_uow(sf), t2) == 1
    assert webhooks.backoff(2) == 2 * webhooks.backoff(1)
    assert webhooks.deliver_due(_uow(sf), t2 + webhooks.backoff(2) - timedelta(seconds=1)) == 0
    assert webhooks.deliver_due(_uow(sf), t2 + webhooks.backoff(2)) == 1
    (dead,) = api.get("/api/webhooks/deliveries", who="admin", params={"state": "dead"})
    assert dead["attempts"] == 3 and [a["status_code"] for a in dead["log"]] == [503, 503, 503]
    assert webhooks.deliver_due(_uow(sf), t + timedelta(days=1)) == 0  # dead letters are not retried
    assert len(receiver.requests) == 3

    receiver.status = 204
    api.post(f"/api/webhooks/deliveries/{dead['id']}/replay", "alice", status=403)
    api.post(f"/api/webhooks/deliveries/{dead['id']}/replay", "admin")
    assert webhooks.deliver_due(_uow(sf), datetime.now(UTC)) == 1
    (done,) = api.get("/api/webhooks/deliveries", who="admin")
    assert done["state"] == "delivered" and [a["status_code"] for a in done["log"]] == [503, 503, 503, 204]
    # the same message is delivered with the same delivery id, so the receiver can deduplicate
    ids = {r["headers"].get("X-Shuzhi-Delivery") for r in receiver.requests}
    assert ids == {str(done["id"])}


def test_an_unreachable_url_is_logged_not_raised(api: Api, world: World, session_factory: sessionmaker[Session]
                                                 ) -> None:
    sf = session_factory
    api.post("/api/webhooks", "admin", {"name": "down", "url": "http://127.0.0.1:9/none", "topics": ["*"]},
             status=201)
    _urge(api)
    webhooks.fan_out(_uow(sf), datetime.now(UTC))
    assert webhooks.deliver_due(_uow(sf), datetime.now(UTC)) == 1
    (d,) = api.get("/api/webhooks/deliveries", who="admin")
    assert d["state"] == "pending" and d["last_status"] is None and d["log"][0]["error"]
