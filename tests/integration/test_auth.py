"""Sign-in as bob (town-A duty officer) and frank (town B), tokens, API keys, lockout, CSRF.

Passwords are real argon2 hashes set through the service; every assertion reads what the API or
the database returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_security import AuditEntry, AuthToken
from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services.security.credentials import forget_cached_credentials
from shuzhi.services.security.passwords import set_password
from tests.factories import World
from tests.integration.conftest import Api

PASSWORD = "Longgang-2024!"


def _app_client(session_factory: sessionmaker[Session], tmp_path: Any, base_url: str = "http://localhost",
                **settings: Any) -> TestClient:
    # sign-in's per-address rate limit has its own test (test_abuse); here it must not interfere
    settings.setdefault("login_burst", 1000)
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://", **settings))
    return TestClient(app, base_url=base_url)


@pytest.fixture
def web(session_factory: sessionmaker[Session], world: World, tmp_path: Any) -> Iterator[TestClient]:
    with session_factory() as s:
        for who in ("bob", "frank", "admin"):
            set_password(s, who, PASSWORD, must_change=False)
        s.commit()
    with _app_client(session_factory, tmp_path) as c:
        yield c


def _login(c: TestClient, code: str = "bob", password: str = PASSWORD) -> Any:
    return c.post("/api/auth/login", json={"code": code, "password": password})


def _event_body(point: tuple[float, float] = World.A1, source: str = "hotline") -> dict[str, Any]:
    return {"source": source, "event_class_code": "0101", "title": "井盖破损", "lon": point[0], "lat": point[1]}


def test_login_sets_an_httponly_lax_cookie_and_returns_the_contract(web: TestClient) -> None:
    r = _login(web)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["person"] == {"code": "bob", "name": "李波", "role": "duty_officer", "unit_code": "C500111001",
                              "unit_name": "龙岗街道城市运行和治理中心"}
    assert body["must_change_password"] is False and len(body["csrf_token"]) >= 32
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("shuzhi_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http to localhost
    me = web.get("/api/auth/me").json()
    assert me["person"]["code"] == "bob" and me["unit_code"] == "C500111001" and me["credential"] == "session"
    assert me["csrf_token"] == body["csrf_token"]
    assert "event.dispatch" in me["permissions"] and "audit.read" not in me["permissions"]
    assert me["scope"] == {"all_areas": False, "areas": [
        {"code": "500111001", "name": "龙岗街道"},
        {"code": "unit:C500111001", "name": "龙岗街道城市运行和治理中心（本单位的任务）"}]}


def test_cookie_is_secure_over_https_and_for_other_hosts(session_factory: sessionmaker[Session], world: World,
                                                         tmp_path: Any) -> None:
    with session_factory() as s:
        set_password(s, "bob", PASSWORD, must_change=False)
        s.commit()
    for base in ("https://shuzhi.example", "http://shuzhi.example"):
        with _app_client(session_factory, tmp_path, base_url=base) as c:
            r = _login(c)
            assert r.status_code == 200 and "Secure" in r.headers["set-cookie"], base
    with _app_client(session_factory, tmp_path, base_url="http://demo.example", demo_mode=True) as c:
        assert "Secure" not in _login(c).headers["set-cookie"]


def test_wrong_password_and_unknown_code_get_the_same_401(web: TestClient) -> None:
    wrong = _login(web, "bob", "not-the-password")
    unknown = _login(web, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong staff code or password"}
    assert "set-cookie" not in wrong.headers


def test_lockout_after_repeated_failures_then_even_the_right_password_waits(
        web: TestClient, session_factory: sessionmaker[Session]) -> None:
    answers = [_login(web, "bob", f"guess-{i}").status_code for i in range(5)]
    assert answers == [401, 401, 401, 401, 423]
    r = _login(web)
    assert r.status_code == 423
    assert "locked until" in r.json()["detail"] and int(r.headers["Retry-After"]) > 800
    # an unknown code locks the same way, so the answers do not tell which codes exist
    ghost = [_login(web, "ghost", f"guess-{i}").status_code for i in range(5)]
    assert ghost == [401, 401, 401, 401, 423]
    with session_factory() as s:
        actions = [a for a, in s.execute(select(AuditEntry.action).where(AuditEntry.object == "person:bob"))]
    assert actions.count("auth.login_failed") == 6 and actions.count("auth.locked") == 1


def test_admin_password_reset_unlocks_and_forces_a_change(web: TestClient, api: Api) -> None:
    for i in range(5):
        _login(web, "bob", f"guess-{i}")
    assert _login(web).status_code == 423
    api.post("/api/people/bob/password", "admin", {"password": "Temp-pass-123"})
    r = _login(web, "bob", "Temp-pass-123")
    assert r.status_code == 200 and r.json()["must_change_password"] is True


def test_initial_password_must_be_changed_outside_demo_mode(web: TestClient,
                                                            session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        set_password(s, "bob", PASSWORD, must_change=True)
        s.commit()
    r = _login(web)
    assert r.json()["must_change_password"] is True
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    blocked = web.get("/api/events")
    assert blocked.status_code == 403 and "change your initial password" in blocked.json()["detail"]
    weak = web.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "short"},
                    headers=csrf)
    assert weak.status_code == 422 and weak.json()["field"] == "new_password"
    ok = web.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "Tangxiang-77x"},
                  headers=csrf)
    assert ok.status_code == 200, ok.text
    assert web.get("/api/events").status_code == 200
    assert _login(web, "bob", PASSWORD).status_code == 401
    assert _login(web, "bob", "Tangxiang-77x").json()["must_change_password"] is False


def test_demo_mode_does_not_force_the_change(session_factory: sessionmaker[Session], world: World,
                                             tmp_path: Any) -> None:
    with session_factory() as s:
        set_password(s, "bob", PASSWORD, must_change=True)
        s.commit()
    with _app_client(session_factory, tmp_path, demo_mode=True) as c:
        assert _login(c).json()["must_change_password"] is False
        assert c.get("/api/events").status_code == 200


def test_cookie_changes_need_the_csrf_header(web: TestClient, session_factory: sessionmaker[Session]) -> None:
    csrf = _login(web).json()["csrf_token"]
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        r = web.post("/api/events", json=_event_body(), headers=headers)
        assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    with session_factory() as s:
        assert s.scalar(select(Event.id)) is None
    ok = web.post("/api/events", json=_event_body(), headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


def test_logout_ends_the_session(web: TestClient) -> None:
    csrf = _login(web).json()["csrf_token"]
    cookie = web.cookies.get("shuzhi_session")
    r = web.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204 and 'shuzhi_session=""' in r.headers["set-cookie"]
    web.cookies.set("shuzhi_session", cookie or "")
    r = web.get("/api/auth/me")
    assert r.status_code == 401 and "sign in again" in r.json()["detail"]


def test_expired_and_idle_sessions_are_401_not_500(web: TestClient, session_factory: sessionmaker[Session]) -> None:
    _login(web)
    with session_factory() as s:
        s.execute(update(AuthToken).values(last_seen_at=datetime.now(UTC) - timedelta(hours=3)))
        s.commit()
    forget_cached_credentials()
    r = web.get("/api/auth/me")
    assert r.status_code == 401 and "without activity" in r.json()["detail"]
    _login(web)
    with session_factory() as s:
        s.execute(update(AuthToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        s.commit()
    forget_cached_credentials()
    r = web.get("/api/auth/me")
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_bearer_tokens_are_issued_listed_used_and_revoked(web: TestClient) -> None:
    csrf = _login(web).json()["csrf_token"]
    r = web.post("/api/auth/tokens", json={"name": "巡查 App", "expires_in_days": 7}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    token = r.json()
    assert token["token"].startswith("szt_") and token["kind"] == "bearer"
    api_client = TestClient(web.app, base_url="http://localhost")
    bearer = {"Authorization": f"Bearer {token['token']}"}
    me = api_client.get("/api/auth/me", headers=bearer).json()
    assert me["credential"] == "bearer" and me["csrf_token"] is None
    # a bearer client needs no CSRF token
    assert api_client.post("/api/events", json=_event_body(), headers=bearer).status_code == 201
    listed = web.get("/api/auth/tokens").json()
    assert {t["id"] for t in listed} >= {token["id"]} and all("token" not in t for t in listed)
    assert web.delete(f"/api/auth/tokens/{token['id']}", headers={"X-CSRF-Token": csrf}).status_code == 204
    r = api_client.get("/api/auth/me", headers=bearer)
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    assert api_client.get("/api/auth/me", headers={"Authorization": "Basic Ym9iOng="}).status_code == 401


def test_someone_elses_token_cannot_be_revoked(api: Api, world: World) -> None:
    frank_tokens = api.get("/api/auth/tokens", who="frank")
    api.request("DELETE", f"/api/auth/tokens/{frank_tokens[0]['id']}", "bob", status=404)
    assert api.get("/api/auth/me", who="frank")["code"] == "frank"


def test_api_keys_are_scoped_by_source_area_and_write(api: Api, world: World, client: TestClient) -> None:
    made = api.post("/api/api-keys", "admin", {"name": "渝快办", "sources": ["online_app"],
                                                "area_codes": ["500111001"], "write": True}, status=201)
    key = {"X-API-Key": made["key"]}
    assert made["key"].startswith("szk_") and made["sources"] == ["online_app"]
    r = client.post("/api/events", json=_event_body(World.A1, "online_app"), headers=key)
    assert r.status_code == 201, r.text
    r = client.post("/api/events", json=_event_body(World.A1, "hotline"), headers=key)
    assert r.status_code == 403 and r.json()["field"] == "source"
    r = client.post("/api/events", json=_event_body(World.B1, "online_app"), headers=key)
    assert r.status_code == 403 and "inside its areas" in r.json()["detail"]
    # it reads only its areas
    items = client.get("/api/events", headers=key).json()["items"]
    assert items and all(i["area_chain"][2] == "500111001" for i in items)

    read_only = api.post("/api/api-keys", "admin", {"name": "大屏", "area_codes": []}, status=201)
    r = client.post("/api/events", json=_event_body(), headers={"X-API-Key": read_only["key"]})
    assert r.status_code == 403
    assert client.get("/api/events", headers={"X-API-Key": read_only["key"]}).status_code == 200

    rotated = api.post(f"/api/api-keys/{made['id']}/rotate", "admin", {}, status=201)
    assert rotated["replaces_id"] == made["id"] and rotated["key"] != made["key"]
    assert client.get("/api/events", headers=key).status_code == 401
    new_key = {"X-API-Key": rotated["key"]}
    assert client.post("/api/events", json=_event_body(World.A2, "online_app"), headers=new_key).status_code == 201
    api.request("DELETE", f"/api/api-keys/{rotated['id']}", "admin", status=204)
    assert client.get("/api/events", headers=new_key).status_code == 401
    # only administrators manage keys
    api.post("/api/api-keys", "bob", {"name": "x"}, status=403)
    listed = api.get("/api/api-keys", who="admin")
    assert [k["revoked_at"] is not None for k in listed] == [True, False, True]
    assert all("key" not in k and "secret_hash" not in k for k in listed)


def test_rotation_with_grace_keeps_the_old_key_for_a_while(api: Api, world: World, client: TestClient) -> None:
    made = api.post("/api/api-keys", "admin", {"name": "存量系统"}, status=201)
    rotated = api.post(f"/api/api-keys/{made['id']}/rotate", "admin", {"grace_minutes": 30}, status=201)
    for raw in (made["key"], rotated["key"]):
        assert client.get("/api/events", headers={"X-API-Key": raw}).status_code == 200


def test_a_token_revoked_by_another_process_is_refused_once_its_cache_entry_ends(
        world: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound documented in docs/operations.md: this process answers from its cache (no database,
    no thread hop) for at most CREDENTIAL_TTL seconds after another process revoked the token."""
    from types import SimpleNamespace

    from shuzhi.services import ttl_cache
    from shuzhi.services.security import credentials
    from shuzhi.services.security import tokens as auth_tokens
    from shuzhi.services.security.authz import Unauthenticated
    from shuzhi.services.unit_of_work import UnitOfWork

    settings = Settings()
    raw = auth_tokens.mint_token_for(UnitOfWork(session_factory), "alice")
    hit = credentials.authenticate_token(UnitOfWork(session_factory), settings, raw, expected="bearer")
    assert hit.actor.code == "alice"
    database = UnitOfWork(session_factory).database
    assert credentials.cached_token(database, settings, raw, expected="bearer") is not None
    with session_factory() as s:  # revoked elsewhere: this process's cache is not told
        s.execute(update(AuthToken).values(revoked_at=datetime.now(UTC)))
        s.commit()
    assert credentials.cached_token(database, settings, raw, expected="bearer") is not None
    later = ttl_cache.time.monotonic() + credentials.CREDENTIAL_TTL + 1
    monkeypatch.setattr(ttl_cache, "time", SimpleNamespace(monotonic=lambda: later))
    assert credentials.cached_token(database, settings, raw, expected="bearer") is None
    with pytest.raises(Unauthenticated, match="not valid"):
        credentials.authenticate_token(UnitOfWork(session_factory), settings, raw, expected="bearer")
