"""Supervision (督查督办): the sweep that carries out due steps, a leader's urge, escalation, the rules.

The sweep takes the due rows of ``supervision_clocks`` in batches — ``SELECT … FOR UPDATE SKIP LOCKED``
on PostgreSQL, a conditional ``UPDATE … WHERE task_id = :id AND next_due_at = :seen`` claim on SQLite
— and, in the same transaction, records each step once (unique key per task, step and deadline),
writes the timeline, the inboxes and the outbox, and moves the clock on. A crash anywhere rolls the
whole batch back and another worker takes it; a retry meets the unique key and does nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import (
    BigInteger,
    Integer,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from shuzhi.adapters.db import bulk, citus
from shuzhi.adapters.db.districts import of_number, same_case
from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, TimelineEntry, Unit, UTCDateTime
from shuzhi.adapters.db.tables_supervision import (
    Escalation,
    Notification,
    OutboxMessage,
    SupervisionClock,
    SupervisionStep,
    Urge,
)
from shuzhi.domain import permissions as P
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.events import TaskAction, TaskRole, TaskState
from shuzhi.domain.labels import SUPERVISION
from shuzhi.domain.supervision import (
    RUNNING,
    StepKind,
    UnitRef,
    due_head,
    escalation_target,
)
from shuzhi.services import commands as c
from shuzhi.services import outbox
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.handling import load_event
from shuzhi.services.security import authz
from shuzhi.services.transitions import move_task, note, sync_event
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger("shuzhi.supervision")

_L = SUPERVISION
#: Inbox titles: each begins with its step's label in the one catalogue (shuzhi.domain.labels).
_TITLES: dict[StepKind, str] = {
    StepKind.REMIND: _L["supervision.remind"] + "：{number}（{title}）已用去{pct}%的办理时限",
    StepKind.OVERDUE: _L["supervision.overdue"] + "：{number}（{title}）已超过办理时限",
    StepKind.URGE: _L["supervision.urge"] + "：{number}（{title}）已超期，请立即办理并反馈",
    StepKind.YELLOW_CARD: _L["supervision.yellow_card"] + "：{number}（{title}）超期1个工作日以上",
    StepKind.RED_CARD: _L["supervision.red_card"] + "：{number}（{title}）严重超期，已列入通报名单",
    StepKind.ACCEPT_TIMEOUT: _L["supervision.accept_timeout"] + "：{number}（{title}）",
    StepKind.READ_REMIND: _L["supervision.read_remind"] + "：{number}（{title}）临近阅知时限，请及时阅知",
    StepKind.READ_OVERDUE: _L["supervision.read_overdue"] + "：{number}（{title}）已超过阅知时限",
}


# --- the sweep ------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    claimed: int = 0
    steps: int = 0
    failed: int = 0
    by_step: dict[str, int] = field(default_factory=dict)

    def add(self, other: SweepResult) -> None:
        self.steps += other.steps
        for k, v in other.by_step.items():
            self.by_step[k] = self.by_step.get(k, 0) + v


def _claim_query() -> Any:
    """The clock with everything the sweep writes about its task, in one row: the clock carries the
    task's and the event's columns (its assignee too), so only the small unit and class tables are joined."""
    # the plan as text, parsed by orjson: the JSON column's own decoder costs several times more
    return (select(SupervisionClock.task_id, SupervisionClock.next_due_at,
                   cast(SupervisionClock.plan, Text).label("plan"), SupervisionClock.failures,
                   SupervisionClock.event_id, SupervisionClock.unit_id, SupervisionClock.dispatched_by_unit_id,
                   SupervisionClock.event_number.label("number"), SupervisionClock.event_title.label("title"),
                   SupervisionClock.area_path, Unit.code.label("unit_code"), Unit.name.label("unit_name"),
                   EventClass.code.label("class_code"),
                   # the named person answering for the task, whom its reminders follow (issue #20)
                   SupervisionClock.assignee_id)
            .select_from(SupervisionClock)
            .outerjoin(Unit, Unit.id == SupervisionClock.unit_id)
            .outerjoin(EventClass, EventClass.id == SupervisionClock.event_class_id))


def _claim_distributed(conn: Connection, where: Any, limit: int) -> list[Any]:
    """The claim on Citus, where ``FOR UPDATE`` must stay on one shard: the clocks are taken a district
    at a time (each a single-shard query of the clocks alone), and the unit's and the class's
    columns read afterwards from the coordinator's tables (a handful of rows)."""
    districts = conn.execute(select(SupervisionClock.district_code).where(where)
                             .group_by(SupervisionClock.district_code)).scalars().all()
    clocks: list[Any] = []
    for district in sorted(d for d in districts if d is not None):
        if len(clocks) >= limit:
            break
        q = (select(SupervisionClock.task_id, SupervisionClock.next_due_at,
                    cast(SupervisionClock.plan, Text).label("plan"), SupervisionClock.failures,
                    SupervisionClock.event_id, SupervisionClock.unit_id, SupervisionClock.dispatched_by_unit_id,
                    SupervisionClock.event_number.label("number"), SupervisionClock.event_title.label("title"),
                    SupervisionClock.area_path, SupervisionClock.event_class_id, SupervisionClock.assignee_id)
             .where(where, SupervisionClock.district_code == district)
             .order_by(SupervisionClock.next_due_at).limit(limit - len(clocks))
             .with_for_update(of=SupervisionClock, skip_locked=True))
        clocks += conn.execute(q).all()
    if not clocks:
        return []
    units = {r[0]: (r[1], r[2]) for r in conn.execute(
        select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_({c.unit_id for c in clocks})))}
    classes = dict(conn.execute(select(EventClass.id, EventClass.code).where(
        EventClass.id.in_({c.event_class_id for c in clocks if c.event_class_id is not None}))).tuples().all())
    return [SimpleNamespace(**{k: v for k, v in c._mapping.items() if k != "event_class_id"},
                            unit_code=units.get(c.unit_id, (None, None))[0],
                            unit_name=units.get(c.unit_id, (None, None))[1],
                            class_code=classes.get(c.event_class_id)) for c in clocks]


