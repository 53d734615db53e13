"""The duty desk (值班台): shift handover, the duty log and its daily report, on-post checks.

Rules are in :mod:`shuzhi.domain.duty_desk`. Who may do what:

- a centre's own people (those who may stand its shifts, :func:`duty_roster.eligible_people`) write its
  duty log and hand its shifts over (``duty.desk``); a superior centre reads them (its scope holds the
  lower centre's area); anyone else gets 404, as for a centre that does not exist;
- a superior centre asks a lower centre for an on-post check (``duty.check``); the lower centre's
  officer on duty (or, with nobody on the roster, any of its people) confirms it; the worker's sweep
  marks a check nobody confirmed in time as missed.

Every change is written to the audit log (actor, time, what and why); handovers and log entries are
records: a confirmed handover and a log entry never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.tables import Area, Event, Person, Task, Unit
from shuzhi.adapters.db.tables_duty import DutyHandover, DutyLogEntry, DutyShift, PresenceCheck
from shuzhi.adapters.db.tables_notices import NoticeChain
from shuzhi.adapters.db.tables_plans import PlanRun
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.adapters.report_files import ReportDoc, Table, to_docx, to_xlsx
from shuzhi.domain import duty_desk as dd
from shuzhi.domain.duty import LOCAL, ROLE_LABELS, DutyRole
from shuzhi.domain.permissions import DUTY_CHECK, DUTY_DESK
from shuzhi.domain.plan_runs import RunState
from shuzhi.services import duty_roster
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.security.authz import Forbidden
from shuzhi.services.unit_of_work import UnitOfWork

#: Items of one kind listed in a handover (the count says how many there are in all).
MAX_ITEMS = 50
MAX_LIST = 500
OPEN_KINDS = ("warnings", "awaiting_dispatch", "awaiting_verification", "plans", "notices", "copies")


def _raise(problems: list[dd.Problem]) -> None:
    if problems:
        raise Invalid(problems[0].message, field=problems[0].field,
                      details=[{"field": p.field, "message": p.message} for p in problems])


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _own_unit(s: Session, actor: Actor, unit_code: str, *, lock: bool = False) -> Unit:
    """The duty unit, which must be the actor's own centre (a superior that sees it may only read)."""
    unit = duty_roster.duty_unit(s, actor, unit_code, lock=lock)
    if actor.person_id is None or actor.person_id not in {p.id for p in duty_roster.eligible_people(s, unit)}:
        # not even an administrator: a log entry and a handover are a person's own acts at the desk
        raise Forbidden("only the centre's own people keep its duty log and hand over its shifts "
                        "(只有本中心的人员可以记录值班日志、交接班)", field="unit_code")
    return unit


def _person_name(s: Session, person_id: int | None) -> str:
    if person_id is None:
        return ""
    p = s.get(Person, person_id)
    return p.name if p else ""


# --- open items of a shift --------------------------------------------------------------------------


