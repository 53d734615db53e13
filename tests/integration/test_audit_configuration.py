"""Security II — the audit misses nothing: every configuration change with before and after, the
row written once (so INSERT + SELECT is all the application needs on PostgreSQL), and the CLI's
``user set-password`` through the same service as the API.

ada is the district's configuration administrator (test_threshold_rules_api), audrey the auditor.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.adapters.db.tables_security import AuditEntry, AuthToken
from shuzhi.entrypoints.cli import app
from shuzhi.services import supervision_rules
from shuzhi.services.actors import resolve_actor
from shuzhi.services.security import audit
from shuzhi.services.security.passwords import set_password
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import PG_URL
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_plan_runs import template
from tests.integration.test_threshold_rules_api import RULE, admin  # noqa: F401 - the fixture

SCHEME = {"name": "严格", "document": {"total": 100, "items": [
    {"rate": "on_time_closure_rate", "weight": 100, "full_mark_at": 0.99, "points_per_point": 5}],
    "bands": [{"colour": "green", "min_score": 95}, {"colour": "red", "min_score": 0}]}}


def _entries(api: Api, action: str) -> list[dict[str, Any]]:
    return list(reversed(api.get("/api/audit", who="audrey", params={"action": action, "limit": 500})))


def _one(api: Api, action: str, obj: str) -> dict[str, Any]:
    found = [e for e in _entries(api, action) if e["object"] == obj]
    assert len(found) == 1, (action, obj, found)
    return found[0]["details"]


def test_an_administrator_changing_any_configuration_leaves_before_and_after_in_the_audit(
        api: Api, admin: str) -> None:  # noqa: F811 - the fixture
    # threshold rules: create, change, delete
    api.post("/api/threshold-rules", admin, RULE, status=201)
    api.request("PUT", "/api/threshold-rules/RIVER", admin, 200, json={**RULE, "for": "10m"})
    api.request("DELETE", "/api/threshold-rules/RIVER", admin, 204)
    assert _one(api, "threshold_rule.create", "threshold_rule:RIVER")["before"] is None
    upd = _one(api, "threshold_rule.update", "threshold_rule:RIVER")
    assert (upd["before"]["for"], upd["after"]["for"]) == ("5m", "10m")
    assert _one(api, "threshold_rule.delete", "threshold_rule:RIVER")["after"] is None
    # silences: made and ended early
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    sil = api.post("/api/warning-silences", admin, {"ends_at": until, "comment": "管网施工",
                                                    "matcher": {"indicators": ["RIVER_LEVEL"]}}, status=201)
    api.request("DELETE", f"/api/warning-silences/{sil['id']}", admin, 200)
    assert _one(api, "silence.create", f"silence:{sil['id']}")["after"]["comment"] == "管网施工"
    ended = _one(api, "silence.expire", f"silence:{sil['id']}")
    assert ended["before"]["ends_at"] != ended["after"]["ends_at"]
    # inhibitions
    doc = {"source": {"indicators": ["OUTAGES"]}, "target": {"indicators": ["RIVER_LEVEL"]}, "min_level": "yellow"}
    api.request("PUT", "/api/warning-inhibitions/PUMPS", admin, 200, json=doc)
    api.request("PUT", "/api/warning-inhibitions/PUMPS", admin, 200, json={**doc, "min_level": "red"})
    api.request("DELETE", "/api/warning-inhibitions/PUMPS", admin, 204)
    puts = [e["details"] for e in _entries(api, "inhibition.put")]
    assert [p["after"]["min_level"] for p in puts] == ["yellow", "red"] and puts[1]["before"]["min_level"] == "yellow"
    assert _one(api, "inhibition.delete", "inhibition:PUMPS")["before"]["min_level"] == "red"
    # webhooks (never the secret)
    sub = api.post("/api/webhooks", "admin", {"name": "城管系统", "url": "https://cg.example.cn/hook",
                                              "topics": ["*"], "secret": "s" * 32}, status=201)
    api.request("PATCH", f"/api/webhooks/{sub['id']}", "admin", 200, json={"active": False})
    made = _one(api, "webhook.create", f"webhook:{sub['id']}")
    assert made["after"]["url"] == "https://cg.example.cn/hook" and "s" * 32 not in str(made)
    assert _one(api, "webhook.update", f"webhook:{sub['id']}")["after"]["active"] is False
    # calendars and office hours
    api.request("PUT", "/api/calendar/years/2027", "admin", json={"holidays": ["2027-01-01"]})
    api.request("PUT", "/api/calendar/office-hours/C500111001", "admin",
                json={"office_hours": "08:30-12:00，14:30-17:30"})
    assert _one(api, "calendar.put", "calendar:2027")["after"]["holidays"] == ["2027-01-01"]
    hours = _one(api, "office_hours.set", "centre:C500111001")
    assert hours["before"] is None and "08:30" in hours["after"]
    # scoring schemes, Open311 mappings, supervision rules, plan templates
    api.request("PUT", "/api/evaluation/schemes/strict", "admin", 200, json=SCHEME)
    assert _one(api, "scoring_scheme.save", "scoring_scheme:strict")["after"]["name"] == "严格"
    api.request("PUT", "/api/open311/services/0101", "admin", json={"service_name": "井盖问题"})
    assert _one(api, "open311_mapping.set", "event_class:0101")["after"]["service_name"] == "井盖问题"
    api.request("PUT", "/api/supervision/rules", "admin", 200, json={"remind_at": [0.5, 0.8]})
    rules = _one(api, "supervision_rules.put", "supervision_rules")
    assert rules["before"]["remind_at"] == [0.7, 0.9] and rules["after"]["remind_at"] == [0.5, 0.8]
    api.post("/api/plans", "admin", template())
    api.post("/api/plans", "admin", template(name="暴雨应急预案（修订）"))
    versions = [e["details"] for e in _entries(api, "plan_template.")]
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["before"]["name"] == "暴雨应急预案"
    # indicator and device imports (the fixture loaded them as the system) and configuration exports
    assert _one(api, "indicator.import", "indicator:RIVER_LEVEL")["after"]["name"] == "河道水位"
    assert _one(api, "device.import", "device:WL-A")["before"] is None
    api.get("/api/threshold-rules/export", who=admin)
    api.get("/api/indicators/export", who=admin)
    assert {e["object"] for e in _entries(api, "export")} >= {"threshold_rules", "indicators"}
    assert api.get("/api/audit/verify", who="audrey")["ok"] is True


def test_re_sending_an_unchanged_configuration_writes_no_audit_entry(api: Api, admin: str) -> None:  # noqa: F811
    api.request("PUT", "/api/supervision/rules", "admin", 200, json={"remind_at": [0.5, 0.8]})
    api.request("PUT", "/api/supervision/rules", "admin", 200, json={"remind_at": [0.5, 0.8]})
    assert len(_entries(api, "supervision_rules.put")) == 1


def test_audit_rows_are_never_updated_after_insert(session_factory: sessionmaker[Session], world: World) -> None:
    """The hash is part of the INSERT: no UPDATE statement ever touches audit_log."""
    statements: list[str] = []
    engine = session_factory.kw["bind"]

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        with session_factory() as s:
            actor = resolve_actor(s, "admin")
            for i in range(3):
                audit.record(s, actor, "rule.update", f"x:{i}", {"n": i})
            s.commit()
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert [st for st in statements if "audit_log" in st and st.lstrip().upper().startswith("UPDATE")] == []
    with session_factory() as s:
        assert audit.verify_chain(s).ok and audit.verify_chain(s).entries == 3


@pytest.fixture
def insert_select_only(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions connected as a role with every right on the application's tables except audit_log,
    where it has INSERT and SELECT only — the hardening docs/operations.md recommends."""
    if not PG_URL:
        # Not a missing service: roles and grants are PostgreSQL's; this test runs in the PostgreSQL
        # pass of the suite, which CI always runs.
        pytest.skip("database roles are a PostgreSQL test; it runs in the PostgreSQL pass")
    role = f"shuzhi_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}"))
    # A pool of its own: a connection that took the role must never go back to the shared pool, where
    # the next test would meet "permission denied" (SET ROLE outlives the transaction once committed).
    restricted = make_engine(engine.url.render_as_string(hide_password=False), pool_size=2)

    @event.listens_for(restricted, "connect")
    def _as_role(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET ROLE {role}")
        dbapi_conn.commit()

    try:
        yield make_session_factory(restricted)
    finally:
        restricted.dispose()
        with engine.begin() as conn:
            conn.execute(text("RESET ROLE"))
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_a_role_with_only_insert_and_select_on_the_audit_log_can_change_configuration(
        insert_select_only: sessionmaker[Session], world: World) -> None:
    uow = UnitOfWork(insert_select_only)
    with insert_select_only() as s:
        actor = resolve_actor(s, "admin")
        assert s.execute(text("SELECT current_user")).scalar_one().startswith("shuzhi_app_")
    supervision_rules.put_rules(uow, {"remind_at": [0.6, 0.85]}, actor)
    with insert_select_only() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "supervision_rules.put")).one()
        assert entry.details["after"]["remind_at"] == [0.6, 0.85]
        assert audit.verify_chain(s).ok
        # and the role really cannot rewrite history
        with pytest.raises(Exception, match="permission denied"):
            s.execute(text("UPDATE audit_log SET actor = 'x'"))
        s.rollback()


