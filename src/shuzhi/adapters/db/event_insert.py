"""Writing a new event and its first timeline line, in the caller's transaction.

Intake is the hottest write path. On PostgreSQL both rows go in one data-modifying CTE sent as plain
SQL (no statement to compile; psycopg prepares it after a few uses): one round trip instead of two,
and no ORM bookkeeping. SQLite (no data-modifying CTEs) gets two Core statements built once, and so does
Citus: there the CTE is not routed to the case's shard but planned as an ``INSERT … SELECT`` pulled to
the coordinator (the event inserted on the worker, its id brought back as an intermediate result, then
the timeline line sent again: several round trips and intermediate results per intake); two
single-shard statements in the one transaction go to the one worker.
The number is drawn beforehand (:func:`shuzhi.adapters.db.sequences.draw`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from shuzhi.adapters.db.citus import on_citus
from shuzhi.adapters.db.districts import of_number
from shuzhi.adapters.db.tables import Event, TimelineEntry

#: The columns of a new event the caller gives (with ``number``), in the order of the statement.
EVENT_COLUMNS = (
    "number", "source", "request_type", "event_class_id", "title", "description", "lon", "lat", "address",
    "area_id", "area_path", "reporter_name", "reporter_phone", "reporter_id_number", "urgency", "mode", "state",
    "external_ref", "intake_key", "owner_unit_id", "self_handled", "rework_count", "return_count",
    "received_at", "updated_at", "version", "district_code",
)
#: The columns of its first timeline line (``event_id`` comes from the new event).
LINE_COLUMNS = ("task_id", "at", "actor_id", "actor", "action", "from_state", "to_state", "reason", "payload")

_PG_SQL = f"""
WITH ev AS (
    INSERT INTO events ({", ".join(EVENT_COLUMNS)})
    VALUES ({", ".join(f"%(e_{c})s" for c in EVENT_COLUMNS)})
    RETURNING id
)
INSERT INTO timeline_entries (event_id, district_code, {", ".join(LINE_COLUMNS)})
SELECT ev.id, %(e_district_code)s,
       {", ".join(f"%(l_{c})s::json" if c == "payload" else f"%(l_{c})s" for c in LINE_COLUMNS)}
FROM ev
RETURNING event_id
"""

_EVENTS: Table = Event.__table__  # type: ignore[assignment]
_TIMELINE: Table = TimelineEntry.__table__  # type: ignore[assignment]
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_INSERT_TIMELINE = insert(_TIMELINE)


def insert_event(session: Session, event: dict[str, Any], line: dict[str, Any]) -> int:
    """Insert ``event`` and ``line`` as its first timeline line; the new event's id. Times must be
    aware (they are stored as UTC). Both rows get the district code the number starts with."""
    event = {**event, "district_code": of_number(event["number"])}
    if session.get_bind().dialect.name != "postgresql" or on_citus(session.connection()):
        event_id = session.execute(_INSERT_EVENT, event).scalar_one()
        session.execute(_INSERT_TIMELINE, {**line, "event_id": event_id, "district_code": event["district_code"]})
        return int(event_id)
    params: dict[str, Any] = {f"e_{c}": event[c] for c in EVENT_COLUMNS}
    for c in LINE_COLUMNS:
        params[f"l_{c}"] = line[c]
    params["l_payload"] = json.dumps(line["payload"])
    return int(session.connection().exec_driver_sql(_PG_SQL, params).scalar_one())
