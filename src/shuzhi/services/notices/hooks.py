"""Where notices start: a warning turning red (or orange) starts an escalation chain; a plan starting
notifies every unit it gives a task to. The worker's periodic jobs send the notices and run the steps.

Both hooks run inside the transaction of the change that caused them (``hooks.WARNING_HOOKS``, and the
plans' activation), so the notices are in the durable outbox exactly when the change is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, Unit
from shuzhi.adapters.db.tables_sensing import Indicator
from shuzhi.config import Settings, get_settings
from shuzhi.domain import notices as rules
from shuzhi.domain.thresholds import LABELS
from shuzhi.services import hooks
from shuzhi.services.notices import escalation
from shuzhi.services.notices import sender as notice_sender
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger("shuzhi.notices")
#: The settings the API process was built with (``configure``); the worker reads the environment.
_settings: Settings | None = None
#: A warning older than this when it is announced is history being replayed (an import, the demo's
#: seeding): it is written on the timeline as always, but wakes nobody.
STALE = timedelta(hours=1)


def configure(settings: Settings) -> None:
    global _settings
    _settings = settings


def settings() -> Settings:
    return _settings or get_settings()
#: Warning levels that start a chain, and the notice kind each starts.
LEVEL_KINDS = {"red": rules.NoticeKind.WARNING_RED.value, "orange": rules.NoticeKind.WARNING_ORANGE.value}


def _event_facts(s: Session, event_id: int | None) -> dict[str, Any]:
    if event_id is None:
        return {}
    ev = s.get(Event, event_id)
    if ev is None:
        return {}
    cls = s.get(EventClass, ev.event_class_id) if getattr(ev, "event_class_id", None) else None
    due = s.scalar(select(func.min(Task.handle_due_at)).where(Task.event_id == ev.id,
                                                             Task.handle_due_at.is_not(None)))
    return {"number": ev.number, "class_name": cls.name if cls else None,
            "deadline_text": rules.local_deadline(due) if due else None}


def on_warning(s: Session, change: hooks.WarningChange) -> None:
    """A warning fired at, or rose to, a level with a policy: start the chain for the responsible centre.

    Its first notices are written right after the readings' transaction commits (``after_commit``),
    not inside it: the warning and its event are visible without waiting for them, and the chain row,
    committed with the warning, is the worker's to step if this process stops first."""
    kind = LEVEL_KINDS.get(change.level or "")
    if kind is None or change.payload.get("change") not in ("fired", "raised"):
        return
    if change.at < datetime.now(change.at.tzinfo) - STALE:
        return
    unit = escalation.centre_for(s, change.area_path)
    if unit is None:
        log.warning("no centre covers %s: the %s warning %s notifies nobody", change.area_path, change.level,
                    change.warning_id)
        return
    area = s.scalar(select(Area.name).where(Area.code == change.area_code)) or change.area_code
    indicator = s.scalar(select(Indicator.name).where(Indicator.code == change.indicator_code))
    facts = _event_facts(s, change.event_id)
    context = {"number": facts.get("number") or f"W{change.warning_id}",
               "class_name": indicator or facts.get("class_name") or change.indicator_code,
               "place": area, "level": LABELS.get(change.level or "", change.level or ""),
               "deadline_text": facts.get("deadline_text") or rules.local_deadline(change.at + timedelta(minutes=30))}
    # one chain per series within the de-dup window: a flapping sensor is one notice, not a storm
    escalation.start_chain(s, kind=kind, subject=f"warning:{change.indicator_code}:{change.series_key}", unit=unit,
                           context=context, at=change.at, event_id=change.event_id,
                           base_url=settings().public_base_url, after_commit=True)


def on_plan_started(s: Session, started: hooks.PlanStarted) -> None:
    notify_plan_run(s, started.run_id, started.at, plan_name=started.plan_name, event_id=started.event_id,
                    unit_ids=list(started.unit_ids))


def notify_plan_run(s: Session, run_id: int, at: datetime, *, plan_name: str, event_id: int | None,
                    unit_ids: list[int]) -> int:
    """A plan started: one chain per unit it gives a share to (a plan's activation reaches every town)."""
    facts = _event_facts(s, event_id)
    units = list(s.scalars(select(Unit).where(Unit.id.in_(sorted(set(unit_ids))))))
    areas = dict(s.execute(select(Area.id, Area.name).where(Area.id.in_({u.area_id for u in units}))).all())
    contexts = {u.id: {"number": facts.get("number") or f"P{run_id}", "plan": plan_name,
                       "place": areas.get(u.area_id, u.name), "deadline_text": facts.get("deadline_text") or "尽快"}
                for u in units}
    return escalation.start_chains_later(s, kind=rules.NoticeKind.PLAN_ACTIVATED.value, subject=f"plan_run:{run_id}",
                                         units=units, contexts=contexts, at=at, event_id=event_id)


def send_job(uow_factory: Callable[[], UnitOfWork], now: datetime) -> int:
    return notice_sender.send_due(uow_factory, now, notice_sender.from_settings(settings()))


def steps_job(uow_factory: Callable[[], UnitOfWork], now: datetime) -> int:
    return escalation.run_due_steps(uow_factory, now, base_url=settings().public_base_url)