def _items(s: Session, unit: Unit) -> dict[str, Any]:
    """What is open at the centre now, by kind: ``{kind: {"count": n, "items": [...]}}``."""
    path = unit.area.path
    under = Event.area_path.startswith(path, autoescape=True)
    out: dict[str, Any] = {}

    def put(kind: str, count_q: Any, rows: list[dict[str, Any]]) -> None:
        out[kind] = {"count": int(s.scalar(count_q) or 0), "items": rows}

    w = and_(IndicatorWarning.state == "firing", IndicatorWarning.acknowledged_at.is_(None),
             IndicatorWarning.area_path.startswith(path, autoescape=True))
    put("warnings", select(func.count()).select_from(IndicatorWarning).where(w),
        [{"id": r.id, "label": f"{r.indicator_code} {r.area_code}", "level": r.level,
          "since": (r.fired_at or r.started_at).isoformat()}
         for r in s.scalars(select(IndicatorWarning).where(w).order_by(IndicatorWarning.id).limit(MAX_ITEMS))])
    for kind, state in (("awaiting_dispatch", "registered"), ("awaiting_verification", "reported_back")):
        e = and_(Event.state == state, Event.owner_unit_id == unit.id)
        put(kind, select(func.count()).select_from(Event).where(e),
            [{"id": r.id, "number": r.number, "label": r.title}
             for r in s.execute(select(Event.id, Event.number, Event.title).where(e)
                                .order_by(Event.id).limit(MAX_ITEMS))])
    p = and_(PlanRun.state == RunState.ACTIVE.value, under)
    put("plans", select(func.count()).select_from(PlanRun).join(Event, Event.id == PlanRun.event_id).where(p),
        [{"id": r.id, "label": r.template_code, "number": r.number}
         for r in s.execute(select(PlanRun.id, PlanRun.template_code, Event.number)
                            .join(Event, Event.id == PlanRun.event_id).where(p).order_by(PlanRun.id).limit(MAX_ITEMS))])
    n = and_(NoticeChain.state == "open", NoticeChain.unit_id == unit.id)
    put("notices", select(func.count()).select_from(NoticeChain).where(n),
        [{"id": r.id, "label": f"{r.kind} {r.context.get('number', '')}".strip(), "since": r.started_at.isoformat()}
         for r in s.scalars(select(NoticeChain).where(n).order_by(NoticeChain.id).limit(MAX_ITEMS))])
    c = and_(Task.role == "notify", Task.state == "notified", Task.unit_id == unit.id)
    put("copies", select(func.count()).select_from(Task).where(c),
        [{"id": r.id, "number": r.number, "label": r.title}
         for r in s.execute(select(Task.id, Event.number, Event.title).join(Event, same_case(Task))
                            .where(c).order_by(Task.id).limit(MAX_ITEMS))])
    return out


def open_items(uow: UnitOfWork, actor: Actor, unit_code: str) -> dict[str, Any]:
    """The open items a handover at the centre would list now (the centre's own or a lower one's)."""
    with uow:
        s = uow.session
        unit = duty_roster.duty_unit(s, actor, unit_code)
        return {"unit_code": unit.code, "unit_name": unit.name, "items": _items(s, unit)}


# --- handover ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoverView:
    id: int
    unit_code: str
    unit_name: str
    from_person_code: str
    from_person_name: str
    to_person_code: str
    to_person_name: str
    state: str
    state_label: str
    items: dict[str, Any]
    note: str
    offered_at: datetime
    confirm_note: str
    decided_at: datetime | None
    decided_by: str | None
    version: int


def _handover_view(s: Session, row: DutyHandover, unit: Unit) -> HandoverView:
    a, b = s.get(Person, row.from_person_id), s.get(Person, row.to_person_id)
    assert a is not None and b is not None
    return HandoverView(id=row.id, unit_code=unit.code, unit_name=unit.name, from_person_code=a.code,
                        from_person_name=a.name, to_person_code=b.code, to_person_name=b.name, state=row.state,
                        state_label=dd.STATE_LABELS[row.state], items=row.items, note=row.note,
                        offered_at=row.offered_at, confirm_note=row.confirm_note, decided_at=row.decided_at,
                        decided_by=row.decided_by, version=row.version)


def offer_handover(uow: UnitOfWork, actor: Actor, *, unit_code: str, to_person_code: str, note: str = "",
                   now: datetime | None = None) -> HandoverView:
    """The outgoing officer hands the shift over: the open items of the moment are listed and kept."""
    authz.require(actor, DUTY_DESK)
    at = _now(now)
    with uow:
        s = uow.session
        unit = _own_unit(s, actor, unit_code, lock=True)
        found = [p for p in duty_roster.eligible_people(s, unit) if p.code == to_person_code]
        if not found:
            raise Invalid(f"'{to_person_code}' is not a person of {unit.name} (接班人须为本中心人员)",
                          field="to_person_code")
        assert actor.person_id is not None
        _raise(dd.check_handover(actor.person_id, found[0].id, note))
        pending = s.scalar(select(func.count()).select_from(DutyHandover).where(
            DutyHandover.unit_id == unit.id, DutyHandover.from_person_id == actor.person_id,
            DutyHandover.state == dd.HandoverState.OFFERED.value))
        if pending:
            raise Conflict("a handover of yours is waiting to be confirmed (已有待接班的交接记录)",
                           field="to_person_code")
        row = DutyHandover(unit_id=unit.id, from_person_id=actor.person_id, to_person_id=found[0].id,
                           state=dd.HandoverState.OFFERED.value, items=_items(s, unit), note=note.strip(),
                           offered_at=at, confirm_note="")
        s.add(row)
        s.flush()
        s.add(Notification(person_id=found[0].id, kind="duty.handover", created_at=at,
                           title=f"交接班：{_person_name(s, actor.person_id)}向您交班，请到值班管理确认接班",
                           payload={"handover_id": row.id, "unit": unit.code, "link": f"/duty?unit={unit.code}"}))
        audit.record(s, actor, "duty.handover.offer", f"duty_handover:{row.id}",
                     {"unit": unit.code, "to": found[0].code, "note": row.note,
                      "counts": {k: v["count"] for k, v in row.items.items()}}, at=at)
        view = _handover_view(s, row, unit)
        uow.commit()
        return view