def _claim_batch() -> Any:
    """The claim of a batch on one PostgreSQL: the first ``batch`` due rows after ``(after_due, after_id)``
    that no one else holds, in the order of the clocks' index (due time, task)."""
    key = tuple_(SupervisionClock.next_due_at, SupervisionClock.task_id)
    return (_claim_query().where(SupervisionClock.next_due_at <= bindparam("due_by", type_=UTCDateTime()),
                                 key > tuple_(bindparam("after_due", type_=UTCDateTime()),
                                              bindparam("after_id", type_=BigInteger())))
            .order_by(SupervisionClock.next_due_at, SupervisionClock.task_id)
            .limit(bindparam("batch", type_=Integer()))
            .with_for_update(of=SupervisionClock, skip_locked=True))


class _Keyset:
    """How far one sweep's claims have gone through the due clocks, shared by its connections.

    A clock a batch has carried out keeps its old entry in the index of due times until vacuum (the
    entry of a row version still visible to someone); a claim that started from the top again would
    visit every one of them — the tenth batch of 1,000 nine thousand dead rows. So each claim starts
    after the last clock any claim of this sweep took. What it passes over was claimed in this sweep or
    held by someone else (``SKIP LOCKED``, as before): the next sweep takes those, as it takes the steps
    left due behind an accept timeout."""

    FIRST = (datetime(1, 1, 1, tzinfo=UTC), -1)

    def __init__(self) -> None:
        self.after: tuple[datetime, int] = self.FIRST
        self._lock = threading.Lock()

    def passed(self, rows: Sequence[Any]) -> None:
        if rows:
            last = (rows[-1].next_due_at, rows[-1].task_id)
            with self._lock:
                self.after = max(self.after, last)


