"""The demo's done-when for notices: in the demo district, with its duty rosters, duty mobiles and the red
warning policy, a red rainfall warning at night goes through a private Kannel to the town's duty officer (in
his quiet hours) and the town centre's duty mobile; nobody answers, the chain climbs to the town's leader on
duty and then to the district's (the leader in charge), who replies "1"; the timeline shows it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person, TimelineEntry, Unit
from shuzhi.adapters.db.tables_duty import DutyShift
from shuzhi.adapters.db.tables_notices import EscalationPolicy, Notice, NoticeChain, NoticeSetting
from shuzhi.demo.district import build_district
from shuzhi.demo.duty import FUTURE_DAYS, PAST_DAYS, centre_staff, roster_shifts, seed_duty
from shuzhi.demo.warnings import seed_warnings
from shuzhi.domain import duty
from shuzhi.domain.notices import LOCAL
from shuzhi.services.actors import SYSTEM
from shuzhi.services.notices import escalation
from shuzhi.services.notices import sender as notice_sender
from shuzhi.services.sensing.ingest import forget_catalogues, ingest
from shuzhi.services.unit_of_work import UnitOfWork
from tests.integration.live_notices import Live, wait_until
from tests.sensing_data import reading

#: The demo's red-warning policy with minutes made seconds, so the climb happens within the test.
FAST = [{"after_minutes": 0, "who": ["duty_officer", "unit"], "channels": ["sms", "im", "inapp"]},
        {"after_minutes": 0.1, "who": ["unit_leader"], "channels": ["sms", "inapp"]},
        {"after_minutes": 0.2, "who": ["leader_in_charge"], "channels": ["sms", "inapp"]}]


def test_demo_rosters_are_consistent_and_cover_every_centre_around_the_clock() -> None:
    district = build_district(1)
    staff = centre_staff(district)
    codes = [p["code"] for p in district.people]
    ids = {c: i for i, c in enumerate(codes, start=1)}
    units = {c: i for i, c in enumerate(staff, start=1)}
    first = datetime(2025, 6, 1).date()
    roster = roster_shifts(staff, ids, units, first, PAST_DAYS + FUTURE_DAYS)
    for i, sh in enumerate(roster):  # the rules services/duty_roster checks before storing a shift
        assert duty.check_shift(sh, roster[:i] + roster[i + 1:]) == []
    start, _ = duty.day_span(first)
    _, end = duty.day_span(first + timedelta(days=PAST_DAYS + FUTURE_DAYS - 1))
    for unit_id in units.values():
        mine = [sh for sh in roster if sh.unit_id == unit_id]
        assert duty.gaps(mine, start, end, duty.DutyRole.LEADER_ON_DUTY) == []
        assert duty.gaps(mine, start, end, duty.DutyRole.OFFICER) == []


def _pump(uow_factory: object, live: Live) -> None:
    now = datetime.now(UTC)
    escalation.run_due_steps(uow_factory, now, base_url=live.base_url)  # type: ignore[arg-type]
    notice_sender.send_due(uow_factory, now, live.gateways())  # type: ignore[arg-type]


def test_a_red_warning_at_night_in_the_demo_climbs_through_kannel_to_the_leader_in_charge(demo_district: Any,
        kannel_live: Live, session_factory: sessionmaker[Session]) -> None:
    live, now = kannel_live, datetime.now(UTC)
    forget_catalogues()
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    assert seed_duty(session_factory, district, now) > 0
    seed_warnings(uow, session_factory, district)
    town = district.towns[0]
    with session_factory() as s:
        # the demo stores the default red-warning policy; here its minutes are seconds
        s.execute(update(EscalationPolicy).where(EscalationPolicy.code == "red-warning").values(steps=FAST))
        phones = dict(s.execute(select(Person.code, Person.phone)).all())
        desk = s.scalar(select(Unit.phone).where(Unit.code == f"C{town['code']}"))
        officer = s.scalars(select(Person).join(DutyShift, DutyShift.person_id == Person.id).join(
            Unit, Unit.id == DutyShift.unit_id).where(Unit.code == f"C{town['code']}", DutyShift.role == "officer",
                                                      DutyShift.starts_at <= now, DutyShift.ends_at > now)).one()
        local = now.astimezone(LOCAL)  # it is night for him: his quiet hours are now
        s.add(NoticeSetting(person_id=officer.id, channels=["sms", "inapp"],
                            quiet_start=(local - timedelta(hours=1)).strftime("%H:%M"),
                            quiet_end=(local + timedelta(hours=1)).strftime("%H:%M"), updated_by=officer.code))
        s.commit()
    assert desk and desk.startswith("1")  # the centre's duty mobile

    result = ingest(uow(), SYSTEM, [reading("RAINFALL_1H", now.isoformat(), 48.0, area=town["code"])], now=now)
    assert result.accepted == 1
    with session_factory() as s:
        [chain] = s.scalars(select(NoticeChain).where(NoticeChain.kind == "warning.red")).all()
        assert chain.event_id is not None

    def delivered(n: int) -> list[Notice]:
        _pump(uow, live)
        with session_factory() as s:
            sms = list(s.scalars(select(Notice).where(Notice.channel == "sms").order_by(Notice.id)))
        return sms if len(sms) >= n and all(x.state == "delivered" for x in sms[:n]) else []

    wait_until(lambda: delivered(2), what="the first step's SMS delivered")
    sms = wait_until(lambda: delivered(4), timeout_s=30, what="the chain to climb to the leader in charge")
    assert isinstance(sms, list)
    leader = phones["leader.district"]  # the district's leader on duty is in charge of the towns
    assert [(x.who, x.address) for x in sms] == [("duty_officer", officer.phone), ("unit", desk),
                                                 ("unit_leader", phones[f"leader.{town['key']}"]),
                                                 ("leader_in_charge", leader)]
    assert sorted(m.receiver for m in live.kannel.received()) == sorted(x.address for x in sms)

    live.kannel.reply(leader, "1")

    def acknowledged() -> bool:
        with session_factory() as s:
            return s.scalar(select(NoticeChain.state).where(NoticeChain.id == chain.id)) == "acknowledged"

    wait_until(acknowledged, what="the leader's reply to acknowledge")
    with session_factory() as s:
        actions = list(s.scalars(select(TimelineEntry.action).where(TimelineEntry.event_id == chain.event_id)
                                 .order_by(TimelineEntry.at, TimelineEntry.id)))
    assert actions.count("notice.sent") == 4 and actions.count("notice.dlr") == 4
    assert actions.count("notice.escalated") == 2 and actions.count("notice.acknowledged") == 1
    forget_catalogues()