def _load_handover(s: Session, actor: Actor, handover_id: int) -> tuple[DutyHandover, Unit]:
    row = s.get(DutyHandover, handover_id)
    if row is None:
        raise NotFound("handover not found")
    unit = s.get(Unit, row.unit_id)
    assert unit is not None
    authz.ensure_visible(actor, unit.area.path, [unit.id], what="handover")
    return row, unit


def decide_handover(uow: UnitOfWork, actor: Actor, handover_id: int, action: str, *, note: str = "",
                    expected_version: int | None = None, now: datetime | None = None) -> HandoverView:
    """The incoming officer confirms (接班, with a note), or the outgoing one withdraws; then it is final."""
    authz.require(actor, DUTY_DESK)
    at = _now(now)
    try:
        act = dd.HandoverAction(action)
    except ValueError:
        raise Invalid("action must be confirm or withdraw", field="action") from None
    if len(note.strip()) > dd.MAX_TEXT:
        raise Invalid(f"备注最长 {dd.MAX_TEXT} 字", field="note")
    with uow:
        s = uow.session
        row, unit = _load_handover(s, actor, handover_id)
        who = row.to_person_id if act is dd.HandoverAction.CONFIRM else row.from_person_id
        if actor.person_id != who:
            raise Forbidden("only the incoming officer confirms a handover, only the outgoing one withdraws it "
                             "(只有接班人可以确认接班)", field="action")
        if expected_version is not None and row.version != expected_version:
            raise Conflict("the handover was changed meanwhile; reload it", field="expected_version")
        try:
            state = dd.next_handover_state(dd.HandoverState(row.state), act)
        except dd.IllegalTransition:
            raise Conflict(f"the handover is already {dd.STATE_LABELS[row.state]}", field="action") from None
        row.state, row.decided_at, row.decided_by = state.value, at, actor.code
        if act is dd.HandoverAction.CONFIRM:
            row.confirm_note = note.strip()
        try:
            s.flush()
        except StaleDataError:
            raise Conflict("the handover was changed meanwhile; reload it", field="expected_version") from None
        audit.record(s, actor, f"duty.handover.{act.value}", f"duty_handover:{row.id}",
                     {"unit": unit.code, "note": note.strip()}, at=at)
        view = _handover_view(s, row, unit)
        uow.commit()
        return view


def get_handover(uow: UnitOfWork, actor: Actor, handover_id: int) -> HandoverView:
    with uow:
        s = uow.session
        row, unit = _load_handover(s, actor, handover_id)
        return _handover_view(s, row, unit)


def list_handovers(uow: UnitOfWork, actor: Actor, unit_code: str, limit: int = 50) -> list[HandoverView]:
    if not 1 <= limit <= MAX_LIST:
        raise Invalid(f"limit must be between 1 and {MAX_LIST}", field="limit")
    with uow:
        s = uow.session
        unit = duty_roster.duty_unit(s, actor, unit_code)
        rows = s.scalars(select(DutyHandover).where(DutyHandover.unit_id == unit.id)
                         .order_by(DutyHandover.offered_at.desc(), DutyHandover.id.desc()).limit(limit))
        return [_handover_view(s, r, unit) for r in rows]


# --- duty log ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntryView:
    id: int
    unit_code: str
    kind: str
    kind_label: str
    occurred_at: datetime
    content: str
    counterpart: str
    event_number: str | None
    person_name: str
    created_by: str
    created_at: datetime