def _claim(conn: Connection, now: datetime, limit: int, keyset: _Keyset | None = None) -> list[Any]:
    if citus.on_citus(conn):
        return _claim_distributed(conn, SupervisionClock.next_due_at <= now, limit)
    if conn.dialect.name == "postgresql":
        # several workers take disjoint batches; a row a handler is changing right now is skipped
        after_due, after_id = keyset.after if keyset is not None else _Keyset.FIRST
        rows = bulk.select_rows(conn, "supervision.claim", _claim_batch,
                                {"due_by": now, "after_due": after_due, "after_id": after_id, "batch": limit})
        if keyset is not None:
            keyset.passed(rows)
        return rows
    q = _claim_query().where(SupervisionClock.next_due_at <= now).order_by(SupervisionClock.next_due_at).limit(limit)
    rows = list(conn.execute(q).all())
    if not rows:
        return rows
    # SQLite: claim each row by a conditional UPDATE on the due time we saw; only rows that still
    # carry it are ours (under BEGIN IMMEDIATE nobody else can have changed them, but the claim keeps
    # the rule the same whatever the engine).
    lease = now + timedelta(minutes=10)
    claimed = []
    for r in rows:
        res: Any = conn.execute(update(SupervisionClock).where(
            SupervisionClock.task_id == r.task_id, SupervisionClock.next_due_at == r.next_due_at
        ).values(next_due_at=lease))
        if res.rowcount == 1:
            claimed.append(r)
    return claimed


def _among(col: Any, ids: Sequence[int], conn: Connection) -> Any:
    """``col IN ids`` — on PostgreSQL as ``= ANY(:array)``, one parameter however many ids."""
    if conn.dialect.name == "postgresql":
        return col == any_(bindparam("ids_" + col.key, list(ids), type_=postgresql.ARRAY(BigInteger)))
    return col.in_(list(ids))


def _centres(conn: Connection) -> list[UnitRef]:
    return [UnitRef(r[0], r[1], r[2]) for r in conn.execute(
        select(Unit.id, Unit.kind, Area.path).join(Area, Area.id == Unit.area_id)
        .where(Unit.kind == "centre", Unit.active.is_(True)))]


_ACCEPT_TIMEOUT = StepKind.ACCEPT_TIMEOUT.value
#: Step name → (timeline action and inbox kind, title template); remind_NN steps share one.
_TOPICS: dict[str, tuple[str, str]] = {
    k.value: ("supervision." + k.value, _TITLES[k]) for k in StepKind if k is not StepKind.REMIND}
#: Steps the dispatching centre also hears about.
_TO_CENTRE = frozenset({"overdue", "yellow_card", "red_card", "read_overdue"})


_STEP_COLUMNS = ("task_id", "event_id", "unit_id", "step", "deadline", "due_at", "done_at", "area_path",
                 "district_code")
_TIMELINE_COLUMNS = ("event_id", "district_code", "task_id", "at",
                     "actor_id", "actor", "action", "from_state", "to_state", "reason",
                     "payload")
_INBOX_COLUMNS = ("person_id", "unit_id", "event_id", "task_id", "kind", "title", "body", "payload", "created_at",
                  "read_at", "read_by")
_OUTBOX_COLUMNS = ("topic", "event_id", "area_path", "class_code", "payload", "created_at", "fanned_out")


