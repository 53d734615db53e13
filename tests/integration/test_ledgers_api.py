"""Ledgers over HTTP: a messy Excel ledger imported with a mapping step and a preview, row errors in
Chinese, near-miss unit names confirmed and remembered, exported in the same layout; bad input gets a
field-level 4xx; ledger figures join the standard rankings with weights in the scoring scheme."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_ledgers import LedgerItem
from shuzhi.services import evaluation_schemes
from shuzhi.services.actors import resolve_actor
from shuzhi.services.ledgers import progress
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def messy_workbook(rows: list[list[Any]]) -> bytes:
    """As offices send them: a merged title, a two-row header with a merged group, free-form dates."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["大足区2026年重点改革任务台账（截至3月）"])
    ws.merge_cells("A1:G1")
    ws.append(["序号", "改革任务", "责任单位", None, "完成时限", "进度", "改革类别"])
    ws.append([None, None, "牵头单位", "配合单位", None, None, None])
    for col in ("A", "B", "E", "F", "G"):
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("C2:D2")
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_ROWS = [
    ["1", "推进城市管理综合执法改革", "大足区城管局", "龙岗街道城市运行和治理中心", "2026年6月底", "30%", "民生"],
    ["1.1", "龙岗街道执法队伍整合", "龙岗街道城市运行和治理中心", "", "2026/5/31", "", "民生"],
    ["2", "优化营商环境", "大足区城市管理局", "", "2026年第三季度", "0.2", "经济"],
]


def ledger(api: Api) -> dict[str, Any]:
    return api.post("/api/ledgers", "alice", {
        "code": "ZD2026", "name": "重点改革任务台账", "kind": "key_task", "owner_unit": "C500111",
        "visibility": "peers", "schedule": "monthly",
        "columns": [{"key": "category", "label": "改革类别", "type": "choice", "choices": ["经济", "民生"]}]})


def upload(api: Api, path: str, data: bytes, status: int = 200, **form: str) -> Any:
    return api.request("POST", path, "alice", status, files={"file": ("台账.xlsx", data, XLSX)}, data=form)