def _log_view(s: Session, row: DutyLogEntry, unit: Unit, numbers: dict[int, str]) -> LogEntryView:
    return LogEntryView(id=row.id, unit_code=unit.code, kind=row.kind,
                        kind_label=dd.LOG_KIND_LABELS[dd.LogKind(row.kind)], occurred_at=row.occurred_at,
                        content=row.content, counterpart=row.counterpart,
                        event_number=numbers.get(row.event_id) if row.event_id else None,
                        person_name=_person_name(s, row.person_id), created_by=row.created_by,
                        created_at=row.created_at)


def add_log_entry(uow: UnitOfWork, actor: Actor, *, unit_code: str, kind: str, content: str,
                  occurred_at: datetime | None = None, counterpart: str = "", event_number: str | None = None,
                  now: datetime | None = None) -> LogEntryView:
    """Write one line of the centre's duty log (its own people only; append-only)."""
    authz.require(actor, DUTY_DESK)
    at = _now(now)
    when = occurred_at or at
    _raise(dd.check_log_entry(kind, content, when, at))
    if len(counterpart) > 100:
        raise Invalid("对方单位/人员最长 100 字", field="counterpart")
    with uow:
        s = uow.session
        unit = _own_unit(s, actor, unit_code)
        event_id = None
        if event_number:
            ev = s.scalars(select(Event).where(Event.number == event_number.strip())).first()
            if ev is None:
                raise Invalid(f"event '{event_number}' not found (事件编号不存在)", field="event_number")
            try:
                authz.ensure_event_visible(actor, ev)
            except NotFound:
                raise Invalid(f"event '{event_number}' not found (事件编号不存在)", field="event_number") from None
            event_id = ev.id
        row = DutyLogEntry(unit_id=unit.id, kind=kind, occurred_at=when.astimezone(UTC), content=content.strip(),
                           counterpart=counterpart.strip(), event_id=event_id, person_id=actor.person_id,
                           created_by=actor.code, created_at=at)
        s.add(row)
        s.flush()
        audit.record(s, actor, "duty.log.add", f"duty_log:{row.id}",
                     {"unit": unit.code, "kind": kind, "event": event_number}, at=at)
        view = _log_view(s, row, unit, {event_id: event_number.strip()} if event_id and event_number else {})
        uow.commit()
        return view


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A local (Asia/Shanghai) calendar day as a UTC span."""
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _entries(s: Session, unit: Unit, start: datetime, end: datetime) -> list[LogEntryView]:
    rows = list(s.scalars(select(DutyLogEntry).where(
        DutyLogEntry.unit_id == unit.id, DutyLogEntry.occurred_at >= start, DutyLogEntry.occurred_at < end)
        .order_by(DutyLogEntry.occurred_at, DutyLogEntry.id).limit(MAX_LIST)))
    ids = sorted({r.event_id for r in rows if r.event_id})
    numbers = {i: n for i, n in s.execute(select(Event.id, Event.number).where(Event.id.in_(ids)))} if ids else {}
    return [_log_view(s, r, unit, numbers) for r in rows]


def list_log(uow: UnitOfWork, actor: Actor, unit_code: str, day: date) -> list[LogEntryView]:
    """The centre's duty log of one local day, in time order."""
    with uow:
        s = uow.session
        unit = duty_roster.duty_unit(s, actor, unit_code)
        return _entries(s, unit, *day_bounds(day))


def _local(at: datetime | None) -> str:
    return at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if at else ""