def test_cli_set_password_applies_the_rules_revokes_tokens_and_audits_like_the_api(
        api: Api, engine: Engine, session_factory: sessionmaker[Session], world: World) -> None:
    with session_factory() as s:
        set_password(s, "bob", "Old-pass-123", must_change=False)
        s.commit()
    api.token("bob")  # a live token
    url = engine.url.render_as_string(hide_password=False)
    weak = CliRunner().invoke(app, ["user", "set-password", "bob", "--password", "bob-is-bob-1", "--database-url", url])
    assert weak.exit_code == 2 and "staff code" in weak.output
    ok = CliRunner().invoke(app, ["user", "set-password", "bob", "--password", "Tangxiang-77x", "--database-url", url])
    assert ok.exit_code == 0, ok.output
    with session_factory() as s:
        live = s.scalars(select(AuthToken).where(AuthToken.person_id == world.people["bob"].id,
                                                 AuthToken.revoked_at.is_(None))).all()
        assert live == []
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.password_set")).one()
        assert entry.object == "person:bob" and entry.details["via"] == "cli" and entry.details["revoked_tokens"] >= 1


def test_a_dispatcher_changing_a_dispatch_rule_leaves_before_and_after_in_the_audit(api: Api, world: World) -> None:
    rule = {"code": "R-1", "name": "垃圾交城管", "priority": 1,
            "condition": {"field": "event_class", "op": "eq", "value": "0201"},
            "targets": {"lead": "D500111-CGJ"}}
    api.post("/api/dispatch-rules", "alice", rule, status=201)
    api.request("PUT", "/api/dispatch-rules/R-1", "alice", 200,
                json={k: v for k, v in rule.items() if k != "code"} | {"priority": 2})
    api.request("DELETE", "/api/dispatch-rules/R-1", "alice", status=204)
    assert _one(api, "rule.create", "dispatch_rule:R-1")["after"]["priority"] == 1
    changed = _one(api, "rule.update", "dispatch_rule:R-1")
    assert (changed["before"]["priority"], changed["after"]["priority"]) == (1, 2)
    assert _one(api, "rule.delete", "dispatch_rule:R-1")["before"]["priority"] == 2


