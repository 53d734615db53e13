"""Deadlines of tasks from the catalogue's time limits and the working calendar (处置时限)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from shuzhi.adapters.db.tables import EventClass
from shuzhi.domain.calendar import DayTable, OfficeHours, WorkingCalendar
from shuzhi.domain.time_limits import Stage, TimeLimits, Urgency


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The official calendar (holidays and make-up working days) with the default office hours."""
    return WorkingCalendar(OfficeHours.parse("09:00-12:00,14:00-18:00"), DayTable())


def due_at(event_class: EventClass | None, urgency: str, stage: Stage, start: datetime) -> datetime | None:
    """When ``stage`` of a task started at ``start`` falls due, or None if the class sets no limit."""
    if event_class is None or not event_class.time_limits:
        return None
    limit = TimeLimits.from_mapping(event_class.time_limits).get(Urgency(urgency), stage)
    if limit is None:
        return None
    return default_calendar().deadline(start, limit)