def daily_report(uow: UnitOfWork, actor: Actor, unit_code: str, day: date, fmt: str) -> tuple[bytes, str]:
    """The daily duty report (值班日报) of a centre as Word (docx) or Excel (xlsx): who was on duty,
    the log of the day, the handovers and the on-post checks. Returns the bytes and a file name."""
    if fmt not in ("docx", "xlsx"):
        raise Invalid("format must be docx or xlsx", field="format")
    with uow:
        s = uow.session
        unit = duty_roster.duty_unit(s, actor, unit_code)
        start, end = day_bounds(day)
        shifts = _shifts(s, unit, start, end)
        entries = _entries(s, unit, start, end)
        handovers = list(s.scalars(select(DutyHandover).where(
            DutyHandover.unit_id == unit.id, DutyHandover.offered_at >= start, DutyHandover.offered_at < end)
            .order_by(DutyHandover.offered_at)))
        checks = list(s.scalars(select(PresenceCheck).where(
            PresenceCheck.unit_id == unit.id, PresenceCheck.asked_at >= start, PresenceCheck.asked_at < end)
            .order_by(PresenceCheck.asked_at)))
        by_kind = {k: sum(1 for e in entries if e.kind == k.value) for k in dd.LogKind}
        doc = ReportDoc(
            title=f"{unit.name}值班日报", subtitle=f"{day.isoformat()}（北京时间）",
            summary=[f"值班日志 {len(entries)} 条：" + "，".join(f"{dd.LOG_KIND_LABELS[k]} {n} 条"
                                                          for k, n in by_kind.items()),
                     f"交接班 {len(handovers)} 次；在岗抽查 {len(checks)} 次，未按时确认 "
                     f"{sum(1 for c in checks if c.state == dd.CheckState.MISSED.value)} 次。"],
            tables=[
                Table("值班人员", ["岗位", "姓名", "开始", "结束"], shifts),
                Table("值班日志", ["时间", "类别", "内容", "对方", "关联事件", "记录人"],
                      [[_local(e.occurred_at), e.kind_label, e.content, e.counterpart, e.event_number or "",
                        e.person_name] for e in entries]),
                Table("交接班", ["交班时间", "交班人", "接班人", "状态", "遗留事项", "接班时间", "接班备注"],
                      [[_local(h.offered_at), _person_name(s, h.from_person_id), _person_name(s, h.to_person_id),
                        dd.STATE_LABELS[h.state], _item_summary(h.items), _local(h.decided_at), h.confirm_note]
                       for h in handovers]),
                Table("在岗抽查", ["抽查时间", "时限", "状态", "确认时间"],
                      [[_local(c.asked_at), _local(c.due_at), dd.STATE_LABELS[c.state], _local(c.decided_at)]
                       for c in checks]),
            ])
        audit.record(s, actor, "duty.report.export", f"unit:{unit.code}", {"day": day.isoformat(), "format": fmt})
        uow.commit()
    data = to_docx(doc, []) if fmt == "docx" else to_xlsx(doc)
    return data, f"duty-{unit_code}-{day.isoformat()}.{fmt}"


ITEM_LABELS = {"warnings": "未确认预警", "awaiting_dispatch": "待派遣事件", "awaiting_verification": "待核查事件",
               "plans": "运行中预案", "notices": "未确认紧急通知", "copies": "未阅抄送"}


def _item_summary(items: dict[str, Any]) -> str:
    return "；".join(f"{ITEM_LABELS.get(k, k)} {v['count']}" for k, v in items.items() if v.get("count"))


def _shifts(s: Session, unit: Unit, start: datetime, end: datetime) -> list[list[Any]]:
    rows = s.execute(select(DutyShift, Person).join(Person, Person.id == DutyShift.person_id)
                     .where(DutyShift.unit_id == unit.id, DutyShift.starts_at < end,
                            DutyShift.ends_at > start)
                     .order_by(DutyShift.role, DutyShift.starts_at)).all()
    return [[ROLE_LABELS[DutyRole(r.role)], p.name, _local(r.starts_at), _local(r.ends_at)] for r, p in rows]


# --- on-post checks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckView:
    id: int
    unit_code: str
    unit_name: str
    by_unit_code: str
    by_unit_name: str
    person_code: str | None
    person_name: str
    asked_by: str
    asked_at: datetime
    due_at: datetime
    state: str
    state_label: str
    on_time: bool | None
    decided_at: datetime | None
    decided_by: str | None
    note: str


def _check_view(s: Session, row: PresenceCheck) -> CheckView:
    unit, by = s.get(Unit, row.unit_id), s.get(Unit, row.by_unit_id)
    assert unit is not None and by is not None
    person = s.get(Person, row.person_id) if row.person_id else None
    return CheckView(id=row.id, unit_code=unit.code, unit_name=unit.name, by_unit_code=by.code,
                     by_unit_name=by.name, person_code=person.code if person else None,
                     person_name=person.name if person else "", asked_by=row.asked_by, asked_at=row.asked_at,
                     due_at=row.due_at, state=row.state, state_label=dd.STATE_LABELS[row.state],
                     on_time=dd.check_outcome(dd.CheckState(row.state), row.decided_at, row.due_at),
                     decided_at=row.decided_at, decided_by=row.decided_by, note=row.note)


