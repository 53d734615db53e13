"""A red warning at night climbs the escalation chain over real SMS until the leader in charge replies "1".

Town A's roster puts bob on duty tonight as officer and hao (the town's leader) as leader on duty; grace
is the district's leader, in charge of the towns. Bob has quiet hours now — a red warning is urgent and
goes through them. Nobody answers bob's or the town desk's SMS, nor hao's; grace replies "1" from her
phone. Everything goes through a private Kannel (bearerbox + smsbox + fakesmsc) and a live API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, Person, TimelineEntry, Unit
from shuzhi.adapters.db.tables_duty import DutyShift
from shuzhi.adapters.db.tables_notices import Notice, NoticeChain, NoticeSetting
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain.notices import LOCAL
from shuzhi.services.actors import SYSTEM
from shuzhi.services.notices import escalation
from shuzhi.services.notices import sender as notice_sender
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.live_notices import Live, wait_until
from tests.integration.test_warnings import RIVER
from tests.sensing_data import load_sensing, reading

PHONES = {"bob": "13800000001", "hao": "13800000002", "grace": "13800000003"}
TOWN_DESK = "13800000009"
FAST = [{"after_minutes": 0, "who": ["duty_officer", "unit"], "channels": ["sms", "im", "inapp"]},
        {"after_minutes": 0.1, "who": ["unit_leader"], "channels": ["sms", "inapp"]},
        {"after_minutes": 0.2, "who": ["leader_in_charge"], "channels": ["sms", "inapp"]}]


def _staff(sf: sessionmaker[Session], world: World, now: datetime) -> None:
    with sf() as s:
        s.add(Person(code="hao", name="郝建", phone=PHONES["hao"], unit_id=world.units["C500111001"].id,
                     role="leader"))
        for code in ("bob", "grace"):
            s.execute(update(Person).where(Person.code == code).values(phone=PHONES[code]))
        s.execute(update(Unit).where(Unit.code == "C500111001").values(phone=TOWN_DESK))
        s.flush()
        ids = dict(s.execute(select(Person.code, Person.id)).all())
        night = now - timedelta(hours=2)
        for code, role in (("bob", "officer"), ("hao", "leader_on_duty")):
            s.add(DutyShift(unit_id=world.units["C500111001"].id, person_id=ids[code], role=role, starts_at=night,
                            ends_at=night + timedelta(hours=24), note="", source="manual", created_by="test",
                            updated_by="test"))
        local = now.astimezone(LOCAL)
        s.add(NoticeSetting(person_id=ids["bob"], channels=["sms", "inapp"],
                            quiet_start=(local - timedelta(hours=1)).strftime("%H:%M"),
                            quiet_end=(local + timedelta(hours=1)).strftime("%H:%M"), updated_by="bob"))
        s.commit()


def _pump(uow_factory: Any, live: Live) -> None:
    now = datetime.now(UTC)
    escalation.run_due_steps(uow_factory, now, base_url=live.base_url)
    notice_sender.send_due(uow_factory, now, live.gateways())


def _notices(sf: sessionmaker[Session]) -> list[Notice]:
    with sf() as s:
        return list(s.scalars(select(Notice).order_by(Notice.id)))


def test_a_red_warning_at_night_climbs_to_the_leader_in_charge_who_replies_1(
        kannel_live: Live, api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    live = kannel_live
    now = datetime.now(UTC)
    uow_factory = lambda: UnitOfWork(session_factory)  # noqa: E731
    _staff(session_factory, world, now)
    load_sensing(uow_factory())
    wc.create_rule(uow_factory(), SYSTEM, RIVER)
    api.request("PUT", "/api/escalation-policies/red-warning", "admin", 200,
                json={"name": "红色预警（测试：秒级升级）", "kind": "warning.red", "steps": FAST})

    result = ingest(uow_factory(), SYSTEM, [reading("RIVER_LEVEL", now.isoformat(), 3.8, device="WL-A")], now=now)
    assert result.accepted == 1
    with session_factory() as s:
        [chain] = s.scalars(select(NoticeChain)).all()
        event = s.get(Event, chain.event_id)
        assert event is not None and chain.kind == "warning.red" and chain.state == "open"
        number = event.number

    # step 1: bob (in his quiet hours) and the town desk, by SMS through Kannel; both delivered
    def delivered(n: int) -> list[Notice]:
        _pump(uow_factory, live)
        sms = [x for x in _notices(session_factory) if x.channel == "sms"]
        return sms if len(sms) >= n and all(x.state == "delivered" for x in sms[:n]) else []

    wait_until(lambda: delivered(2), what="the first step's SMS delivered")
    # steps 2 and 3: nobody acknowledged; hao, then grace
    wait_until(lambda: delivered(4), timeout_s=30, what="the chain to climb to the leader in charge")
    sms = [x for x in _notices(session_factory) if x.channel == "sms"]
    assert [(x.who, x.address) for x in sms] == [("duty_officer", PHONES["bob"]), ("unit", TOWN_DESK),
                                                 ("unit_leader", PHONES["hao"]),
                                                 ("leader_in_charge", PHONES["grace"])]
    carrier = live.kannel.received()
    assert sorted(m.receiver for m in carrier) == sorted([PHONES["bob"], TOWN_DESK, PHONES["hao"], PHONES["grace"]])
    to_grace = next(m for m in carrier if m.receiver == PHONES["grace"])
    assert to_grace.text.startswith("【数治】【升级】红色预警" + number) and "回复1确认" in to_grace.text
    assert all(m.sender == live.kannel.sender for m in carrier)
    # never a reporter's personal data, and one SMS part at most two
    assert all(x.parts <= 2 for x in sms) and not any("13800138000" in m.text for m in carrier)

    # grace replies "1" from her phone: the chain stops, and she gets a confirmation back
    live.kannel.reply(PHONES["grace"], "1")
    wait_until(lambda: _chain_state(session_factory) == "acknowledged", what="the reply to acknowledge")
    wait_until(lambda: any(m.receiver == PHONES["grace"] for m in live.kannel.received("mo.out")),
               what="the confirmation SMS")
    with session_factory() as s:
        chain = s.scalars(select(NoticeChain)).one()
        assert (chain.acked_by, chain.ack_channel) == ("吴昊", "sms")
        entries = s.execute(select(TimelineEntry.action, TimelineEntry.reason, TimelineEntry.actor)
                            .where(TimelineEntry.event_id == chain.event_id)
                            .order_by(TimelineEntry.at, TimelineEntry.id)).all()
    actions = [a for a, _, _ in entries]
    assert actions.count("notice.sent") == 4
    assert actions.count("notice.dlr") == 4 and all("已送达手机" in r for a, r, _ in entries if a == "notice.dlr")
    assert actions.count("notice.escalated") == 2
    [ack] = [(r, actor) for a, r, actor in entries if a == "notice.acknowledged"]
    assert "吴昊通过短信确认" in ack[0] and ack[1] == "吴昊(grace)"
    assert actions.index("notice.acknowledged") > max(i for i, a in enumerate(actions) if a == "notice.sent")

    # the warning itself is acknowledged with the chain: grace, by SMS
    with session_factory() as s:
        warning = s.scalars(select(IndicatorWarning).where(IndicatorWarning.event_id == chain.event_id)).one()
        assert warning.acknowledged_by == "吴昊(grace)" and "短信" in (warning.ack_note or "")
    # nothing more is sent once acknowledged
    _pump(uow_factory, live)
    assert len([x for x in _notices(session_factory) if x.channel == "sms"]) == 4

    # the notices are listed per event (alice, the district desk) and per person (grace herself)
    listed = api.get(f"/api/events/{number}/notices", who="alice")
    assert listed["chains"][0]["state"] == "acknowledged" and listed["chains"][0]["ack_channel"] == "sms"
    by_grace = [n for n in listed["notices"] if n["person_code"] == "grace" and n["channel"] == "sms"]
    assert by_grace[0]["to"] == "138****0003"
    kinds = [r["kind"] for r in by_grace[0]["receipts"]]
    assert kinds[:1] == ["submitted"] and kinds.count("dlr") == 2 and "ack" in kinds
    mine = api.get("/api/notices/mine", who="grace")
    assert {n["channel"] for n in mine} == {"sms", "inapp"}
    # bob's inbox holds the in-app copy
    assert any(n["channel"] == "inapp" and n["state"] == "delivered"
               for n in api.get("/api/people/bob/notices", who="alice"))


def _chain_state(sf: sessionmaker[Session]) -> str:
    with sf() as s:
        return s.scalars(select(NoticeChain.state)).one()


def test_acknowledging_the_warning_on_its_page_stops_its_chain(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    """No gateway needed: the chain's first notices are queued, bob acknowledges the warning on the warnings
    page, and the chain ends (channel "page"), its queued notices cancelled, no step climbs any more."""
    now = datetime.now(UTC)
    uow_factory = lambda: UnitOfWork(session_factory)  # noqa: E731
    _staff(session_factory, world, now)
    load_sensing(uow_factory())
    wc.create_rule(uow_factory(), SYSTEM, RIVER)
    assert ingest(uow_factory(), SYSTEM, [reading("RIVER_LEVEL", now.isoformat(), 3.8, device="WL-A")],
                  now=now).accepted == 1
    with session_factory() as s:
        warning = s.scalars(select(IndicatorWarning)).one()
        assert s.scalars(select(NoticeChain.state)).one() == "open"
        assert any(n.state == "queued" for n in s.scalars(select(Notice)))
    done = api.request("POST", f"/api/warnings/{warning.id}/ack", "bob", 200, json={"comment": "已通知水务"})
    assert done["acknowledged_by"].endswith("(bob)") and done["ack_note"] == "已通知水务"
    with session_factory() as s:
        chain = s.scalars(select(NoticeChain)).one()
        assert (chain.state, chain.ack_channel, chain.ack_person_id) == ("acknowledged", "page", _id(s, "bob"))
        assert not any(n.state == "queued" for n in s.scalars(select(Notice)))
        acks = s.scalars(select(TimelineEntry.reason).where(TimelineEntry.event_id == chain.event_id,
                                                            TimelineEntry.action == "notice.acknowledged")).all()
        assert len(acks) == 1 and "页面" in (acks[0] or "")
    # the steps that were due next never run
    assert escalation.run_due_steps(uow_factory, now + timedelta(hours=1), base_url="http://x") == 0


def _id(s: Session, code: str) -> int | None:
    return s.scalar(select(Person.id).where(Person.code == code))


class _StopsAfterCommit(UnitOfWork):
    """The process stops right after the readings' transaction commits: what would follow never runs."""

    def commit(self) -> None:
        self.session.commit()


