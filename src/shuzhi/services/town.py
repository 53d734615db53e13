"""The town's structure (一中心四板块一网格, issue #20): boards under the town centre, their posts held by
named people, the town leader in charge of each, their duty lists; and a board handing a case sideways.

A board is a unit (kind ``department`` at town level, parent the town centre, covering the town), so
the town centre dispatches to it like to any department (横向分拨, ``POST /api/events/{ref}/dispatch``
or ``…/hand-sideways``), a board hands a task back up by returning it before signing (退单) or as beyond
its capacity after (上报, ``…/tasks/{id}/escalate``: the town centre is the centre above it), and
:func:`hand_to_board` passes it to a sibling board with a reason. The city names the boards
(:func:`put_board_names`; the four of the seeds by default); a town's administrator edits its boards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, Person, Task, Unit, UnitCoverage
from shuzhi.adapters.db.tables_town import BoardPost, TownBoard, TownBoardName
from shuzhi.domain import permissions as P
from shuzhi.domain import town as d
from shuzhi.domain.events import ACTIVE_TASK_STATES, TaskAction, TaskRole
from shuzhi.services import assignees, handling
from shuzhi.services.actors import Actor, forget_people
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.transitions import move_task, note, sync_event
from shuzhi.services.unit_of_work import UnitOfWork

_LIVE = [s.value for s in ACTIVE_TASK_STATES]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BoardName(_In):
    key: str = Field(min_length=2, max_length=30)
    name: str = Field(min_length=1, max_length=50)


class BoardNames(_In):
    boards: list[BoardName] = Field(min_length=1, max_length=12)


class PostIn(_In):
    name: str = Field(min_length=1, max_length=100)
    person_code: str | None = Field(default=None, max_length=40)


class DutyIn(_In):
    title: str = Field(min_length=1, max_length=200)
    detail: str = Field(default="", max_length=2000)


class BoardIn(_In):
    """A board as the town's administrator saves it: posts and duties replace the stored ones."""

    name: str | None = Field(default=None, min_length=1, max_length=50)
    leader_code: str | None = Field(default=None, max_length=40)
    posts: list[PostIn] = Field(default_factory=list, max_length=50)
    duties: list[DutyIn] = Field(default_factory=list, max_length=100)


class HandToBoard(_In):
    board_key: str = Field(min_length=2, max_length=30)
    reason: str = Field(min_length=1, max_length=2000)
    expected_version: int | None = None


# --- the city's board names -------------------------------------------------------------------------


def board_names(s: Session) -> list[tuple[str, str]]:
    """The city's boards as (key, name), in order; the four of the seeds when it named none."""
    rows = s.execute(select(TownBoardName.key, TownBoardName.name).order_by(TownBoardName.sort)).all()
    return [(k, n) for k, n in rows] or list(d.DEFAULT_BOARDS)


def get_board_names(uow: UnitOfWork, actor: Actor) -> list[dict[str, str]]:
    authz.require(actor, P.EVENT_READ)
    with uow:
        return [{"key": k, "name": n} for k, n in board_names(uow.session)]


def put_board_names(uow: UnitOfWork, actor: Actor, cmd: BoardNames) -> list[dict[str, str]]:
    """Replace the city's board names (installation-wide: global administrators; audited before/after).
    A key already used by a town's board stays (the board would lose its name)."""
    authz.require(actor, P.REFERENCE_WRITE)
    authz.ensure_config_in_scope(actor, None, "the city's boards", field="boards")
    for i, b in enumerate(cmd.boards):
        if (problem := d.board_key_problem(b.key)) is not None:
            raise Invalid(problem, field=f"boards[{i}].key")
    keys = [b.key for b in cmd.boards]
    if len(set(keys)) != len(keys):
        raise Invalid("a board key is named twice", field="boards")
    with uow:
        s = uow.session
        before = board_names(s)
        used = set(s.scalars(select(TownBoard.key).distinct()))
        if missing := sorted(used - set(keys)):
            raise Invalid(f"towns have boards '{', '.join(missing)}': keep their keys", field="boards")
        s.execute(delete(TownBoardName))
        s.add_all(TownBoardName(key=b.key, name=b.name, sort=i) for i, b in enumerate(cmd.boards))
        audit.record(s, actor, "town.board_names", "town_board_names", {
            "before": [{"key": k, "name": n} for k, n in before], "after": [b.model_dump() for b in cmd.boards]})
        uow.commit()
        return [{"key": b.key, "name": b.name} for b in cmd.boards]


