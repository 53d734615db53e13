"""Deadlines of tasks from the catalogue's time limits and the working calendar (处置时限)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from shuzhi.adapters.db.tables import EventClass
from shuzhi.domain.calendar import DayTable, OfficeHours, WorkingCalendar
from shuzhi.domain.time_limits import LimitUnit, Stage, TimeLimit, TimeLimits, Urgency


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The official calendar (holidays and make-up working days) with the default office hours."""
    return WorkingCalendar(OfficeHours.parse("09:00-12:00,14:00-18:00"), DayTable())


def limit_for(event_class: EventClass | None, urgency: str, stage: Stage) -> TimeLimit | None:
    if event_class is None or not event_class.time_limits:
        return None
    return TimeLimits.from_mapping(event_class.time_limits).get(Urgency(urgency), stage)


def due_at(event_class: EventClass | None, urgency: str, stage: Stage, start: datetime,
           calendar: WorkingCalendar | None = None) -> datetime | None:
    """When ``stage`` of a task started at ``start`` falls due, or None if the class sets no limit.

    ``calendar`` is the unit's (its centre's office hours and the entered years, see
    :func:`shuzhi.services.calendars.calendar_for`); the bundled default without one.
    """
    limit = limit_for(event_class, urgency, stage)
    return None if limit is None else (calendar or default_calendar()).deadline(start, limit)


def resumed_due_at(event_class: EventClass | None, urgency: str, due: datetime, suspended_at: datetime,
                   resumed_at: datetime, calendar: WorkingCalendar | None = None) -> datetime:
    """The handling deadline after a suspension: the time that was left, counted from the resumption
    in the unit of the class's limit (working time stops over nights and holidays, calendar hours don't)."""
    limit = limit_for(event_class, urgency, Stage.HANDLE)
    unit = limit.unit if limit is not None else LimitUnit.WORKING_HOURS
    return (calendar or default_calendar()).resume_deadline(due, suspended_at, resumed_at, unit)
