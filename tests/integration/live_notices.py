"""A live shuzhi API (uvicorn in a thread, on the test database) and a private Kannel calling it back.

Kannel is a real process: its delivery reports and the phones' replies reach the API over HTTP,
exactly as in production. Tests using these skip without Kannel, unless services are required.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters import kannel_local
from shuzhi.adapters.kannel import KannelClient
from shuzhi.adapters.kannel_local import LocalKannel
from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services.notices.sender import Gateways
from tests.conftest import need_service


@dataclass
class Live:
    base_url: str
    settings: Settings
    kannel: LocalKannel

    def gateways(self, **kw: object) -> Gateways:
        return Gateways(kannel=KannelClient(self.kannel.config), base_url=self.base_url, **kw)  # type: ignore[arg-type]


def wait_until(check: Callable[[], object], timeout_s: float = 15.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start_api(session_factory: sessionmaker[Session], settings: Settings) -> tuple[uvicorn.Server, threading.Thread]:
    app = create_app(session_factory, settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=int(settings.public_base_url.rsplit(":", 1)[1]),
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread


@pytest.fixture
def kannel_live(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Live]:
    need_service(kannel_local.available(), "Kannel (bearerbox, smsbox, fakesmsc)")
    port = kannel_local.free_port()
    base = f"http://127.0.0.1:{port}"
    secret, mo_key = secrets.token_hex(16), secrets.token_hex(12)
    gateway = LocalKannel(tmp_path / "kannel", mo_url=f"{base}/api/notices/sms/mo", callback_base=base,
                          callback_secret=secret, mo_key=mo_key)
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", sms_sendsms_url=None,
                        sms_callback_base=base, sms_callback_secret=secret, sms_mo_key=mo_key, public_base_url=base,
                        access_log=False)
    server, thread = start_api(session_factory, settings)
    gateway.start()
    settings.sms_sendsms_url = gateway.config.sendsms_url
    settings.sms_password = gateway.password
    settings.sms_sender = gateway.sender
    try:
        yield Live(base, settings, gateway)
    finally:
        gateway.stop()
        server.should_exit = True
        thread.join(timeout=10)
