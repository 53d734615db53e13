"""Permission and data-scope checks, in one place, called by services (never by routes).

- ``require(actor, PERMISSION)`` refuses an action the actor's role does not allow (403).
- ``area_clause(actor, path_column, unit_column)`` is the WHERE clause that limits any query —
  list, count, aggregate, export, map layer — to the actor's scope: rows in its area subtrees, or
  rows of its own unit. Global actors get ``true()``.
- ``ensure_visible(actor, path, unit_ids)`` is the same rule for one object already loaded; an
  object outside the scope is reported as *not found* (404), so that its existence does not leak.
- ``event_clause(actor)`` / ``ensure_event_visible(actor, event)``: an event is in scope when it lies
  in the actor's area subtrees, its unit owns it (首接负责), or its unit has a task in it.

Reference data (the area tree, units, the event-class catalogue) is readable by every signed-in
actor: dispatching to another town's unit or drawing the district map needs it, and it holds no
case data. Case data (events, tasks, timelines, attachments) and aggregates over it are scoped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true

from shuzhi.adapters.db.tables import Event, Task
from shuzhi.domain import standing
from shuzhi.domain.events import ACTIVE_TASK_STATES, TaskState
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound, ServiceError


class Forbidden(ServiceError):
    status = 403


class Unauthenticated(ServiceError):
    """No credential, or one that is bad, expired or revoked (401)."""

    status = 401


def require(actor: Actor, permission: str) -> None:
    """Refuse with 403 unless the actor's role grants ``permission``."""
    if permission not in actor.permissions:
        raise Forbidden(f"{actor.label} may not do this (needs permission '{permission}')")


def require_any(actor: Actor, *permissions: str) -> None:
    """Refuse with 403 unless the actor's role grants at least one of ``permissions``."""
    if not any(p in actor.permissions for p in permissions):
        raise Forbidden(f"{actor.label} may not do this (needs one of {', '.join(map(repr, permissions))})")


def require_source(actor: Actor, source: str) -> None:
    """A connected system may only submit events as the sources its API key names."""
    if actor.sources is not None and source not in actor.sources:
        allowed = ", ".join(sorted(actor.sources)) or "none"
        raise Forbidden(f"this key may not submit events as source '{source}' (allowed: {allowed})",
                        field="source")


def can(actor: Actor, permission: str) -> bool:
    return permission in actor.permissions


def path_visible(actor: Actor, path: str | None) -> bool:
    """Whether an object at area ``path`` lies in the actor's area subtrees."""
    if actor.area_paths is None:
        return True
    return path is not None and any(path.startswith(p) for p in actor.area_paths)


def area_clause(actor: Actor, path_column: Any, unit_column: Any = None) -> ColumnElement[bool]:
    """WHERE clause: rows whose area path lies in the actor's subtrees, or whose ``unit_column``
    (e.g. ``Task.unit_id``, ``Event.owner_unit_id``) is the actor's own unit."""
    if actor.area_paths is None:
        return true()
    terms: list[ColumnElement[bool]] = [path_column.startswith(p, autoescape=True) for p in actor.area_paths]
    if unit_column is not None and actor.unit_id is not None:
        terms.append(unit_column == actor.unit_id)
    return or_(*terms) if terms else false()


def ensure_visible(actor: Actor, path: str | None, unit_ids: Iterable[int | None] = (),
                   what: str = "object") -> None:
    """404 unless the object at ``path`` (or one of its ``unit_ids``) is in the actor's scope."""
    if path_visible(actor, path):
        return
    if actor.unit_id is not None and actor.unit_id in set(unit_ids):
        return
    raise NotFound(f"{what} not found")