def _process(conn: Connection, claimed: Sequence[Any], now: datetime, result: SweepResult,
             session: Session | None = None) -> None:
    """Carry out the due steps of the claimed clocks: a handful of statements per batch, whatever its size.

    The due steps come from the pure rule :func:`~shuzhi.domain.supervision.take_due` (as
    :func:`~shuzhi.domain.supervision.due_head`'s tuples) over the claimed rows; the steps are
    recorded with ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (the unique key decides what is new),
    and only what is new goes to the timeline, the inboxes and the outbox (COPY on PostgreSQL). Rows
    are built as tuples in column order, not as a dict each: with 10,000 due rows, the sweeping
    process's own CPU is nearly half of the sweep (docs/benchmarks.md)."""
    wanted: list[tuple[Any, ...]] = []
    keep: list[dict[str, Any]] = []
    drop: list[int] = []
    by_task: dict[int, Any] = {}
    districts: dict[int, str | None] = {}
    loads, fromiso = orjson.loads, datetime.fromisoformat
    for r in claimed:
        plan_rows = loads(r.plan)
        due = due_head(plan_rows, now)
        task_id = r.task_id
        by_task[task_id] = r
        if due:
            head = (task_id, r.event_id, r.unit_id)
            district = districts[task_id] = of_number(r.number)
            tail = (now, r.area_path, district)
            wanted += [(*head, step, deadline, due_at, *tail) for step, due_at, deadline in due]
        n = len(due)
        if n < len(plan_rows):
            # the plan is in due order, so what is left is its tail, stored as it came
            keep.append({"task_id": task_id, "next_due_at": fromiso(plan_rows[n][1]), "plan": plan_rows[n:]})
        else:
            drop.append(task_id)
    done = bulk.insert_rows(conn, SupervisionStep.__table__, wanted, columns=_STEP_COLUMNS,
                            returning=("task_id", "step", "deadline", "due_at"),
                            skip_conflicts_on=("task_id", "step", "deadline", "district_code"))
    timeouts: list[Any] = []
    steps: list[Any] = []
    for row in done:
        result.steps += 1
        result.by_step[row[1]] = result.by_step.get(row[1], 0) + 1
        (timeouts if row[1] == _ACCEPT_TIMEOUT else steps).append(row)
    _record(conn, steps, by_task, districts, now)
    if keep:
        bulk.update_rows(conn, SupervisionClock.__table__, "task_id", keep,
                         constant={"failures": 0, "last_error": None, "updated_at": now})
    if drop:
        conn.execute(delete(SupervisionClock).where(_among(SupervisionClock.task_id, drop, conn)))
    if timeouts:
        _escalate_timeouts(conn, session, timeouts, by_task, now)


def _aware(d: datetime) -> datetime:
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d


_STEP_TEXT: dict[str, tuple[str, str, str]] = {}


def _step_text(step: str) -> tuple[str, str, str]:
    """(topic, title template, percentage) of a step, worked out once per step name."""
    text = _STEP_TEXT.get(step)
    if text is None:
        if step.startswith("remind_"):
            text = ("supervision.remind", _TITLES[StepKind.REMIND], step[7:])
        else:
            text = (*_TOPICS[step], "")
        _STEP_TEXT[step] = text
    return text


def _record(conn: Connection, done: Sequence[Any], by_task: dict[int, Any], districts: dict[int, str | None],
            now: datetime) -> None:
    """Timeline, inboxes and outbox for the new steps: three bulk writes (COPY on PostgreSQL) built
    from the claimed rows, with no second look-up of the tasks and events."""
    if not done:
        return
    timeline: list[tuple[Any, ...]] = []
    inbox: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    at_iso = now.isoformat()
    system = SYSTEM.label
    texts = _STEP_TEXT
    for task_id, step, deadline, due_at in done:
        t = by_task[task_id]
        number = t.number
        topic, template, pct = texts.get(step) or _step_text(step)
        title = template.format(number=number, title=t.title[:60], pct=pct)
        # times come back aware from PostgreSQL, naive from SQLite (UTC, see UTCDateTime)
        if due_at.tzinfo is None:
            due_at, deadline = due_at.replace(tzinfo=UTC), deadline.replace(tzinfo=UTC)
        fields = {"step": step, "due_at": due_at.isoformat(), "deadline": deadline.isoformat(),
                  "unit": t.unit_code, "unit_name": t.unit_name}
        more = {**fields, "event_number": number, "task_id": task_id}
        event_id, unit_id = t.event_id, t.unit_id
        timeline.append((event_id, districts[task_id], task_id, now, None, system, topic, None, None, title, fields))
        # a task assigned to a person: his reminders are his, not the whole unit's (事件责任人)
        to_person = t.assignee_id
        inbox.append((to_person, None if to_person else unit_id, event_id, task_id, topic, title, title, more, now,
                      None, None))
        if step in _TO_CENTRE:
            by_unit = t.dispatched_by_unit_id
            if by_unit is not None and by_unit != unit_id:
                inbox.append((None, by_unit, event_id, task_id, topic, title, title, more, now, None, None))
        messages.append((topic, event_id, t.area_path, t.class_code, {"topic": topic, "at": at_iso, **more}, now,
                         False))
    bulk.insert_rows(conn, TimelineEntry.__table__, timeline, columns=_TIMELINE_COLUMNS)
    bulk.insert_rows(conn, Notification.__table__, inbox, columns=_INBOX_COLUMNS)
    bulk.insert_rows(conn, OutboxMessage.__table__, messages, columns=_OUTBOX_COLUMNS)


