"""Review (复盘) of a closed event, with every figure worked out by hand, and its Word and HTML exports."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shuzhi.services import commands as c
from shuzhi.services import handling, intake, task_handling
from shuzhi.services.actors import resolve_actor
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import need_service
from tests.factories import World
from tests.integration.conftest import Api

T0 = datetime(2024, 6, 13, 1, 0, tzinfo=UTC)


def m(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _closed_event(uow: UnitOfWork, session_factory: Any) -> str:
    with session_factory() as s:
        alice, carol, erin = (resolve_actor(s, who) for who in ("alice", "carol", "erin"))
    done = intake.submit_event(uow, c.SubmitEvent(
        source="hotline", event_class_code="0101", title="井盖缺失", urgency="critical", lon=105.705, lat=29.705,
        received_at=T0), alice, now=T0)
    n = done.number
    # critical limits of the class: accept 0.5h, handle 4h (calendar hours)
    handling.dispatch(uow, n, c.Dispatch(units=[c.UnitAssignment(unit_code="D500111-SWJ")]), alice, now=m(5))
    task = lambda code: next(t.id for t in handling_event(uow, n).tasks if t.unit.code == code  # noqa: E731
                             and t.state not in ("returned", "cancelled"))
    task_handling.return_task(uow, n, task("D500111-SWJ"), c.WithReason(reason="井盖属城管"), erin, now=m(8))
    handling.dispatch(uow, n, c.Dispatch(units=[c.UnitAssignment(unit_code="D500111-CGJ")]), alice, now=m(10))
    cgj = task("D500111-CGJ")
    task_handling.accept_task(uow, n, cgj, c.OptionalReason(), carol, now=m(50))
    task_handling.report_back(uow, n, cgj, c.ReportBack(result="已补装"), carol, now=m(180))
    handling.verify(uow, n, c.Verify(passed=False, reason="井盖不平"), alice, now=m(190))
    task_handling.report_back(uow, n, cgj, c.ReportBack(result="已调平"), carol, now=m(300))
    handling.verify(uow, n, c.Verify(passed=True), alice, now=m(320))
    handling.close(uow, n, c.OptionalReason(), alice, now=m(330))
    return n


def handling_event(uow: UnitOfWork, n: str) -> Any:
    with uow:
        event = handling.load_event(uow.session, n)
        for t in event.tasks:
            _ = t.unit.code
        return event


def test_review_of_a_closed_event(api: Api, world: World, uow: UnitOfWork, session_factory: Any) -> None:
    n = _closed_event(uow, session_factory)
    r = api.get(f"/api/events/{n}/review")
    assert r["total_seconds"] == 330 * 60
    stages = {s["stage"]: (s["seconds"] / 60, s["visits"]) for s in r["stages"]}
    # registered 0→5 and 8→10; dispatched 5→8 and 10→50; handling 50→180 and 190→300;
    # reported back 180→190 and 300→320; verified 320→330
    assert stages == {"registered": (7, 2), "dispatched": (43, 2), "handling": (240, 2),
                      "reported_back": (30, 2), "verified": (10, 1)}
    rows = {(s["unit_code"], s["stage"]): (s["seconds"] / 60, s["limit_seconds"] / 60, s["late_seconds"] / 60)
            for s in r["task_stages"]}
    assert rows == {
        ("D500111-SWJ", "accept"): (3, 30, 0), ("D500111-SWJ", "handle"): (3, 240, 0),
        # accepted at 50 against 10 + 30; reported back (again) at 300 against 10 + 240
        ("D500111-CGJ", "accept"): (40, 30, 10), ("D500111-CGJ", "handle"): (290, 240, 50),
    }
    assert r["late"] == [{"unit_code": "D500111-CGJ", "unit_name": "大足区城市管理局", "late_stages": 2,
                          "worst_late_seconds": 50 * 60}]
    assert r["late_tasks"] == 1 and r["tasks"] == 2
    assert [(x["unit"], x["reason"]) for x in r["returns"]] == [("D500111-SWJ", "井盖属城管")]
    assert [(x["unit"], x["reason"]) for x in r["reworks"]] == [("D500111-CGJ", "井盖不平")]
    assert r["timeline"][0]["action"] == "event.register" and r["timeline"][-1]["action"] == "event.close"

    notes = api.request("PUT", f"/api/events/{n}/review/notes", "alice", json={"notes": "派遣前先核对权属",
                                                                              "expected_version": 0})
    assert notes["version"] == 1
    api.request("PUT", f"/api/events/{n}/review/notes", "alice", 409, json={"notes": "x", "expected_version": 0})
    api.request("PUT", f"/api/events/{n}/review/notes", "carol", 403, json={"notes": "x"})
    assert api.get(f"/api/events/{n}/review")["notes"]["notes"] == "派遣前先核对权属"

    html = api.get(f"/api/events/{n}/review?format=html").text
    assert "复盘报告" in html and "大足区城市管理局" in html and "50分" in html and "派遣前先核对权属" in html


def test_an_open_event_has_no_review_yet(api: Api, world: World) -> None:
    ev = api.submit()
    api.get(f"/api/events/{ev['number']}/review", status=409)
    api.get(f"/api/events/{ev['number']}/review?format=pdf", status=409)


def test_the_word_export_opens(api: Api, world: World, uow: UnitOfWork, session_factory: Any,
                               tmp_path: Path) -> None:
    need_service(shutil.which("soffice") is not None, "LibreOffice (soffice)")
    n = _closed_event(uow, session_factory)
    r = api.get(f"/api/events/{n}/review?format=docx")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    docx = tmp_path / "review.docx"
    docx.write_bytes(r.content)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(docx)], check=True, capture_output=True, timeout=120)
    pdf = (tmp_path / "review.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    from docx import Document

    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "复盘报告" in text and "超时 1 项" in text and "退单 1 次" in text