# --- a town and its boards ----------------------------------------------------------------------------


def _town(s: Session, actor: Actor, town_code: str) -> tuple[Area, Unit]:
    """The town and its centre; a town outside the actor's sight is *not found*, like a missing one.
    Sight: the town in the actor's area subtrees, or the actor's unit sits in the town (a board)."""
    area = s.scalar(select(Area).where(Area.code == town_code, Area.level == "town"))
    visible = area is not None and authz.path_visible(actor, area.path)
    if area is not None and not visible and actor.unit_id is not None:
        own = s.scalar(select(Area.path).join(Unit, Unit.area_id == Area.id).where(Unit.id == actor.unit_id))
        visible = own is not None and own.startswith(area.path)
    if area is None or not visible:
        raise NotFound(f"town {town_code} not found")
    centre = s.scalar(select(Unit).where(Unit.area_id == area.id, Unit.kind == "centre", Unit.active.is_(True)))
    if centre is None:
        raise Conflict(f"{area.name} has no centre yet: import it with the units first", field="town_code")
    return area, centre


def _who(p: Person | None) -> dict[str, str] | None:
    return {"code": p.code, "name": p.name} if p is not None else None


def structure(uow: UnitOfWork, actor: Actor, town_code: str) -> dict[str, Any]:
    """The town's structure: its centre, its boards (leader in charge, posts and holders, duties, open
    tasks), the city's board names, and whether the actor may edit it."""
    authz.require(actor, P.EVENT_READ)
    with uow:
        s = uow.session
        area, centre = _town(s, actor, town_code)
        boards = s.execute(select(TownBoard, Unit).join(Unit, Unit.id == TownBoard.unit_id)
                           .where(TownBoard.town_area_id == area.id).order_by(TownBoard.sort, Unit.code)).all()
        ids = [b.unit_id for b, _ in boards]
        posts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        people: dict[int, Person] = {}
        wanted = {b.leader_person_id for b, _ in boards if b.leader_person_id}
        post_rows = s.scalars(select(BoardPost).where(BoardPost.board_unit_id.in_(ids))
                              .order_by(BoardPost.sort, BoardPost.id)).all() if ids else []
        wanted |= {p.person_id for p in post_rows if p.person_id}
        if wanted:
            people = {p.id: p for p in s.scalars(select(Person).where(Person.id.in_(wanted)))}
        for p in post_rows:
            holder = people.get(p.person_id) if p.person_id else None
            posts[p.board_unit_id].append({"id": p.id, "name": p.name, "person": _who(holder),
                                           "active": holder.active if holder else None})
        open_tasks = dict(s.execute(select(Task.unit_id, func.count()).where(Task.unit_id.in_(ids),
                                                                             Task.state.in_(_LIVE))
                                    .group_by(Task.unit_id)).all()) if ids else {}
        names = board_names(s)
        return {
            "town": {"code": area.code, "name": area.name},
            "centre": {"code": centre.code, "name": centre.name},
            "boards": [{"key": b.key, "name": u.name, "unit_code": u.code,
                        "leader": _who(people.get(b.leader_person_id) if b.leader_person_id else None),
                        "posts": posts[b.unit_id], "duties": list(b.duties or []),
                        "open_tasks": int(open_tasks.get(b.unit_id, 0))} for b, u in boards],
            "board_names": [{"key": k, "name": n} for k, n in names],
            "missing_boards": [k for k, _ in names if k not in {b.key for b, _ in boards}],
            "can_edit": _may_edit(actor, area),
        }


