"""Security II — data out: formula-safe files, masked free text, reasoned and row-limited reveals,
XML 1.0-safe Open311, and a sign-in page that only sends people to this site."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from shuzhi.adapters.open311_format import to_xml
from shuzhi.adapters.report_files import ReportDoc, Table, to_xlsx
from shuzhi.adapters.tabular import read_table, write_csv, write_xlsx
from shuzhi.domain.redirects import safe_next
from shuzhi.services import bulk_events
from shuzhi.services.actors import resolve_actor
from shuzhi.services.bulk_events import EventFilter
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

FORMULAS = ['=HYPERLINK("http://evil.example","点击")', "+A1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "＝1+1"]


def _export(client: TestClient, api: Api, who: str, status: int = 200, **params: Any) -> Any:
    r = client.get("/api/bulk/events/export", params=params, headers=api.headers(who))
    assert r.status_code == status, r.text
    return r


def _xlsx_cells(data: bytes) -> list[Any]:
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    return [c for row in ws.iter_rows() for c in row]


def test_a_reporter_s_formula_in_any_text_field_reaches_no_exported_file_as_a_formula(
        client: TestClient, api: Api, world: World) -> None:
    for f in FORMULAS:
        api.submit(who="bob", title=f, description=f, address=f)
    text = _export(client, api, "admin", format="csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(FORMULAS)
    for r in rows:
        for column in ("title", "description", "address"):
            assert r[column].startswith("'"), (column, r[column])
    cells = _xlsx_cells(_export(client, api, "admin", format="xlsx").content)
    assert [c for c in cells if c.data_type == "f"] == []
    assert {c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value} == {"'" + FORMULAS[0]}


def test_every_writer_of_spreadsheets_neutralises_formulas_and_reading_back_restores_them() -> None:
    rows = [{"a": f, "n": "-5.2"} for f in FORMULAS]
    csv_back = read_table(write_csv(rows, ["a", "n"]), "x.csv")
    xlsx_back = read_table(write_xlsx(rows, ["a", "n"]), "x.xlsx")
    # round trip unchanged (the importer strips the guard again); a plain negative number is never touched
    assert [r["a"] for r in csv_back] == [f.strip() for f in FORMULAS]
    assert [r["a"] for r in xlsx_back] == [f.strip() for f in FORMULAS]
    assert {r["n"] for r in csv_back + xlsx_back} == {"-5.2"}
    assert "'=HYPERLINK" in write_csv(rows, ["a", "n"]).decode("utf-8-sig")
    assert [c for c in _xlsx_cells(write_xlsx(rows, ["a", "n"])) if c.data_type == "f"] == []
    report = ReportDoc(title="=cmd|' /C calc'!A0", subtitle="", summary=[], charts=[],
                       tables=[Table(title="@evil", columns=["=x"], rows=[["+A1*2", 3.5]])])
    report_cells = _xlsx_cells(to_xlsx(report))
    assert [c for c in report_cells if c.data_type == "f"] == []
    assert {c.value for c in report_cells} >= {"'=cmd|' /C calc'!A0", "'=x", "'+A1*2", 3.5}


def test_phone_and_id_numbers_written_in_a_description_are_masked_like_the_fields(
        client: TestClient, api: Api, world: World) -> None:
    ev = api.submit(who="bob", description="请回电 13912345678，身份证500111199001011234，座机023-67891234")
    assert ev["description"] == "请回电 139****5678，身份证5001**********1234，座机023****1234"
    listed = api.get("/api/events", who="alice")["items"][0]
    assert "13912345678" not in listed["description"]
    rows = list(csv.DictReader(io.StringIO(_export(client, api, "admin").content.decode("utf-8-sig"))))
    assert rows[0]["description"] == ev["description"]
    shown = api.post(f"/api/events/{ev['number']}/reveal", "bob", {"reason": "回访核实处理结果"})
    assert "13912345678" in shown["description"]
    assert api.get("/api/audit", who="audrey", params={"action": "personal_data.reveal"})[0]["details"][
        "fields"] == ["description"]


def test_a_revealing_export_needs_a_reason_a_small_filter_and_audits_each_revealed_event(
        client: TestClient, api: Api, world: World, uow: UnitOfWork, session_factory: Any) -> None:
    numbers = [api.submit(who="bob", reporter_phone="13812345678")["number"] for _ in range(3)]
    assert _export(client, api, "admin", 422, reveal="true").json()["field"] == "reason"
    assert api.get("/api/audit", who="audrey", params={"action": "personal_data.export"}) == []
    rows = list(csv.DictReader(io.StringIO(
        _export(client, api, "admin", reveal="true", reason="回访核实").content.decode("utf-8-sig"))))
    assert {r["reporter_phone"] for r in rows} == {"13812345678"}
    entries = api.get("/api/audit", who="audrey", params={"action": "personal_data.export", "limit": 50})
    assert sorted(e["object"] for e in entries) == sorted(f"event:{n}" for n in numbers)
    assert {e["details"]["reason"] for e in entries} == {"回访核实"}
    # more events than the limit: refused, nothing revealed, nothing more audited
    with session_factory() as s:
        admin = resolve_actor(s, "admin")
    with pytest.raises(Exception, match="at most 2 events") as refused:
        bulk_events.export_events(uow, admin, EventFilter(), reveal=True, reason="回访", max_reveal_rows=2)
    assert getattr(refused.value, "field", None) == "reveal"
    assert len(api.get("/api/audit", who="audrey", params={"action": "personal_data.export", "limit": 50})) == 3


def test_open311_xml_stays_well_formed_when_a_reporter_pastes_control_characters(
        client: TestClient, api: Api, world: World) -> None:
    made = api.post("/api/api-keys", "admin", {"name": "市民App", "sources": ["online_app"], "write": True},
                    status=201)
    form = {"service_code": "0101", "lat": str(World.A1[1]), "long": str(World.A1[0]), "api_key": made["key"],
            "description": "井盖\x0b破损\x1b[31m，请处理\ufffe"}  # (NUL is refused at intake: PostgreSQL)
    r = client.post("/open311/v2/requests.xml", data=form)
    assert r.status_code in (200, 201), r.text
    number = ET.fromstring(r.content).findtext("request/service_request_id")
    got = client.get(f"/open311/v2/requests/{number}.xml", params={"api_key": made["key"]})
    assert got.status_code == 200, got.text
    description = ET.fromstring(got.content).findtext("request/description") or ""
    assert description == "井盖破损[31m，请处理"
    assert ET.fromstring(to_xml("r", {"d": "a\x00b\ud800c"})).findtext("d") == "abc"


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "/\t/evil.example", "/%5Cevil.example",
                                    "/%09/evil.example", "https://evil.example", "javascript:alert(1)",
                                    "/login?next=//evil", "\\\\evil.example", "/%2F%2Fevil.example"])
def test_the_login_page_refuses_a_next_that_leaves_the_site(client: TestClient, target: str) -> None:
    assert safe_next(target) == "/"
    page = client.get("/login", params={"next": target})
    assert page.status_code == 200 and 'data-next="/"' in page.text


def test_the_login_page_keeps_a_next_path_on_this_site(client: TestClient) -> None:
    assert safe_next("/events?state=new&area=500111") == "/events?state=new&area=500111"
    page = client.get("/login", params={"next": "/events?state=new"})
    assert 'data-next="/events?state=new"' in page.text
