"""Bulk import and export of events: per-row errors, intake rules kept, idempotent re-import, scoped and
masked exports — by API and by the command line."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.adapters.db.tables import Event, TimelineEntry
from shuzhi.entrypoints.cli import app
from tests.factories import World
from tests.integration.conftest import Api

HEADER = ["外部编号", "来源", "类别编码", "标题", "描述", "经度", "纬度", "报告人", "联系电话", "受理时间"]


def _row(ref: str, point: tuple[float, float] = World.A1, **over: str) -> list[str]:
    values = {"外部编号": ref, "来源": "legacy_system", "类别编码": "0101", "标题": "井盖破损", "描述": "旧系统案卷",
              "经度": str(point[0]), "纬度": str(point[1]), "报告人": "张伟", "联系电话": "13812345678",
              "受理时间": "2024-06-13 08:30"}
    values.update(over)
    return [values[h] for h in HEADER]


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def _import(api: Api, data: bytes, name: str = "legacy.csv", who: str = "admin", status: int = 200) -> Any:
    return api.request("POST", "/api/bulk/events/import", who, status, files={"file": (name, data)})


def test_valid_rows_are_registered_like_intake_and_bad_rows_named(api: Api, world: World,
                                                                   session_factory: sessionmaker[Session]) -> None:
    rows = [_row("L-1"), _row("L-2", World.B1), _row("L-3", 标题=""), _row("L-4", 经度="east"),
            _row("L-5", 类别编码="9999"), _row("L-6", 受理时间="yesterday"), _row("L-1"), _row("L-7", 联系电话="abc")]
    report = _import(api, _csv(rows))
    assert (report["rows"], report["created"], report["skipped"], report["rejected"]) == (8, 2, 0, 6)
    problems = {(e["row"], e["column"]) for e in report["errors"]}
    # header is row 1: L-3 is row 4 …
    assert problems == {(4, "title"), (5, "lon"), (6, "event_class_code"), (7, "received_at"),
                        (8, "external_ref"), (9, "reporter_phone")}
    assert any("also row 2" in e["message"] for e in report["errors"])
    with session_factory() as s:
        events = {e.external_ref: e for e in s.scalars(select(Event))}
        assert set(events) == {"L-1", "L-2"}
        one = events["L-1"]
        # numbered in the district's book of the local day it was received, located in its grid
        assert one.number.startswith("500111-20240613-")
        assert one.area_path and one.area_path.endswith("/500111001001001/")
        assert events["L-2"].area_path and events["L-2"].area_path.endswith("/500111002001001/")
        assert one.state == "registered" and one.owner_unit_id is not None and one.source == "legacy_system"
        assert one.received_at.isoformat().startswith("2024-06-13T00:30")  # 08:30 Beijing time
        lines = s.scalars(select(TimelineEntry).where(TimelineEntry.event_id == one.id)).all()
        assert [(t.action, t.to_state) for t in lines] == [("event.register", "registered")]
        assert lines[0].payload["import"] == "legacy.csv"
        numbers = sorted(e.number for e in events.values())
        assert len(set(numbers)) == 2


def test_reimport_skips_what_was_imported(api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    data = _csv([_row(f"R-{i}") for i in range(5)])
    assert _import(api, data)["created"] == 5
    again = _import(api, _csv([_row(f"R-{i}") for i in range(7)]))
    assert (again["created"], again["skipped"]) == (2, 5)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 7
        # numbers continue the day's sequence, never reused
        numbers = [n for n in s.scalars(select(Event.number))]
        assert len(set(numbers)) == 7


def test_import_of_xlsx_and_batches_smaller_than_the_file(api: Api, world: World, engine: Engine,
                                                          tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for i in range(25):
        ws.append(_row(f"X-{i}", World.A2))
    path = tmp_path / "旧系统.xlsx"
    wb.save(path)
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["import", "events", str(path), "--database-url", url, "--batch", "10"])
    assert result.exit_code == 0, result.output
    assert "25 created" in result.output
    result = CliRunner().invoke(app, ["import", "events", str(path), "--database-url", url])
    assert result.exit_code == 0 and "25 already imported" in result.output
    items = api.get("/api/events", who="admin", params={"limit": 100})["items"]
    assert len(items) == 25


def test_import_needs_permission_and_the_required_columns(api: Api, world: World) -> None:
    _import(api, _csv([_row("P-1")]), who="bob", status=403)
    bad = "标题,描述\n井盖,x\n".encode()
    body = _import(api, bad, status=422)
    assert "external_ref" in body["detail"]
    _import(api, b"\x00\x01", name="x.pdf", status=422)


def test_cli_import_names_bad_rows_and_exits_1(world: World, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(_csv([_row("C-1"), _row("C-2", 纬度="north")]))
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["import", "events", str(path), "--database-url", url])
    assert result.exit_code == 1
    assert "1 created" in result.output and "lat" in result.output


def _export(client: TestClient, api: Api, who: str, status: int = 200, **params: Any) -> Any:
    r = client.get("/api/bulk/events/export", params=params, headers=api.headers(who))
    assert r.status_code == status, r.text
    if status != 200:
        return r.json()
    if params.get("format") == "xlsx":
        ws = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
        values = [[("" if c is None else str(c)) for c in row] for row in ws.iter_rows(values_only=True)]
        return [dict(zip(values[0], v, strict=True)) for v in values[1:]]
    text = r.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_export_is_scoped_filtered_and_masked(client: TestClient, api: Api, world: World) -> None:
    _import(api, _csv([_row("E-1"), _row("E-2", World.B1), _row("E-3", 类别编码="0201")]))
    everything = _export(client, api, "admin")
    assert {r["external_ref"] for r in everything} == {"E-1", "E-2", "E-3"}
    assert {r["reporter_phone"] for r in everything} == {"138****5678"}
    assert {r["reporter_name"] for r in everything} == {"张*"}
    # bob is a town-A duty officer: town B's event is not his to export
    assert {r["external_ref"] for r in _export(client, api, "bob")} == {"E-1", "E-3"}
    assert {r["external_ref"] for r in _export(client, api, "admin", event_class="0201")} == {"E-3"}
    assert {r["external_ref"] for r in _export(client, api, "admin", area_code="500111002")} == {"E-2"}
    revealed = _export(client, api, "admin", reveal="true", reason="回访核实", format="xlsx")
    assert {r["reporter_phone"] for r in revealed} == {"13812345678"}
    assert {r["received_at"] for r in revealed} == {"2024-06-13T08:30:00+08:00"}
    # carol handles tasks; exporting is not hers
    _export(client, api, "carol", status=403)
    _export(client, api, "admin", status=422, area_code="nowhere")


def test_cli_export_writes_the_filtered_file(api: Api, world: World, engine: Engine, tmp_path: Path) -> None:
    _import(api, _csv([_row("F-1"), _row("F-2", World.B1)]))
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["export", "events", str(out), "--database-url", url, "--area", "500111001"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["external_ref"] for r in rows] == ["F-1"] and rows[0]["reporter_phone"] == "138****5678"
    # an exported file imports again without duplicating anything
    result = CliRunner().invoke(app, ["import", "events", str(out), "--database-url", url])
    assert result.exit_code == 0 and "1 already imported" in result.output, result.output