def _escalate_timeouts(conn: Connection, session: Session | None, done: Sequence[Any], by_task: dict[int, Any],
                       now: datetime) -> None:
    """A task not signed for in time rises to the centre one level up the area tree, with the reason:
    the task ends as *escalated*, a lead task's event passes to that centre (back to *registered*, for
    re-dispatch), as when a unit declares a task beyond its capacity; escalation record, timeline,
    inboxes (the unit, the dispatching centre, the centre above) and outbox. With no centre above, the
    escalation is recorded and the task stays where it is.

    Rare next to reminders, so done through the ORM (the state machine and the timeline rules of
    every other task change), in the sweep's transaction."""
    if session is None:
        raise RuntimeError("an accept timeout needs the sweep's session")
    centres = _centres(conn)
    unit_paths = dict(conn.execute(select(Unit.id, Area.path).join(Area, Area.id == Unit.area_id).where(
        _among(Unit.id, sorted({by_task[d[0]].unit_id for d in done}), conn))).all())
    for task_id, _step, deadline, due_at in done:
        t = by_task[task_id]
        task = session.get(Task, task_id)
        assert task is not None and task.unit is not None
        event = task.event
        deadline = _aware(deadline)
        target = escalation_target(UnitRef(t.unit_id, task.unit.kind, unit_paths.get(t.unit_id, "")), centres)
        target_unit = session.get(Unit, target.id) if target else None
        reason = f"超过签收时限（{deadline.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）未签收，上报上级中心"
        title = _TITLES[StepKind.ACCEPT_TIMEOUT].format(number=t.number, title=t.title[:60], pct="")
        payload: dict[str, Any] = {"step": StepKind.ACCEPT_TIMEOUT.value, "due_at": _aware(due_at).isoformat(),
                                   "deadline": deadline.isoformat(), "unit": t.unit_code, "unit_name": t.unit_name,
                                   "to_unit_id": target.id if target else None,
                                   "to_unit": target_unit.code if target_unit else None}
        note(session, event, SYSTEM, "supervision.escalate", now, task=task, reason=reason, payload=payload)
        recipients = {t.unit_id} | ({t.dispatched_by_unit_id} if t.dispatched_by_unit_id else set())
        if target_unit is not None and TaskState(task.state) is TaskState.DISPATCHED:
            move_task(session, event, task, TaskAction.ESCALATE, SYSTEM, now, reason=reason,
                      payload={"to_unit": target_unit.code, "to_unit_name": target_unit.name})
            task.ended_at = now
            task.end_reason = reason
            if task.role == TaskRole.LEAD.value:
                if event.owner_unit_id:
                    recipients.add(event.owner_unit_id)
                event.owner_unit_id = target_unit.id
            event.updated_at = now
            sync_event(session, event, SYSTEM, now, reason=f"上报{target_unit.name}：{reason}")
            recipients.add(target_unit.id)
        session.add(Escalation(event_id=t.event_id, task_id=task_id, kind="accept_timeout", from_unit_id=t.unit_id,
                               to_unit_id=target.id if target else None, reason=reason, by=SYSTEM.label, at=now))
        session.flush()
        conn.execute(insert(Notification), [
            {"person_id": None, "unit_id": u, "event_id": t.event_id, "task_id": task_id,
             "kind": "supervision.accept_timeout", "title": title, "body": reason,
             "payload": {**payload, "event_number": t.number}, "created_at": now, "read_at": None, "read_by": None}
            for u in sorted(recipients)])
        outbox.emit_many(conn, [outbox.message("supervision.accept_timeout", now,
                                               {**payload, "event_number": t.number, "task_id": task_id},
                                               event_id=t.event_id, area_path=t.area_path, class_code=t.class_code)])


