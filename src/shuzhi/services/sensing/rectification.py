"""The rectification loop of a risk point (整改闭环, issue #22): found → measures and a deadline in working
days → done → verified, like a ledger item's.

Every change passes :func:`step` (the one door), which applies
:data:`shuzhi.domain.risk_points.RECT_TRANSITIONS`, claims the row by its version (two people acting at
once: one wins, the other gets 409), writes the point's timeline (who, when, why) and keeps the point
*in rectification* on the map while one is open. The deadline is counted on the responsible unit's
working calendar; :func:`sweep` (the worker, every few minutes) writes the reminder when one working day
is left and the overdue line when it has passed, once each per deadline.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.adapters.db.tables_sensing import RiskPoint, RiskPointChange, RiskPointRectification
from shuzhi.domain import permissions as p
from shuzhi.domain import risk_points as rp
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.time_limits import LimitUnit, TimeLimit
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.calendars import calendar_for
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

MAX_TEXT = 2000
log = logging.getLogger(__name__)


def _text(value: str | None, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"give the {what}", field=field)
    if len(text) > MAX_TEXT:
        raise Invalid(f"the {what} is at most {MAX_TEXT} characters", field=field)
    return text


def _point(s: Session, actor: Actor, code: str) -> RiskPoint:
    point = s.scalar(select(RiskPoint).where(RiskPoint.code == code))
    if point is None or not authz.path_visible(actor, point.area_path):
        raise NotFound(f"risk point {code} not found")
    return point


def _line(s: Session, point_id: int, at: datetime, actor: str, what: str, reason: str) -> None:
    s.add(RiskPointChange(risk_point_id=point_id, at=at, actor=actor, action=rp.RECT_LINES[what], reason=reason))


def _open_of(s: Session, point_id: int) -> RiskPointRectification | None:
    return s.scalars(select(RiskPointRectification).where(
        RiskPointRectification.risk_point_id == point_id,
        RiskPointRectification.state.in_([x.value for x in rp.RECT_OPEN]))
        .order_by(RiskPointRectification.id.desc()).limit(1)).first()


def _soon_until(s: Session, unit_id: int, now: datetime) -> datetime:
    return calendar_for(s, unit_id).deadline(now, TimeLimit(1, LimitUnit.WORKING_DAYS))


def view(s: Session, r: RiskPointRectification, unit_id: int, now: datetime) -> dict[str, Any]:
    state = rp.RectState(r.state)
    soon = _soon_until(s, unit_id, now) if state is rp.RectState.IN_PROGRESS and r.deadline_at else now
    return {"id": r.id, "state": r.state, "finding": r.finding, "found_at": r.found_at, "found_by": r.found_by,
            "measures": r.measures, "working_days": r.working_days, "deadline_at": r.deadline_at,
            "done_at": r.done_at, "done_note": r.done_note, "closed_at": r.closed_at, "closed_by": r.closed_by,
            "version": r.version, "clock": rp.rect_clock(state, r.deadline_at, soon, now),
            "actions": sorted(a.value for (st, a) in rp.RECT_TRANSITIONS if st is state)}


def start(uow: UnitOfWork, actor: Actor, code: str, *, finding: str, now: datetime | None = None) -> dict[str, Any]:
    """A problem found at a point (发现问题): a rectification opens and the point is *in rectification*."""
    authz.require(actor, p.RISK_POINT_WRITE)
    finding = _text(finding, "finding", "finding")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        point = _point(s, actor, code)
        if _open_of(s, point.id) is not None:
            raise Invalid("the point has an open rectification; carry it through first", field="finding")
        r = RiskPointRectification(risk_point_id=point.id, state=rp.RectState.FOUND.value, finding=finding,
                                   found_at=at, found_by=actor.label, measures="", done_note="", closed_by="",
                                   version=1)
        s.add(r)
        point.rectifying = True
        _line(s, point.id, at, actor.label, "found", finding)
        s.flush()
        out = view(s, r, point.responsible_unit_id, at)
        uow.commit()
        return out


def step(uow: UnitOfWork, actor: Actor, code: str, rect_id: int, action: str, *, note: str | None = None,
         measures: str | None = None, working_days: int | None = None, expected_version: int | None = None,
         now: datetime | None = None) -> dict[str, Any]:
    """Move a rectification on (the one door): ``measures`` (with ``measures`` and ``working_days``; again
    while in progress revises them and restarts the deadline), ``done`` (what was done), ``verified``,
    ``rejected`` (why: back to work, the deadline stands), ``cancelled`` (why)."""
    authz.require(actor, p.RISK_POINT_WRITE)
    try:
        act = rp.RectAction(action)
    except ValueError:
        raise Invalid(f"action must be one of {', '.join(a.value for a in rp.RectAction)}", field="action") from None
    fields: dict[str, Any] = {}
    at = now or datetime.now(UTC)
    if act is rp.RectAction.SET_MEASURES:
        fields["measures"] = reason = _text(measures, "measures", "measures")
        if (isinstance(working_days, bool) or not isinstance(working_days, int)
                or not 1 <= working_days <= rp.MAX_RECT_WORKING_DAYS):
            raise Invalid(f"the deadline is 1 to {rp.MAX_RECT_WORKING_DAYS} working days", field="working_days")
        fields["working_days"] = working_days
    else:
        reason = _text(note, "note", "note")
    with uow:
        s = uow.session
        point = _point(s, actor, code)
        r = s.get(RiskPointRectification, rect_id)
        if r is None or r.risk_point_id != point.id:
            raise NotFound(f"rectification {rect_id} of {code} not found")
        if expected_version is not None and expected_version != r.version:
            raise Conflict("the rectification was changed by someone else; reload it", field="version")
        try:
            new = rp.next_rect_state(rp.RectState(r.state), act)
        except rp.IllegalRectification as exc:
            raise Invalid(str(exc), field="action") from None
        fields["state"] = new.value
        if act is rp.RectAction.SET_MEASURES:
            fields["deadline_at"] = calendar_for(s, point.responsible_unit_id).deadline(
                at, TimeLimit(working_days or 1, LimitUnit.WORKING_DAYS))
            fields["reminded_at"] = fields["overdue_at"] = None
            reason = f"{reason}（{working_days}个工作日）"
        elif act is rp.RectAction.REPORT_DONE:
            fields.update(done_at=at, done_note=reason)
        elif act in (rp.RectAction.VERIFY, rp.RectAction.CANCEL):
            fields.update(closed_at=at, closed_by=actor.label)
        elif act is rp.RectAction.REJECT:
            fields.update(done_at=None)
        claimed = s.execute(update(RiskPointRectification)
                            .where(RiskPointRectification.id == r.id, RiskPointRectification.version == r.version)
                            .values(**fields, version=r.version + 1, updated_at=at)
                            .execution_options(synchronize_session=False))
        if getattr(claimed, "rowcount", 0) != 1:
            raise Conflict("the rectification was changed by someone else; reload it", field="version")
        point.rectifying = new in rp.RECT_OPEN
        _line(s, point.id, at, actor.label, act.value, reason)
        s.flush()
        s.refresh(r)
        out = view(s, r, point.responsible_unit_id, at)
        uow.commit()
        return out


def of_point(s: Session, point: RiskPoint, now: datetime) -> list[dict[str, Any]]:
    rows = s.scalars(select(RiskPointRectification).where(RiskPointRectification.risk_point_id == point.id)
                     .order_by(RiskPointRectification.id.desc()).limit(20)).all()
    return [view(s, r, point.responsible_unit_id, now) for r in rows]


def list_open(uow: UnitOfWork, actor: Actor, *, clock: str | None = None, now: datetime | None = None,
              limit: int = 500) -> list[dict[str, Any]]:
    """Open rectifications of points in the reader's scope, the nearest deadline first (none last);
    ``clock=overdue|due_soon|running`` keeps those."""
    authz.require(actor, p.INDICATOR_READ)
    if clock is not None and clock not in ("overdue", "due_soon", "running"):
        raise Invalid("clock must be overdue, due_soon or running", field="clock")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        rows = s.execute(
            select(RiskPointRectification, RiskPoint.code, RiskPoint.name, RiskPoint.responsible_unit_id,
                   Area.name, Unit.name)
            .join(RiskPoint, RiskPoint.id == RiskPointRectification.risk_point_id)
            .join(Area, Area.id == RiskPoint.area_id).join(Unit, Unit.id == RiskPoint.responsible_unit_id)
            .where(RiskPointRectification.state.in_([x.value for x in rp.RECT_OPEN]),
                   authz.area_clause(actor, RiskPoint.area_path))
            .order_by(RiskPointRectification.deadline_at.is_(None), RiskPointRectification.deadline_at,
                      RiskPointRectification.id).limit(limit)).all()
        out = []
        for r, pcode, pname, unit_id, area_name, unit_name in rows:
            v = view(s, r, unit_id, at)
            if clock is not None and v["clock"] != clock:
                continue
            out.append({**v, "point_code": pcode, "point_name": pname, "area_name": area_name,
                        "responsible_unit_name": unit_name})
        return out


def sweep(uow: UnitOfWork, now: datetime | None = None) -> tuple[int, int]:
    """The worker's job: the reminder (one working day left, 即将到期) and the overdue line (逾期), once each
    per deadline, on the point's timeline; each claimed by a conditional UPDATE so two workers write one."""
    at = now or datetime.now(UTC)
    reminded = overdue = 0
    with uow:
        s = uow.session
        rows = s.execute(
            select(RiskPointRectification.id, RiskPointRectification.risk_point_id,
                   RiskPointRectification.deadline_at, RiskPointRectification.reminded_at,
                   RiskPointRectification.overdue_at, RiskPoint.responsible_unit_id)
            .join(RiskPoint, RiskPoint.id == RiskPointRectification.risk_point_id)
            .where(RiskPointRectification.state == rp.RectState.IN_PROGRESS.value,
                   RiskPointRectification.deadline_at.is_not(None),
                   (RiskPointRectification.reminded_at.is_(None)) | (RiskPointRectification.overdue_at.is_(None)))
        ).all()
        for rid, point_id, deadline, reminded_at, overdue_at, unit_id in rows:
            if deadline is None:
                continue
            if at >= deadline and overdue_at is None:
                if _claim(s, rid, "overdue_at", at):
                    _line(s, point_id, at, SYSTEM.label, "overdue",
                          f"整改期限{deadline.astimezone(SHANGHAI).strftime('%m月%d日%H:%M')}已过，尚未完成")
                    _tell(s, rid, point_id, unit_id, deadline, at, overdue=True)
                    overdue += 1
            elif (at < deadline and reminded_at is None and deadline <= _soon_until(s, unit_id, at)
                  and _claim(s, rid, "reminded_at", at)):
                _line(s, point_id, at, SYSTEM.label, "reminded",
                      f"整改将于{deadline.astimezone(SHANGHAI).strftime('%m月%d日%H:%M')}到期")
                _tell(s, rid, point_id, unit_id, deadline, at, overdue=False)
                reminded += 1
        uow.commit()
    return reminded, overdue