def test_a_warning_s_first_notices_lost_to_a_stop_after_the_commit_are_written_by_the_worker_once(
        world: World, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    uow_factory = lambda: UnitOfWork(session_factory)  # noqa: E731
    _staff(session_factory, world, now)
    load_sensing(uow_factory())
    wc.create_rule(uow_factory(), SYSTEM, RIVER)
    stopped = _StopsAfterCommit(session_factory)
    assert ingest(stopped, SYSTEM, [reading("RIVER_LEVEL", now.isoformat(), 3.8, device="WL-A")],
                  now=now).accepted == 1
    with session_factory() as s:
        chain = s.scalars(select(NoticeChain)).one()
    # the warning, its event and its chain committed; the first step is due, nothing written yet
    assert (chain.state, chain.step_index, chain.next_step_at is not None) == ("open", 0, True)
    assert chain.event_id is not None and not _notices(session_factory)
    # the worker's job steps it
    assert escalation.run_due_steps(uow_factory, datetime.now(UTC), base_url="http://x") == 1
    written = len(_notices(session_factory))
    assert written > 0
    # the hand-off arriving late finds it stepped and writes nothing twice
    assert escalation.run_started(uow_factory(), [chain.id]) == 0
    assert len(_notices(session_factory)) == written
    with session_factory() as s:
        assert s.scalars(select(NoticeChain.step_index)).one() == 1