def _fail(uow_factory: Any, task_id: int, failures: int, now: datetime, error: str) -> None:
    # push the due time forward (1, 2, 4 … minutes, at most a day) instead of crash-looping on it
    backoff = timedelta(minutes=min(2 ** failures, 24 * 60))
    with uow_factory() as uow:
        uow.session.connection().execute(update(SupervisionClock).where(SupervisionClock.task_id == task_id).values(
            next_due_at=now + backoff, failures=failures + 1, last_error=error[:2000]))
        uow.commit()


def sweep(uow_factory: Any, now: datetime | None = None, batch: int = 500, max_batches: int | None = None,
          *, connections: int = 1) -> SweepResult:
    """Carry out every supervision step due at ``now`` (however late), batch by batch.

    A batch that fails is retried row by row; a row that fails alone has its due time pushed forward
    and its error kept, and the sweep goes on with the others. On PostgreSQL ``connections`` > 1 runs
    the batches on that many connections at once (threads): ``SKIP LOCKED`` gives each its own rows,
    exactly as it does for several worker processes, so one sweep uses the server's cores and overlaps
    one batch's writes with the next one's reads.
    """
    at = now or datetime.now(UTC)
    keyset = _Keyset()
    if connections <= 1:
        return _sweep_batches(uow_factory, at, batch, max_batches, keyset)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="sweep") as pool:
        parts = list(pool.map(lambda _i: _sweep_batches(uow_factory, at, batch, max_batches, keyset),
                              range(connections)))
    result = SweepResult()
    for part in parts:
        result.add(part)
        result.claimed += part.claimed
        result.failed += part.failed
    return result


def _sweep_batches(uow_factory: Any, at: datetime, batch: int, max_batches: int | None,
                   keyset: _Keyset) -> SweepResult:
    result = SweepResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        bad: list[Any] = []
        with uow_factory() as uow:
            conn = uow.session.connection()
            claimed = _claim(conn, at, batch, keyset)
            if not claimed:
                break
            result.claimed += len(claimed)
            try:
                part = SweepResult()
                _process(conn, claimed, at, part, uow.session)
                uow.commit()
                result.add(part)
            except Exception:
                log.exception("supervision batch failed; retrying row by row")
                bad = list(claimed)
        for r in bad:
            try:
                with uow_factory() as uow:
                    conn = uow.session.connection()
                    mine = _claim_one(conn, r.task_id)
                    part = SweepResult()
                    if mine:
                        _process(conn, mine, at, part, uow.session)
                    uow.commit()
                    result.add(part)
            except Exception as exc:
                result.failed += 1
                _fail(uow_factory, r.task_id, r.failures, at, f"{type(exc).__name__}: {exc}")
        if len(claimed) < batch:
            break
    return result