def test_automation_thresholds_escalation_policies_service_settings_and_rule_imports_leave_before_and_after(
        api: Api, world: World) -> None:
    # the model's automation threshold of a class: set, changed, cleared
    for value in (0.9, 0.8):
        api.request("PUT", "/api/models/thresholds/0201", "admin", 200, json={"threshold": value})
    api.request("DELETE", "/api/models/thresholds/0201", "admin", 204)
    steps = [(e["details"]["before"], e["details"]["after"]) for e in _entries(api, "model.threshold")]
    assert steps == [(None, {"threshold": 0.9}), ({"threshold": 0.9}, {"threshold": 0.8}),
                     ({"threshold": 0.8}, None)]
    # an escalation policy: the default one replaced
    red = next(p for p in api.get("/api/escalation-policies", who="admin") if p["code"] == "red-warning")
    night = [{"after_minutes": 0, "who": ["duty_officer"], "channels": ["sms"]}]
    api.request("PUT", "/api/escalation-policies/red-warning", "admin",
                json={"name": "红色预警（夜间）", "kind": "warning.red", "steps": night})
    policy = _one(api, "notice.policy.put", "escalation_policy:red-warning")
    assert policy["before"]["steps"] == red["steps"] and policy["after"]["name"] == "红色预警（夜间）"
    # the service ratings' limits
    for days in (5, 7):
        api.request("PUT", "/api/services/settings", "admin", json={"bad_rating_limit_days": days,
                                                                     "callback_limit_days": 1})
    settings = [e["details"] for e in _entries(api, "service.settings.update")]
    assert settings[-1]["before"]["bad_rating_limit_days"] == 5 and settings[-1]["after"]["bad_rating_limit_days"] == 7
    # dispatch rules imported from a file: each changed rule with what it was and became
    rule = {"code": "R-1", "name": "垃圾交城管", "priority": 1,
            "condition": {"field": "event_class", "op": "eq", "value": "0201"}, "targets": {"lead": "D500111-CGJ"}}
    for priority in (1, 2):
        data = json.dumps({"rules": [{**rule, "priority": priority}]}).encode()
        api.request("POST", "/api/dispatch-rules/import", "alice", 200,
                    files={"file": ("rules.json", data, "application/json")})
    imported = [e["details"] for e in _entries(api, "rule.import") if e["object"] == "dispatch_rule:R-1"]
    assert [(d["before"] and d["before"]["priority"], d["after"]["priority"]) for d in imported] == [
        (None, 1), (1, 2)]
