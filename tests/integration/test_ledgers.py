"""Ledgers (台账) through the services: the district reform office's ledger, items with the "四合一",
sub-items down to a town, 按期对账 with missed reports reminded and escalated on the working calendar,
到期销账 by the sign-off authority only, the bulletin, and scope.

alice runs the district centre's ledgers (dispatcher); carol is the city-management bureau's handler;
bob is town A's duty officer, frank town B's; grace is the district leader; admin the administrator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_ledgers import LedgerClock, LedgerClockStep, LedgerReportSlot, LedgerTimelineEntry
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.services.actors import resolve_actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.ledgers import books, browse, bulletin, clocks, items, progress
from shuzhi.services.security.authz import Forbidden
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World

# Monday 2026-03-02 10:00 Beijing time: an ordinary working week
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def who(uow: UnitOfWork, code: str) -> Any:
    with uow:
        return resolve_actor(uow.session, code)


def make_ledger(uow: UnitOfWork, **kw: Any) -> books.LedgerRecord:
    body = {"code": "GG2026", "name": "2026年改革项目台账", "kind": "reform", "owner_unit": "C500111",
            "visibility": "peers", "schedule": "weekly",
            "columns": [{"key": "category", "label": "改革类别", "type": "choice", "choices": ["经济", "民生"]},
                        {"key": "budget", "label": "资金（万元）", "type": "number"}]}
    body.update(kw)
    return books.save_ledger(uow, books.LedgerCommand(**body), who(uow, "alice"), now=MONDAY)


def make_item(uow: UnitOfWork, actor: str = "alice", ledger: str = "GG2026", **kw: Any) -> items.ItemView:
    body: dict[str, Any] = {"title": "推进城市管理综合执法改革", "lead_unit": "D500111-CGJ",
                            "assist_units": ["C500111001"], "leader": "吴昊", "person": "陈静",
                            "milestones": [{"title": "制定方案", "due": "2026-03-20"},
                                           {"title": "试点运行", "due": "2026年4月底"}],
                            "time_limit": "2026年6月底", "fields": {"category": "民生", "budget": "120"}}
    body.update(kw)
    return items.create_item(uow, ledger, items.ItemCommand(**body), who(uow, actor), now=MONDAY)


@pytest.fixture
def ledger(uow: UnitOfWork, world: World) -> books.LedgerRecord:
    return make_ledger(uow)


def test_an_item_carries_the_four_in_one_and_typed_columns(uow: UnitOfWork, ledger: books.LedgerRecord) -> None:
    item = make_item(uow)
    assert item.number == "1" and item.state == "open" and item.lead_unit == "D500111-CGJ"
    assert item.time_limit is not None and item.time_limit.isoformat() == "2026-06-30"
    assert item.milestones[1]["due"] == "2026-04-30"
    assert item.fields == {"category": "民生", "budget": 120}
    with pytest.raises(Invalid) as bad:
        make_item(uow, fields={"category": "文化"})
    assert bad.value.field == "fields.category" and "不在可选项" in bad.value.message
    with pytest.raises(Invalid) as bad_date:
        make_item(uow, time_limit="尽快")
    assert bad_date.value.field == "time_limit"


def test_weekly_report_missed_is_reminded_urged_and_escalated_on_the_working_calendar(
        uow: UnitOfWork, session_factory: sessionmaker[Session], ledger: books.LedgerRecord) -> None:
    item = make_item(uow)
    with session_factory() as s:
        slot = s.scalar(select(LedgerReportSlot).where(LedgerReportSlot.item_id == item.id))
        assert slot is not None and slot.period == "2026-W10"
        # due at the close of Friday 6 March (18:00 Beijing = 10:00 UTC, the default office hours)
        assert slot.due_at == datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    factory = lambda: UnitOfWork(session_factory)  # noqa: E731
    # one working day before the due time: Friday's opening (Thursday's close in working time)
    assert clocks.sweep(factory, datetime(2026, 3, 5, 12, 0, tzinfo=UTC)).steps == 0
    r1 = clocks.sweep(factory, datetime(2026, 3, 6, 1, 0, tzinfo=UTC))
    assert r1.by_step == {"report.remind": 1}
    r2 = clocks.sweep(factory, datetime(2026, 3, 6, 10, 1, tzinfo=UTC))
    assert r2.by_step == {"report.missing": 1}
    # Saturday and Sunday are not working days: the urge comes on Monday morning, escalation on Monday close
    assert clocks.sweep(factory, datetime(2026, 3, 8, 12, 0, tzinfo=UTC)).steps == 0
    r3 = clocks.sweep(factory, datetime(2026, 3, 9, 10, 1, tzinfo=UTC))
    assert r3.by_step == {"report.urge": 1, "report.escalate": 1}
    assert clocks.sweep(factory, datetime(2026, 3, 9, 10, 2, tzinfo=UTC)).steps == 0  # each step once
    with session_factory() as s:
        units = {u for (u,) in s.execute(select(Notification.unit_id).where(Notification.kind ==
                                                                              "ledger.report.escalate"))}
        # the lead unit, the ledger's owner (district centre) — the centre above a district bureau
        assert len(units) == 2
        acts = [a for (a,) in s.execute(select(LedgerTimelineEntry.action).where(
            LedgerTimelineEntry.item_id == item.id).order_by(LedgerTimelineEntry.id))]
        assert acts[:5] == ["item.create", "ledger.report.remind", "ledger.report.missing",
                            "ledger.report.urge", "ledger.report.escalate"]
        # the clock carries on with the next week's report
        nxt = s.scalar(select(LedgerClock).where(LedgerClock.item_id == item.id, LedgerClock.kind == "report"))
        assert nxt is not None and nxt.next_due_at > datetime(2026, 3, 9, 10, 2, tzinfo=UTC)
    # a late report answers the missed week (late) and the current one (on time)
    carol = who(uow, "carol")
    after = progress.report_progress(uow, item.id, progress.ReportCommand(narrative="方案已起草", progress=30),
                                     carol, now=datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    assert after.state == "in_progress" and after.progress == 30
    reports = progress.list_reports(uow, item.id, carol)
    assert reports[0].periods == [{"period": "2026-W10", "on_time": False}, {"period": "2026-W11", "on_time": True}]


def test_sub_items_go_down_to_a_town_and_progress_rolls_up(uow: UnitOfWork, ledger: books.LedgerRecord) -> None:
    parent = make_item(uow, lead_unit="C500111", assist_units=[], fields={})
    alice = who(uow, "alice")
    town = items.create_item(uow, "GG2026", items.ItemCommand(title="龙岗街道试点", lead_unit="C500111001",
                                                              parent_id=parent.id), alice, now=MONDAY)
    items.create_item(uow, "GG2026", items.ItemCommand(title="棠香街道试点", lead_unit="C500111002",
                                                       parent_id=parent.id), alice, now=MONDAY)
    assert town.number == "1-1" and town.depth == 1
    bob = who(uow, "bob")
    # the town cannot assign to a unit outside its own area, nor sideways
    with pytest.raises(Invalid):
        items.create_item(uow, "GG2026", items.ItemCommand(title="越级交办", lead_unit="C500111002", parent_id=town.id),
                          bob, now=MONDAY)
    progress.report_progress(uow, town.id, progress.ReportCommand(narrative="已完成摸底", progress=60), bob,
                             now=MONDAY + timedelta(hours=1))
    assert progress.get_item(uow, parent.id, alice).progress == 30  # (60 + 0) / 2
    # bob sees his town's sub-item and not town B's; frank the other way round
    page = browse.list_items(uow, "GG2026", browse.ItemFilter(), bob)
    assert [i.number for i in page.items] == ["1", "1-1", "1-2"]  # peers: the whole ledger (晒账)
    private = make_ledger(uow, code="SY2026", name="试点台账", visibility="private")
    assert private.code == "SY2026"
    items.create_item(uow, "SY2026", items.ItemCommand(title="B镇试点", lead_unit="C500111002"), alice, now=MONDAY)
    with pytest.raises(NotFound):
        browse.list_items(uow, "SY2026", browse.ItemFilter(), bob)
    assert browse.list_items(uow, "SY2026", browse.ItemFilter(), who(uow, "frank")).total == 1


def test_only_the_sign_off_authority_closes_with_evidence_and_reopening_is_counted(
        uow: UnitOfWork, ledger: books.LedgerRecord) -> None:
    item = make_item(uow)
    carol, alice = who(uow, "carol"), who(uow, "alice")
    with pytest.raises(Conflict) as no_evidence:
        items.act(uow, item.id, items.ActionCommand(action="submit"), carol, now=MONDAY)
    assert no_evidence.value.field == "attachments"
    progress.add_attachment(uow, item.id, "evidence", "验收.pdf", "application/pdf", b"%PDF-1.4 x", carol,
                            max_bytes=10_000, now=MONDAY)
    with pytest.raises(Forbidden):
        items.act(uow, item.id, items.ActionCommand(action="submit"), alice, now=MONDAY)  # not the lead unit
    pending = items.act(uow, item.id, items.ActionCommand(action="submit", reason="已完成"), carol, now=MONDAY)
    assert pending.state == "pending_sign_off"
    for nobody in (carol, who(uow, "bob")):  # the lead unit, an assisting town: not the authority
        with pytest.raises(Forbidden):
            items.act(uow, item.id, items.ActionCommand(action="sign_off"), nobody, now=MONDAY)
    with pytest.raises(NotFound):  # town B has no part in it and does not even see it
        items.act(uow, item.id, items.ActionCommand(action="sign_off"), who(uow, "frank"), now=MONDAY)
    closed = items.act(uow, item.id, items.ActionCommand(action="sign_off", reason="验收合格"), alice, now=MONDAY)
    assert closed.state == "closed" and closed.colour == "blue"
    assert browse.list_items(uow, "GG2026", browse.ItemFilter(), alice).total == 0  # left the active view
    assert browse.list_items(uow, "GG2026", browse.ItemFilter(view="closed"), alice).total == 1
    with pytest.raises(Invalid):
        items.act(uow, item.id, items.ActionCommand(action="reopen"), alice, now=MONDAY)  # needs a reason
    again = items.act(uow, item.id, items.ActionCommand(action="reopen", reason="问题反弹"), alice, now=MONDAY)
    assert again.state == "in_progress" and again.reopen_count == 1
    with pytest.raises(Conflict):
        items.act(uow, item.id, items.ActionCommand(action="sign_off"), alice, now=MONDAY)
    history = [t.action for t in progress.timeline(uow, item.id, alice)]
    assert history == ["item.create", "item.attach_evidence", "item.submit", "item.sign_off", "item.reopen"]


def test_bulletin_ranks_units_and_lists_overdue_items(uow: UnitOfWork, ledger: books.LedgerRecord,
                                                      session_factory: sessionmaker[Session]) -> None:
    make_item(uow, time_limit="2026-03-10")
    make_item(uow, title="B镇任务", lead_unit="C500111002", assist_units=[], time_limit="2026-12-31")
    alice = who(uow, "alice")
    late = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)
    b = bulletin.publish(uow, "GG2026", alice, period_kind="monthly", day="2026-03-20", now=late)
    ranking = b.content["ranking"]
    assert [r["key"] for r in ranking] == ["C500111002", "D500111-CGJ"]
    assert ranking[1]["overdue"] == 1 and b.content["overdue"][0]["days_overdue"] == 10
    for fmt in ("html", "xlsx", "docx"):
        body, _media, name = bulletin.render(b, fmt)
        assert body and name.endswith(fmt)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "ledger.bulletin")) == 4  # two lead units, the assisting town, the owner
    with pytest.raises(Forbidden):
        bulletin.publish(uow, "GG2026", who(uow, "carol"), now=late)


def test_deadline_clock_follows_the_tasks_rules(uow: UnitOfWork, ledger: books.LedgerRecord,
                                                session_factory: sessionmaker[Session]) -> None:
    item = make_item(uow, time_limit="2026-03-13")
    factory = lambda: UnitOfWork(session_factory)  # noqa: E731
    result = clocks.sweep(factory, datetime(2026, 3, 16, 10, 0, tzinfo=UTC))
    assert result.by_step.get("deadline.overdue") == 1 and result.by_step.get("deadline.urge") == 1
    with session_factory() as s:
        steps = {st for (st,) in s.execute(select(LedgerClockStep.step).where(LedgerClockStep.item_id == item.id,
                                                                             LedgerClockStep.kind == "deadline"))}
        assert {"overdue", "urge", "yellow_card"} <= steps
