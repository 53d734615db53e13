"""A live server for the browser tests: uvicorn in a thread on 127.0.0.1 and a free port, over the test
database (SQLite, or PostgreSQL when SHUZHI_TEST_DATABASE_URL is set), and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from shuzhi.entrypoints.web.pages import missing_vendor_files
from tests.conftest import need_service
from tests.factories import World, build_world

# On PostgreSQL the browser tests would repeat what the SQLite pass already shows of the pages (they talk
# to the same API, whose engine-specific paths the integration tests cover on both); the walks across a
# whole shift, the loop and the town run on both engines. Keeps CI well inside its 30 minutes.
ON_BOTH_ENGINES = {"test_browser_duty_shift.py", "test_browser_loop.py", "test_browser_town.py"}
if os.environ.get("SHUZHI_TEST_DATABASE_URL"):
    collect_ignore = [p.name for p in Path(__file__).parent.glob("test_*.py") if p.name not in ON_BOTH_ENGINES]

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PASSWORD = "browser-test-password-1"


@dataclass
class Live:
    base: str
    http: httpx.Client
    factory: sessionmaker[Session]
    tokens: dict[str, str]

    def call(self, method: str, path: str, who: str, body: dict[str, Any] | None = None,
             status: int = 200) -> Any:
        """An API call as ``who`` (a bearer token minted for the test), asserting the status."""
        if who not in self.tokens:
            from shuzhi.services.security.tokens import mint_token_for
            from shuzhi.services.unit_of_work import UnitOfWork

            self.tokens[who] = mint_token_for(UnitOfWork(self.factory), who)
        r = self.http.request(method, path, headers={"Authorization": f"Bearer {self.tokens[who]}"}, json=body)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    def submit(self, who: str = "alice", **fields: Any) -> dict[str, Any]:
        body = {"source": "hotline", "request_type": "complain", "event_class_code": "0101",
                "title": "井盖破损", "lon": World.A1[0], "lat": World.A1[1]}
        body.update(fields)
        created = self.call("POST", "/api/events", who, body, status=201)
        return self.call("GET", f"/api/events/{created['number']}", who)  # type: ignore[no-any-return]


@pytest.fixture
def live(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Live]:
    import uvicorn

    from shuzhi.services.security.passwords import hash_password, set_password

    with session_factory() as s:
        world = build_world(s)
        hashed = hash_password(PASSWORD)
        for code in world.people:
            set_password(s, code, PASSWORD, must_change=False, password_hash=hashed)
        s.commit()
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as http:
        yield Live(base, http, session_factory, {})
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    available = shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()
    need_service(available, "Chromium at /usr/bin/chromium")
    need_service(not missing_vendor_files(), "ECharts in static/vendor (run make setup)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _close_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """Close every page a browser test opened, whether or not it closed them itself: a page left open
    keeps its timers and map animations running (the cockpit polls and redraws) for the rest of the
    session, and a handful of them took a fifth of CI's two cores."""
    yield
    if "browser" in request.fixturenames:
        for context in list(request.getfixturevalue("browser").contexts):
            context.close()


def sign_in(page: Any, base: str, who: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page, as a person does."""
    page.goto(f"{base}/login")
    page.get_by_label("工号").fill(who)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/")


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG (a photo stand-in) built here, so no file is needed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([200, 80, 40] * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
