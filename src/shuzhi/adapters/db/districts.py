"""The district code of a case's rows, filled at insert.

Every row of a case — the event, its tasks, timeline lines, attachments, supervision clocks and steps,
urges and escalations — carries its district's code (``500111``). On Citus it is the distribution
column of those tables (``adapters/db/citus.py``): one case's rows sit on one worker. On one
PostgreSQL and SQLite it is a plain column (the district's cases by time are one index range).

Where it comes from: the event number starts with it (``500111-20240613-000123``, drawn at intake from
the area the event was located in, or its owner centre's). An event written through the ORM gets it from
its number here; a child row from its event (the session's copy when it has one, else one indexed
read). Code that inserts rows with Core statements (the hot paths: intake, dispatch, the sweep) sets
it itself with :func:`of_number`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, event, select
from sqlalchemy.orm import Mapper, Session, object_session

from shuzhi.adapters.db.tables import Attachment, Event, Task, TimelineEntry
from shuzhi.adapters.db.tables_supervision import Escalation, SupervisionClock, SupervisionStep, Urge

#: The tables of a case that carry ``district_code`` (all co-located on Citus).
CASE_TABLES = ("events", "tasks", "timeline_entries", "attachments", "supervision_clocks", "supervision_steps",
               "urges", "escalations")


def of_number(number: str | None) -> str | None:
    """The district code an event number starts with (``500111-20240613-000123`` → ``500111``)."""
    return number.split("-", 1)[0] if number else None


def _event_before_insert(_mapper: Mapper[Any], _conn: Connection, target: Event) -> None:
    if target.district_code is None:
        target.district_code = of_number(target.number)


def _child_before_insert(_mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    if target.district_code is not None:
        return
    number = getattr(target, "event_number", None)  # a supervision clock carries its event's number
    if number:
        target.district_code = of_number(number)
        return
    session = object_session(target)
    ev = session.identity_map.get((Event, (target.event_id,), None)) if session is not None else None
    if ev is not None:
        target.district_code = ev.district_code or of_number(ev.number)
        return
    target.district_code = conn.execute(
        select(Event.district_code).where(Event.id == target.event_id)).scalar_one_or_none()


event.listen(Event, "before_insert", _event_before_insert)
for _cls in (Task, TimelineEntry, Attachment, SupervisionClock, SupervisionStep, Urge, Escalation):
    event.listen(_cls, "before_insert", _child_before_insert)



def districts_of_events(session: Session, event_ids: Iterable[int]) -> dict[int, str | None]:
    """The district codes of these events (one query), for rows written by Core statements."""
    ids = list(event_ids)
    if not ids:
        return {}
    return dict(session.execute(select(Event.id, Event.district_code).where(Event.id.in_(ids))).all())


def district_of_event(session: Session, event_id: int) -> str | None:
    """The district code of one event: the session's copy when it has one, else one indexed read."""
    ev = session.identity_map.get((Event, (event_id,), None))
    if ev is not None:
        return ev.district_code or of_number(ev.number)
    return districts_of_events(session, [event_id]).get(event_id)


def same_case(child: Any, ev: Any = Event) -> ColumnElement[bool]:
    """The join of a case's row (a task, a timeline line, a step …) to its event, on the id and the
    district: on Citus a join between co-located tables must name the distribution column, on one
    PostgreSQL the extra equality costs nothing."""
    return and_(ev.id == child.event_id, ev.district_code == child.district_code)


__all__ = ["CASE_TABLES", "district_of_event", "districts_of_events", "of_number", "same_case"]
