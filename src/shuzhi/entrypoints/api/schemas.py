"""Response models of the event API (request bodies are the service commands)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shuzhi.adapters.db.tables import Event, Task, TimelineEntry
from shuzhi.domain.events import (
    WORKING_TASK_STATES,
    EventState,
    TaskState,
    allowed_event_actions,
    allowed_task_actions,
)
from shuzhi.domain.personal_data import mask_id_number, mask_name, mask_phone, mask_text
from shuzhi.domain.supervision import RUNNING


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    unit_code: str
    unit_name: str
    role: str
    state: str
    instruction: str | None
    dispatched_by: str | None
    dispatched_at: datetime
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    accepted_at: datetime | None
    reported_at: datetime | None
    verified_at: datetime | None
    read_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    result: str | None
    extension_requested_until: datetime | None
    suspended_at: datetime | None
    rework_count: int
    version: int
    allowed_actions: list[str]
    #: The named person answering for the task (事件责任人), if one was assigned.
    assignee_code: str | None = None
    assignee_name: str | None = None
    assigned_at: datetime | None = None
    #: The supervision clock runs on it (domain ``supervision.RUNNING``): the pages need not keep a copy.
    clock_running: bool = False
    #: A unit is working on it (domain ``events.WORKING_TASK_STATES``).
    working: bool = False

    @classmethod
    def of(cls, t: Task) -> TaskOut:
        return cls(
            id=t.id, unit_code=t.unit.code, unit_name=t.unit.name, role=t.role, state=t.state,
            instruction=t.instruction, dispatched_by=t.dispatched_by, dispatched_at=t.dispatched_at,
            accept_due_at=t.accept_due_at, handle_due_at=t.handle_due_at, accepted_at=t.accepted_at,
            reported_at=t.reported_at, verified_at=t.verified_at, read_at=t.read_at, ended_at=t.ended_at,
            end_reason=t.end_reason, result=t.result, extension_requested_until=t.extension_requested_until,
            suspended_at=t.suspended_at, rework_count=t.rework_count, version=t.version,
            allowed_actions=[a.value for a in allowed_task_actions(TaskState(t.state))],
            assignee_code=who.code if (who := t.assignee_if_loaded) is not None else None,
            assignee_name=who.name if who is not None else None, assigned_at=t.assigned_at,
            clock_running=TaskState(t.state) in RUNNING, working=TaskState(t.state) in WORKING_TASK_STATES,
        )


class EventOut(BaseModel):
    id: int
    number: str
    state: str
    mode: str
    source: str
    request_type: str | None
    event_class_code: str | None
    event_class_name: str | None
    major_class: str | None
    title: str
    description: str
    lon: float | None
    lat: float | None
    address: str | None
    area_code: str | None
    area_name: str | None
    area_chain: list[str]
    urgency: str
    #: Masked (``张*``, ``138****5678``, ``5001**********1234``); POST /api/events/{ref}/reveal shows them.
    reporter_name: str | None
    reporter_phone: str | None
    reporter_id_number: str | None = None
    external_ref: str | None
    owner_unit_id: int | None
    master_event_id: int | None
    self_handled: bool
    satisfied: bool | None
    rework_count: int
    return_count: int
    received_at: datetime
    dispatched_at: datetime | None
    reported_at: datetime | None
    closed_at: datetime | None
    called_back_at: datetime | None
    updated_at: datetime
    version: int
    allowed_actions: list[str]
    tasks: list[TaskOut]

    @classmethod
    def of(cls, e: Event, tasks: Sequence[Task] | None = None) -> EventOut:
        """``tasks``: the tasks the reader may see (default: all of the event's)."""
        cl = e.event_class
        return cls(
            id=e.id, number=e.number, state=e.state, mode=e.mode, source=e.source, request_type=e.request_type,
            event_class_code=cl.code if cl else None, event_class_name=cl.name if cl else None,
            major_class=cl.major_name if cl else None, title=e.title, description=mask_text(e.description),
            lon=e.lon, lat=e.lat, address=e.address, area_code=e.area.code if e.area else None,
            area_name=e.area.name if e.area else None,
            area_chain=[c for c in (e.area_path or "").split("/") if c],
            urgency=e.urgency, reporter_name=mask_name(e.reporter_name), reporter_phone=mask_phone(e.reporter_phone),
            reporter_id_number=mask_id_number(e.reporter_id_number),
            external_ref=e.external_ref, owner_unit_id=e.owner_unit_id, master_event_id=e.master_event_id,
            self_handled=e.self_handled, satisfied=e.satisfied, rework_count=e.rework_count,
            return_count=e.return_count, received_at=e.received_at, dispatched_at=e.dispatched_at,
            reported_at=e.reported_at, closed_at=e.closed_at, called_back_at=e.called_back_at,
            updated_at=e.updated_at, version=e.version,
            allowed_actions=[a.value for a in allowed_event_actions(EventState(e.state))],
            tasks=[TaskOut.of(t) for t in (e.tasks if tasks is None else tasks)],
        )


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None
    total: int | None = None


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    task_id: int | None
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, t: TimelineEntry) -> TimelineOut:
        return cls.model_validate(t)


class Created(BaseModel):
    id: int
    number: str
    created: bool