def test_a_messy_excel_ledger_is_previewed_mapped_fixed_imported_and_exported(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ledger(api)
    bad = messy_workbook([*GOOD_ROWS, ["3", "推进河长制改革", "区水务公司", "", "尽快", "", "生态"]])
    preview = upload(api, "/api/ledgers/ZD2026/import/preview", bad)
    assert preview["mapping"]["改革任务"] == "title"
    assert preview["mapping"]["责任单位/牵头单位"] == "lead_unit"
    assert preview["mapping"]["责任单位/配合单位"] == "assist_units"
    assert preview["mapping"]["改革类别"] == "fields.category"
    messages = {(e["row"], e["column"]): e["message"] for e in preview["errors"]}
    assert "无法识别的日期“尽快”" in messages[(7, "完成时限")]
    assert "不在可选项" in messages[(7, "改革类别")]
    assert "未找到单位“大足区城管局”" in messages[(4, "责任单位/牵头单位")]
    miss = next(u for u in preview["units"] if u["text"] == "大足区城管局")
    assert miss["suggestions"][0] == {"name": "大足区城市管理局", "code": "D500111-CGJ"}
    # all or nothing: a file with errors writes nothing
    refused = upload(api, "/api/ledgers/ZD2026/import", bad, status=422)
    assert refused["field"] == "file" and "第4行" in refused["detail"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(LedgerItem)) == 0
    # the office fixes its row, confirms the near miss; the import remembers both
    fixed = messy_workbook(GOOD_ROWS)
    done = upload(api, "/api/ledgers/ZD2026/import", fixed, unit_aliases='{"大足区城管局": "D500111-CGJ"}')
    assert done == {"created": 3, "sub_items": 1, "mapping": preview["mapping"]}
    again = upload(api, "/api/ledgers/ZD2026/import/preview", messy_workbook([
        ["9", "新增任务", "大足区城管局", "", "2026-12-31", "", "经济"]]))
    assert again["errors"] == [] and again["units"] == []
    page = api.get("/api/ledgers/ZD2026/items")
    by_number = {i["number"]: i for i in page["items"]}
    assert by_number["1.1"]["parent_id"] == by_number["1"]["id"]
    assert by_number["1"]["assist_units"] == [{"code": "C500111001", "name": "龙岗街道城市运行和治理中心"}]
    assert by_number["2"]["time_limit"] == "2026-09-30" and by_number["2"]["progress"] == 20
    # export in the same layout: the title row, the flattened header in the same order
    r = api.request("GET", "/api/ledgers/ZD2026/export", "alice")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    assert ws.cell(1, 1).value == "大足区2026年重点改革任务台账（截至3月）"
    header = [c.value for c in ws[2]]
    assert header[:7] == ["序号", "改革任务", "责任单位/牵头单位", "责任单位/配合单位", "完成时限", "进度", "改革类别"]
    assert [c.value for c in ws[3]][:3] == ["1", "推进城市管理综合执法改革", "大足区城市管理局"]
    # filtered by a custom column
    economy = api.get("/api/ledgers/ZD2026/items", params={"field": "category:经济"})
    assert [i["number"] for i in economy["items"]] == ["2"]


def test_bad_input_gets_a_field_level_answer(api: Api, world: World) -> None:
    ledger(api)
    bad_col = api.post("/api/ledgers", "alice", {"code": "X1", "name": "台账", "kind": "custom",
                                                 "owner_unit": "C500111",
                                                 "columns": [{"key": "a", "label": "类别", "type": "choice"}]},
                       status=422)
    assert bad_col["field"] == "columns[0].choices"
    unknown_unit = api.post("/api/ledgers/ZD2026/items", "alice", {"title": "任务", "lead_unit": "NOPE"}, status=422)
    assert unknown_unit["field"] == "lead_unit"
    not_a_date = api.post("/api/ledgers/ZD2026/items", "alice", {"title": "任务", "lead_unit": "C500111001",
                                                                 "time_limit": "尽快"}, status=422)
    assert not_a_date["field"] == "time_limit"
    typo = api.post("/api/ledgers/ZD2026/items", "alice", {"title": "任务", "lead_unit": "C500111001",
                                                           "time_limit": "2206-06-30"}, status=422)
    assert typo["field"] == "time_limit" and "超过5年" in typo["detail"]
    not_a_sheet = upload(api, "/api/ledgers/ZD2026/import/preview", b"not a workbook", status=422)
    assert not_a_sheet["field"] == "file"
    bad_filter = api.get("/api/ledgers/ZD2026/items", status=422, params={"field": "nosuch:1"})
    assert bad_filter["field"] == "fields.nosuch"
    item = api.post("/api/ledgers/ZD2026/items", "alice", {"title": "任务", "lead_unit": "C500111001"}, status=201)
    too_much = api.post(f"/api/ledger-items/{item['id']}/reports", "bob", {"narrative": "完成", "progress": 100},
                        status=422)
    assert too_much["field"] == "progress"
    wrong_unit = api.post(f"/api/ledger-items/{item['id']}/reports", "carol", {"narrative": "完成了"}, status=404)
    assert "not found" in wrong_unit["detail"]  # carol's bureau has no part in it: it is not even visible
    html = api.request("GET", "/api/ledgers/ZD2026/bulletin", "alice", params={"format": "pdf"}, status=422)
    assert html["field"] == "format"


def test_ledger_figures_join_the_rankings_with_weights_in_the_scheme(
        api: Api, world: World, uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    ledger(api)
    item = api.post("/api/ledgers/ZD2026/items", "alice", {"title": "镇街任务", "lead_unit": "C500111001",
                                                          "time_limit": "2020-01-31"}, status=201)
    assert item["colour"] == "red" and item["overdue"]
    with session_factory() as s:
        admin = resolve_actor(s, "admin")
    scheme = {"total": 100, "items": [
        {"rate": "on_time_closure_rate", "weight": 60, "full_mark_at": 0.95, "zero_at": 0.6},
        {"rate": "ledger_report_rate", "weight": 40, "full_mark_at": 1.0, "zero_at": 0.5}],
        "deductions": {"ledger_overdue": 5}}
    evaluation_schemes.save_scheme(uow, admin, "with-ledgers", "含台账", scheme)
    today = datetime.now(UTC).strftime("%Y-%m")
    ranking = api.get("/api/evaluation/rankings", params={"period": today, "by": "unit"})
    town = next(r for r in ranking["ranking"] if r["code"] == "C500111001")
    assert town["score"] == 95.0  # full marks where nothing was due, less 5 for the overdue item
    figures = api.get("/api/ledger-figures", params={"period_kind": "annual", "ledger": "ZD2026"})
    assert figures["rows"][0]["key"] == "C500111001" and figures["rows"][0]["overdue"] == 1
    assert figures["previous_period"] == str(int(figures["period"]) - 1)
    refused = api.request("PUT", "/api/evaluation/schemes/x", "admin", 422, json={
        "name": "x", "document": {**scheme, "items": [{"rate": "ledger_nonsense", "weight": 100,
                                                       "full_mark_at": 1, "zero_at": 0}]}})
    assert "ledger_nonsense" in refused["detail"]
    assert progress.get_item(uow, item["id"], admin).state == "open"


def test_the_cockpit_ledger_board_counts_five_colours_in_scope(api: Api, world: World) -> None:
    ledger(api)
    api.post("/api/ledgers/ZD2026/items", "alice", {"title": "镇街任务", "lead_unit": "C500111001"}, status=201)
    api.post("/api/ledgers/ZD2026/items", "alice", {"title": "区级任务", "lead_unit": "C500111"}, status=201)
    board = api.get("/api/ledger-board")
    zd = next(b for b in board["ledgers"] if b["code"] == "ZD2026")
    assert zd["total"] == 2 and set(zd["colours"]) == {"green", "blue", "yellow", "orange", "red"}
    assert sum(board["colours"].values()) == sum(b["total"] for b in board["ledgers"])
    # bob (town A) counts exactly what his ledger page shows him (the same scope)
    bobs = api.get("/api/ledger-board", who="bob")
    page = api.get("/api/ledgers/ZD2026/items", who="bob", params={"view": "all"})
    assert [b["colours"] for b in bobs["ledgers"] if b["code"] == "ZD2026"] == [page["colours"]]
