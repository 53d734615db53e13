"""The audit log: what is recorded, who may read it, and that tampering is found (API and CLI).

bob (town-A duty officer) reveals a reporter's phone; audrey is the auditor; carol (a handler) may
not reveal; frank (town B) cannot even see the event.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.entrypoints.cli import app
from shuzhi.services.actors import SYSTEM
from shuzhi.services.security import audit
from tests.factories import World
from tests.integration.conftest import Api


def _reported(api: Api) -> dict[str, Any]:
    return api.submit(who="bob", reporter_name="张三", reporter_phone="13912345678",
                      reporter_id_number="500111199001011234")


def test_responses_mask_the_reporter_and_reveal_is_reasoned_and_audited(api: Api, world: World) -> None:
    ev = _reported(api)
    assert (ev["reporter_name"], ev["reporter_phone"], ev["reporter_id_number"]) == (
        "张*", "139****5678", "5001**********1234")
    listed = api.get("/api/events", who="alice")["items"][0]
    assert listed["reporter_phone"] == "139****5678"
    url = f"/api/events/{ev['number']}/reveal"
    assert api.post(url, "bob", {}, status=422)["field"] == "reason"
    api.post(url, "carol", {"reason": "回访"}, status=403)
    api.post(url, "frank", {"reason": "回访"}, status=404)
    shown = api.post(url, "bob", {"reason": "回访核实处理结果"})
    assert shown == {"number": ev["number"], "reporter_name": "张三", "reporter_phone": "13912345678",
                     "description": ev["description"],
                     "reporter_id_number": "500111199001011234"}
    entries = api.get("/api/audit", who="audrey", params={"action": "personal_data.reveal"})
    assert len(entries) == 1
    assert entries[0]["actor"] == "李波(bob)" and entries[0]["object"] == f"event:{ev['number']}"
    assert entries[0]["details"] == {"reason": "回访核实处理结果",
                                     "fields": ["reporter_name", "reporter_phone", "reporter_id_number"]}


def test_only_auditors_read_the_log(api: Api, world: World) -> None:
    api.get("/api/audit", who="bob", status=403)
    api.get("/api/audit", who="admin", status=403)
    api.get("/api/audit/verify", who="bob", status=403)
    assert api.get("/api/audit/verify", who="audrey")["ok"] is True


def test_rule_changes_and_exports_are_recorded(api: Api, world: World) -> None:
    rule = {"code": "R-1", "name": "垃圾交城管", "priority": 1,
            "condition": {"field": "event_class", "op": "eq", "value": "0201"},
            "targets": {"lead": "D500111-CGJ"}}
    api.post("/api/dispatch-rules", "alice", rule, status=201)
    api.request("DELETE", "/api/dispatch-rules/R-1", "alice", status=204)
    api.get("/api/people/export", who="admin", params={"format": "csv"})
    actions = [(e["action"], e["object"]) for e in api.get("/api/audit", who="audrey")]
    assert ("rule.create", "dispatch_rule:R-1") in actions and ("rule.delete", "dispatch_rule:R-1") in actions
    assert ("export", "people") in actions


def _fill(factory: sessionmaker[Session], n: int) -> list[int]:
    with factory() as s:
        ids = [audit.record(s, SYSTEM, "test.entry", f"thing:{i}", {"i": i, "text": "中文"}).id for i in range(n)]
        s.commit()
    return ids


def test_a_changed_entry_is_named_by_the_api_and_the_cli(api: Api, world: World, engine: Any,
                                                         session_factory: sessionmaker[Session]) -> None:
    ids = _fill(session_factory, 6)
    runner = CliRunner()
    url = engine.url.render_as_string(hide_password=False)
    ok = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert ok.exit_code == 0 and "audit chain intact" in ok.output and "6 entries" in ok.output
    with session_factory() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[3]).values(details={"i": 99, "text": "中文"}))
        s.commit()
    report = api.get("/api/audit/verify", who="audrey")
    assert report["ok"] is False and report["broken_id"] == ids[3] and report["entries"] == 3
    bad = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert bad.exit_code == 1 and f"#{ids[3]}" in bad.output and "changed" in bad.output
    assert "test.entry" in bad.output  # the entry as a person reads it (what, on what, by whom)


def test_a_removed_entry_breaks_the_next_link(world: World, session_factory: sessionmaker[Session]) -> None:
    ids = _fill(session_factory, 5)
    with session_factory() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids[2]))
        s.commit()
        report = audit.verify_chain(s)
    assert report.ok is False and report.broken_id == ids[3] and "removed" in (report.problem or "")


def test_concurrent_writers_keep_one_chain(world: World, session_factory: sessionmaker[Session]) -> None:
    def write(k: int) -> None:
        for i in range(10):
            with session_factory() as s:
                audit.record(s, SYSTEM, "test.concurrent", f"writer:{k}", {"i": i})
                s.commit()

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_factory() as s:
        report = audit.verify_chain(s)
        prevs = s.scalars(select(AuditEntry.prev_hash)).all()
    assert report.ok and report.entries == 40
    assert len(set(prevs)) == 40  # no two entries claim the same predecessor: the chain never forked


def test_the_log_is_append_only_for_the_application() -> None:
    """Nothing in the code updates or deletes audit rows (the chain is the second line of defence)."""
    from pathlib import Path

    import shuzhi

    src = Path(shuzhi.__file__).parent
    offenders = [str(p) for p in src.rglob("*.py")
                 if ("update(AuditEntry" in p.read_text(encoding="utf-8")
                     or "delete(AuditEntry" in p.read_text(encoding="utf-8"))]
    assert offenders == []
