"""Security II — webhooks cannot be turned against the centre's own network or stall the worker:
no loopback/private/link-local/metadata receivers unless allow-listed (checked on the address
actually connected to), no redirects, a total deadline per delivery, delivery in its own loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_supervision import WebhookDelivery, WebhookSubscription
from shuzhi.config import get_settings
from shuzhi.services import scheduler, webhooks
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_webhooks import _urge


class Server:
    """A receiver on 127.0.0.1 that answers ``status`` after ``delay`` seconds (``location`` for 3xx)."""

    def __init__(self, status: int = 200, delay: float = 0.0, location: str = "") -> None:
        self.hits = 0
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                me.hits += 1
                time.sleep(delay)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SHUZHI_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _factory(sf: sessionmaker[Session]) -> Any:
    return lambda: UnitOfWork(sf)


def _delivery(sf: sessionmaker[Session]) -> WebhookDelivery:
    with sf() as s:
        return s.scalars(select(WebhookDelivery)).one()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "http://localhost/hook", "http://10.1.2.3/hook",
                                 "http://192.168.1.10/hook", "http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]/hook", "http://100.64.0.1/hook", "http://0.0.0.0/hook",
                                 "http://[::ffff:127.0.0.1]/hook", "http://user:pw@example.com/hook"])
def test_an_administrator_cannot_point_a_webhook_into_the_centre_s_own_network(
        api: Api, world: World, url: str) -> None:
    body = api.post("/api/webhooks", "admin", {"name": "内网", "url": url, "topics": ["*"]}, status=422)
    assert body["field"] == "url"
    assert api.get("/api/webhooks", who="admin") == []


def test_an_allow_listed_internal_network_may_be_used(api: Api, world: World, allow_loopback: None) -> None:
    api.post("/api/webhooks", "admin", {"name": "内网", "url": "http://127.0.0.1:8080/x", "topics": ["*"]},
             status=201)


def test_a_delivery_to_an_address_that_is_no_longer_allowed_is_refused_and_nothing_is_sent(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    receiver = Server()
    try:
        with session_factory() as s:  # stored while loopback was allow-listed; the list changed since
            s.add(WebhookSubscription(name="旧", url=receiver.url, secret="s" * 32, topics=["*"], class_codes=[],
                                      max_attempts=3, active=True, created_by="admin"))
            s.commit()
        _urge(api)
        webhooks.fan_out(_factory(session_factory), datetime.now(UTC))
        assert webhooks.deliver_due(_factory(session_factory), datetime.now(UTC)) == 1
        d = _delivery(session_factory)
        assert d.state != "delivered" and "refused" in (d.last_error or "") and receiver.hits == 0
    finally:
        receiver.close()


def test_a_redirect_is_not_followed(api: Api, world: World, session_factory: sessionmaker[Session],
                                    allow_loopback: None) -> None:
    target = Server()
    redirecting = Server(status=307, location=target.url)
    try:
        api.post("/api/webhooks", "admin", {"name": "跳转", "url": redirecting.url, "topics": ["*"]}, status=201)
        _urge(api)
        webhooks.fan_out(_factory(session_factory), datetime.now(UTC))
        webhooks.deliver_due(_factory(session_factory), datetime.now(UTC))
        d = _delivery(session_factory)
        assert redirecting.hits == 1 and target.hits == 0
        assert d.state != "delivered" and d.last_status == 307 and "redirect" in (d.last_error or "")
    finally:
        target.close()
        redirecting.close()


def test_a_slow_receiver_is_cut_at_the_total_deadline_and_never_holds_up_the_scheduler(
        api: Api, world: World, session_factory: sessionmaker[Session], allow_loopback: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_S", 1.0)
    slow = Server(delay=4.0)
    try:
        api.post("/api/webhooks", "admin", {"name": "慢", "url": slow.url, "topics": ["*"]}, status=201)
        _urge(api)
        webhooks.fan_out(_factory(session_factory), datetime.now(UTC))
        # the scheduler's periodic jobs (run between sweeps) do not deliver, so never wait for a receiver
        scheduler.run_due_jobs(_factory(session_factory))
        assert slow.hits == 0 and _delivery(session_factory).attempts == 0
        # the delivery loop does, and gives up on the receiver at the deadline
        stop = threading.Event()
        loop = threading.Thread(target=webhooks.delivery_loop, args=(_factory(session_factory), stop, 0.2))
        started = time.monotonic()
        loop.start()
        while slow.hits == 0 and time.monotonic() - started < 10:
            time.sleep(0.05)
        while _delivery(session_factory).attempts == 0 and time.monotonic() - started < 10:
            time.sleep(0.05)
        stop.set()
        loop.join(timeout=5)
        d = _delivery(session_factory)
        error = d.last_error or ""
        assert d.attempts == 1 and d.state != "delivered" and ("timed out" in error or "within 1 s" in error)
        assert time.monotonic() - started < 3.5
    finally:
        slow.close()
