"""Operations: readiness, Prometheus metrics, request ids and JSON access lines, several workers."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.adapters.db.migrate import upgrade
from shuzhi.adapters.db.tables import Task
from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from shuzhi.entrypoints.api.observability import JsonFormatter, mqtt_reachable
from tests.conftest import need_service
from tests.factories import World
from tests.integration.conftest import Api


def _migrated_app(tmp_path: Path, **settings: Any) -> TestClient:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    app = create_app(make_session_factory(make_engine(url)), Settings(data_dir=tmp_path, database_url=url, **settings))
    return TestClient(app)


def test_readyz_needs_the_schema_at_the_migration_head(client: TestClient, tmp_path: Path) -> None:
    # the test schema is made by create_all: no Alembic revision recorded
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is False and "shuzhi init" in body["checks"]["migrations"]["detail"]
    with _migrated_app(tmp_path) as c:
        r = c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ready" and "mqtt" not in r.json()["checks"]


def _broker_up() -> bool:
    try:
        socket.create_connection(("localhost", 1883), timeout=1).close()
        return True
    except OSError:
        return False


def test_readyz_checks_the_mqtt_broker_when_configured(tmp_path: Path) -> None:
    need_service(_broker_up(), "MQTT broker on localhost:1883")
    assert mqtt_reachable("localhost:1883")[0]
    with _migrated_app(tmp_path, mqtt_url="mqtt://localhost:1883") as c:
        r = c.get("/readyz")
        assert r.status_code == 200 and r.json()["checks"]["mqtt"]["ok"] is True
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with _migrated_app(tmp_path, mqtt_url=f"127.0.0.1:{free}") as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["mqtt"]["ok"] is False


def _samples(text: str, name: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_metrics_count_requests_by_route_template_and_read_gauges(api: Api, client: TestClient, world: World,
                                                                   session_factory: sessionmaker[Session]) -> None:
    event = api.submit()
    api.post(f"/api/events/{event['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    with session_factory() as s:
        s.execute(update(Task).values(handle_due_at=datetime.now(UTC) - timedelta(hours=1)))
        s.commit()
    for _ in range(3):
        client.get("/open311/v2/services.json")
    text = client.get("/metrics").text
    requests = _samples(text, "shuzhi_http_requests_total")
    key = 'shuzhi_http_requests_total{method="GET",route="/open311/v2/services.{format_}",status="200"}'
    assert requests[key] >= 3  # the template, not the path: one series whatever the format
    assert any('route="/api/events/{ref}"' in k for k in requests)
    assert any(k.startswith("shuzhi_http_request_duration_seconds_bucket") for k in _samples(
        text, "shuzhi_http_request_duration_seconds_bucket"))
    assert _samples(text, "shuzhi_tasks_open")["shuzhi_tasks_open"] == 1
    assert _samples(text, "shuzhi_tasks_overdue")["shuzhi_tasks_overdue"] == 1
    assert _samples(text, "shuzhi_events_open")['shuzhi_events_open{state="dispatched"}'] == 1
    assert _samples(text, "shuzhi_events_received_5m")["shuzhi_events_received_5m"] == 1
    assert _samples(text, "shuzhi_database_up")["shuzhi_database_up"] == 1


def test_request_id_is_echoed_or_made(client: TestClient, world: World) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and made != client.get("/healthz").headers["x-request-id"]
    # a header that could forge log lines is replaced
    assert client.get("/healthz", headers={"X-Request-ID": "x\" y"}).headers["x-request-id"] != "x\" y"


def test_one_json_access_line_per_request(api: Api, client: TestClient, world: World,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shuzhi.access")
    event = api.submit()
    caplog.clear()
    client.get(f"/api/events/{event['number']}", headers={**api.headers("alice"), "X-Request-ID": "req-7"})
    [record] = [r for r in caplog.records if r.name == "shuzhi.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/api/events/{ref}" and line["status"] == 200 and line["request_id"] == "req-7"
    assert line["method"] == "GET" and line["duration_ms"] >= 0 and line["actor"] == "alice"
    assert line["level"] == "info" and line["ts"].endswith("+00:00")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_two_workers_shares_metrics_and_logs_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    upgrade(url)
    port = _free_port()
    env = {**os.environ, "SHUZHI_DATA_DIR": str(tmp_path), "SHUZHI_DATABASE_URL": url}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "shuzhi.entrypoints.cli", "serve", "--workers", "2",
                             "--port", str(port)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        with httpx.Client(base_url=base) as c:
            for _ in range(20):
                assert c.get("/open311/v2/discovery.json").status_code == 200
            text = c.get("/metrics").text
        key = 'shuzhi_http_requests_total{method="GET",route="/open311/v2/discovery.{format_}",status="200"}'
        # every process's counts, whichever process answered the scrape
        assert _samples(text, "shuzhi_http_requests_total")[key] == 20
        assert (tmp_path / "prometheus").is_dir() and any((tmp_path / "prometheus").iterdir())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    lines = [json.loads(x) for x in err.decode().splitlines() if x.startswith("{")]
    access = [x for x in lines if x.get("logger") == "shuzhi.access"]
    assert len(access) >= 21 and all("duration_ms" in x for x in access)
    assert len({x.get("request_id") for x in access}) == len(access)


def test_event_refs_that_are_not_ids_are_404_not_500(api: Api, world: World) -> None:
    """Found by the fuzzer: '²' passes str.isdigit() but not int(); a 25-digit id overflows BIGINT."""
    for ref in ("²", "9" * 25):
        api.get(f"/api/events/{ref}", status=404)


def test_ids_beyond_64_bits_are_4xx_on_every_route_kind(api: Api, world: World) -> None:
    """Found by the fuzzer: SQLite's driver cannot bind an int beyond 64 bits (OverflowError → 500)."""
    huge = "9" * 25
    for method, path, kw in [("GET", f"/api/plan-runs/{huge}", {}), ("GET", f"/api/warnings/{huge}", {}),
                             ("GET", f"/api/plan-runs/{huge}/review", {}),
                             ("GET", f"/api/inbox?before_id={huge}", {}),
                             ("POST", "/api/inbox/read", {"json": {"ids": [int(huge)]}})]:
        r = api.client.request(method, path, headers=api.headers("admin"), **kw)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:200])
        if r.status_code == 422 and "before_id" in path:
            assert r.json()["field"] == "before_id"


def test_a_date_at_the_end_of_the_calendar_is_422_not_500(api: Api, world: World) -> None:
    """Found by the fuzzer: a datetime near 9999-12-31 overflows when it is bound (StatementError)."""
    r = api.client.get("/api/dispatch/accuracy?since=2024-01-01T00:00:00%2B08:00&until=9999-12-31T23:59:59-14:00",
                       headers=api.headers("admin"))
    assert r.status_code == 422 and "out of range" in r.json()["detail"], (r.status_code, r.text[:200])
