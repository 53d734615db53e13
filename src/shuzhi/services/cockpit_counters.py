"""The cockpit's counters of the warnings and plans parts: active warnings and running plans.

Registered in :data:`shuzhi.services.cockpit.EXTRA_COUNTERS` by
:func:`shuzhi.services.bootstrap.bootstrap`. Each is one indexed COUNT limited to the actor's scope by the same rule
as the list it links to — ``/warnings?state=firing`` (``GET /api/warnings``) and ``/plans``
(``GET /api/plan-runs?state=active``) — so the figure and the list always agree. A person who may not
read the part gets ``None`` (the page says 暂无), not a 0 that would pass for "nothing happening".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_plans import PlanRun
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain import permissions as p
from shuzhi.domain.plan_runs import RunState
from shuzhi.domain.thresholds import Status
from shuzhi.services.actors import Actor
from shuzhi.services.security import authz

#: A warning counts as active while it fires (pending is not yet a warning: its ``for`` has not run out).
ACTIVE_WARNING_STATE = Status.FIRING.value
RUNNING_PLAN_STATE = RunState.ACTIVE.value


def active_warnings(s: Session, actor: Actor, now: datetime) -> int | None:
    """Firing warnings in the actor's area subtrees (silenced ones too: they are still happening)."""
    if not authz.can(actor, p.INDICATOR_READ):
        return None
    return int(s.scalar(select(func.count()).select_from(IndicatorWarning).where(
        IndicatorWarning.state == ACTIVE_WARNING_STATE,
        authz.area_clause(actor, IndicatorWarning.area_path))) or 0)


def running_plans(s: Session, actor: Actor, now: datetime) -> int | None:
    """Plan runs under way (activated, not stood down) whose event the actor may see."""
    if not authz.can(actor, p.PLAN_READ):
        return None
    q = select(func.count()).select_from(PlanRun).where(PlanRun.state == RUNNING_PLAN_STATE)
    if actor.area_paths is not None:
        q = q.join(Event, Event.id == PlanRun.event_id).where(
            authz.area_clause(actor, Event.area_path, Event.owner_unit_id))
    return int(s.scalar(q) or 0)

