"""The desk in the browser: the desk actions a person may take on an event, and the unit's desk inbox."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.services import desk

router = APIRouter(tags=["desk"])


class DeskActionsOut(BaseModel):
    number: str
    state: str
    version: int
    actions: list[str]
    push_down_to: list[dict[str, str]]
    escalate_to: dict[str, str] | None


class InboxItemOut(BaseModel):
    kind: str
    box: str
    unread: bool
    event_number: str
    event_title: str
    event_state: str
    at: datetime
    task_id: int | None
    task_state: str | None
    role: str | None
    unit_name: str | None
    dispatched_by: str | None
    handle_due_at: datetime | None


class CountsOut(BaseModel):
    unread_copies: int
    tasks_waiting: int
    from_below: int
    unread_messages: int
    assigned_to_me: int


@router.get("/api/events/{ref}/desk-actions", response_model=DeskActionsOut)
def desk_actions(ref: Ref, uow: UowDep, actor: ActorDep) -> DeskActionsOut:
    """The desk actions the caller may take on the event now (role, standing, state): what a page offers."""
    return DeskActionsOut(**asdict(desk.desk_actions(uow, ref, actor)))


@router.get("/api/desk/inbox", response_model=list[InboxItemOut])
def desk_inbox(uow: UowDep, actor: ActorDep, box: str = "down", unread: bool | None = None,
               before_id: int | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[InboxItemOut]:
    """My unit's desk inbox: ``down`` (copies and tasks from above), ``up`` (work waiting from below) or
    ``mine`` (open tasks assigned to me by name, 事件责任人)."""
    items = desk.inbox(uow, actor, box=box, unread=unread, before_id=before_id, limit=limit)
    return [InboxItemOut(**asdict(i)) for i in items]


@router.get("/api/desk/counts", response_model=CountsOut)
def desk_counts(uow: UowDep, actor: ActorDep) -> CountsOut:
    """The header's counts: unread copies, tasks to sign for, work from below, unread messages."""
    return CountsOut(**asdict(desk.counts(uow, actor)))
