"""Who may *act* on an event or a task: the role a person's unit has on the object (pure rules).

Seeing an event is not permission to change it. Sight follows the data scope (the area subtrees, the
owner unit, any task of the unit — :mod:`shuzhi.services.security.authz`); acting needs a standing:

- **area** — the event lies in the area of the actor's unit (a centre for its area and everything
  below it, up the area tree to the district and city; a village or grid for its own ground), or the
  actor is installation-wide (administrator, the system). Acts on the event and on all its tasks.
- **owner** — the actor's unit owns the event (首接负责: the centre that registered it, or the centre
  a task was escalated to). Acts on the event and on all its tasks.
- **task** — the actor's unit holds a *live* task of the event: it acts on that task only (accept,
  return, ask for time, report back, escalate), never on the event or on another unit's task. The person
  a live task is assigned to by name (事件责任人) has the same standing on it, whichever unit he sits in.
- **history** — the actor's unit held a task that ended (returned, cancelled, verified …): it keeps
  read access to its own part of the record and nothing more.
- **none** — no role at all.

Deciding on a task (approve or deny an extension, suspend, resume) is the *deciding centre's* act: an
event-level standing, and never the unit that holds the task (one does not approve one's own time).
Which of these acts a role may perform at all is still its permission (:mod:`shuzhi.domain.permissions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Standing(StrEnum):
    AREA = "area"
    OWNER = "owner"
    TASK = "task"
    HISTORY = "history"
    NONE = "none"


#: Standings that act on the event itself (dispatch, withdraw, verify, close, cancel, merge, urge …).
EVENT_LEVEL = frozenset({Standing.AREA, Standing.OWNER})


@dataclass(frozen=True)
class Who:
    """The acting person as these rules need it."""

    unit_id: int | None
    #: Area subtrees of the person's unit (materialised paths); ``None`` = installation-wide.
    area_paths: tuple[str, ...] | None
    #: The person himself: a task assigned to him by name (事件责任人) is his to work on.
    person_id: int | None = None


@dataclass(frozen=True)
class TaskFacts:
    id: int
    unit_id: int
    live: bool
    #: The named person answering for the task (事件责任人), if any.
    assignee_id: int | None = None


@dataclass(frozen=True)
class EventFacts:
    area_path: str | None
    owner_unit_id: int | None
    tasks: Sequence[TaskFacts] = ()


def _in_area(who: Who, path: str | None) -> bool:
    if who.area_paths is None:
        return True
    return path is not None and any(path.startswith(p) for p in who.area_paths)


def standing_on_event(who: Who, event: EventFacts) -> Standing:
    """The strongest standing ``who`` has on ``event`` (see the module docstring)."""
    if _in_area(who, event.area_path):
        return Standing.AREA
    if who.unit_id is None:
        return Standing.NONE
    if event.owner_unit_id == who.unit_id:
        return Standing.OWNER
    mine = [t for t in event.tasks if t.unit_id == who.unit_id]
    if any(t.live for t in mine) or _assigned_live(who, event.tasks):
        return Standing.TASK
    return Standing.HISTORY if mine else Standing.NONE


def _assigned_live(who: Who, tasks: Sequence[TaskFacts]) -> bool:
    return who.person_id is not None and any(t.live and t.assignee_id == who.person_id for t in tasks)


def may_act_on_event(who: Who, event: EventFacts) -> bool:
    """Event-level acts: the area's people or the owner centre."""
    return standing_on_event(who, event) in EVENT_LEVEL


def may_work_on_task(who: Who, event: EventFacts, task: TaskFacts) -> bool:
    """A unit's work on a task: the unit holding it while it is live, or the event-level centre
    (recording it for the unit, e.g. a handler who phoned it in)."""
    if may_act_on_event(who, event):
        return True
    if task.live and who.person_id is not None and task.assignee_id == who.person_id:
        return True  # the named person answers for it, whichever unit he sits in (a board's post holder)
    return who.unit_id is not None and task.unit_id == who.unit_id and task.live


def may_decide_task(who: Who, event: EventFacts, task: TaskFacts) -> bool:
    """Deciding on a task's time (extensions, suspend, resume): the deciding centre — event-level
    standing — but never the unit holding the task, unless installation-wide."""
    if who.area_paths is None:
        return True
    return may_act_on_event(who, event) and task.unit_id != who.unit_id


def visible_task_ids(who: Who, event: EventFacts) -> frozenset[int] | None:
    """The tasks whose part of the record ``who`` may read: ``None`` for all of them (event-level or
    live-task standing), else only the unit's own tasks (history standing)."""
    if standing_on_event(who, event) in (*EVENT_LEVEL, Standing.TASK):
        return None
    return frozenset(t.id for t in event.tasks if t.unit_id == who.unit_id)


def closes_own_loop(verifier_id: int | None, reported_by: Sequence[int | None], self_handled_by: int | None,
                    separate_for_self_handled: bool = True) -> bool:
    """Whether verifying now would let one person close his own loop (自己核查自己).

    ``reported_by`` are the people who last reported back on the tasks being verified; the verifier is
    never one of them. ``self_handled_by`` is the person who handled the case on the spot (自行处置);
    the class decides whether someone else must verify it (``separate_for_self_handled``, on by
    default). The system (no person) never closes a loop of its own.
    """
    if verifier_id is None:
        return False
    if verifier_id in reported_by:
        return True
    return separate_for_self_handled and self_handled_by is not None and verifier_id == self_handled_by