def _may_edit(actor: Actor, area: Area) -> bool:
    return authz.can(actor, P.REFERENCE_WRITE) and authz.path_visible(actor, area.path)


def _require_edit(actor: Actor, area: Area) -> None:
    authz.require(actor, P.REFERENCE_WRITE)
    authz.ensure_config_in_scope(actor, area.path, f"{area.name}'s boards", field="town_code")


def _new_board(s: Session, area: Area, centre: Unit, key: str, name: str, sort: int) -> TownBoard:
    code = d.board_unit_code(area.code, key)
    unit = s.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        unit = Unit(code=code, name=f"{area.name}{name}板块", kind="department", level="town", area_id=area.id,
                    parent_id=centre.id, active=True)
        s.add(unit)
        s.flush()
        s.add(UnitCoverage(unit_id=unit.id, area_id=area.id))
    board = TownBoard(unit_id=unit.id, town_area_id=area.id, key=key, sort=sort, duties=[])
    s.add(board)
    s.flush()
    return board


def create_default_boards(uow: UnitOfWork, actor: Actor, town_code: str) -> dict[str, Any]:
    """Give the town the city's boards it does not have yet (a unit each under the town centre)."""
    with uow:
        s = uow.session
        area, centre = _town(s, actor, town_code)
        _require_edit(actor, area)
        have = set(s.scalars(select(TownBoard.key).where(TownBoard.town_area_id == area.id)))
        made = []
        for i, (key, name) in enumerate(board_names(s)):
            if key not in have:
                _new_board(s, area, centre, key, name, i)
                made.append(key)
        audit.record(s, actor, "town.boards_create", f"town:{area.code}", {"before": sorted(have), "after": made})
        uow.commit()
    return structure(uow, actor, town_code)


def _town_person(s: Session, area: Area, code: str, field: str) -> Person:
    """An active person of a unit in the town (its centre, a board, a village, a grid)."""
    p = s.scalar(select(Person).join(Unit, Unit.id == Person.unit_id).join(Area, Area.id == Unit.area_id)
                 .where(Person.code == code, Person.active.is_(True), Area.path.startswith(area.path, autoescape=True)))
    if p is None:
        raise Invalid(f"'{code}' is not an active person of {area.name}", field=field)
    return p


