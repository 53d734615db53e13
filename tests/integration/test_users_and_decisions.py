"""Administrators manage accounts (create, role, disable, reset) with audit lines; the centre decides
extension requests from its own list, and may grant another date than the one asked for.

admin is the administrator; bob is town A's duty officer and, for the scope test, an administrator of
town A only; frank sits in town B; carol handles city management; alice is the district dispatcher.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shuzhi.domain import permissions as perms
from shuzhi.services.actors import forget_people
from tests.factories import World
from tests.integration.conftest import Api

PASSWORD = "an-initial-pass-1"


def _audit(api: Api, action: str) -> list[dict[str, object]]:
    return list(api.get("/api/audit", who="audrey", params={"action": action}))


def test_admin_creates_a_user_who_must_change_the_initial_password(api: Api, world: World) -> None:
    made = api.post("/api/users", "admin", {"code": "henry", "name": "郑浩", "unit_code": "D500111-CGJ",
                                           "role": "handler", "password": PASSWORD, "phone": "13912345678"},
                    status=201)
    assert made["active"] and made["must_change_password"] and made["role"] == "handler"
    assert made["unit_name"] == "大足区城市管理局"
    listed = {u["code"]: u for u in api.get("/api/users", who="admin")}
    assert listed["henry"]["has_password"] is True
    r = api.client.post("/api/auth/login", json={"code": "henry", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    created = _audit(api, "user.create")
    assert [e["object"] for e in created] == ["person:henry"]
    assert any(e["object"] == "person:henry" and e["details"] == {"from": None, "to": "handler"}
               for e in _audit(api, "user.role_change"))


@pytest.mark.parametrize(("body", "field"), [
    ({"code": "bad code", "name": "x", "unit_code": "D500111-CGJ", "role": "handler", "password": PASSWORD}, "code"),
    ({"code": "ivan", "name": "x", "unit_code": "NOPE", "role": "handler", "password": PASSWORD}, "unit_code"),
    ({"code": "ivan", "name": "x", "unit_code": "D500111-CGJ", "role": "king", "password": PASSWORD}, "role"),
    ({"code": "ivan", "name": "x", "unit_code": "D500111-CGJ", "role": "handler", "password": "short"}, "password"),
    ({"code": "carol", "name": "x", "unit_code": "D500111-CGJ", "role": "handler", "password": PASSWORD}, "code"),
])
def test_bad_new_users_are_refused_with_the_field(api: Api, world: World, body: dict[str, str], field: str) -> None:
    r = api.client.post("/api/users", json=body, headers=api.headers("admin"))
    assert r.status_code in (409, 422), r.text
    assert field in r.text
    assert "ivan" not in {u["code"] for u in api.get("/api/users", who="admin")}


def test_role_change_and_disable_are_audited_and_take_effect_at_once(api: Api, world: World) -> None:
    carol_token = api.token("carol")
    changed = api.request("PATCH", "/api/users/carol", "admin", json={"role": "dispatcher"})
    assert changed["role"] == "dispatcher"
    me = api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {carol_token}"}).json()
    assert "event.dispatch" in me["permissions"]
    assert any(e["object"] == "person:carol" and e["details"]["to"] == "dispatcher"
               for e in _audit(api, "user.role_change"))

    disabled = api.request("PATCH", "/api/users/carol", "admin", json={"active": False})
    assert disabled["active"] is False
    r = api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {carol_token}"})
    assert r.status_code == 401
    assert [e["object"] for e in _audit(api, "user.disable")] == ["person:carol"]
    assert api.client.post("/api/auth/login", json={"code": "carol", "password": "x" * 12}).status_code == 401
    assert api.get("/api/users", who="admin", params={"active": "false"})[0]["code"] == "carol"

    api.request("PATCH", "/api/users/carol", "admin", json={"active": True})
    assert [e["object"] for e in _audit(api, "user.enable")] == ["person:carol"]


def test_an_administrator_cannot_lock_themselves_out(api: Api, world: World) -> None:
    r = api.client.patch("/api/users/admin", json={"active": False}, headers=api.headers("admin"))
    assert r.status_code == 409
    r = api.client.patch("/api/users/admin", json={"role": "handler"}, headers=api.headers("admin"))
    assert r.status_code == 409
    assert {u["code"]: u for u in api.get("/api/users", who="admin")}["admin"]["role"] == "administrator"


def test_reset_password_forces_a_change(api: Api, world: World) -> None:
    api.post("/api/people/dave/password", "admin", {"password": "reset-pass-123"})
    dave = {u["code"]: u for u in api.get("/api/users", who="admin")}["dave"]
    assert dave["must_change_password"] is True


def test_users_are_admins_only_and_scoped(api: Api, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    api.get("/api/users", who="alice", status=403)
    api.request("PATCH", "/api/users/carol", "alice", 403, json={"role": "leader"})
    # bob, given user.admin, administers town A only: town B's frank is not found, and cannot be made there
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.DUTY_OFFICER,
                        perms.ROLE_PERMISSIONS[perms.Role.DUTY_OFFICER] | {perms.USER_ADMIN})
    forget_people()
    codes = {u["code"] for u in api.get("/api/users", who="bob")}
    assert "bob" in codes and "frank" not in codes
    missing = api.client.patch("/api/users/nobody", json={"active": False}, headers=api.headers("bob"))
    theirs = api.client.patch("/api/users/frank", json={"active": False}, headers=api.headers("bob"))
    assert theirs.status_code == missing.status_code == 404
    r = api.client.post("/api/users", json={"code": "ivan", "name": "x", "unit_code": "C500111002",
                                            "role": "handler", "password": PASSWORD}, headers=api.headers("bob"))
    assert r.status_code == 422 and "unit_code" in r.text


def _requested(api: Api) -> tuple[dict[str, object], int, datetime]:
    event = api.submit()
    number = event["number"]
    api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    task_id = api.get(f"/api/events/{number}")["tasks"][0]["id"]
    api.post(f"/api/events/{number}/tasks/{task_id}/accept", "carol", {})
    until = datetime.now(UTC) + timedelta(days=30)
    api.post(f"/api/events/{number}/tasks/{task_id}/extension", "carol",
             {"until": until.isoformat(), "reason": "需等待配件到货"})
    return api.get(f"/api/events/{number}"), task_id, until


def test_the_centre_sees_extension_requests_and_grants_another_date(api: Api, world: World) -> None:
    event, task_id, asked = _requested(api)
    pending = api.get("/api/my/decisions", who="alice")
    assert [(p["number"], p["task_id"], p["reason"]) for p in pending] == [(event["number"], task_id, "需等待配件到货")]
    assert api.get("/api/my/decisions", who="frank") == []  # town B sees nothing of town A's event
    api.get("/api/my/decisions", who="carol", status=403)  # a handler asks, the centre decides

    granted = asked - timedelta(days=20)
    after = api.post(f"/api/events/{event['number']}/tasks/{task_id}/extension/decision", "alice",
                     {"approve": True, "until": granted.isoformat(), "reason": "先给十天"})
    task = after["tasks"][0]
    assert task["state"] == "accepted" and task["extension_requested_until"] is None
    assert abs(datetime.fromisoformat(task["handle_due_at"]) - granted) < timedelta(seconds=1)
    lines = [x for x in api.get(f"/api/events/{event['number']}/timeline") if x["action"] == "task.deadline_moved"]
    assert lines[-1]["payload"]["asked"] is not None
    assert api.get("/api/my/decisions", who="alice") == []


@pytest.mark.parametrize("body", [
    {"approve": False, "until": "2099-01-01T00:00:00+08:00"},
    {"approve": True, "until": "2000-01-01T00:00:00+08:00"},
    {"approve": True, "until": "2099-01-01T00:00:00"},
])
def test_bad_extension_decisions_change_nothing(api: Api, world: World, body: dict[str, object]) -> None:
    event, task_id, _ = _requested(api)
    r = api.client.post(f"/api/events/{event['number']}/tasks/{task_id}/extension/decision", json=body,
                        headers=api.headers("alice"))
    assert r.status_code == 422, r.text
    assert api.get(f"/api/events/{event['number']}")["tasks"][0]["state"] == "extension_requested"


def test_a_denial_keeps_the_deadline(api: Api, world: World) -> None:
    event, task_id, _ = _requested(api)
    before = event["tasks"][0]["handle_due_at"]  # type: ignore[index]
    after = api.post(f"/api/events/{event['number']}/tasks/{task_id}/extension/decision", "alice",
                     {"approve": False, "reason": "时限内可完成"})
    assert after["tasks"][0]["state"] == "accepted" and after["tasks"][0]["handle_due_at"] == before
