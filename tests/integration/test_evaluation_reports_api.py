"""Reports (daily / weekly / monthly) and the evaluation API, over the hand-computed fixture's events."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.services.reports import generate_due_reports
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import need_service
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_evaluation_fixture import NOW, SH, _play


def test_reports_render_store_list_and_open_in_libreoffice(session_factory: sessionmaker[Session], world: World,
                                                           api: Api, tmp_path: Path) -> None:
    _play(session_factory, world)
    made = api.post("/api/reports", "alice", {"kind": "monthly", "date": "2024-06-15", "area": "500111"}, status=201)
    assert made["period"] == "2024-06"
    listed = api.get("/api/reports", who="alice")
    assert [r["id"] for r in listed] == [made["id"]]
    html = api.get(f"/api/reports/{made['id']}/report.html", who="alice").text
    assert "结案率" in html and "<script>" not in html.replace("<script>alert", "")
    xlsx = api.get(f"/api/reports/{made['id']}/report.xlsx", who="alice").content
    wb = load_workbook(io.BytesIO(xlsx))
    assert "总体指标" in wb.sheetnames and "部门赛马排名" in wb.sheetnames
    overall = {r[0]: r[1] for r in wb["总体指标"].iter_rows(min_row=4, values_only=True)}
    assert overall["受理数"] == 8 and overall["结案率"] == "80.0%"
    docx = api.get(f"/api/reports/{made['id']}/report.docx", who="alice").content
    document = Document(io.BytesIO(docx))
    assert len(document.tables) == len(wb.sheetnames)
    assert len(document.inline_shapes) == 3  # town scores, daily trend, sources
    api.get(f"/api/reports/{made['id']}/report.pdf", who="alice", status=404)
    assert api.get("/api/reports", who="frank") == []  # town B cannot see the district's report
    api.get(f"/api/reports/{made['id']}/report.xlsx", who="frank", status=404)

    soffice = shutil.which("soffice")
    need_service(soffice is not None, "LibreOffice (soffice)")
    for name, data in (("monthly.xlsx", xlsx), ("monthly.docx", docx)):
        (tmp_path / name).write_bytes(data)
        subprocess.run([str(soffice), "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                        "pdf", "--outdir", str(tmp_path), str(tmp_path / name)], check=True, timeout=180,
                       capture_output=True)
        pdf = tmp_path / name.replace(Path(name).suffix, ".pdf")
        assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")


def test_due_reports_are_made_once(session_factory: sessionmaker[Session], world: World) -> None:
    _play(session_factory, world)
    first = generate_due_reports(UnitOfWork(session_factory), NOW)
    assert sorted((r["kind"], r["period"]) for r in first if r["kind"] in ("daily", "weekly", "monthly")) == [
        ("daily", "2024-06-19"), ("monthly", "2024-05"), ("weekly", "2024-W24")]
    assert generate_due_reports(UnitOfWork(session_factory), NOW) == []


def test_cli_report_writes_three_files(session_factory: sessionmaker[Session], world: World, engine: Engine,
                                       tmp_path: Path) -> None:
    from shuzhi.entrypoints.cli import app

    _play(session_factory, world)
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["report", "weekly", "--date", "2024-06-05", "--area", "500111", "--out",
                                      str(tmp_path), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in tmp_path.glob("weekly-2024-W23.*")) == [".docx", ".html", ".xlsx"]
    bad = CliRunner().invoke(app, ["report", "weekly", "--date", "June", "--database-url", url])
    assert bad.exit_code == 2
    half = CliRunner().invoke(app, ["report", "half-year", "--date", "2024-06-05", "--area", "500111", "--out",
                                    str(tmp_path), "--database-url", url])
    assert half.exit_code == 0, half.output
    assert sorted(p.suffix for p in tmp_path.glob("half_year-2024-H1.*")) == [".docx", ".html", ".xlsx"]


def test_evaluation_api(session_factory: sessionmaker[Session], world: World, api: Api) -> None:
    _play(session_factory, world)
    api.post("/api/evaluation/refresh", "carol", status=403)  # a handler may read, not refresh
    api.post("/api/evaluation/refresh?full=true", "alice", status=403)  # duty officers have no evaluation.write
    api.post("/api/evaluation/refresh", "admin")
    figs = api.get("/api/evaluation/figures?area=500111&period=2024-06&group_by=area")
    assert figs["total"]["received"] == 8
    assert {g["code"] for g in figs["groups"]} == {"500111001", "500111002"}
    cmap = api.get("/api/evaluation/colour-map?area=500111&period=2024-06")
    assert len(cmap["items"]) == 2 and len(cmap["bands"]) == 5
    ranks = api.get("/api/evaluation/rankings?area=500111&period=2024-06&by=unit")
    assert ranks["previous_period"] == "2024-05" and ranks["ranking"]
    people = api.get("/api/evaluation/people?area=500111&period=2024-06")
    assert {p["code"] for p in people["people"]} >= {"alice", "carol", "dave"}
    r = api.get("/api/evaluation/figures?area=500111&period=2024-06-30..2024-06-01", status=422)
    assert r["field"] == "period"
    api.get("/api/evaluation/figures?area=500111&period=2024-06&unit=NOPE", status=404)
    api.get("/api/evaluation/figures?area=500111&period=2024-06&group_by=colour", status=422)
    bad = {"name": "x", "document": {"items": [{"rate": "closure_rate", "weight": 50, "full_mark_at": 0.9,
                                                "zero_at": 0.95}],
                                     "bands": [{"colour": "green", "min_score": 60},
                                               {"colour": "red", "min_score": 80}]}}
    r = api.request("PUT", "/api/evaluation/schemes/x", "admin", 422, json=bad)
    errors = r["details"]["errors"]
    assert "items" in errors and "items[0].full_mark_at" in errors and "bands[1].min_score" in errors
    good = {"name": "严格", "document": {"total": 100, "items": [
        {"rate": "on_time_closure_rate", "weight": 100, "full_mark_at": 0.99, "points_per_point": 5}],
        "bands": [{"colour": "green", "min_score": 95}, {"colour": "red", "min_score": 0}]}}
    saved = api.request("PUT", "/api/evaluation/schemes/strict", "admin", 200, json=good)
    assert saved["active"] is True
    cmap = api.get("/api/evaluation/colour-map?area=500111&period=2024-06")
    town_a = next(i for i in cmap["items"] if i["code"] == "500111001")
    # on-time closure 80 %: 19 points below 99 % at 5 per point → 5 points
    assert town_a["score"] == 5.0 and town_a["colour"] == "red"
    api.request("PUT", "/api/evaluation/schemes/strict2", "carol", 403, json=good)
    assert datetime(2024, 6, 1, tzinfo=SH) < NOW