def event_clause(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause on ``Event``: in the actor's subtrees, owned by its unit, or with a task for its unit."""
    if actor.area_paths is None:
        return true()
    base = area_clause(actor, Event.area_path, Event.owner_unit_id)
    if actor.unit_id is None:
        return base
    mine: ColumnElement[bool] = Task.unit_id == actor.unit_id
    if actor.person_id is not None:
        # a task assigned to him by name (事件责任人), e.g. a board's post holder sitting in another unit
        mine = or_(mine, Task.assignee_id == actor.person_id)
    # An uncorrelated IN, not a correlated EXISTS: under the OR PostgreSQL cannot turn EXISTS into a
    # semi-join and probed the tasks once per event (466 ms of the cockpit's counters over 500,000
    # events); the IN list is built once and hashed. Event ids are unique across districts (one
    # sequence), so the district need not be matched as well.
    return or_(base, Event.id.in_(select(Task.event_id).where(mine)))


def ensure_event_visible(actor: Actor, event: Event) -> None:
    """404 unless the loaded event is in the actor's scope (see :func:`event_clause`)."""
    if actor.person_id is not None and any(t.assignee_id == actor.person_id for t in event.tasks):
        return
    ensure_visible(actor, event.area_path, [event.owner_unit_id, *(t.unit_id for t in event.tasks)], what="event")


# --- acting, not just seeing (issue #15) ----------------------------------------------------------


def _who(actor: Actor) -> standing.Who:
    return standing.Who(unit_id=actor.unit_id, area_paths=actor.area_paths, person_id=actor.person_id)


def _live(task: Task) -> bool:
    return TaskState(task.state) in ACTIVE_TASK_STATES


def event_facts(event: Event) -> standing.EventFacts:
    return standing.EventFacts(
        area_path=event.area_path, owner_unit_id=event.owner_unit_id,
        tasks=tuple(standing.TaskFacts(id=t.id, unit_id=t.unit_id, live=_live(t), assignee_id=t.assignee_id)
                    for t in event.tasks))


def _task_facts(task: Task) -> standing.TaskFacts:
    return standing.TaskFacts(id=task.id, unit_id=task.unit_id, live=_live(task), assignee_id=task.assignee_id)


def ensure_can_act_on_event(actor: Actor, event: Event) -> None:
    """403 unless the actor's unit has an event-level role on the (visible) event: its area or its
    owner centre (:func:`shuzhi.domain.standing.may_act_on_event`)."""
    if not standing.may_act_on_event(_who(actor), event_facts(event)):
        raise Forbidden(f"{actor.label} may see event {event.number} but not act on it: only its owner centre "
                        "or a centre whose area contains it may (a unit acts on its own live task only)")


def ensure_can_act_on_task(actor: Actor, event: Event, task: Task) -> None:
    """403 unless the actor's unit holds this live task, or has an event-level role on its event."""
    if not standing.may_work_on_task(_who(actor), event_facts(event), _task_facts(task)):
        raise Forbidden(f"task {task.id} is not {actor.label}'s unit's live task; a unit acts on its own live "
                        "task only (or the event's centre does)")


def ensure_can_decide_task(actor: Actor, event: Event, task: Task) -> None:
    """403 unless the actor is the deciding centre for this task (never the unit holding it)."""
    if not standing.may_decide_task(_who(actor), event_facts(event), _task_facts(task)):
        raise Forbidden(f"{actor.label} may not decide on task {task.id}: the centre of the event decides, "
                        "never the unit that holds the task")


def ensure_can_contribute(actor: Actor, event: Event) -> None:
    """403 unless the actor may add to the event's record (a file, a note): event-level standing, or
    its unit holds a live task of it. A unit whose task ended only reads its own part."""
    if standing.standing_on_event(_who(actor), event_facts(event)) not in (*standing.EVENT_LEVEL,
                                                                            standing.Standing.TASK):
        raise Forbidden(f"{actor.label} may see event {event.number} but no longer add to it")


def history_task_ids(actor: Actor, event: Event) -> frozenset[int] | None:
    """``None`` when the actor reads the whole record of the event; else the ids of the tasks whose part
    of it he may read (his unit's ended tasks: :func:`shuzhi.domain.standing.visible_task_ids`)."""
    return standing.visible_task_ids(_who(actor), event_facts(event))


def ensure_config_in_scope(actor: Actor, area_path: str | None, what: str = "this configuration",
                           field: str = "area_code") -> None:
    """403 unless a configuration object at ``area_path`` lies in the actor's area subtrees: a town
    writes its town's rules, the district the district's (``None`` = installation-wide: global actors
    only)."""
    if actor.area_paths is None:
        return
    if area_path is None or not any(area_path.startswith(p) for p in actor.area_paths):
        raise Forbidden(f"{actor.label} may only write {what} for areas in his own scope", field=field)


def config_clause(actor: Actor, path_column: Any) -> ColumnElement[bool]:
    """WHERE clause for configuration an actor may *change*: rows at areas in its subtrees."""
    if actor.area_paths is None:
        return true()
    return or_(*[path_column.startswith(p, autoescape=True) for p in actor.area_paths]) \
        if actor.area_paths else false()


# --- configuration that belongs to an area (issue #15, "Writes are scoped") -------------------------


def _ancestors(path: str) -> list[str]:
    """``/500000/500111/500111001/`` → the paths of the areas above it and itself."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def config_readable(actor: Actor, area_path: str | None) -> bool:
    """Whether configuration at ``area_path`` concerns the actor, so that he reads it: his own area and
    the areas below it (which he may also change, :func:`ensure_config_in_scope`), and — read-only —
    the areas above him and the installation-wide configuration (``None``), which apply to his area
    too. Another town's configuration he does not see (404)."""
    if area_path is None or actor.area_paths is None:
        return True
    return any(area_path.startswith(p) or p.startswith(area_path) for p in actor.area_paths)


def config_read_clause(actor: Actor, path_column: Any) -> ColumnElement[bool]:
    """WHERE clause for :func:`config_readable`: installation-wide rows, rows in the actor's subtrees
    and rows at the areas above him."""
    if actor.area_paths is None:
        return true()
    above = sorted({a for p in actor.area_paths for a in _ancestors(p)})
    terms: list[ColumnElement[bool]] = [path_column.is_(None)]
    terms += [path_column.startswith(p, autoescape=True) for p in actor.area_paths]
    if above:
        terms.append(path_column.in_(above))
    return or_(*terms)


def ensure_config_writable(actor: Actor, area_path: str | None, what: str, field: str = "area_path") -> None:
    """Changing configuration someone already holds: 404 when it is not his to see at all (another
    town's: its existence does not leak), 403 when he sees it but it belongs above him (the district's,
    the installation's), else nothing."""
    if not config_readable(actor, area_path):
        raise NotFound(f"{what} not found")
    ensure_config_in_scope(actor, area_path, what=what, field=field)


def own_area_path(actor: Actor) -> str | None:
    """The area a non-global author's configuration belongs to when he names none: his own (his
    unit's area); ``None`` for an installation-wide author (and for a department, which has no area —
    its configuration is then refused as out of scope)."""
    return actor.area_paths[0] if actor.area_paths else None


def ensure_config_area_writable(actor: Actor, area_path: str | None, what: str,
                                field: str = "area_code") -> None:
    """422 with ``field`` unless the actor may write configuration for ``area_path``: inside his own
    subtrees (a town writes its town's, never another town's nor the district's)."""
    if actor.area_paths is None:
        return
    if area_path is None or not any(area_path.startswith(p) for p in actor.area_paths):
        own = ", ".join(p.rstrip("/").rsplit("/", 1)[-1] for p in actor.area_paths) or "none"
        raise Invalid(f"{what} may only be written for an area inside its author's own ({own})", field=field)
