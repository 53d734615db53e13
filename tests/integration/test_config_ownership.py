"""Configuration belongs to an area and a level (issue #15): plan templates, scoring schemes, webhooks,
the Open311 mapping; reports are stored only for one's own areas; a plan's idempotency key is the
caller's own.

People (tests/factories.py): alice the district's dispatcher, bob town A's duty officer, frank town
B's, audrey the auditor, admin the (installation-wide) administrator. For these tests the town duty
officers hold every configuration permission, so that only their scope can stop them. Each test says
who tries what, and checks that what he could not do left things unchanged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_evaluation import EvaluationReport
from shuzhi.adapters.db.tables_plans import PlanRun, PlanTemplateRow
from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.domain import permissions as perms
from shuzhi.services import webhooks
from shuzhi.services.actors import forget_people
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

CONFIG_WRITE = {perms.PLAN_WRITE, perms.EVALUATION_WRITE, perms.WEBHOOK_ADMIN, perms.REFERENCE_WRITE}


@pytest.fixture
def town_officers_configure(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    """bob and frank may write every kind of configuration: only their towns limit them."""
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.DUTY_OFFICER,
                        perms.ROLE_PERMISSIONS[perms.Role.DUTY_OFFICER] | CONFIG_WRITE)
    forget_people()


def _audit(factory: sessionmaker[Session], action: str, obj: str) -> list[dict[str, Any]]:
    with factory() as s:
        return [dict(e.details or {}) for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.object == obj).order_by(AuditEntry.id))]


# --- plan templates -------------------------------------------------------------------------------


def _burst(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": "burst", "name": "供水爆管预案", "confirmation": "auto",
        "trigger": {"kind": "event_class", "classes": ["0301"], "at_least": "urgent"},
        "tasks": [{"key": "town", "title": "镇街处置", "role": "town_centre", "instruction": "现场处置",
                   "deadline": "4h"}],
    }
    doc.update(over)
    return doc


def _runs(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count(PlanRun.id))) or 0)


def test_a_town_officer_writes_plan_templates_for_his_town_only_and_they_never_start_for_another_town(
        api: Api, town_officers_configure: None, session_factory: sessionmaker[Session]) -> None:
    for over, field in (({"area_code": "500111002"}, "$.area_code"),  # town B's
                        ({"area_code": "500111"}, "$.area_code"),  # the district's
                        ({"tasks": [{"key": "b", "title": "棠香处置", "role": "unit:C500111002",
                                     "instruction": "x", "deadline": "4h"}]}, "$.tasks[0].role")):
        r = api.client.post("/api/plans", json=_burst(**over), headers=api.headers("bob"))
        assert r.status_code == 422 and r.json()["field"] == field, (over, r.text)
    with session_factory() as s:
        assert s.scalar(select(func.count(PlanTemplateRow.id))) == 0
    mine = api.post("/api/plans", "bob", _burst())
    assert mine["area_code"] == "500111001", mine
    [created] = _audit(session_factory, "plan_template.create", "plan_template:burst")
    assert created["before"] is None and created["after"]["area_code"] == "500111001", created
    # town B neither lists, reads, exports nor overwrites it; the district sees it
    assert api.get("/api/plans", who="frank") == []
    api.get("/api/plans/burst", who="frank", status=404)
    assert api.get("/api/plans/export", who="frank") == []
    r = api.client.post("/api/plans", json=_burst(name="棠香的"), headers=api.headers("frank"))
    assert r.status_code == 422 and r.json()["field"] == "$.code", r.text
    api.post("/api/plans/burst/activate", "frank", {"area_codes": ["500111002"]}, status=404)
    assert [t["code"] for t in api.get("/api/plans", who="alice")] == ["burst"]
    # a burst in town B starts nothing; one in town A starts bob's plan
    api.submit(event_class_code="0301", title="棠香爆管", lon=World.B1[0], lat=World.B1[1])
    assert _runs(session_factory) == 0
    ev = api.submit(event_class_code="0301", title="龙岗爆管")
    assert [r["trigger_kind"] for r in api.get(f"/api/events/{ev['number']}/plans")] == ["event_class"]
    # the district, holding it in its scope, still cannot send the town's plan into town B
    r = api.client.post("/api/plans/burst/activate", json={"area_codes": ["500111002"]},
                        headers=api.headers("alice"))
    assert r.status_code == 422 and r.json()["field"] == "area_codes[0]", r.text
    assert _runs(session_factory) == 1


def _warn(session_factory: sessionmaker[Session], area_code: str, area_path: str, episode: str) -> None:
    from shuzhi.services import hooks

    change = hooks.WarningChange(warning_id=9, episode_key=episode, indicator_code="IND.level.1",
                                 indicator_lineage=("SEC.infra", "RW.water", "IND.level.1"), series_key=episode,
                                 area_code=area_code, area_path=area_path, level="red", previous_level=None,
                                 at=datetime.now(UTC), event_id=None)
    with UnitOfWork(session_factory) as uow:
        for hook in hooks.WARNING_HOOKS:
            hook(uow.session, change)
        uow.commit()


def test_a_towns_warning_plan_answers_its_towns_warnings_only(
        api: Api, town_officers_configure: None, session_factory: sessionmaker[Session]) -> None:
    api.post("/api/plans", "bob", _burst(code="flood", trigger={"kind": "warning", "indicators": ["RW.water"],
                                                               "at_least": "orange"}))
    _warn(session_factory, "500111002", "/500000/500111/500111002/", "tb-1")  # town B's gauge
    assert _runs(session_factory) == 0
    _warn(session_factory, "500111001", "/500000/500111/500111001/", "ta-1")  # town A's
    assert _runs(session_factory) == 1


# --- scoring schemes ------------------------------------------------------------------------------


def _scheme() -> dict[str, Any]:
    from shuzhi.domain.scoring import DEFAULT_SCHEME

    return json.loads(json.dumps(DEFAULT_SCHEME))


def test_a_towns_scoring_scheme_never_scores_another_town_nor_the_districts_ranking(
        api: Api, town_officers_configure: None, session_factory: sessionmaker[Session]) -> None:
    period = datetime.now(UTC).strftime("%Y-%m")
    r = api.client.put("/api/evaluation/schemes/TB", headers=api.headers("bob"),
                       json={"name": "棠香办法", "document": _scheme(), "area_code": "500111002"})
    assert r.status_code == 422 and r.json()["field"] == "area_code", r.text
    r = api.client.put("/api/evaluation/schemes/DIST", headers=api.headers("bob"),
                       json={"name": "全区办法", "document": _scheme(), "area_code": "500111"})
    assert r.status_code == 422 and r.json()["field"] == "area_code", r.text
    made = api.request("PUT", "/api/evaluation/schemes/LG", "bob", json={"name": "龙岗办法", "document": _scheme()})
    assert made["area_code"] == "500111001" and made["active"], made
    [saved] = _audit(session_factory, "scoring_scheme.save", "scoring_scheme:LG")
    assert saved["before"] is None and saved["after"]["area_code"] == "500111001", saved
    # bob's own figures are scored by his scheme; town B's and the district's ranking of the towns are not
    params = {"period": period}
    assert api.get("/api/evaluation/colour-map", who="bob", params=params)["scheme"] == "LG"
    assert api.get("/api/evaluation/colour-map", who="frank", params=params)["scheme"] == "default"
    assert api.get("/api/evaluation/colour-map", who="alice", params=params)["scheme"] == "default"
    # (the towns see their peers' ranking once the district has published it: docs/town.md)
    api.post("/api/evaluation/publications", "grace", {"period": period}, status=201)
    peers = api.get("/api/evaluation/rankings", who="bob", params={**params, "by": "area", "peers": "true"})
    assert peers["scheme"] == "default", peers
    # the district's own scheme, activated after it, does not switch the town's off
    api.request("PUT", "/api/evaluation/schemes/DZ", "alice", status=403,
                json={"name": "大足办法", "document": _scheme()})  # alice may not write schemes at all
    api.request("PUT", "/api/evaluation/schemes/DZ", "admin",
                json={"name": "大足办法", "document": _scheme(), "area_code": "500111"})
    assert api.get("/api/evaluation/colour-map", who="alice", params=params)["scheme"] == "DZ"
    assert api.get("/api/evaluation/colour-map", who="bob", params=params)["scheme"] == "LG"
    # town B neither lists nor changes town A's scheme
    assert "LG" not in {s["code"] for s in api.get("/api/evaluation/schemes", who="frank")}
    r = api.client.put("/api/evaluation/schemes/LG", headers=api.headers("frank"),
                       json={"name": "改了", "document": _scheme()})
    assert r.status_code == 403, r.text
    assert {s["code"]: s["version"] for s in api.get("/api/evaluation/schemes", who="bob")}["LG"] == 1


# --- webhooks -------------------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    from shuzhi.config import get_settings

    monkeypatch.setenv("SHUZHI_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8"]')  # the operator allow-lists it
    get_settings.cache_clear()
    r = Receiver()
    yield r
    r.server.shutdown()
    get_settings.cache_clear()


def _urged(api: Api, point: tuple[float, float]) -> dict[str, Any]:
    """An event at ``point`` that grace urges (领导督办: a message for the subscribers)."""
    ev = api.submit(lon=point[0], lat=point[1])
    api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    return dict(api.post(f"/api/events/{ev['number']}/urge", "grace", {"instruction": "限期办结", "due_at": due}))


def test_a_town_webhook_never_receives_another_towns_events(
        api: Api, town_officers_configure: None, receiver: Receiver,
        session_factory: sessionmaker[Session]) -> None:
    body = {"name": "龙岗大屏", "url": receiver.url, "topics": ["*"]}
    r = api.client.post("/api/webhooks", json={**body, "area_code": "500111002"}, headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == "area_code", r.text
    mine = api.post("/api/webhooks", "bob", body, status=201)  # no area named: his town, not everything
    assert mine["area_code"] == "500111001", mine
    [created] = _audit(session_factory, "webhook.create", f"webhook:{mine['id']}")
    assert created["before"] is None and created["after"]["area_code"] == "500111001", created
    theirs, ours = _urged(api, World.B1), _urged(api, World.A1)
    uow = lambda: UnitOfWork(session_factory)  # noqa: E731
    webhooks.fan_out(uow, datetime.now(UTC))
    webhooks.deliver_due(uow, datetime.now(UTC))
    numbers = {b["data"].get("event_number") for b in receiver.bodies}
    assert ours["number"] in numbers and theirs["number"] not in numbers, numbers
    # town B neither lists, pauses nor replays bob's subscription or its deliveries
    assert api.get("/api/webhooks", who="frank") == [] and api.get("/api/webhooks/deliveries", who="frank") == []
    api.request("PATCH", f"/api/webhooks/{mine['id']}", "frank", 404, json={"active": False})
    delivery = api.get("/api/webhooks/deliveries", who="bob")[0]["id"]
    api.post(f"/api/webhooks/deliveries/{delivery}/replay", "frank", status=404)
    assert api.get("/api/webhooks", who="bob")[0]["active"] is True


# --- the Open311 mapping --------------------------------------------------------------------------


def test_a_town_officer_cannot_rename_or_hide_the_citys_open311_service(
        api: Api, town_officers_configure: None, session_factory: sessionmaker[Session]) -> None:
    r = api.client.put("/api/open311/services/0101", json={"service_name": "龙岗井盖", "hidden": True},
                       headers=api.headers("bob"))
    assert r.status_code == 403, r.text
    assert _audit(session_factory, "open311_mapping.set", "event_class:0101") == []
    services = api.client.get("/open311/v2/services.json").json()
    assert {s["service_code"]: s["service_name"] for s in services}["0101"] == "井盖破损"
    api.request("PUT", "/api/open311/services/0101", "admin", json={"service_name": "窨井盖"})
    [changed] = _audit(session_factory, "open311_mapping.set", "event_class:0101")
    assert changed["before"] is None and changed["after"]["service_name"] == "窨井盖", changed


# --- reports --------------------------------------------------------------------------------------


def test_a_town_cannot_store_the_districts_report_and_the_official_one_stays(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    body = {"kind": "monthly", "date": "2024-06-15", "area": "500111"}
    official = api.post("/api/reports", "alice", body, status=201)
    r = api.client.post("/api/reports", json=body, headers=api.headers("bob"))
    assert r.status_code == 403 and r.json()["field"] == "area", r.text
    r = api.client.post("/api/reports", json=body, headers=api.headers("carol"))  # a department: no area
    assert r.status_code == 403, r.text
    with session_factory() as s:
        rows = s.execute(select(EvaluationReport.id, EvaluationReport.generated_by)).all()
    assert [(i, by) for i, by in rows] == [(official["id"], official["generated_by"])], rows
    own = api.post("/api/reports", "bob", {**body, "area": "500111001"}, status=201)
    assert own["area_path"] == "/500000/500111/500111001/"


# --- idempotency keys -----------------------------------------------------------------------------


def test_a_plan_activation_key_is_the_callers_own_and_never_answers_with_anothers_run(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.plans import templates as plan_templates

    plan_templates.save_template(UnitOfWork(session_factory), _burst(confirmation="propose"), SYSTEM)
    key = {"Idempotency-Key": "storm-1"}
    mine = api.post("/api/plans/burst/activate", "bob", {"area_codes": ["500111001"]}, status=201, headers=key)
    again = api.post("/api/plans/burst/activate", "bob", {"area_codes": ["500111001"]}, status=200, headers=key)
    assert again["run_id"] == mine["run_id"]
    theirs = api.post("/api/plans/burst/activate", "frank", {"area_codes": ["500111002"]}, status=201,
                      headers=key)
    assert theirs["run_id"] != mine["run_id"] and theirs["event_number"] != mine["event_number"], theirs
    with session_factory() as s:
        assert s.scalar(select(func.count(PlanRun.id))) == 2
