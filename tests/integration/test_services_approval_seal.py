"""一枚印章管审批: a matter whose approval was moved to the approval bureau (行政审批局) goes to the bureau's
task, and its report-back approves it under the bureau's one seal — a line on the case's timeline naming
the seal's unit and an electronic decision (Word) carrying the case number."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Attachment, Person, TimelineEntry, Unit
from shuzhi.services.actors import SYSTEM
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window import catalogue
from tests.factories import World
from tests.integration.conftest import Api
from tests.services_factories import ID_OK, ServicesWorld, build_services, matter

BUREAU = "D500111-SPJ"


@pytest.fixture
def sw(world: World, session_factory: sessionmaker[Session]) -> ServicesWorld:
    with session_factory() as s:
        sw = build_services(s, world, UnitOfWork(session_factory))
        bureau = Unit(code=BUREAU, name="大足区行政审批局", kind="department", level="district",
                      area_id=world.areas["500111"].id, parent_id=world.units["C500111"].id)
        s.add(bureau)
        s.flush()
        s.add(Person(code="lena", name="李娜", phone="13800138009", unit_id=bureau.id, role="handler"))
        s.commit()
    doc = matter("M-PLAN", "建设工程规划许可证核发", "D500111-CGJ", days=10, places=["district_hall"])
    catalogue.save_matter(UnitOfWork(session_factory), {**doc, "approved_by": BUREAU}, SYSTEM)
    return sw


def test_the_bureau_approves_under_its_one_seal_with_an_electronic_decision(
        api: Api, sw: ServicesWorld, session_factory: sessionmaker[Session]) -> None:
    from docx import Document

    receipt = api.post("/api/services/cases", "alice", {
        "window_code": "W-HALL", "matter_code": "M-PLAN", "mode": "window",
        "applicant": {"kind": "person", "name": "张三", "id_number": ID_OK, "phone": "13912345678"},
        "materials": {"M-PLAN": {"id": "provided", "cert": "provided"}}}, status=201)
    number = receipt["number"]
    assert [d["department"] for d in receipt["departments"]] == ["大足区行政审批局"]
    event = api.get(f"/api/events/{number}", who="lena")
    task = event["tasks"][0]
    assert task["unit_code"] == BUREAU
    api.post(f"/api/events/{number}/tasks/{task['id']}/accept", "lena", {})
    api.post(f"/api/events/{number}/tasks/{task['id']}/report-back", "lena", {"result": "符合规划条件，准予许可"})
    case = api.get(f"/api/services/cases/{number}", who="alice")
    assert case["state"] == "completed"
    [approval] = case["approvals"]
    assert approval["seal_unit"] == "大足区行政审批局" and approval["matters"] == ["M-PLAN"]
    assert number in approval["document_number"]
    with session_factory() as s:
        line = s.scalars(select(TimelineEntry).where(TimelineEntry.action == "case.approve")).one()
        assert line.actor == "大足区行政审批局（行政审批专用章）" and line.payload["on_behalf_of"] == ["D500111-CGJ"]
        att = s.get(Attachment, line.payload["attachment"])
        assert att is not None and att.filename == f"准予行政许可决定书-{number}.docx"
        text = "\n".join(p.text for p in Document(io.BytesIO(att.data)).paragraphs)
        cells = [c.text for t in Document(io.BytesIO(att.data)).tables for r in t.rows for c in r.cells]
    assert number in text and "大足区行政审批局" in text and "行政审批专用章" in text and "张三" in text
    assert ID_OK not in text and "13912345678" not in text  # the decision names the applicant, nothing more
    assert cells[3:] == ["建设工程规划许可证核发", "《政务服务事项依据》第一条", "大足区城市管理局"]
    # a matter the department still approves itself gets no seal line
    other = api.get(f"/api/events/{number}/timeline", who="alice")
    assert sum(x["action"] == "case.approve" for x in other) == 1


@pytest.mark.parametrize("approved_by, message", [("D-NOPE", "unknown unit 'D-NOPE'"),
                                                  ("D500111-CGJ", "on another department's behalf")])
def test_an_unknown_or_the_same_approving_unit_is_refused(api: Api, sw: ServicesWorld, approved_by: str,
                                                          message: str) -> None:
    doc = {**matter("M-X", "某许可", "D500111-CGJ"), "approved_by": approved_by}
    r = api.client.put("/api/services/matters", json=doc, headers=api.headers("admin"))
    assert r.status_code == 422 and r.json()["field"] == "$.approved_by" and message in r.text