def _claim_one(conn: Connection, task_id: int) -> list[Any]:
    if citus.on_citus(conn):
        return _claim_distributed(conn, SupervisionClock.task_id == task_id, 1)
    q = _claim_query().where(SupervisionClock.task_id == task_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(of=SupervisionClock, skip_locked=True)
    return list(conn.execute(q).all())


# --- a leader's urge (督办) -------------------------------------------------------------------------


class UrgeCommand(BaseModel):
    instruction: str = Field(min_length=2, max_length=2000, description="the leader's instruction (督办意见)")
    due_at: datetime = Field(description="the new deadline for the urged tasks")
    task_ids: list[int] | None = Field(default=None, description="default: every open handling task")

    @field_validator("due_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2024-06-13T18:00:00+08:00)")
        return v.astimezone(UTC)


def _visible_event(s: Session, actor: Actor, ref: str) -> Event:
    event = load_event(s, ref)
    authz.ensure_visible(actor, event.area_path, [event.owner_unit_id, *(t.unit_id for t in event.tasks)],
                         what=f"event {ref}")
    return event


def urge(uow: UnitOfWork, ref: str, cmd: UrgeCommand, actor: Actor, *, now: datetime | None = None) -> Event:
    """One-click urge (一键督办) by a leader or the centre's desk (whoever holds ``event.urge``, configurable:
    ``SHUZHI_URGE_ROLES``): an instruction and a new deadline for the open tasks, on the
    timeline, in the units' inboxes and in the outbox."""
    authz.require(actor, P.EVENT_URGE)
    at = now or datetime.now(UTC)
    if cmd.due_at <= at:
        raise Invalid("the new deadline must be in the future", field="due_at")
    with uow:
        s = uow.session
        event = _visible_event(s, actor, ref)
        authz.ensure_can_act_on_event(actor, event)
        open_tasks = [t for t in event.tasks if TaskState(t.state) in RUNNING and t.role != TaskRole.NOTIFY.value]
        if cmd.task_ids is not None:
            by_id = {t.id: t for t in event.tasks}
            for i, tid in enumerate(cmd.task_ids):
                if tid not in by_id:
                    raise Invalid(f"task {tid} is not a task of event {event.number}", field=f"task_ids[{i}]")
                if by_id[tid] not in open_tasks:
                    raise Invalid(f"task {tid} is {by_id[tid].state}, not open", field=f"task_ids[{i}]")
            open_tasks = [by_id[tid] for tid in dict.fromkeys(cmd.task_ids)]
        if not open_tasks:
            raise Conflict(f"event {event.number} has no open task to urge", field="task_ids")
        for t in open_tasks:
            # an urge presses; it never buys time (that is an extension, decided by the centre)
            if t.handle_due_at is not None and cmd.due_at > t.handle_due_at:
                raise Invalid(f"an urge may only bring a deadline forward: task {t.id} ({t.unit.code}) is due "
                              f"{t.handle_due_at.isoformat()}, earlier than {cmd.due_at.isoformat()}",
                              field="due_at")
        s.add(Urge(event_id=event.id, by_person_id=actor.person_id, by=actor.label, instruction=cmd.instruction,
                   new_deadline=cmd.due_at, task_ids=[t.id for t in open_tasks], at=at))
        inbox: list[dict[str, Any]] = []
        # the unit is told who pressed: a leader's urge weighs more than the duty desk's
        who = "领导督办" if actor.role == P.Role.LEADER.value else "中心督办"
        for t in open_tasks:
            before = t.handle_due_at
            t.handle_due_at = cmd.due_at
            t.updated_at = at
            note(s, event, actor, "supervision.leader_urge", at, task=t, reason=cmd.instruction, payload={
                "unit": t.unit.code, "from": before.isoformat() if before else None, "to": cmd.due_at.isoformat()})
            # the same line an approved extension writes, so that a calendar recompute keeps the date
            note(s, event, actor, "task.deadline_moved", at, task=t, payload={
                "from": before.isoformat() if before else None, "to": cmd.due_at.isoformat(), "why": "urge"})
            inbox.append({"person_id": t.assignee_id, "unit_id": None if t.assignee_id else t.unit_id,
                          "event_id": event.id, "task_id": t.id, "kind": "supervision.leader_urge",
                          "title": f"{who}：{event.number}（{event.title[:60]}）",
                          "body": cmd.instruction, "created_at": at, "read_at": None, "read_by": None,
                          "payload": {"by": actor.label, "due_at": cmd.due_at.isoformat(),
                                      "event_number": event.number}})
        event.updated_at = at
        s.flush()
        conn = s.connection()
        conn.execute(insert(Notification), inbox)
        outbox.emit_many(conn, [outbox.message("supervision.leader_urge", at, {
            "event_number": event.number, "by": actor.label, "instruction": cmd.instruction,
            "due_at": cmd.due_at.isoformat(), "units": [t.unit.code for t in open_tasks]},
            event_id=event.id, area_path=event.area_path,
            class_code=event.event_class.code if event.event_class else None)])
        uow.commit()
        return event


# --- escalation beyond capacity (超出能力上报) -------------------------------------------------------


def escalate_task(uow: UnitOfWork, ref: str, task_id: int, cmd: c.WithReason, actor: Actor, *,
                  now: datetime | None = None) -> Event:
    """The unit declares a task beyond its capacity: the task ends as *escalated* and the case rises,
    with the reason, to the centre one level up the area tree, which now owns it for re-dispatch."""
    authz.require(actor, P.TASK_HANDLE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        event = _visible_event(s, actor, ref)
        task = next((t for t in event.tasks if t.id == task_id), None)
        if task is None:
            raise NotFound(f"task {task_id} of event {event.number} not found")
        if not actor.is_global and actor.unit_id != task.unit_id:
            raise authz.Forbidden("only the unit the task was given to can declare it beyond its capacity")
        authz.ensure_can_act_on_task(actor, event, task)
        if cmd.expected_version is not None and task.version != cmd.expected_version:
            raise Conflict(f"the task was changed by someone else (version {task.version}); reload and retry",
                           field="expected_version")
        unit_path = s.scalar(select(Area.path).where(Area.id == task.unit.area_id)) or ""
        target = escalation_target(UnitRef(task.unit_id, task.unit.kind, unit_path), _centres(s.connection()))
        if target is None:
            raise Conflict("there is no centre above this unit to escalate to", field="task_id")
        target_unit = s.get(Unit, target.id)
        assert target_unit is not None
        move_task(s, event, task, TaskAction.ESCALATE, actor, at, reason=cmd.reason,
                  payload={"to_unit": target_unit.code, "to_unit_name": target_unit.name})
        task.ended_at = at
        task.end_reason = cmd.reason
        previous_owner = event.owner_unit_id
        if task.role == TaskRole.LEAD.value:
            event.owner_unit_id = target.id
        s.add(Escalation(event_id=event.id, task_id=task.id, kind="beyond_capacity", from_unit_id=task.unit_id,
                         to_unit_id=target.id, reason=cmd.reason, by=actor.label, at=at))
        sync_event(s, event, actor, at, reason=f"上报{target_unit.name}：{cmd.reason}")
        s.flush()
        recipients = {target.id} | ({previous_owner} if previous_owner else set())
        title = f"上报：{event.number}（{event.title[:60]}）超出{task.unit.name}处置能力"
        conn = s.connection()
        conn.execute(insert(Notification), [
            {"person_id": None, "unit_id": u, "event_id": event.id, "task_id": task.id,
             "kind": "supervision.escalate", "title": title, "body": cmd.reason, "created_at": at,
             "read_at": None, "read_by": None, "payload": {"from_unit": task.unit.code, "to_unit": target_unit.code,
                                                           "event_number": event.number}}
            for u in sorted(recipients)])
        outbox.emit_many(conn, [outbox.message("supervision.escalate", at, {
            "event_number": event.number, "task_id": task.id, "from_unit": task.unit.code,
            "to_unit": target_unit.code, "reason": cmd.reason}, event_id=event.id, area_path=event.area_path,
            class_code=event.event_class.code if event.event_class else None)])
        uow.commit()
        return event


# --- reading what supervision did ------------------------------------------------------------------


@dataclass(frozen=True)
class StepRow:
    event_number: str
    event_title: str
    task_id: int
    unit_code: str
    unit_name: str
    step: str
    deadline: datetime
    done_at: datetime


def list_steps(uow: UnitOfWork, actor: Actor, *, steps: Sequence[str] = (), event_ref: str | None = None,
               since: datetime | None = None, limit: int = 100) -> list[StepRow]:
    """Supervision steps in the actor's scope, newest first; ``steps=["red_card"]`` is the public list."""
    authz.require(actor, P.EVENT_READ)
    with uow:
        s = uow.session
        q = (select(Event.number, Event.title, SupervisionStep.task_id, Unit.code, Unit.name, SupervisionStep.step,
                    SupervisionStep.deadline, SupervisionStep.done_at)
             .join(Event, same_case(SupervisionStep)).join(Unit, Unit.id == SupervisionStep.unit_id)
             .where(authz.area_clause(actor, SupervisionStep.area_path, SupervisionStep.unit_id))
             .order_by(SupervisionStep.id.desc()).limit(limit))
        if steps:
            q = q.where(SupervisionStep.step.in_(list(steps)))
        if event_ref is not None:
            q = q.where(SupervisionStep.event_id == _visible_event(s, actor, event_ref).id)
        if since is not None:
            q = q.where(SupervisionStep.done_at >= since)
        return [StepRow(*r) for r in s.execute(q).all()]