def _tell(s: Session, rid: int, point_id: int, unit_id: int | None, deadline: datetime, at: datetime, *,
          overdue: bool) -> None:
    """The reminder and the overdue line reach the responsible unit's phones through the notices engine
    (docs/notices.md): a chain of kind ``rectification.due`` / ``rectification.overdue`` whose policy (data,
    editable on /notices/admin) names who and by which channels — by default the unit by SMS, IM and
    inbox, the overdue one also its leader and, four hours on without acknowledgement, the leader in charge.
    One chain per rectification, kind and deadline (new measures give a new deadline and a new chain)."""
    from shuzhi.domain.notices import NoticeKind, local_deadline
    from shuzhi.services.notices import escalation
    from shuzhi.services.notices.hooks import settings

    point = s.get(RiskPoint, point_id)
    if point is None:
        return
    unit = s.get(Unit, unit_id) if unit_id is not None else None
    unit = unit or escalation.centre_for(s, point.area_path)
    if unit is None:
        return
    kind = NoticeKind.RECTIFICATION_OVERDUE if overdue else NoticeKind.RECTIFICATION_DUE
    place = s.scalar(select(Area.name).where(Area.id == point.area_id)) or ""
    context = {"number": point.code, "class_name": point.name, "place": place,
               "deadline_text": local_deadline(deadline)}
    chain = escalation.start_chain(s, kind=kind.value, subject=f"rectification:{rid}:{deadline.isoformat()}",
                                   unit=unit, context=context, at=at, base_url=settings().public_base_url)
    if chain is None:
        log.warning("no notice policy serves %s: rectification %s is on the point's timeline only", kind.value, rid)


def _claim(s: Session, rid: int, column: str, at: datetime) -> bool:
    col = getattr(RiskPointRectification, column)
    done = s.execute(update(RiskPointRectification).where(RiskPointRectification.id == rid, col.is_(None))
                     .values({column: at}).execution_options(synchronize_session=False))
    return getattr(done, "rowcount", 0) == 1