def save_board(uow: UnitOfWork, actor: Actor, town_code: str, key: str, cmd: BoardIn, *,
               now: datetime | None = None) -> dict[str, Any]:
    """Create or change one board: its name, the town leader in charge, its posts (with holders) and
    duties. A holder who loses his post gives his open tasks of the board back to its leader."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        area, centre = _town(s, actor, town_code)
        _require_edit(actor, area)
        names = dict(board_names(s))
        board = s.scalar(select(TownBoard).where(TownBoard.town_area_id == area.id, TownBoard.key == key))
        if board is None and key not in names:
            raise Invalid(f"'{key}' is not one of the city's boards ({', '.join(names)})", field="key")
        leader = _town_person(s, area, cmd.leader_code, "leader_code") if cmd.leader_code else None
        holders = [(_town_person(s, area, p.person_code, f"posts[{i}].person_code") if p.person_code else None)
                   for i, p in enumerate(cmd.posts)]
        if board is None:
            board = _new_board(s, area, centre, key, names[key], list(names).index(key))
        unit = s.get(Unit, board.unit_id)
        assert unit is not None
        old_posts = s.scalars(select(BoardPost).where(BoardPost.board_unit_id == board.unit_id)
                              .order_by(BoardPost.sort, BoardPost.id)).all()
        old_holders = {p.person_id for p in old_posts if p.person_id}
        old_leader = board.leader_person_id
        before = {"name": unit.name, "leader": board.leader_person_id, "duties": list(board.duties or []),
                  "posts": [{"name": p.name, "person_id": p.person_id} for p in old_posts]}
        if cmd.name is not None:
            unit.name = cmd.name
        board.leader_person_id = leader.id if leader else None
        board.duties = [du.model_dump() for du in cmd.duties]
        board.updated_at = at
        s.execute(delete(BoardPost).where(BoardPost.board_unit_id == board.unit_id))
        s.add_all(BoardPost(board_unit_id=board.unit_id, name=p.name, sort=i, person_id=h.id if h else None)
                  for i, (p, h) in enumerate(zip(cmd.posts, holders, strict=True)))
        s.flush()
        after = {"name": unit.name, "leader": board.leader_person_id, "duties": board.duties,
                 "posts": [{"name": p.name, "person_id": h.id if h else None} for p, h in zip(cmd.posts, holders,
                                                                                             strict=True)]}
        gone = old_holders - {h.id for h in holders if h}
        if old_leader is not None and old_leader != board.leader_person_id:
            gone.add(old_leader)  # tasks that fell back to the old leader in charge go to the new one
        for person_id in sorted(gone):
            assignees.return_open_tasks(s, person_id, actor, at, d.LEFT_POST, unit_id=board.unit_id)
        audit.record(s, actor, "town.board_save", f"board:{unit.code}", {"before": before, "after": after})
        uow.commit()
    forget_people()
    return structure(uow, actor, town_code)


# --- a board hands a case sideways ----------------------------------------------------------------------


def hand_to_board(uow: UnitOfWork, ref: str, task_id: int, cmd: HandToBoard, actor: Actor, *,
                  now: datetime | None = None) -> Event:
    """A board passes its live task to a sibling board of the same town (横向转交) with a reason: its
    task is cancelled with the reason, the sibling gets the same role, instruction and deadline, and the
    timeline says who handed what to whom. Back up is 退单 or 上报 (see the module docstring)."""
    authz.require(actor, P.TASK_HANDLE)
    at = now or datetime.now(UTC)

    def work(s: Session) -> Event:
        event = handling.load_visible_event(s, ref, actor)
        task = handling._load_task(s, event, task_id)
        authz.ensure_can_act_on_task(actor, event, task)
        handling._check_version(task, cmd.expected_version)
        here = s.get(TownBoard, task.unit_id)
        if here is None:
            raise Conflict(f"{task.unit.name} is not a board: a board hands its task to another board",
                           field="task_id")
        if task.role == TaskRole.NOTIFY.value or task.state not in _LIVE:
            raise Conflict(f"task {task.id} is {task.state}: only an open task to handle is handed on", field="task_id")
        there = s.scalar(select(TownBoard).where(TownBoard.town_area_id == here.town_area_id,
                                                 TownBoard.key == cmd.board_key))
        if there is None or there.unit_id == here.unit_id:
            raise Invalid(f"'{cmd.board_key}' is not another board of this town", field="board_key")
        target = s.get(Unit, there.unit_id)
        assert target is not None
        if any(t.unit_id == target.id and t.state in _LIVE and t.role != TaskRole.NOTIFY.value for t in event.tasks):
            raise Invalid(f"{target.name} already has an open task for this event", field="board_key")
        move_task(s, event, task, TaskAction.CANCEL, actor, at, reason=f"转交{target.name}：{cmd.reason}",
                  payload={"coordination": "board_sideways", "to_unit": target.code})
        task.ended_at, task.end_reason = at, f"转交{target.name}：{cmd.reason}"
        new = handling._new_task(s, event, target, TaskRole(task.role), actor, at, task.instruction,
                                 handle_due=task.handle_due_at if task.handle_due_at and task.handle_due_at > at
                                 else None)
        new.dispatched_by_unit_id = task.unit_id
        note(s, event, actor, "task.hand_to_board", at, task=new, reason=cmd.reason, payload={
            "coordination": "board_sideways", "from_unit": task.unit.code, "to_unit": target.code})
        sync_event(s, event, actor, at)
        return event

    return handling._run(uow, work)
