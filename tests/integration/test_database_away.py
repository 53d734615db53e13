"""While the database is away (restarting, failing over) the API answers 503 with Retry-After — a
client retries with its Idempotency-Key — never a 500; once it is back, requests succeed again with no
manual step (dead pooled connections are replaced by ``pool_pre_ping``)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgresql"])
def test_an_unreachable_database_is_503_with_retry_after(engine_kind: str, tmp_path: Path) -> None:
    # Nothing listens on the port / the directory does not exist: every connection attempt fails.
    url = (f"sqlite:///{tmp_path}/missing/dir/x.db" if engine_kind == "sqlite"
           else f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nowhere?connect_timeout=2")
    app = create_app(make_session_factory(make_engine(url)), Settings(data_dir=tmp_path, database_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        key = {"X-API-Key": "szk_0123456789ab_" + "s" * 43, "Idempotency-Key": "a1"}
        for method, path, kw in [("GET", "/api/events", {"headers": {"Authorization": "Bearer x" * 8}}),
                                 ("POST", "/api/events", {"headers": key,
                                                          "json": {"title": "t", "source": "online_app"}})]:
            r = client.request(method, path, **kw)
            assert r.status_code == 503, (method, path, r.status_code, r.text[:300])
            assert r.headers["Retry-After"].isdigit()
            assert "retry" in r.json()["detail"]


def test_the_api_recovers_when_the_database_comes_back(tmp_path: Path) -> None:
    from shuzhi.adapters.db.migrate import upgrade

    folder = tmp_path / "later"
    url = f"sqlite:///{folder}/db.sqlite"
    app = create_app(make_session_factory(make_engine(url)), Settings(data_dir=tmp_path, database_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {"Authorization": "Bearer " + "x" * 40}
        assert client.get("/api/events", headers=headers).status_code == 503
        folder.mkdir()
        upgrade(url)  # the database is there now: the same process answers without a restart
        assert client.get("/api/events", headers=headers).status_code == 401


def test_the_worker_waits_for_the_database_and_carries_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import threading
    import time

    from shuzhi.adapters.db.migrate import upgrade
    from shuzhi.services.scheduler import Worker

    folder = tmp_path / "later"
    url = f"sqlite:///{folder}/db.sqlite"
    worker = Worker(make_session_factory(make_engine(url)), interval=0.05)
    caplog.set_level(logging.INFO, logger="shuzhi.scheduler")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        assert thread.is_alive()
        away = [r for r in caplog.records if "database unavailable" in r.getMessage()]
        assert len(away) == 1, "one line when the database goes away, not a traceback per tick"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        folder.mkdir()
        upgrade(url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("reachable again" in r.getMessage() for r in caplog.records):
            time.sleep(0.1)
        assert any("reachable again" in r.getMessage() for r in caplog.records)
        ticks = worker.ticks
        time.sleep(0.5)
        assert worker.ticks > ticks and thread.is_alive()
    finally:
        worker.stop.set()
        thread.join(10)
