"""The demo district's duty: a 7×24 roster at every centre, the centres' duty mobiles and the notice policies.

So that a red warning in the demo reaches phones the way it would in a real centre (docs/notices.md):

- every centre (district and towns) has a roster of 24-hour shifts handed over at 08:30 local time: its
  duty officers take turns as 值班员, its leader is 带班领导; the district's leader on duty is the leader in
  charge of the towns, the city's of the district;
- every centre has a duty mobile (值班手机) as its phone, so "the unit" can be sent an SMS (a landline cannot);
- every centre's duty log of the past days (calls, instructions received and given, notable events) and its
  daily handovers, confirmed, so that the duty page and its daily report (值班日报) have a history;
- the default escalation policies (red and orange warnings, plan activations) are stored, so an administrator
  sees and edits them at ``/api/escalation-policies``.

The roster is written with the same rules ``services/duty_roster`` checks (one leader on duty at a time, no
person on two shifts at once: every person here is on one centre's roster only).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.adapters.db.tables_duty import DutyHandover, DutyLogEntry, DutyShift
from shuzhi.demo.district import DemoDistrict, mobile_number
from shuzhi.domain import duty
from shuzhi.services.notices import escalation

#: Days of roster before and after ``now`` (the history's last days and the coming week).
PAST_DAYS, FUTURE_DAYS = 3, 14


def centre_staff(district: DemoDistrict) -> dict[str, tuple[list[str], str]]:
    """Centre unit code -> (its duty officers in rotation order, its leader)."""
    staff: dict[str, tuple[list[str], str]] = {}
    for centre, leader in (("C500000", "leader.city"), ("C500111", "leader.district")):
        officers = [p["code"] for p in district.people if p["unit_code"] == centre and p["role"] == "duty_officer"]
        staff[centre] = (officers, leader)
    for t in district.towns:
        staff[f"C{t['code']}"] = ([f"duty.{t['key']}"], f"leader.{t['key']}")
    return staff


def roster_shifts(staff: dict[str, tuple[list[str], str]], ids: dict[str, int], units: dict[str, int],
                  first_day: date, days: int) -> list[duty.Shift]:
    """24-hour shifts from ``first_day``'s 08:30 handover, officers in turn, the leader every day."""
    shifts: list[duty.Shift] = []
    for centre, (officers, leader) in staff.items():
        if centre not in units:
            continue
        for n in range(days):
            start, end = duty.day_span(first_day + timedelta(days=n))
            if officers:
                shifts.append(duty.Shift(units[centre], ids[officers[n % len(officers)]], duty.DutyRole.OFFICER,
                                         start, end))
            shifts.append(duty.Shift(units[centre], ids[leader], duty.DutyRole.LEADER_ON_DUTY, start, end))
    return shifts


#: A centre's day at the desk (值班日志): local time of day, kind, content, counterpart.
DAY_LOG: tuple[tuple[time, str, str, str], ...] = (
    (time(9, 5), "instruction_received", "上级中心通知：做好强降雨防范，加强值班值守", "上级中心值班室"),
    (time(9, 20), "instruction_given", "转发强降雨防范通知至各村（社区）、网格", "各村（社区）"),
    (time(14, 40), "call", "群众来电反映道路积水，已登记并转交处置", "群众"),
    (time(22, 15), "notable_event", "夜间巡查发现路灯成片熄灭，已通知供电部门", "供电所"),
)


def desk_records(staff: dict[str, tuple[list[str], str]], ids: dict[str, int], units: dict[str, int],
                 first_day: date, days: int, now: datetime) -> tuple[list[DutyLogEntry], list[DutyHandover]]:
    """Each past day at each centre: the day's duty log, and the 08:30 handover from the day's officer to the
    next day's, confirmed (the shifts of :func:`roster_shifts`)."""
    logs: list[DutyLogEntry] = []
    handovers: list[DutyHandover] = []
    for centre, (officers, _leader) in staff.items():
        if centre not in units or not officers:
            continue
        for n in range(days):
            day = first_day + timedelta(days=n)
            officer = ids[officers[n % len(officers)]]
            for at, kind, content, counterpart in DAY_LOG:
                when = datetime.combine(day, at, tzinfo=duty.LOCAL).astimezone(UTC)
                if when < now:
                    logs.append(DutyLogEntry(unit_id=units[centre], kind=kind, occurred_at=when, content=content,
                                             counterpart=counterpart, person_id=officer, created_by="demo",
                                             created_at=when))
            _, end = duty.day_span(day)
            incoming = ids[officers[(n + 1) % len(officers)]]
            if end < now and incoming != officer:
                handovers.append(DutyHandover(
                    unit_id=units[centre], from_person_id=officer, to_person_id=incoming, state="confirmed",
                    items={}, note="夜间平稳，无遗留事项", offered_at=end, confirm_note="已接班",
                    decided_at=end + timedelta(minutes=5), decided_by="demo"))
    return logs, handovers


def seed_duty(factory: sessionmaker[Session], district: DemoDistrict, now: datetime) -> int:
    """Write the rosters, the centres' duty mobiles and the default policies; returns the shifts written."""
    staff = centre_staff(district)
    rng = random.Random(district.seed * 104729)
    with factory() as s:
        ids = dict(s.execute(select(Person.code, Person.id)).all())
        units = dict(s.execute(select(Unit.code, Unit.id).where(Unit.code.in_(list(staff)))).all())
        for code in sorted(units):
            s.execute(update(Unit).where(Unit.id == units[code]).values(phone=mobile_number(rng)))
        first_day = now.astimezone(duty.LOCAL).date() - timedelta(days=PAST_DAYS)
        shifts = roster_shifts(staff, ids, units, first_day, PAST_DAYS + FUTURE_DAYS)
        s.add_all(DutyShift(unit_id=sh.unit_id, person_id=sh.person_id, role=sh.role.value, starts_at=sh.starts_at,
                            ends_at=sh.ends_at, note="演示排班", source="manual", created_by="admin",
                            updated_by="admin") for sh in shifts)
        logs, handovers = desk_records(staff, ids, units, first_day, PAST_DAYS + 1, now)
        s.add_all(logs)
        s.add_all(handovers)
        escalation.ensure_default_policies(s, now)
        s.commit()
    return len(shifts)
