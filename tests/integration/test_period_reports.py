"""The seeds' scored periods (每月通报, 季度通报, 半年小结, 年度考评): each report over its own window,
compared with the window before it — totals, areas, units with their ledger figures, and the ledgers'
responsible leaders — over the hand-computed fixture's events and two ledger items (both engines).

alice runs the district centre's ledger; carol is the city-management bureau's handler; bob is town A's.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.services.actors import resolve_actor
from shuzhi.services.ledgers import books, items, progress
from shuzhi.services.reports import generate_due_reports
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_evaluation_fixture import NOW, _play

APRIL = datetime(2024, 4, 1, 2, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n%evidence\n"


def _ledger_with_two_leaders(factory: sessionmaker[Session]) -> None:
    """张区长's town item is overdue since 10 June; 李副区长's bureau item was closed on 12 June, in time."""
    uow = UnitOfWork(factory)
    with factory() as s:
        alice, carol = resolve_actor(s, "alice"), resolve_actor(s, "carol")
    books.save_ledger(uow, books.LedgerCommand(code="ZG2024", name="2024年重点任务台账", kind="key_task",
                                               owner_unit="C500111", visibility="peers", schedule="monthly"),
                      alice, now=APRIL)
    items.create_item(uow, "ZG2024", items.ItemCommand(title="老旧小区雨污分流", lead_unit="C500111001",
                                                       leader="张区长", time_limit="2024-06-10"), alice, now=APRIL)
    done = items.create_item(uow, "ZG2024", items.ItemCommand(title="占道经营整治", lead_unit="D500111-CGJ",
                                                              leader="李副区长", time_limit="2024-06-15"),
                             alice, now=APRIL)
    june12 = datetime(2024, 6, 12, 2, 0, tzinfo=UTC)
    progress.add_attachment(uow, done.id, "evidence", "验收.pdf", "application/pdf", PDF, carol, max_bytes=10**6,
                            now=june12)
    items.act(uow, done.id, items.ActionCommand(action="submit", reason="已完成"), carol, now=june12)
    items.act(uow, done.id, items.ActionCommand(action="sign_off", reason="同意销号"), alice, now=june12)


def _sheets(api: Api, kind: str, day: str) -> tuple[dict[str, Any], dict[str, list[tuple[Any, ...]]]]:
    made = api.post("/api/reports", "alice", {"kind": kind, "date": day, "area": "500111"}, status=201)
    data = api.get(f"/api/reports/{made['id']}/report.xlsx", who="alice").content
    wb = load_workbook(io.BytesIO(data))
    # each sheet: the report's title, the table's title, the header, then the rows
    return made, {ws.title: list(ws.iter_rows(min_row=3, values_only=True)) for ws in wb.worksheets}


def test_each_scored_period_has_its_window_and_compares_with_the_previous(
        session_factory: sessionmaker[Session], world: World, api: Api) -> None:
    _play(session_factory, world)
    _ledger_with_two_leaders(session_factory)
    api.post("/api/evaluation/refresh", "admin")

    made, sheets = _sheets(api, "quarterly", "2024-05-20")
    assert made["period"] == "2024-Q2" and made["kind"] == "quarterly"
    # the totals against the previous quarter, as the evaluation API counts them for each window
    now = api.get("/api/evaluation/figures", params={"area": "500111", "period": "2024-Q2"})["total"]
    before = api.get("/api/evaluation/figures", params={"area": "500111", "period": "2024-Q1"})["total"]
    compared = {r[0]: r[1:] for r in sheets["与上期比较"][1:]}
    assert compared["受理数"] == (now["received"], before["received"],
                                f"{now['received'] - before['received']:+d}")
    assert now["received"] == 8 and before["received"] == 0

    # the ledgers' responsible leaders, ranked, with their own figures
    leaders = {r[1]: r for r in sheets["责任领导台账情况（与上期比较）"][1:]}
    assert set(leaders) == {"张区长", "李副区长"}
    zhang, li = leaders["张区长"], leaders["李副区长"]
    # 名次, 责任领导, 得分, 名次变化, 事项, 按期对账率, 较上期, 按期销账率, 较上期, 超期, 停滞, 反弹
    assert zhang[9] == 1 and zhang[7] == "0.0%" and li[9] == 0 and li[7] == "100.0%"
    assert li[0] == 1 and zhang[0] == 2 and li[3] == "新上榜"  # nothing was due in Q1

    # the units' ranking carries the ledger figures beside the events'
    units = {r[1]: r for r in sheets["各单位综合排名（事件与台账，与上期比较）"][1:]}
    town = units["龙岗街道城市运行和治理中心"]
    assert town[11] == 1  # 台账超期
    assert "各下级区域排名（与上期比较）" in sheets and "红榜" in sheets and "黑榜" in sheets

    # the half year, the year and the monthly bulletin cover their own windows
    assert _sheets(api, "half_year", "2024-03-01")[0]["period"] == "2024-H1"
    annual, annual_sheets = _sheets(api, "annual", "2024-06-30")
    assert annual["period"] == "2024" and annual["title"].endswith("年度考评")
    assert {r[1] for r in annual_sheets["责任领导台账情况（与上期比较）"][1:]} == {"张区长", "李副区长"}
    assert _sheets(api, "bulletin", "2024-06-03")[0]["period"] == "2024-06"
    # the plain monthly review stays as it was: no comparison sections
    assert "与上期比较" not in _sheets(api, "monthly", "2024-06-03")[1]

    bad = api.post("/api/reports", "alice", {"kind": "fortnightly", "area": "500111"}, status=422)
    assert bad["field"] == "kind" and "half_year" in bad["detail"]


def test_unit_rankings_carry_the_ledger_figures_and_the_previous_period(
        session_factory: sessionmaker[Session], world: World, api: Api) -> None:
    _play(session_factory, world)
    _ledger_with_two_leaders(session_factory)
    ranks = api.get("/api/evaluation/rankings", params={"area": "500111", "period": "2024-Q2", "by": "unit"})
    town = next(r for r in ranks["ranking"] if r["code"] == "C500111001")
    assert town["ledger_overdue"] == 1 and town["ledger_completion_rate"] == 0.0
    bureau = next(r for r in ranks["ranking"] if r["code"] == "D500111-CGJ")
    assert bureau["ledger_completion_rate"] == 1.0 and bureau["ledger_closed_on_time"] == 1
    assert set(town["previous"]) >= {"on_time_closure_rate", "ledger_report_rate", "ledger_overdue"}
    assert town["previous"]["ledger_overdue"] in (0, None)  # Q1: nothing was due yet


def test_the_worker_makes_every_period_report_once(session_factory: sessionmaker[Session], world: World) -> None:
    _play(session_factory, world)
    first = generate_due_reports(UnitOfWork(session_factory), NOW)
    assert sorted((r["kind"], r["period"]) for r in first) == [
        ("annual", "2023"), ("bulletin", "2024-05"), ("daily", "2024-06-19"), ("half_year", "2023-H2"),
        ("monthly", "2024-05"), ("quarterly", "2024-Q1"), ("weekly", "2024-W24")]
    assert generate_due_reports(UnitOfWork(session_factory), NOW) == []
