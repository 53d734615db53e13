"""The seams between parts of the loop: sensing → warnings → events and plans.

Each list holds callables that run inside the caller's unit of work (same transaction), in order.
The part that produces the change calls them; the parts that react are registered in one place,
:mod:`shuzhi.services.bootstrap`, called once at start-up. Keeping the seam
this thin lets ingest know nothing of thresholds, and warnings nothing of plans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shuzhi.domain.readings import StoredReading


@dataclass(frozen=True)
class WarningChange:
    """A warning fired, changed level or resolved (``level`` is None when resolved)."""

    warning_id: int
    #: Unique per (indicator, series) episode: a plan started by it is started once.
    episode_key: str
    indicator_code: str
    #: Codes from the sector down to the indicator itself, so a trigger can name any node of the tree.
    indicator_lineage: tuple[str, ...]
    series_key: str
    area_code: str
    area_path: str
    level: str | None  # blue|yellow|orange|red, None = resolved
    previous_level: str | None
    at: datetime
    event_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventChange:
    """An event was registered, or its class or urgency changed (reclassified)."""

    event_id: int
    event_class_code: str | None
    urgency: str
    previous_class_code: str | None
    previous_urgency: str | None
    area_path: str | None
    at: datetime
    change: str  # registered | reclassified
    #: The event's district (``district_code``): a hook that reads the event names it too, so that on
    #: Citus the read goes to the one shard the case sits in instead of every shard of ``events``.
    district_code: str | None = None
    #: What was reported, given on registration (the intake has it in hand), so that a hook reading the
    #: report need not read back the row just written; ``None`` when not given.
    source: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PlanStarted:
    """A plan run started: its tasks went to these units under this event."""

    run_id: int
    plan_code: str
    plan_name: str
    event_id: int
    unit_ids: tuple[int, ...]
    at: datetime


#: Called with the readings a batch stored (after duplicates are dropped), in time order per series.
READING_HOOKS: list[Callable[[Session, Sequence[StoredReading]], None]] = []
#: Called for every warning that fired, rose, fell or resolved.
WARNING_HOOKS: list[Callable[[Session, WarningChange], None]] = []
#: Called after an event was registered or reclassified (event-class plan triggers).
EVENT_HOOKS: list[Callable[[Session, EventChange], None]] = []
#: Called after every task transition, with the task and the action (``report_back`` …), before the
#: event is synced to its tasks: a plan releases the tasks that waited for this one.
TASK_HOOKS: list[Callable[[Session, Any, Any, str], None]] = []
#: Called after a plan run started and dispatched its first tasks (notices reach every unit).
PLAN_HOOKS: list[Callable[[Session, PlanStarted], None]] = []
