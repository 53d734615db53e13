"""Ledger items and events, both ways (both engines): recurring waterlogging at one place — a pattern of
events — made one problem to rectify, linked to every event, in one action; a case that arose from a
task linked to it; and each event showing the items it belongs to, to those who may see them.

alice runs the district centre's problem list; bob is town A's duty officer (the events lie in town A,
the problem is his town's); frank is town B's; carol the city-management bureau's handler.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_ledgers import LedgerEventLink, LedgerItem
from tests.factories import World
from tests.integration.conftest import Api


def _waterlogging(api: Api, n: int) -> list[str]:
    body = {"source": "hotline", "title": "下穿道积水", "description": "大雨后下穿道又积水，车辆无法通行",
            "lon": World.A1[0], "lat": World.A1[1]}
    return [api.post("/api/events", "alice", body, status=201)["number"] for _ in range(n)]


def _problem_list(api: Api) -> None:
    api.post("/api/ledgers", "alice", {"code": "WT2026", "name": "2026年问题整改清单", "kind": "problem",
                                       "owner_unit": "C500111", "visibility": "private", "schedule": "monthly"})


def test_a_pattern_of_events_becomes_one_problem_linked_to_every_event(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    _problem_list(api)
    numbers = _waterlogging(api, 3)
    made = api.post("/api/ledgers/WT2026/items/from-events", "alice", {
        "title": "龙岗下穿道反复积水整治", "lead_unit": "C500111001", "leader": "张区长", "time_limit": "2027年6月底",
        "event_numbers": numbers, "note": "近一周三次积水"}, status=201)
    assert made["kind"] == "problem" and made["source"] == "other" and made["lead_unit"] == "C500111001"
    assert made["finding"].startswith("同类事件反复发生：3件") and numbers[0] in made["finding"]
    links = api.get(f"/api/ledger-items/{made['id']}/links")
    assert sorted(x["event_number"] for x in links) == sorted(numbers)
    assert {x["relation"] for x in links} == {"pattern"}
    first = api.get(f"/api/ledger-items/{made['id']}/timeline")[0]
    assert first["action"] == "item.from_events" and first["payload"]["events"] == numbers

    # each event shows the problem: the district, and the town whose problem it is
    for who in ("alice", "bob"):
        shown = api.get(f"/api/events/{numbers[1]}/ledger-items", who=who)
        assert [(x["item_id"], x["relation"], x["ledger"]) for x in shown] == [(made["id"], "pattern", "WT2026")]
    # town B sees neither the event nor (so) its items
    api.get(f"/api/events/{numbers[1]}/ledger-items", who="frank", status=404)


def test_all_or_nothing_and_only_the_ledgers_runner(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    _problem_list(api)
    numbers = _waterlogging(api, 2)
    body: dict[str, Any] = {"title": "积水整治", "lead_unit": "C500111001",
                            "event_numbers": [numbers[0], "500111-20000101-999999", numbers[1]]}
    bad = api.post("/api/ledgers/WT2026/items/from-events", "alice", body, status=422)
    assert bad["field"] == "event_numbers[1]"
    empty = api.post("/api/ledgers/WT2026/items/from-events", "alice", {**body, "event_numbers": []}, status=422)
    assert "event_numbers" in str(empty)
    # bob's town has no part in the private list yet: it is not even visible to him
    api.post("/api/ledgers/WT2026/items/from-events", "bob", {**body, "event_numbers": numbers}, status=404)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(LedgerItem)) == 0
        assert s.scalar(select(func.count()).select_from(LedgerEventLink)) == 0


def test_a_case_arising_from_a_task_shows_on_the_event(api: Api, world: World) -> None:
    api.post("/api/ledgers", "alice", {"code": "ZD2026", "name": "重点任务台账", "kind": "key_task",
                                       "owner_unit": "C500111", "visibility": "peers", "schedule": "monthly"})
    task = api.post("/api/ledgers/ZD2026/items", "alice", {"title": "背街小巷改造", "lead_unit": "C500111001"},
                    status=201)
    [case] = _waterlogging(api, 1)
    api.post(f"/api/ledger-items/{task['id']}/links", "bob", {"event_number": case, "relation": "arose_from"})
    shown = api.get(f"/api/events/{case}/ledger-items", who="bob")
    assert [(x["number"], x["relation"], x["state"]) for x in shown] == [(task["number"], "arose_from", "open")]
    assert api.get("/api/events/500111-20000101-999999/ledger-items", status=404)["detail"] == \
        "event 500111-20000101-999999 not found"


def test_a_published_bulletin_is_read_by_the_units_it_went_to(api: Api, world: World) -> None:
    """晒账 of a private ledger: town A, with an item in it, reads the published bulletin (not the
    preview of the whole ledger); town B, with no item, does not even see that the ledger exists."""
    _problem_list(api)
    api.post("/api/ledgers/WT2026/items", "alice", {"title": "镇街整改", "lead_unit": "C500111001",
                                                    "source": "audit", "finding": "台账不全"}, status=201)
    api.post("/api/ledgers/WT2026/items", "alice", {"title": "部门整改", "lead_unit": "D500111-CGJ",
                                                    "source": "audit", "finding": "制度缺失"}, status=201)
    published = api.post("/api/ledgers/WT2026/bulletins", "alice", {"period_kind": "monthly"}, status=201)
    listed = api.get("/api/ledgers/WT2026/bulletins", who="bob")
    assert [b["id"] for b in listed] == [published["id"]]
    read = api.get(f"/api/ledgers/WT2026/bulletins/{published['id']}", who="bob")
    assert {r["key"] for r in read["content"]["ranking"]} == {"C500111001", "D500111-CGJ"}
    api.get("/api/ledgers/WT2026/bulletin", who="bob", status=404)  # the live preview is the whole ledger's
    api.get(f"/api/ledgers/WT2026/bulletins/{published['id']}", who="frank", status=404)
    api.get("/api/ledgers/WT2026/bulletins", who="frank", status=404)
