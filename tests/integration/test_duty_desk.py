"""The duty desk of town A's centre: bob hands his shift over to ivy with the open items listed, keeps the
duty log and exports the daily report; the district centre (alice) checks that town A is at its desk
and reads town A's records; frank (town B) sees none of it; a missed check counts in evaluation."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person
from shuzhi.adapters.db.tables_duty import DutyHandover, DutyLogEntry, PresenceCheck
from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.services import duty_desk
from shuzhi.services.actors import Actor, forget_people, resolve_actor
from shuzhi.services.scheduler import PERIODIC_JOBS, run_due_jobs
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import need_service
from tests.factories import World
from tests.integration.conftest import Api

TOWN_A, TOWN_B, DISTRICT = "C500111001", "C500111002", "C500111"


def _iso(at: datetime) -> str:
    return at.isoformat()


@pytest.fixture
def desk(world: World, session_factory: sessionmaker[Session], api: Api) -> World:
    """Town A also has ivy (the incoming officer); bob is on duty now, ivy from the next shift."""
    with session_factory() as s:
        s.add(Person(code="ivy", name="易梅", phone="13900000000", unit_id=world.units[TOWN_A].id,
                     role="duty_officer"))
        s.commit()
    forget_people()
    now = datetime.now(UTC)
    api.post("/api/duty/shifts", "bob", {"unit_code": TOWN_A, "person_code": "bob", "role": "officer",
                                         "starts_at": _iso(now - timedelta(hours=2)),
                                         "ends_at": _iso(now + timedelta(hours=6))}, status=201)
    api.post("/api/duty/shifts", "bob", {"unit_code": TOWN_A, "person_code": "ivy", "role": "officer",
                                         "starts_at": _iso(now + timedelta(hours=6)),
                                         "ends_at": _iso(now + timedelta(hours=30))}, status=201)
    return world


def load_actor(uow: UnitOfWork, code: str) -> Actor:
    with uow:
        return resolve_actor(uow.session, code)


def _audit(session_factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_handover_lists_the_open_items_and_the_incoming_officer_confirms(
        api: Api, desk: World, session_factory: sessionmaker[Session]) -> None:
    waiting = api.submit(who="bob", title="北山路井盖破损", centre_code=TOWN_A)  # town A must dispatch it
    items = api.get("/api/duty/open-items", who="bob", params={"unit_code": TOWN_A})["items"]
    assert items["awaiting_dispatch"]["count"] == 1
    assert items["awaiting_dispatch"]["items"][0]["number"] == waiting["number"]
    assert set(items) == set(duty_desk.OPEN_KINDS)

    # field-level errors: nobody by that code, handing over to oneself, an unknown centre
    bad = api.post("/api/duty/handovers", "bob", {"unit_code": TOWN_A, "to_person_code": "nobody"}, status=422)
    assert bad["field"] == "to_person_code"
    self_ = api.post("/api/duty/handovers", "bob", {"unit_code": TOWN_A, "to_person_code": "bob"}, status=422)
    assert self_["field"] == "to_person_code" and "本人" in self_["detail"]
    # town B's frank cannot hand over town A's shift, nor learn that it exists; the district only reads
    api.post("/api/duty/handovers", "frank", {"unit_code": TOWN_A, "to_person_code": "ivy"}, status=404)
    api.post("/api/duty/handovers", "alice", {"unit_code": TOWN_A, "to_person_code": "ivy"}, status=403)

    offered = api.post("/api/duty/handovers", "bob", {"unit_code": TOWN_A, "to_person_code": "ivy",
                                                       "note": "北山路井盖待派遣，请跟进"}, status=201)
    assert offered["state"] == "offered" and offered["from_person_name"] == "李波"
    assert offered["items"]["awaiting_dispatch"]["items"][0]["number"] == waiting["number"]
    again = api.post("/api/duty/handovers", "bob", {"unit_code": TOWN_A, "to_person_code": "ivy"}, status=409)
    assert again["field"] == "to_person_code"

    hid = offered["id"]
    told = [n for n in api.get("/api/inbox", who="ivy") if n["kind"] == "duty.handover"]
    assert len(told) == 1 and "李波" in told[0]["title"]
    api.post(f"/api/duty/handovers/{hid}/confirm", "bob", {"note": "x"}, status=403)  # not the incoming officer
    api.post(f"/api/duty/handovers/{hid}/confirm", "frank", {"note": "x"}, status=404)
    done = api.post(f"/api/duty/handovers/{hid}/confirm", "ivy", {"note": "已接班，井盖事项已知悉"})
    assert done["state"] == "confirmed" and done["confirm_note"] == "已接班，井盖事项已知悉"
    assert done["decided_by"] == "ivy" and done["to_person_name"] == "易梅"
    # a confirmed handover is final: neither confirmed again nor withdrawn
    api.post(f"/api/duty/handovers/{hid}/confirm", "ivy", {"note": "再次"}, status=409)
    api.post(f"/api/duty/handovers/{hid}/withdraw", "bob", {}, status=409)
    # the items are the snapshot of the moment: dispatching the event later does not change the record
    api.post(f"/api/events/{waiting['number']}/dispatch", "bob",
             {"units": [{"unit_code": "D500111-CGJ", "role": "lead"}]})
    assert api.get(f"/api/duty/handovers/{hid}", who="ivy")["items"]["awaiting_dispatch"]["count"] == 1
    assert api.get("/api/duty/open-items", who="bob",
                   params={"unit_code": TOWN_A})["items"]["awaiting_dispatch"]["count"] == 0

    # the district reads town A's handovers; town B does not
    assert [h["id"] for h in api.get("/api/duty/handovers", who="alice", params={"unit_code": TOWN_A})] == [hid]
    api.get("/api/duty/handovers", who="frank", params={"unit_code": TOWN_A}, status=404)
    api.get(f"/api/duty/handovers/{hid}", who="frank", status=404)
    # both changes are on the record with their actor and reason
    offers, confirms = _audit(session_factory, "duty.handover.offer"), _audit(session_factory, "duty.handover.confirm")
    assert [e.actor for e in offers] == ["李波(bob)"] and offers[0].details["note"] == "北山路井盖待派遣，请跟进"
    assert [e.actor for e in confirms] == ["易梅(ivy)"]


def test_withdrawn_handover_and_the_state_table_hold_in_the_database(api: Api, desk: World) -> None:
    offered = api.post("/api/duty/handovers", "bob", {"unit_code": TOWN_A, "to_person_code": "ivy"}, status=201)
    api.post(f"/api/duty/handovers/{offered['id']}/withdraw", "ivy", {}, status=403)  # only the outgoing one
    gone = api.post(f"/api/duty/handovers/{offered['id']}/withdraw", "bob", {"note": "交接对象有误"})
    assert gone["state"] == "withdrawn"
    api.post(f"/api/duty/handovers/{offered['id']}/confirm", "ivy", {}, status=409)


def test_the_duty_log_keeps_entries_by_local_day(api: Api, desk: World, session_factory: sessionmaker[Session],
                                                 uow: UnitOfWork) -> None:
    ev = api.submit(who="bob")
    call = api.post("/api/duty/log", "bob", {"unit_code": TOWN_A, "kind": "call", "content": "群众来电反映井盖破损",
                                             "counterpart": "张先生", "event_number": ev["number"]}, status=201)
    assert call["kind_label"] == "来电" and call["event_number"] == ev["number"] and call["person_name"] == "李波"
    # bad input is refused at its field
    assert api.post("/api/duty/log", "bob", {"unit_code": TOWN_A, "kind": "gossip", "content": "x"},
                    status=422)["field"] == "kind"
    future = _iso(datetime.now(UTC) + timedelta(hours=2))
    assert api.post("/api/duty/log", "bob", {"unit_code": TOWN_A, "kind": "call", "content": "x",
                                             "occurred_at": future}, status=422)["field"] == "occurred_at"
    assert api.post("/api/duty/log", "bob", {"unit_code": TOWN_A, "kind": "call", "content": "x",
                                             "event_number": "500111-20000101-999999"},
                    status=422)["field"] == "event_number"
    naive = api.post("/api/duty/log", "bob", {"unit_code": TOWN_A, "kind": "call", "content": "x",
                                              "occurred_at": "2026-12-07T08:00:00"}, status=422)
    assert naive["field"] == "occurred_at"
    # only the centre's own people write its log; the district reads it, town B does not
    api.post("/api/duty/log", "alice", {"unit_code": TOWN_A, "kind": "call", "content": "x"}, status=403)
    api.post("/api/duty/log", "frank", {"unit_code": TOWN_A, "kind": "call", "content": "x"}, status=404)
    assert [e["id"] for e in api.get("/api/duty/log", who="alice", params={"unit_code": TOWN_A})] == [call["id"]]
    api.get("/api/duty/log", who="frank", params={"unit_code": TOWN_A}, status=404)

    # the local day: 23:50 Beijing time belongs to that day, 00:10 to the next (UTC stored)
    bob = load_actor(uow, "bob")
    now = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
    late = duty_desk.add_log_entry(UnitOfWork(session_factory), bob, unit_code=TOWN_A,
                                   kind="instruction_received", content="区中心要求加强夜间巡查",
                                   occurred_at=datetime(2026, 12, 7, 15, 50, tzinfo=UTC), now=now)
    early = duty_desk.add_log_entry(UnitOfWork(session_factory), bob, unit_code=TOWN_A, kind="instruction_given",
                                    content="通知各社区加强巡查", occurred_at=datetime(2026, 12, 7, 16, 10, tzinfo=UTC),
                                    now=now)
    day7 = duty_desk.list_log(UnitOfWork(session_factory), bob, TOWN_A, date(2026, 12, 7))
    day8 = duty_desk.list_log(UnitOfWork(session_factory), bob, TOWN_A, date(2026, 12, 8))
    assert late.id in [e.id for e in day7] and late.id not in [e.id for e in day8]
    assert early.id in [e.id for e in day8] and early.id not in [e.id for e in day7]
    with session_factory() as s:
        stored = s.get(DutyLogEntry, late.id)
        assert stored is not None and stored.occurred_at == datetime(2026, 12, 7, 15, 50, tzinfo=UTC)
    assert len(_audit(session_factory, "duty.log.add")) == 3


def test_the_daily_report_in_word_and_excel_opens_in_libreoffice(api: Api, desk: World, tmp_path: Path) -> None:
    ev = api.submit(who="bob")
    api.post("/api/duty/log", "bob", {"unit_code": TOWN_A, "kind": "call", "content": "群众来电反映井盖破损",
                                      "counterpart": "张先生", "event_number": ev["number"]}, status=201)
    api.post("/api/duty/log", "bob", {"unit_code": TOWN_A, "kind": "notable_event", "content": "北山社区停电两小时"},
             status=201)
    day = datetime.now(UTC).astimezone(duty_desk.LOCAL).date().isoformat()
    q = {"unit_code": TOWN_A, "day": day}
    docx = api.get("/api/duty/daily-report", who="bob", params=q | {"format": "docx"}).content
    xlsx = api.get("/api/duty/daily-report", who="bob", params=q | {"format": "xlsx"}).content
    document = Document(io.BytesIO(docx))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "龙岗街道城市运行和治理中心值班日报" in text and "来电 1 条" in text and "重要事项 1 条" in text
    cells = {c.text for t in document.tables for r in t.rows for c in r.cells}
    assert {"群众来电反映井盖破损", "北山社区停电两小时", "李波", ev["number"]} <= cells
    wb = load_workbook(io.BytesIO(xlsx))
    assert {"值班人员", "值班日志", "交接班", "在岗抽查"} <= set(wb.sheetnames)
    log_rows = list(wb["值班日志"].iter_rows(min_row=4, values_only=True))
    assert [r[1] for r in log_rows] == ["来电", "重要事项"]
    assert api.get("/api/duty/daily-report", who="bob", params=q | {"format": "pdf"}, status=422)["field"] == "format"
    api.get("/api/duty/daily-report", who="frank", params=q, status=404)
    api.get("/api/duty/daily-report", who="alice", params=q)  # the district receives it

    soffice = shutil.which("soffice")
    need_service(soffice is not None, "LibreOffice (soffice)")
    for name, data in (("daily.xlsx", xlsx), ("daily.docx", docx)):
        (tmp_path / name).write_bytes(data)
        subprocess.run([str(soffice), "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                        "pdf", "--outdir", str(tmp_path), str(tmp_path / name)], check=True, timeout=180,
                       capture_output=True)
        pdf = tmp_path / name.replace(Path(name).suffix, ".pdf")
        assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")


def _check(api: Api, who: str = "alice", status: int = 201, **kw: Any) -> Any:
    return api.post("/api/duty/presence-checks", who, {"unit_code": TOWN_A, "minutes": 5, **kw}, status=status)


def test_the_district_checks_town_a_on_post_and_a_miss_counts_in_evaluation(
        api: Api, desk: World, session_factory: sessionmaker[Session]) -> None:
    asked = _check(api)
    assert asked["state"] == "pending" and asked["person_code"] == "bob" and asked["by_unit_code"] == DISTRICT
    # only a superior centre checks; within 1–120 minutes; town B neither answers nor sees it
    assert _check(api, minutes=0, status=422)["field"] == "minutes"
    _check(api, who="frank", status=404)
    api.post("/api/duty/presence-checks", "bob", {"unit_code": TOWN_B, "minutes": 5}, status=404)
    assert api.post("/api/duty/presence-checks", "alice", {"unit_code": DISTRICT, "minutes": 5},
                    status=403)["field"] == "unit_code"
    api.post(f"/api/duty/presence-checks/{asked['id']}/confirm", "frank", status=404)
    api.post(f"/api/duty/presence-checks/{asked['id']}/confirm", "ivy", status=403)  # not on duty now
    assert api.get("/api/duty/presence-checks", who="frank") == []
    pending = api.get("/api/duty/presence-checks", who="bob", params={"state": "pending"})
    assert [c["id"] for c in pending] == [asked["id"]]

    # bob, the officer on duty, is told in his inbox
    told = [n for n in api.get("/api/inbox", who="bob") if n["kind"] == "duty.presence_check"]
    assert len(told) == 1 and "确认在岗" in told[0]["title"]
    assert not [n for n in api.get("/api/inbox", who="frank") if n["kind"] == "duty.presence_check"]
    ok = api.post(f"/api/duty/presence-checks/{asked['id']}/confirm", "bob")
    assert ok["state"] == "confirmed" and ok["on_time"] is True and ok["decided_by"] == "bob"
    api.post(f"/api/duty/presence-checks/{asked['id']}/confirm", "bob", status=409)

    # a second check nobody answers: the worker's periodic sweep marks it missed, once
    late = _check(api)
    assert "duty.presence_sweep" in {j.name for j in PERIODIC_JOBS}
    after = datetime.now(UTC) + timedelta(minutes=6)
    assert "duty.presence_sweep" in run_due_jobs(lambda: UnitOfWork(session_factory), after)
    assert duty_desk.sweep_missed(UnitOfWork(session_factory), after) == 0
    with session_factory() as s:
        row = s.get(PresenceCheck, late["id"])
        assert row is not None and row.state == "missed" and row.decided_by == "system"
    # confirming afterwards does not turn the miss into a pass
    api.post(f"/api/duty/presence-checks/{late['id']}/confirm", "bob", status=409)
    misses = _audit(session_factory, "duty.presence.miss")
    assert len(misses) == 1 and misses[0].actor == "system"

    # evaluation: per unit, checks 2, misses 1, on-time rate 50 %
    period = datetime.now(UTC).astimezone(duty_desk.LOCAL).strftime("%Y-%m")
    cmap = api.get("/api/evaluation/colour-map", who="alice", params={"by": "unit", "period": period})
    row = next(i for i in cmap["items"] if i["code"] == TOWN_A)
    assert (row["presence_checks"], row["presence_misses"], row["presence_on_time_rate"]) == (2, 1, 0.5)
    mine = api.get("/api/evaluation/colour-map", who="frank", params={"by": "unit", "period": period})
    assert TOWN_A not in {i["code"] for i in mine["items"]}
    # the figures by unit (the evaluation page's on-post table) carry them too, scoped the same way
    groups = api.get("/api/evaluation/figures", who="alice", params={"group_by": "unit", "period": period})["groups"]
    fig = next(g for g in groups if g["code"] == TOWN_A)
    assert (fig["presence_checks"], fig["presence_misses"], fig["presence_on_time_rate"]) == (2, 1, 0.5)
    groups = api.get("/api/evaluation/figures", who="frank", params={"group_by": "unit", "period": period})["groups"]
    assert TOWN_A not in {g["code"] for g in groups}
    # a city's scheme may score them: 5 points off per miss, and the on-time rate as an item
    from shuzhi.domain.scoring import DEFAULT_SCHEME

    document = dict(DEFAULT_SCHEME, deductions={"presence_misses": 5})
    api.request("PUT", "/api/evaluation/schemes/duty", "admin", 200,
                json={"name": "含在岗抽查", "document": document, "activate": True})
    scored = next(i for i in api.get("/api/evaluation/colour-map", who="alice",
                                     params={"by": "unit", "period": period})["items"] if i["code"] == TOWN_A)
    assert scored["deduction"] == 5.0 and scored["score"] == row["score"] - 5
    bad = dict(DEFAULT_SCHEME, deductions={"presence_naps": 5})
    api.request("PUT", "/api/evaluation/schemes/duty", "admin", 422,
                json={"name": "x", "document": bad, "activate": True})


def test_a_pending_check_confirmed_late_is_missed_without_the_sweep(api: Api, desk: World,
                                                                   session_factory: sessionmaker[Session],
                                                                   uow: UnitOfWork) -> None:
    asked = _check(api, minutes=1)
    bob = load_actor(uow, "bob")
    with pytest.raises(duty_desk.Conflict):
        duty_desk.confirm_presence(UnitOfWork(session_factory), bob, asked["id"],
                                   now=datetime.now(UTC) + timedelta(minutes=3))
    with session_factory() as s:
        assert s.get(PresenceCheck, asked["id"]).state == "missed"  # type: ignore[union-attr]
        assert s.scalars(select(DutyHandover)).first() is None


def test_the_duty_page_renders_in_chinese(api: Api, world: World) -> None:
    page = api.client.get("/duty")
    assert page.status_code == 200 and "值班管理" in page.text and "交接班" in page.text
    assert 'href="/duty"' in api.client.get("/").text  # in the header's navigation, on every page
    assert 'id="duty-panel"' in api.client.get("/").text  # the cockpit's 当前值班 panel


def test_a_centre_keeps_its_own_roster_and_the_district_only_reads_it(api: Api, desk: World) -> None:
    shifts = api.get("/api/duty/shifts", who="alice", params={"unit_code": TOWN_A})
    assert len(shifts) == 2  # the district reads
    start = datetime.now(UTC) + timedelta(days=3)
    body = {"unit_code": TOWN_A, "person_code": "ivy", "role": "officer", "starts_at": _iso(start),
            "ends_at": _iso(start + timedelta(hours=8))}
    refused = api.post("/api/duty/shifts", "alice", body, status=403)
    assert refused["field"] == "unit_code" and "本中心" in refused["detail"]
    api.request("PATCH", f"/api/duty/shifts/{shifts[0]['id']}", "alice", 403, json={"note": "x"})
    api.request("DELETE", f"/api/duty/shifts/{shifts[0]['id']}", "alice", 403)
    files = {"file": ("值班表.csv", "日期,带班领导,值班员\n2026-12-20,,易梅\n".encode(), "text/csv")}
    api.request("POST", "/api/duty/shifts/import", "alice", 403, params={"unit_code": TOWN_A}, files=files)
    api.post("/api/duty/shifts", "bob", body, status=201)  # town A's own officer does
    api.post("/api/duty/shifts", "admin", {**body, "starts_at": _iso(start + timedelta(days=1)),
                                           "ends_at": _iso(start + timedelta(days=1, hours=8))}, status=201)