def ask_presence(uow: UnitOfWork, actor: Actor, *, unit_code: str, minutes: int = dd.DEFAULT_CHECK_MINUTES,
                 note: str = "", now: datetime | None = None) -> CheckView:
    """A superior centre asks a lower centre's officer on duty to confirm presence within ``minutes``."""
    authz.require(actor, DUTY_CHECK)
    at = _now(now)
    _raise(dd.check_minutes(minutes))
    if len(note) > 500:
        raise Invalid("说明最长 500 字", field="note")
    with uow:
        s = uow.session
        unit = duty_roster.duty_unit(s, actor, unit_code)
        own = s.get(Unit, actor.unit_id) if actor.unit_id else None
        if own is None or own.kind != "centre" or not dd.is_superior(own.area.path, unit.area.path):
            raise Forbidden("only a superior centre may check a lower centre's duty (只有上级中心可以抽查下级中心在岗)",
                             field="unit_code")
        officers = duty_roster.on_duty(s, unit.id, at).officers
        row = PresenceCheck(unit_id=unit.id, by_unit_id=own.id, person_id=officers[0].person_id if officers else None,
                            asked_by=actor.code, asked_at=at, due_at=at + timedelta(minutes=minutes),
                            state=dd.CheckState.PENDING.value, note=note.strip())
        s.add(row)
        s.flush()
        # the officer on duty is told in the inbox (with nobody on the roster, the centre's desk is)
        s.add(Notification(person_id=row.person_id, unit_id=None if row.person_id else unit.id,
                           kind="duty.presence_check", created_at=at,
                           title=f"在岗抽查：{own.name}请您在 {_local(row.due_at)} 前确认在岗",
                           payload={"check_id": row.id, "due_at": row.due_at.isoformat(),
                                    "link": f"/duty?unit={unit.code}"}))
        audit.record(s, actor, "duty.presence.ask", f"presence_check:{row.id}",
                     {"unit": unit.code, "minutes": minutes, "person_id": row.person_id}, at=at)
        view = _check_view(s, row)
        uow.commit()
        return view


def confirm_presence(uow: UnitOfWork, actor: Actor, check_id: int, *, now: datetime | None = None) -> CheckView:
    """The lower centre's officer on duty confirms being at the desk (late: the check stays missed)."""
    authz.require(actor, DUTY_DESK)
    at = _now(now)
    with uow:
        s = uow.session
        row = s.get(PresenceCheck, check_id)
        if row is None:
            raise NotFound("presence check not found")
        unit = s.get(Unit, row.unit_id)
        assert unit is not None
        authz.ensure_visible(actor, unit.area.path, [unit.id], what="presence check")
        on_duty = {sh.person_id for sh in duty_roster.on_duty(s, unit.id, at).officers}
        allowed = ({row.person_id} | on_duty) if row.person_id is not None else \
            {p.id for p in duty_roster.eligible_people(s, unit)}
        if actor.person_id not in allowed:
            raise Forbidden("only the centre's officer on duty confirms presence (只有被抽查中心的在岗值班员可以确认)",
                             field="check_id")
        if row.state == dd.CheckState.PENDING.value and at > row.due_at:
            _miss(s, row, row.due_at)
        try:
            state = dd.next_check_state(dd.CheckState(row.state), dd.CheckAction.CONFIRM)
        except dd.IllegalTransition:
            uow.commit()  # a miss found here is kept
            raise Conflict(f"the check is already {dd.STATE_LABELS[row.state]} (抽查已{dd.STATE_LABELS[row.state]})",
                           field="check_id") from None
        row.state, row.decided_at, row.decided_by = state.value, at, actor.code
        audit.record(s, actor, "duty.presence.confirm", f"presence_check:{row.id}", {"unit": unit.code}, at=at)
        view = _check_view(s, row)
        uow.commit()
        return view


