"""The town (issue #20): tasks to named people (事件责任人) and the town's boards (一中心四板块)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.entrypoints.api.schemas import EventOut
from shuzhi.services import assignees, town

router = APIRouter(tags=["town"])


@router.post("/api/events/{ref}/tasks/{task_id}/assign", response_model=EventOut)
def assign(ref: Ref, task_id: int, body: assignees.Assign, uow: UowDep, actor: ActorDep) -> EventOut:
    """Assign (or reassign) a unit's task to a named person of the unit (事件责任人)."""
    return EventOut.of(assignees.assign_task(uow, ref, task_id, body, actor))


@router.get("/api/events/{ref}/tasks/{task_id}/members")
def members(ref: Ref, task_id: int, uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Whom the task may be assigned to (the holding unit's people and post holders); for its assigners."""
    return [asdict(m) for m in assignees.members(uow, ref, task_id, actor)]


@router.post("/api/events/{ref}/tasks/{task_id}/hand-to-board", response_model=EventOut)
def hand_to_board(ref: Ref, task_id: int, body: town.HandToBoard, uow: UowDep, actor: ActorDep) -> EventOut:
    """A board hands its task to a sibling board of the town, with a reason (横向转交)."""
    return EventOut.of(town.hand_to_board(uow, ref, task_id, body, actor))


@router.get("/api/my/assigned-tasks")
def my_tasks(uow: UowDep, actor: ActorDep, open_only: bool = True,
             limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    """The tasks assigned to me by name, earliest deadline first (``overdue`` past the handling deadline)."""
    return [asdict(t) for t in assignees.my_tasks(uow, actor, open_only=open_only, limit=limit)]


@router.get("/api/town-boards")
def board_names(uow: UowDep, actor: ActorDep) -> list[dict[str, str]]:
    """The city's boards every town has (the four of the seeds by default)."""
    return town.get_board_names(uow, actor)


@router.put("/api/town-boards")
def put_board_names(body: town.BoardNames, uow: UowDep, actor: ActorDep) -> list[dict[str, str]]:
    """Name the city's boards (installation-wide, audited)."""
    return town.put_board_names(uow, actor, body)


@router.get("/api/towns/{town_code}/structure")
def structure(town_code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The town's structure: centre, boards, their leaders in charge, posts and holders, duties."""
    return town.structure(uow, actor, town_code)


@router.post("/api/towns/{town_code}/boards")
def create_boards(town_code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Give the town the city's boards it does not have yet."""
    return town.create_default_boards(uow, actor, town_code)


@router.put("/api/towns/{town_code}/boards/{board_key}")
def save_board(town_code: str, board_key: str, body: town.BoardIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Create or change one board: name, leader in charge, posts with holders, duty list (履职清单)."""
    return town.save_board(uow, actor, town_code, board_key, body)
