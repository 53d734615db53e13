"""Warnings as the duty officer reads them: the list, one warning with its level history, acknowledging.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, TimelineEntry
from shuzhi.adapters.db.tables_sensing import Indicator
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.domain import permissions as p
from shuzhi.domain.thresholds import GRADES, Status
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, NotFound
from shuzhi.services.security import authz
from shuzhi.services.sensing.warnings import OPEN_STATES
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork

# --- reading warnings ---------------------------------------------------------------------------------


def _record(w: IndicatorWarning, event_number: str | None = None) -> dict[str, Any]:
    return {
        "id": w.id, "episode_key": w.episode_key, "indicator_code": w.indicator_code, "series_key": w.series_key,
        "area_code": w.area_code, "area_path": w.area_path, "device_code": w.device_code, "rule_code": w.rule_code,
        "state": w.state, "level": w.level, "grade": GRADES.get(w.level or ""), "peak_level": w.peak_level,
        "started_at": w.started_at, "fired_at": w.fired_at, "resolved_at": w.resolved_at,
        "last_value": w.last_value, "last_reading_at": w.last_reading_at, "suppressed": w.suppressed,
        "acknowledged_at": w.acknowledged_at, "acknowledged_by": w.acknowledged_by, "ack_note": w.ack_note,
        "event_id": w.event_id, "event_number": event_number, "version": w.version,
    }


def list_warnings(uow: UnitOfWork, actor: Actor, *, state: str | None = "open", level: str | None = None,
                  indicator: str | None = None, area: str | None = None, limit: int = 100,
                  offset: int = 0) -> dict[str, Any]:
    """Warnings in the actor's scope, newest first.  ``state``: open (pending or firing), pending,
    firing, resolved, cleared or all; ``area``: an area code whose subtree to show."""
    authz.require(actor, p.INDICATOR_READ)
    from sqlalchemy import func

    with uow:
        s = uow.session
        q = select(IndicatorWarning).where(authz.area_clause(actor, IndicatorWarning.area_path))
        if state == "open":
            q = q.where(IndicatorWarning.state.in_(OPEN_STATES))
        elif state and state != "all":
            q = q.where(IndicatorWarning.state == state)
        if level:
            q = q.where(IndicatorWarning.level == level)
        if indicator:
            q = q.where(IndicatorWarning.indicator_code == indicator)
        if area:
            path = s.scalar(select(Area.path).where(Area.code == area))
            if path is None:
                raise NotFound(f"area {area} not found")
            q = q.where(IndicatorWarning.area_path.startswith(path, autoescape=True))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.order_by(IndicatorWarning.started_at.desc(), IndicatorWarning.id.desc())
                         .limit(limit).offset(offset)).all()
        numbers = dict(s.execute(select(Event.id, Event.number).where(
            Event.id.in_([w.event_id for w in rows if w.event_id]))).all()) if rows else {}
        names = _names(s, rows)
        return {"total": total, "items": [
            {**_record(w, numbers.get(w.event_id) if w.event_id else None), **names(w)} for w in rows]}


def _names(s: Session, rows: Sequence[IndicatorWarning]) -> Any:
    """The indicator's and the area's names of a page of warnings (two IN queries), for people to read."""
    if not rows:
        return lambda w: {}
    indicators = dict(s.execute(select(Indicator.code, Indicator.name).where(
        Indicator.code.in_({w.indicator_code for w in rows}))).all())
    areas = dict(s.execute(select(Area.code, Area.name).where(Area.code.in_({w.area_code for w in rows}))).all())
    return lambda w: {"indicator_name": indicators.get(w.indicator_code), "area_name": areas.get(w.area_code)}


def _load_visible(s: Session, actor: Actor, warning_id: int) -> IndicatorWarning:
    w = s.get(IndicatorWarning, warning_id)
    if w is None:
        raise NotFound(f"warning {warning_id} not found")
    authz.ensure_visible(actor, w.area_path, what="warning")
    return w


def get_warning(uow: UnitOfWork, actor: Actor, warning_id: int) -> dict[str, Any]:
    """One warning with its whole history (every change of state and level)."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        s = uow.session
        w = _load_visible(s, actor, warning_id)
        number = s.scalar(select(Event.number).where(Event.id == w.event_id)) if w.event_id else None
        changes = s.scalars(select(WarningLevelChange).where(WarningLevelChange.warning_id == w.id)
                            .order_by(WarningLevelChange.id)).all()
        return {**_record(w, number), "changes": [
            {"at": ch.at, "change": ch.change, "from_level": ch.from_level, "to_level": ch.to_level,
             "value": ch.value, "actor": ch.actor, "payload": ch.payload} for ch in changes]}


def acknowledge(uow: UnitOfWork, actor: Actor, warning_id: int, comment: str | None = None, *,
                now: datetime | None = None) -> dict[str, Any]:
    """A person has seen the warning (确认).  Acknowledging twice is refused (409) so nobody believes
    they were first; acknowledging does not silence it or change its level."""
    authz.require(actor, p.WARNING_ACK)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        w = _load_visible(s, actor, warning_id)
        if w.acknowledged_at is not None:
            raise Conflict(f"already acknowledged by {w.acknowledged_by}", field="warning_id")
        if w.state == Status.CLEARED.value:
            raise Conflict("a cleared warning never fired; there is nothing to acknowledge")
        # Not a versioned change: the evaluator owns state and level, a person owns the acknowledgement.
        s.execute(update(IndicatorWarning).where(IndicatorWarning.id == w.id)
                  .values(acknowledged_at=at, acknowledged_by=actor.label, ack_note=comment)
                  .execution_options(synchronize_session=False))
        s.add(WarningLevelChange(warning_id=w.id, at=at, change="acknowledged", from_level=w.level,
                                 to_level=w.level, value=None, actor=actor.label,
                                 payload={"comment": comment} if comment else {}))
        if w.event_id:
            ev = s.get(Event, w.event_id)
            if ev is not None:
                note(s, ev, actor, "warning.acknowledged", at, reason=comment, payload={"warning_id": w.id})
        from shuzhi.services.notices.warning_link import stop_chains_of_warning

        stop_chains_of_warning(s, w, actor, at)  # nobody is woken for a warning in hand (docs/notices.md)
        uow.commit()
    return get_warning(uow, actor, warning_id)


def timeline_of_warning_event(s: Session, event_id: int) -> list[TimelineEntry]:
    """The warning lines of an event's timeline (for tests and the cockpit)."""
    return list(s.scalars(select(TimelineEntry).where(TimelineEntry.event_id == event_id,
                                                      TimelineEntry.action.like("warning.%"))
                          .order_by(TimelineEntry.id)))