def list_checks(uow: UnitOfWork, actor: Actor, *, unit_code: str | None = None, state: str | None = None,
                limit: int = 100) -> list[CheckView]:
    """On-post checks of centres in the actor's scope (asked of them, or asked by the actor's centre)."""
    if not 1 <= limit <= MAX_LIST:
        raise Invalid(f"limit must be between 1 and {MAX_LIST}", field="limit")
    if state is not None and state not in {c.value for c in dd.CheckState}:
        raise Invalid("state must be pending, confirmed or missed", field="state")
    with uow:
        s = uow.session
        q = (select(PresenceCheck).join(Unit, Unit.id == PresenceCheck.unit_id).join(Area, Area.id == Unit.area_id)
             .where(authz.area_clause(actor, Area.path, Unit.id)))
        if unit_code:
            q = q.where(Unit.code == unit_code)
        if state:
            q = q.where(PresenceCheck.state == state)
        rows = s.scalars(q.order_by(PresenceCheck.asked_at.desc(), PresenceCheck.id.desc()).limit(limit))
        return [_check_view(s, r) for r in rows]


def _miss(s: Session, row: PresenceCheck, at: datetime) -> bool:
    """Mark one pending check missed, once (conditional UPDATE: of two sweeps, one wins)."""
    done = s.execute(update(PresenceCheck).where(PresenceCheck.id == row.id,
                                                 PresenceCheck.state == dd.CheckState.PENDING.value)
                     .values(state=dd.CheckState.MISSED.value, decided_at=at, decided_by=SYSTEM.code)
                     .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        return False
    s.refresh(row)
    unit = s.get(Unit, row.unit_id)
    audit.record(s, SYSTEM, "duty.presence.miss", f"presence_check:{row.id}",
                 {"unit": unit.code if unit else row.unit_id, "reason": "not confirmed by the time limit (未按时确认)"})
    return True


def sweep_missed(uow: UnitOfWork, now: datetime, batch: int = 500) -> int:
    """The worker's job: every pending check past its time limit becomes missed. Idempotent."""
    missed = 0
    with uow:
        s = uow.session
        rows = list(s.scalars(select(PresenceCheck).where(
            PresenceCheck.state == dd.CheckState.PENDING.value, PresenceCheck.due_at < now)
            .order_by(PresenceCheck.due_at).limit(batch)))
        for row in rows:
            missed += _miss(s, row, row.due_at)
        uow.commit()
    return missed


def presence_counts(s: Session, actor: Actor, start: datetime, end: datetime,
                    area_path: str | None = None) -> dict[int, dict[str, int]]:
    """Per checked unit, the decided on-post checks due in ``[start, end)`` (for evaluation)."""
    q = (select(PresenceCheck.unit_id, PresenceCheck.state, PresenceCheck.decided_at, PresenceCheck.due_at)
         .join(Unit, Unit.id == PresenceCheck.unit_id).join(Area, Area.id == Unit.area_id)
         .where(PresenceCheck.due_at >= start, PresenceCheck.due_at < end,
                PresenceCheck.state != dd.CheckState.PENDING.value, authz.area_clause(actor, Area.path, Unit.id)))
    if area_path:
        q = q.where(Area.path.startswith(area_path, autoescape=True))
    out: dict[int, dict[str, int]] = {}
    for unit_id, state, decided_at, due_at in s.execute(q):
        c = out.setdefault(unit_id, dict.fromkeys(dd.PRESENCE_MEASURES, 0))
        c["presence_checks"] += 1
        if dd.check_outcome(dd.CheckState(state), decided_at, due_at):
            c["presence_on_time"] += 1
        else:
            c["presence_misses"] += 1
    return out


def duty_people(uow: UnitOfWork, actor: Actor, unit_code: str) -> list[dict[str, str]]:
    """Who may stand a shift at (and take a handover of) the centre: code, name and unit, for the pickers."""
    with uow:
        s = uow.session
        unit = duty_roster.duty_unit(s, actor, unit_code)
        people = duty_roster.eligible_people(s, unit)
        names = {u.id: u.name for u in s.scalars(select(Unit).where(Unit.id.in_(sorted({p.unit_id for p in people}))))}
        return [{"code": p.code, "name": p.name, "unit_name": names.get(p.unit_id, "")} for p in people]
